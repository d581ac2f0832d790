// Package tests holds ecstore's end-to-end tests: they build the real
// ecstore binary, start it on a free 127.0.0.1 port over temporary drive
// folders, and drive it with real clients (the aws CLI, minio-go, plain
// net/http). Nothing here is mocked.
package tests
