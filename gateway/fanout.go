package gateway

import (
	"sync"

	"github.com/ecstore/ecstore/storagenode"
)

// fanout calls fn for each drive in parallel (nil drives get
// storagenode.ErrDriveOffline without a call) and returns the errors by
// index once every call returned.
func fanout(drives []storagenode.Drive, fn func(i int, d storagenode.Drive) error) []error {
	errs := make([]error, len(drives))
	var wg sync.WaitGroup
	for i, d := range drives {
		if d == nil {
			errs[i] = storagenode.ErrDriveOffline
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(i, d)
		}()
	}
	wg.Wait()
	return errs
}

// countNil counts the successes in errs.
func countNil(errs []error) int {
	n := 0
	for _, e := range errs {
		if e == nil {
			n++
		}
	}
	return n
}
