package storagenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Sentinel errors. Callers classify them with errors.Is; every error a Drive
// returns for these conditions wraps one of them.
var (
	// ErrBucketNotFound: the bucket record does not exist on this drive.
	ErrBucketNotFound = errors.New("storagenode: bucket not found")
	// ErrBucketExists: MakeBucket found the bucket already present.
	ErrBucketExists = errors.New("storagenode: bucket exists")
	// ErrObjectNotFound: no metadata record for the key (or version) on this drive.
	ErrObjectNotFound = errors.New("storagenode: object not found")
	// ErrUploadNotFound: no multipart upload record with that id.
	ErrUploadNotFound = errors.New("storagenode: upload not found")
	// ErrShardNotFound: no shard file for the reference.
	ErrShardNotFound = errors.New("storagenode: shard not found")
	// ErrStale: PutMeta refused a record older than the one stored
	// (ordering by ModTime, then VersionID).
	ErrStale = errors.New("storagenode: older than stored version")
	// ErrInvalidName: a bucket, version or shard name that could escape the
	// drive folder or is otherwise not allowed.
	ErrInvalidName = errors.New("storagenode: invalid name")
	// ErrDriveOffline: the drive cannot be reached or is closed; try another.
	ErrDriveOffline = errors.New("storagenode: drive offline")
	// ErrConflict: PutMetaIf found a stored record other than the one it
	// expected (a conditional write lost its race).
	ErrConflict = errors.New("storagenode: conditional write conflict")
	// ErrDiskFull: no space left on the drive.
	ErrDiskFull = errors.New("storagenode: disk full")
	// ErrUploadCompleted: CompleteUpload found the upload already completed
	// on this drive (its record is gone and the key's stored record names
	// the upload's folder): a duplicate Complete.
	ErrUploadCompleted = errors.New("storagenode: upload already completed")
	// ErrPartReplaced: CompleteUpload found a part the record names
	// replaced on this drive by a newer upload of that part (one racing the
	// Complete through another gateway).
	ErrPartReplaced = errors.New("storagenode: part replaced")
)

// Drive is one storage drive, local or remote. The gateway sees drives only
// through this interface. All methods are safe for concurrent use.
//
// Rules common to all methods:
//   - Bucket names follow ValidBucketName; version directories, upload ids
//     and shard names follow ValidName; object keys are 1 to MaxKeyLen bytes
//     of UTF-8. Anything else fails with ErrInvalidName before any I/O.
//   - Every record and shard lives in a bucket: writing into, reading from or
//     listing a bucket that does not exist fails with ErrBucketNotFound
//     (OpenShard answers ErrShardNotFound, DeleteVersion succeeds).
//   - Records are values: a drive keeps its own copy of what it is given and
//     hands out copies.
//   - A canceled context fails the call with an error wrapping ctx.Err().
type Drive interface {
	// ID is the drive's stable identity in the cluster map.
	ID() string
	BucketStore
	ShardStore
	MetaStore
	UploadStore
	// Close releases the drive; later calls fail with ErrDriveOffline. A
	// second Close returns nil.
	Close() error
}

// BucketStore keeps bucket records. A bucket is a record on every drive.
type BucketStore interface {
	// MakeBucket creates the bucket record; ErrBucketExists if present.
	MakeBucket(ctx context.Context, bucket string, created time.Time) error
	// DeleteBucket removes the bucket record and every metadata record, upload
	// and shard file the drive holds for that bucket (the caller checks for
	// emptiness first if it wants to). ErrBucketNotFound if absent.
	DeleteBucket(ctx context.Context, bucket string) error
	// StatBucket returns the bucket record or ErrBucketNotFound.
	StatBucket(ctx context.Context, bucket string) (BucketInfo, error)
	// ListBuckets returns the drive's buckets sorted by name.
	ListBuckets(ctx context.Context) ([]BucketInfo, error)
}

