package storagenode

// SetReadOnly makes the drive report itself read-only in DiskInfo while on
// is true, as a drive whose file system was remounted read-only does.
// Writes are not refused by this fault alone.
func (f *FaultyDrive) SetReadOnly(on bool) { f.rdonly.Store(on) }
