package local

import (
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/vfs"
)

// NewMem returns a new, empty drive with ID id kept in memory: a Drive
// over pebble's in-memory file system (vfs.NewMem), so with the very
// semantics of a drive on disk. It is for tests and for the embedded
// server's throw-away mode; its data is lost when it is dropped. Its index
// is small (1 MiB of cache, 1 MiB memtables), it reports no capacity and
// keeps no reserve.
func NewMem(id string) *Drive {
	d, err := Open("/drive", Options{
		ID: id, FS: vfs.NewMem(), Logger: slog.New(slog.DiscardHandler),
		IndexCacheSize: 1 << 20, IndexMemTableSize: 1 << 20, WriteBufferSize: 32 << 10,
	})
	if err != nil { // only a bad id fails on an empty in-memory file system
		panic(fmt.Sprintf("storagenode: in-memory drive %q: %v", id, err))
	}
	return d
}