// ShardStore keeps shard files: opaque byte streams named by
// (bucket, version directory, file name).
type ShardStore interface {
	// CreateShard opens a new shard file under a temporary name. Nothing is
	// visible until Commit; the caller must end every writer with Commit or
	// Abort. The bucket must exist (ErrBucketNotFound).
	CreateShard(ctx context.Context, ref ShardRef) (ShardWriter, error)
	// OpenShard opens a committed shard file for reading; ErrShardNotFound
	// if there is none.
	OpenShard(ctx context.Context, ref ShardRef) (ShardReader, error)
	// DeleteVersion removes every shard file of one version directory.
	// Missing directories are not an error. Reads that started on the
	// version must be able to finish: readers opened before go on, and
	// OpenShard may still find the files for a grace period (local.Drive:
	// local.Options.DeleteGrace), never with other bytes.
	DeleteVersion(ctx context.Context, bucket, versionDir string) error
	// DeleteShard removes one committed shard file (a replaced or unused
	// multipart part). A missing file is not an error.
	DeleteShard(ctx context.Context, ref ShardRef) error
}

// MetaStore keeps the per-object metadata records in a sorted index: each
// key's versions, ordered by (ModTime, VersionID), the newest being the
// key's current version. A record is one version (ObjectMeta.Versioned,
// DeleteMarker).
type MetaStore interface {
	// PutMeta stores the version m of (m.Bucket, m.Key). The version it
	// replaces is the stored one of the same VersionID (a retry or a heal)
	// or, for a null version (not Versioned), the key's null version: if
	// that one is newer (ModTime, VersionID) it refuses with ErrStale.
	// Other versions stay (m is current if it is the newest). The check
	// and the write are atomic. It returns the version it replaced, or
	// nil. The write is durable (fsynced) when PutMeta returns.
	PutMeta(ctx context.Context, m *ObjectMeta) (prev *ObjectMeta, err error)
	// PutMetaIf is PutMeta as a compare-and-set on the current version: it
	// stores m only if the current version's VersionID equals expect
	// (expect "" means no current version, or a delete marker), and fails
	// with ErrConflict otherwise. Conditional writes (If-None-Match,
	// If-Match) are built on it.
	PutMetaIf(ctx context.Context, m *ObjectMeta, expect string) (prev *ObjectMeta, err error)
	// RewriteMeta is PutMeta of a record of a version the drive holds
	// (current or not) rewritten from an earlier read of it: a heal's, a
	// move's, a tag change's. It stores m only if the drive holds a
	// record of m.VersionID and, unless layout is AnyLayout, only if that
	// record's Layout is at most layout (a move's compare-and-set on the
	// drive list: one another mover changed since the move read it
	// refuses the move, one a drive missed moves on); ErrConflict
	// otherwise. The check and the write are atomic, so a DELETE of the
	// version meanwhile stays done.
	RewriteMeta(ctx context.Context, m *ObjectMeta, layout int64) (prev *ObjectMeta, err error)
	// GetMeta returns the current version (which may be a delete marker)
	// or ErrObjectNotFound.
	GetMeta(ctx context.Context, bucket, key string) (*ObjectMeta, error)
	// GetVersion returns the version whose VersionID is versionID, or with
	// versionID "null" the key's null version; ErrObjectNotFound if the
	// drive holds no such version.
	GetVersion(ctx context.Context, bucket, key, versionID string) (*ObjectMeta, error)
	// DeleteMeta removes the version whose VersionID is versionID
	// (versionID "": the current version); the next newest becomes
	// current. It returns the removed record, or ErrObjectNotFound.
	DeleteMeta(ctx context.Context, bucket, key, versionID string) (*ObjectMeta, error)
	// ListVersions returns up to limit versions (limit <= 0: no limit) of
	// the bucket's keys that start with prefix, in key order (byte order)
	// and, within a key, newest first, starting after version afterVersion
	// ("null": the null version) of key afterKey (afterVersion "": after
	// every version of afterKey; both "": from the first key). A drive
	// that does not hold afterVersion lists every version of afterKey.
	ListVersions(ctx context.Context, bucket, prefix, afterKey, afterVersion string, limit int) ([]ObjectEntry, error)
	// ListMeta returns the current versions (delete markers included) of
	// up to limit keys of the bucket that start with prefix and sort
	// strictly after `after`, in key order (byte order). limit <= 0 means
	// no limit.
	ListMeta(ctx context.Context, bucket, prefix, after string, limit int) ([]*ObjectMeta, error)
	// ListEntries is ListMeta for object listings: the same records in the
	// same order, each cut to the fields a listing shows (ObjectEntry), which
	// is several times cheaper to decode than the whole record.
	ListEntries(ctx context.Context, bucket, prefix, after string, limit int) ([]ObjectEntry, error)
}

