package s3api

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// TestErrorTable: every ErrorCode has a row, with a code, a message and an
// error status (304 NotModified is the one answer below 400).
func TestErrorTable(t *testing.T) {
	for c := range numErrorCodes {
		if c.Code() == "" || c.Description() == "" || c.HTTPStatus() < 300 || c.HTTPStatus() > 599 {
			t.Errorf("ErrorCode %d: %q %q %d", int(c), c.Code(), c.Description(), c.HTTPStatus())
		}
	}
	for code, status := range map[string]int{"NoSuchKey": 404, "NoSuchBucket": 404, "InvalidRange": 416,
		"AccessDenied": 403, "BucketAlreadyOwnedByYou": 409, "ServiceUnavailable": 503, "SlowDown": 503,
		"XMinioStorageFull": 507, "ConditionalRequestConflict": 409, "NotModified": 304, "InternalError": 500} {
		if c, ok := ErrorCodeOf(code); !ok || c.Code() != code || c.HTTPStatus() != status {
			t.Errorf("%s: %v %v, want status %d", code, c, ok, status)
		}
	}
	if c, ok := ErrorCodeOf("NoSuchThing"); ok {
		t.Errorf("ErrorCodeOf(NoSuchThing) = %v", c)
	}
	if ErrorCode(-1).Code() != "InternalError" || numErrorCodes.Code() != "InternalError" {
		t.Error("an ErrorCode outside the table is not InternalError")
	}
}

// TestErrorCodeOfShared: of the errors sharing a code string, ErrorCodeOf
// returns the plain one, not a specialised message.
func TestErrorCodeOfShared(t *testing.T) {
	for _, want := range []ErrorCode{ErrInvalidArgument, ErrInvalidRequest, ErrServiceUnavailable} {
		if c, _ := ErrorCodeOf(want.Code()); c != want {
			t.Errorf("ErrorCodeOf(%q) = %v, want %v", want.Code(), c, want)
		}
	}
}

// TestErrorsDistinct: two different errors never compare equal, also when
// S3 answers both with the same code string, however they are wrapped.
func TestErrorsDistinct(t *testing.T) {
	if ErrInsufficientReadQuorum.Code() != ErrInsufficientWriteQuorum.Code() {
		t.Fatal("the quorum errors no longer share a code: pick another pair")
	}
	forms := func(c ErrorCode) []error {
		return []error{
			c,
			c.WithMessage("specific"),
			c.WithCause(fs.ErrPermission),
			fmt.Errorf("wrapped: %w", c.WithMessage("x")),
		}
	}
	for a := range numErrorCodes {
		for b := range numErrorCodes {
			for _, ea := range forms(a) {
				for _, eb := range []error{b, b.WithMessage("y")} {
					if got := errors.Is(ea, eb); got != (a == b) {
						t.Fatalf("errors.Is(%v, %v) = %v", ea, eb, got)
					}
				}
			}
		}
	}
}

// TestAPIError: messages, causes and the conversion of any error.
func TestAPIError(t *testing.T) {
	e := ErrNoSuchKey.WithMessage("Key %q is gone.", "k").WithCause(fs.ErrNotExist)
	if e.Code() != "NoSuchKey" || e.HTTPStatus() != 404 || e.Message() != `Key "k" is gone.` || e.ErrorCode() != ErrNoSuchKey {
		t.Errorf("got %q %d %q", e.Code(), e.HTTPStatus(), e.Message())
	}
	if !errors.Is(e, fs.ErrNotExist) || !errors.Is(e, ErrNoSuchKey) {
		t.Error("errors.Is does not see the code and the cause")
	}
	if want := `NoSuchKey: Key "k" is gone. (file does not exist)`; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	for _, tc := range []struct {
		err   error
		code  string
		msg   string
		known bool
	}{
		{ErrNoSuchBucket, "NoSuchBucket", ErrNoSuchBucket.Description(), true},
		{fmt.Errorf("x: %w", ErrSlowDown.WithMessage("slow")), "SlowDown", "slow", true},
		{ErrBadDigest.WithCause(fs.ErrClosed), "BadDigest", ErrBadDigest.Description(), true},
		{fs.ErrClosed, "InternalError", ErrInternalError.Description(), false},
	} {
		ae, known := ToAPIError(tc.err)
		if ae.Code() != tc.code || ae.Message() != tc.msg || known != tc.known {
			t.Errorf("ToAPIError(%v) = %q %q %v", tc.err, ae.Code(), ae.Message(), known)
		}
	}
}
