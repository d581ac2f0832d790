package local

import (
	"testing"
	"time"
)

// BenchmarkDriveHomeCheck measures the check every Drive call makes
// that its folder is still its own: Uncached is one fstat and one stat of
// drive.json (done at most once a millisecond per drive), Cached what the
// other calls pay.
func BenchmarkDriveHomeCheck(b *testing.B) {
	d, err := Open(b.TempDir(), Options{ID: "d1", IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for _, bc := range []struct {
		name string
		age  time.Duration
	}{{"Uncached", 0}, {"Cached", time.Hour}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := d.home.check(d.id, bc.age); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDriveHomeConfirm measures what every synced index write adds
// before it is acknowledged: one fstat of the held drive.json.
func BenchmarkDriveHomeConfirm(b *testing.B) {
	d, err := Open(b.TempDir(), Options{ID: "d1", IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := d.confirm(); err != nil {
			b.Fatal(err)
		}
	}
}