// UploadStore keeps multipart upload state.
type UploadStore interface {
	// PutUpload stores the upload record, replacing one with the same id.
	// It fails with ErrUploadCompleted when the stored record of u.Key
	// names the upload's folder: an upload never comes back beside its
	// completed object.
	PutUpload(ctx context.Context, u *UploadMeta) error
	// GetUpload returns the upload record or ErrUploadNotFound.
	GetUpload(ctx context.Context, bucket, uploadID string) (*UploadMeta, error)
	// DeleteUpload removes the upload record and all its part records (not
	// the part shard files: the caller deletes those with DeleteVersion).
	// ErrUploadNotFound if there is no such upload.
	DeleteUpload(ctx context.Context, bucket, uploadID string) error
	// CompleteUpload commits the record of a completed multipart upload.
	// m.DataDir is the upload id: the upload's shard files become the
	// object's. In one synced batch it stores m (ordered as PutMeta; with
	// expect set, a compare-and-set as PutMetaIf) and removes the upload
	// record and its part records, so that no crash leaves an object record
	// and an upload record over one folder; then it removes the upload's
	// shard files that m.Parts does not name. Errors:
	//   - ErrUploadCompleted: a stored version already names the
	//     upload's folder (a duplicate Complete). The stored record stays;
	//     an upload record still beside it is removed.
	//   - ErrUploadNotFound: the upload record is gone otherwise.
	//   - ErrPartReplaced: the drive's record of a part m.Parts names is
	//     of another file (the part was uploaded again meanwhile); nothing
	//     changes. A part the drive has no record of is not checked (the
	//     heal rebuilds it).
	//   - ErrConflict: expect is set and does not match.
	//   - ErrStale: a newer record is stored. The upload's records are
	//     removed all the same (the object was replaced as it was
	//     completed); its shard files are the caller's to remove.
	CompleteUpload(ctx context.Context, m *ObjectMeta, expect *string) (prev *ObjectMeta, err error)
	// AbortUpload removes the upload record and its part records, then the
	// upload's shard files, unless a stored version of key names the
	// upload's folder (a Complete committed it here): data a committed
	// record references is never removed. ErrUploadNotFound if there was
	// no upload record (unreferenced shard files of that id go all the
	// same).
	AbortUpload(ctx context.Context, bucket, key, uploadID string) error
	// ListUploads returns the bucket's uploads sorted by (Key, Initiated).
	ListUploads(ctx context.Context, bucket string) ([]*UploadMeta, error)
	// PutPart stores a part record, replacing one with the same number, and
	// returns the replaced record or nil. ErrUploadNotFound if the upload
	// does not exist; part numbers run from 1 to MaxPartNumber.
	PutPart(ctx context.Context, bucket, uploadID string, p *PartMeta) (prev *PartMeta, err error)
	// ListParts returns the upload's parts sorted by number; ErrUploadNotFound
	// if the upload does not exist.
	ListParts(ctx context.Context, bucket, uploadID string) ([]*PartMeta, error)
}

// ShardRef names one shard file on a drive.
type ShardRef struct {
	Bucket     string // bucket name (S3 rules: lowercase letters, digits, '.', '-')
	VersionDir string // version id or upload id (letters, digits, '-')
	Name       string // file name inside the version directory, e.g. "part.1"
}

// String returns "bucket/versionDir/name".
func (r ShardRef) String() string { return r.Bucket + "/" + r.VersionDir + "/" + r.Name }

