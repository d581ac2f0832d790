package storagenode

import (
	"errors"
)

// ErrCorrupt marks a record in a drive's index that cannot be decoded. The
// caller should treat the record as missing on this drive and queue a heal.
// (Shard data corruption is detected by the ec checksums, not by the drive.)
var ErrCorrupt = errors.New("storagenode: corrupt record")
