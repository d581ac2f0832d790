// Package crashpoint stops the process at named points of its write paths,
// for crash tests: with the environment variable ECSTORE_CRASH_AT set to a
// point's name, the process kills itself with SIGKILL the first time it
// reaches that point, as a power cut or an OOM kill would, with no deferred
// call, flush or shutdown hook running. Unset (always, outside tests), Hit
// costs one comparison.
//
// It must never import anything of ecstore's own: every layer may use it.
package crashpoint