// ShardWriter receives a shard file's bytes. It is not safe for concurrent
// use.
type ShardWriter interface {
	io.Writer
	// Commit makes the file durable (fsync) and visible under its final name
	// (atomic rename, then fsync of the directory), replacing a shard of that
	// name. It fails with ErrBucketNotFound if the bucket was deleted
	// meanwhile. After Commit, successful or not, the writer is done.
	Commit(ctx context.Context) error
	// Abort discards the temporary file. Safe after Commit (no-op), and
	// from another goroutine while a Write is under way (a caller giving
	// up on a stalled drive): that Write fails or finishes, and the writer
	// ends aborted once it has returned; its buffers are not reused before.
	Abort() error
}

// ShardReader reads a committed shard file. ReadAt follows io.ReaderAt
// (io.EOF at the end) and may be called concurrently.
type ShardReader interface {
	io.ReaderAt
	io.Closer
	Size() int64
}

// FileReader is an optional interface of a ShardReader over a file of the
// operating system: ReaderFrom returns a reader of the file from off on
// that io.Copy to a TCP connection hands to the kernel (sendfile(2): the
// bytes never pass through the process), wrapped in at most one
// io.LimitedReader. ok is false when the reader is not such a file. The
// reader moves the file's offset: it is for one reader at a time, not
// beside ReadAt calls, and lives until Close. No checksum is checked on
// the way: the receiver must verify every block (as ec.Decode does).
type FileReader interface {
	ReaderFrom(off int64) (r io.Reader, ok bool)
}

// RangeHinter is an optional interface of a ShardReader: HintRange tells it,
// before its reads, the range [off, end) of the shard file that the coming
// ReadAt calls fall in, at increasing offsets. A reader over the network then
// fetches the range in one request instead of one per ReadAt. Reads outside
// the hint stay correct, only slower. Readers that wrap another pass the
// hint on (HintRange).
type RangeHinter interface {
	HintRange(off, end int64)
}

// HintRange gives r the hint [off, end) if it takes hints.
func HintRange(r ShardReader, off, end int64) {
	if h, ok := r.(RangeHinter); ok {
		h.HintRange(off, end)
	}
}

// SizedOpener is an optional interface of a Drive: OpenShardSized opens a
// shard whose size the caller knows (from the object's record), so that a
// remote drive need not ask the node for it. A shard that is missing or of
// another size (replaced) fails its reads with ErrShardNotFound, at the
// open or at the first read.
type SizedOpener interface {
	OpenShardSized(ctx context.Context, ref ShardRef, size int64) (ShardReader, error)
}

// OpenShardSized opens a shard of the given size on d: by d's
// OpenShardSized if it has one, else by OpenShard, checking the size.
func OpenShardSized(ctx context.Context, d Drive, ref ShardRef, size int64) (ShardReader, error) {
	if so, ok := d.(SizedOpener); ok {
		return so.OpenShardSized(ctx, ref, size)
	}
	r, err := d.OpenShard(ctx, ref)
	if err != nil {
		return nil, err
	}
	if r.Size() != size {
		_ = r.Close()
		return nil, fmt.Errorf("storagenode: open shard %s: %d bytes, the record says %d (replaced): %w", ref, r.Size(), size, ErrShardNotFound)
	}
	return r, nil
}

// BucketInfo describes a bucket.
type BucketInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// ECInfo is the erasure-coding layout of an object.
type ECInfo struct {
	Data      int   `json:"k"`
	Parity    int   `json:"m"`
	BlockSize int64 `json:"bs"` // object bytes per stripe
}

