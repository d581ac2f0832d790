package s3compat

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/ecstore/ecstore/s3api"
)

// The checksum rules of a multipart upload are stated in package s3api:
// this file reads the Complete request's checksum headers and applies the
// UploadPart rule.

// finalChecksum reads the x-amz-checksum-* and x-amz-checksum-type headers
// of a CompleteMultipartUpload.
func finalChecksum(h http.Header) (s3api.FinalChecksum, error) {
	var fc s3api.FinalChecksum
	if v := h.Get("x-amz-checksum-type"); v != "" {
		fc.Type = strings.ToUpper(strings.TrimSpace(v))
		if fc.Type != s3api.ChecksumFullObject && fc.Type != s3api.ChecksumComposite {
			return fc, s3api.ErrInvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
		}
	}
	for _, name := range checksums.ChecksumNames() {
		header := "x-amz-checksum-" + strings.ToLower(name)
		vs := h.Values(header)
		if len(vs) == 0 {
			continue
		}
		if fc.Algo != "" || len(vs) > 1 {
			return fc, s3api.ErrInvalidRequest.WithMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		fc.Algo, fc.Value = name, strings.TrimSpace(vs[0])
		if !validChecksumValue(name, fc.Value) {
			return fc, s3api.ErrInvalidRequest.WithMessage("Value for %s header is invalid.", header)
		}
	}
	return fc, nil
}

// validChecksumValue reports whether v is a base64 digest of algo's size,
// optionally followed by "-N" (a part count).
func validChecksumValue(algo, v string) bool {
	h, _, ok := checksums.NewChecksum(algo)
	if !ok {
		return false
	}
	digest, parts, composite := strings.Cut(v, "-")
	if composite {
		if n, err := strconv.Atoi(parts); err != nil || n < 1 || n > MaxPartNumber {
			return false
		}
	}
	d, err := base64.StdEncoding.DecodeString(digest)
	return err == nil && len(d) == h.Size()
}

// partChecksumRule applies an upload's checksum rule to an UploadPart
// carrying a checksum of algorithm partAlgo ("" for none). compute is set
// when the server must compute the part's checksum itself (a FULL_OBJECT
// upload's part sent without one).
func partChecksumRule(algo, typ, partAlgo string) (compute bool, err error) {
	switch {
	case algo == "" || partAlgo == algo:
		return false, nil
	case partAlgo == "" && typ == s3api.ChecksumFullObject:
		return true, nil
	}
	return false, s3api.ChecksumTypeMismatch(algo, partAlgo)
}
