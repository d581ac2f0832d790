package local

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkLocalListVersionsCold lists 1000-entry pages of ListVersions
// over a drive holding more than its block cache, as
// BenchmarkLocalListEntriesCold does for ListEntries: 200,000 keys, of
// which 10% have 5 noncurrent versions and 5% end in a delete marker over
// one noncurrent version (310,000 records), compacted. The custom metric
// is versions (and delete markers) per second.
func BenchmarkLocalListVersionsCold(b *testing.B) {
	const n = 200000
	d, set, done := coldIndex(b)
	ctx := context.Background()
	for i := range n {
		cur := benchRecord(i)
		cur.Versioned = true
		older := 0
		switch {
		case i%10 == 0:
			older = 5
		case i%20 == 5:
			older = 1
			cur.DeleteMarker, cur.Size, cur.Parts, cur.Drives = true, 0, nil, nil
		}
		set(objectKey(cur.Bucket, cur.Key), cur)
		for v := 1; v <= older; v++ {
			m := benchRecord(i)
			m.Versioned = true
			m.VersionID = fmt.Sprintf("%s-%d", m.VersionID, v)
			m.DataDir = m.VersionID
			m.ModTime = cur.ModTime.Add(-time.Duration(v) * time.Hour)
			set(versionKey(m), m)
		}
	}
	done()
	b.ReportAllocs()
	versions, afterKey, afterVID := 0, "", ""
	start := time.Now()
	for b.Loop() {
		es, err := d.ListVersions(ctx, "bench", "photos/", afterKey, afterVID, 1000)
		if err != nil {
			b.Fatal(err)
		}
		versions += len(es)
		afterKey, afterVID = "", ""
		if len(es) == 1000 {
			last := es[len(es)-1]
			afterKey, afterVID = last.Key, last.VersionID
		}
	}
	b.ReportMetric(float64(versions)/time.Since(start).Seconds(), "versions/s")
}