// PartInfo is one part of an object: a single PUT has one part (number 1).
// Each part is erasure coded on its own into shard files named Name on each
// drive of the object.
type PartInfo struct {
	Number int    `json:"n"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
	Name   string `json:"name"` // shard file name in the version directory
	// Checksums of the part as uploaded (multipart), e.g. "CRC32" -> base64.
	Checksums map[string]string `json:"ck,omitempty"`
	// Stored is the size of the part's bytes as erasure coded when they
	// differ from Size (an encrypted part: Size is its plaintext); 0: Size.
	Stored int64 `json:"ss,omitempty"`
}

// DataSize is the size of the bytes the part's shards encode.
func (p PartInfo) DataSize() int64 {
	if p.Stored > 0 {
		return p.Stored
	}
	return p.Size
}

// SSEInfo is how a version's bytes (or an upload's parts) are encrypted:
// each part is a DARE stream under a key derived from the object key,
// which is kept here only sealed (package sse).
type SSEInfo struct {
	// Method is "AES256" (SSE-S3, sealed by a ring key), "aws:kms"
	// (SSE-KMS) or "C" (SSE-C, sealed by the customer's key).
	Method string `json:"m"`
	// KeyID is the ring key or KMS key that sealed Sealed ("" for SSE-C).
	KeyID  string `json:"id,omitempty"`
	Sealed []byte `json:"k"`
	// Context is SSE-KMS's encryption context (JSON), part of the sealing.
	Context string `json:"ctx,omitempty"`
	// Salt and MAC recognise an SSE-C customer's key (never stored).
	Salt []byte `json:"salt,omitempty"`
	MAC  []byte `json:"mac,omitempty"`
}

// AnyLayout: RewriteMeta without a condition on the stored Layout.
const AnyLayout int64 = -1

// ObjectMeta is the metadata record of one object version. The same record
// is written to each of the object's drives.
type ObjectMeta struct {
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	VersionID   string            `json:"vid"`   // names the shard directory
	DataDir     string            `json:"dir"`   // version directory of the shard files
	ModTime     time.Time         `json:"mtime"` // orders versions
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"` // without quotes
	ContentType string            `json:"ctype,omitempty"`
	UserMeta    map[string]string `json:"umeta,omitempty"`   // x-amz-meta-* (lower-case names, without prefix)
	Headers     map[string]string `json:"headers,omitempty"` // other stored headers (Cache-Control, ...)
	Checksums   map[string]string `json:"sums,omitempty"`    // e.g. "CRC32" -> base64 value
	EC          ECInfo            `json:"ec"`
	Drives      []string          `json:"drives"` // drive IDs by shard index
	// Layout counts the moves of the version's shards (a heal's or a
	// rebalance's move raises it with the drive list). Of two records of
	// one version, the drive list of the higher Layout is the one to
	// keep: a record rewritten from an earlier read (a tag change's, a
	// heal's) must not name a drive a shard has left.
	Layout int64      `json:"lay,omitempty"`
	Parts  []PartInfo `json:"parts"`
	// InlineData says the object's single shard per drive is kept in the
	// drive's index beside the record instead of in a shard file (small
	// objects: one synced write per drive instead of a file, its fsyncs and
	// a record). It belongs to the version directory DataDir as a shard
	// file would: DeleteVersion removes it.
	InlineData bool `json:"inl,omitempty"`
	// Inline is this drive's shard of an InlineData object (the bytes a
	// shard file would hold). PutMeta stores it when set (and keeps the
	// stored one when not); GetMeta returns it when the drive holds it;
	// ListMeta and the records PutMeta and DeleteMeta return leave it out.
	Inline []byte `json:"inline,omitempty"`
	// Versioned: the version has an S3 version id, its VersionID (written
	// while the bucket's versioning was Enabled). Otherwise it is the
	// key's "null" version (every version written before versioning
	// existed, or while it is off or Suspended): a key has at most one,
	// and storing a null version replaces the one there is.
	Versioned bool `json:"vd,omitempty"`
	// DeleteMarker: the version says the key is deleted; it has no data.
	DeleteMarker bool `json:"dm,omitempty"`
	// Tags is the version's tag set (x-amz-tagging, PutObjectTagging), in
	// the order given; TagTime is when PutObjectTagging last changed it
	// (Unix nanoseconds; 0: as written), which decides between records of
	// one version that disagree (a drive that missed the change).
	Tags    []Tag `json:"tags,omitempty"`
	TagTime int64 `json:"tagt,omitempty"`
	// Object lock: LockMode ("GOVERNANCE" or "COMPLIANCE") and
	// RetainUntil (Unix nanoseconds) keep the version from being deleted
	// or overwritten in place until then; LegalHold keeps it until
	// lifted. A change to them moves TagTime on, as a tag change does.
	LockMode    string `json:"lm,omitempty"`
	RetainUntil int64  `json:"lru,omitempty"`
	LegalHold   bool   `json:"lh,omitempty"`
	// SSE: the version's bytes are encrypted (its parts' Stored sizes are
	// what the shards hold); nil: stored as sent.
	SSE *SSEInfo `json:"sse,omitempty"`
}

