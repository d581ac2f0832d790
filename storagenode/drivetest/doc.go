// Package drivetest is the conformance suite every storagenode.Drive
// implementation runs: the local drive, the in-memory one, the remote one
// (over both, through real HTTP) and every wrapper (the observer, the
// circuit breaker, the fault injector) call Run with a constructor and must
// pass the same tests.
//
//	func TestConformance(t *testing.T) {
//		drivetest.Run(t, func(t *testing.T) storagenode.Drive {
//			return local.NewMem("d1")
//		})
//	}
//
// The suite closes each drive it gets when its subtest ends (Close must
// therefore tolerate a second call).
//
// This package must never import anything but storagenode and the
// standard library (enforced by storagenode's TestImports), so that any
// implementation can run it.
package drivetest
