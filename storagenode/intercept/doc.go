// Package intercept is the one generic forwarder of storagenode.Drive
// calls, and the cross-cutting wrappers built on it. Wrap returns a Drive
// that passes every call to an inner drive through an Interceptor, which
// sees the call's Op (an enum naming every Drive method) and may run it,
// fail it, time it or wrap the shard stream it returns; Unwrap gives the
// inner drive back. Observe (metrics) and Breaker (a circuit breaker) are
// interceptors, as is storagenode/faultdrive: none of them forwards a
// method by hand, so a method added to Drive cannot skip them (TestOps
// fails until the forwarder handles it).
//
// This package must never import pebble, net/http, storagenode/local or
// storagenode/rpc, nor the gateway or s3compat (enforced by storagenode's
// TestImports): it wraps any drive and knows none.
package intercept