// Tag is one tag of an object's tag set.
type Tag struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

// ObjectEntry is the part of an ObjectMeta record that object listings use:
// enough to choose a key's current version (VersionID, ModTime, DataShards)
// and to show it (ETag, Size, ContentType, UserMeta).
type ObjectEntry struct {
	Key         string            `json:"key"`
	VersionID   string            `json:"vid"`
	ModTime     time.Time         `json:"mtime"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag"`
	ContentType string            `json:"ctype,omitempty"`
	UserMeta    map[string]string `json:"umeta,omitempty"`
	// DataShards is the record's EC.Data: how many drives must hold the
	// version for it to be whole.
	DataShards int `json:"k"`
	// Versioned and DeleteMarker are the record's.
	Versioned    bool `json:"vd,omitempty"`
	DeleteMarker bool `json:"dm,omitempty"`
	// StorageClass is the record's Headers["X-Amz-Storage-Class"] ("":
	// STANDARD).
	StorageClass string `json:"sc,omitempty"`
}

// Entry returns m's listing entry (sharing m's UserMeta map).
func (m *ObjectMeta) Entry() ObjectEntry {
	return ObjectEntry{
		Key: m.Key, VersionID: m.VersionID, ModTime: m.ModTime, Size: m.Size, ETag: m.ETag,
		ContentType: m.ContentType, UserMeta: m.UserMeta, DataShards: m.EC.Data,
		Versioned: m.Versioned, DeleteMarker: m.DeleteMarker, StorageClass: m.Headers["X-Amz-Storage-Class"],
	}
}

// Newer reports whether e orders after o (ModTime, then VersionID), as
// ObjectMeta.Newer.
func (e *ObjectEntry) Newer(o *ObjectEntry) bool {
	if !e.ModTime.Equal(o.ModTime) {
		return e.ModTime.After(o.ModTime)
	}
	return e.VersionID > o.VersionID
}

// Newer reports whether m orders after o (ModTime, then VersionID).
func (m *ObjectMeta) Newer(o *ObjectMeta) bool {
	if !m.ModTime.Equal(o.ModTime) {
		return m.ModTime.After(o.ModTime)
	}
	return m.VersionID > o.VersionID
}

// UploadMeta is the record of a multipart upload in progress.
type UploadMeta struct {
	Tags        []Tag             `json:"tags,omitempty"` // the object's tag set, for Complete
	LockMode    string            `json:"lm,omitempty"`   // the object's lock, for Complete
	RetainUntil int64             `json:"lru,omitempty"`
	LegalHold   bool              `json:"lh,omitempty"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	UploadID    string            `json:"id"`
	Initiated   time.Time         `json:"init"`
	ContentType string            `json:"ctype,omitempty"`
	UserMeta    map[string]string `json:"umeta,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	EC          ECInfo            `json:"ec"`
	Drives      []string          `json:"drives"`
	// SSE: every part is encrypted under the upload's sealed object key.
	SSE *SSEInfo `json:"sse,omitempty"`
}

// PartMeta is the record of one uploaded part.
type PartMeta struct {
	Number    int               `json:"n"`
	Size      int64             `json:"size"`
	ETag      string            `json:"etag"`
	Name      string            `json:"name"` // shard file name in the upload's version directory
	ModTime   time.Time         `json:"mtime"`
	Checksums map[string]string `json:"sums,omitempty"`
	// Drives, when set, are the drive IDs by shard index this part was
	// written to, because some of the upload's drives were down and a
	// fallback drive took their shard; empty means the upload's Drives
	// (records written before the field existed have none).
	Drives []string `json:"drives,omitempty"`
	// Stored: as PartInfo.Stored.
	Stored int64 `json:"ss,omitempty"`
}

// DataSize is the size of the bytes the part's shards encode.
func (p *PartMeta) DataSize() int64 {
	if p.Stored > 0 {
		return p.Stored
	}
	return p.Size
}
