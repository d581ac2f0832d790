package s3compat

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// The checksum rules of a multipart upload created with a checksum
// algorithm (x-amz-checksum-algorithm, and x-amz-checksum-type COMPOSITE or
// FULL_OBJECT), as S3 enforces them:
//
//   - UploadPart must carry a checksum of that algorithm. A part with
//     another algorithm is refused (InvalidRequest), and so is a part with
//     none for a COMPOSITE upload; for a FULL_OBJECT upload the server
//     computes the part's CRC itself.
//   - CompleteMultipartUpload's part list must give each part's checksum
//     for a COMPOSITE upload (it may leave them out for FULL_OBJECT); a
//     checksum given must equal the part's.
//   - A checksum Complete states for the whole object (x-amz-checksum-crc32
//     and the others) must be of the upload's algorithm and equal the one
//     computed from the parts (BadDigest otherwise), and an
//     x-amz-checksum-type must be the upload's.
//
// The ObjectLayer applies the Complete rules before it commits, with
// CheckCompletePart and FinalChecksum.Check.

// FinalChecksum is the checksum a CompleteMultipartUpload request states
// for the assembled object.
type FinalChecksum struct {
	// Algo is the algorithm of the x-amz-checksum-<algo> header ("CRC32",
	// ...); "" when the request sent none.
	Algo string
	// Value is that header's value: base64, followed by "-N" for a
	// COMPOSITE checksum of N parts.
	Value string
	// Type is the x-amz-checksum-type header, upper case; "" when not sent.
	Type string
}

// checksumName is how S3 names an algorithm in its mismatch messages: "null"
// for none.
func checksumName(algo string) string {
	if algo == "" {
		return "null"
	}
	return algo
}

// errChecksumMismatch is S3's answer to a checksum of another algorithm
// than the one expected.
func errChecksumMismatch(want, got string) error {
	return ErrInvalidRequest.WithMessage("Checksum Type mismatch occurred, expected checksum Type: %s, actual checksum Type: %s", checksumName(want), checksumName(got))
}

// finalChecksum reads the x-amz-checksum-* and x-amz-checksum-type headers
// of a CompleteMultipartUpload.
func finalChecksum(h http.Header) (FinalChecksum, error) {
	var fc FinalChecksum
	if v := h.Get("x-amz-checksum-type"); v != "" {
		fc.Type = strings.ToUpper(strings.TrimSpace(v))
		if fc.Type != ChecksumFullObject && fc.Type != ChecksumComposite {
			return fc, ErrInvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
		}
	}
	for _, name := range checksums.ChecksumNames() {
		header := "x-amz-checksum-" + strings.ToLower(name)
		vs := h.Values(header)
		if len(vs) == 0 {
			continue
		}
		if fc.Algo != "" || len(vs) > 1 {
			return fc, ErrInvalidRequest.WithMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		fc.Algo, fc.Value = name, strings.TrimSpace(vs[0])
		if !validChecksumValue(name, fc.Value) {
			return fc, ErrInvalidRequest.WithMessage("Value for %s header is invalid.", header)
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

// Check checks the stated checksum against an upload created with
// algorithm algo ("" for none) and type typ, whose parts combine into
// computed (CombineChecksums; "" when algo is ""). A COMPOSITE value may
// leave out its "-N".
func (fc FinalChecksum) Check(algo, typ, computed string) error {
	if fc.Type != "" && fc.Type != typ {
		return ErrInvalidRequest.WithMessage("The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", checksumName(typ))
	}
	if fc.Algo == "" {
		return nil
	}
	if fc.Algo != algo {
		return errChecksumMismatch(algo, fc.Algo)
	}
	got, want := fc.Value, computed
	if typ == ChecksumComposite && !strings.Contains(got, "-") {
		want, _, _ = strings.Cut(want, "-")
	}
	if got != want {
		return ErrBadDigest.WithMessage("The %s you specified did not match the calculated checksum.", algo)
	}
	return nil
}

// CheckCompletePart checks the checksums a CompleteMultipartUpload lists
// for part num (sent, algorithm -> base64) against those recorded when the
// part was uploaded (stored), for an upload created with algorithm algo
// ("" for none) and type typ.
func CheckCompletePart(algo, typ string, num int, sent, stored map[string]string) error {
	if len(sent) > 1 {
		return ErrInvalidRequest.WithMessage("Part %d lists %d checksums; give at most one, of the upload's algorithm.", num, len(sent))
	}
	if algo != "" && typ == ChecksumComposite && len(sent) == 0 {
		return ErrInvalidRequest.WithMessage("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", strings.ToLower(algo), num)
	}
	for a, v := range sent {
		if stored[a] == v {
			continue
		}
		if algo == "" || a == algo {
			return ErrInvalidPart.WithMessage("Part %d: the %s checksum does not match the uploaded part's.", num, a)
		}
		return ErrBadDigest.WithMessage("The %s you specified for part %d did not match what we received.", strings.ToLower(a), num)
	}
	return nil
}

// partChecksumRule applies an upload's checksum rule to an UploadPart
// carrying a checksum of algorithm partAlgo ("" for none). compute is set
// when the server must compute the part's checksum itself (a FULL_OBJECT
// upload's part sent without one).
func partChecksumRule(algo, typ, partAlgo string) (compute bool, err error) {
	switch {
	case algo == "" || partAlgo == algo:
		return false, nil
	case partAlgo == "" && typ == ChecksumFullObject:
		return true, nil
	}
	return false, errChecksumMismatch(algo, partAlgo)
}
