package placement

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = testKey(i)
	}
	for _, c := range []struct {
		name string
		ds   []Drive
	}{
		{"600", cluster(4, 25, 6, nil)}, {"600-1zone", cluster(1, 100, 6, nil)}, {"600-spread", cluster(4, 150, 1, nil)}, {"600-spread1z", cluster(1, 600, 1, nil)},
	} {
		p, _ := NewPlacer(c.ds)
		for _, mode := range []string{"Place", "Placer"} {
			best := time.Duration(1 << 62)
			for rep := 0; rep < 5; rep++ {
				const N = 20000
				t0 := threadCPU()
				for i := 0; i < N; i++ {
					if mode == "Place" {
						PlaceEC("bucket", keys[i%1024], c.ds, 4, 2)
					} else {
						p.PlaceEC("bucket", keys[i%1024], 4, 2)
					}
				}
				d := (threadCPU() - t0) / N
				best = min(best, d)
			}
			fmt.Printf("%-7s drives=%-11s %v/op (thread CPU, best of 5)\n", mode, c.name, best)
		}
	}
}
