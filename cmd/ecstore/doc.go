// Command ecstore is the S3-compatible erasure-coded object store.
//
//	ecstore server [--address HOST:PORT] [--ec K+M] [DRIVE_DIR...]
//	ecstore node --address HOST:PORT --id ID [--zone Z] [--cluster FILE] DRIVE_DIR...
//	ecstore gateway --address HOST:PORT --cluster FILE
//
// server runs the embedded store: one process, one drive per folder, S3 on
// HOST:PORT. With no arguments it keeps 6 drives under ./ecstore-data with
// EC 4+2 and listens on 127.0.0.1:9000. node and gateway are the two halves
// of a multi-node cluster.
//
// The binary must never import what exists for tests only: fault injection
// (storagenode/faultdrive), the conformance suite (storagenode/drivetest)
// or the import checker (internal/importtest) (TestBoundaries in
// internal/importtest enforces it over every transitive dependency).
package main
