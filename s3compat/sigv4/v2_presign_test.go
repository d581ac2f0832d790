package sigv4

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"
)

// A Signature Version 2 presigned URL is refused when its Expires lies
// further ahead than MaxPresignV2 (7 days by default), so a leaked URL
// cannot live for years.
func TestPresignV2MaxAge(t *testing.T) {
	presign := func(v *Verifier, expires time.Duration) outcome {
		r := httptest.NewRequest("GET", "http://127.0.0.1:9000/b/k", nil)
		return verifyAndRead(v, signer.PreSignV2(*r, testAK, testSK, int64(expires/time.Second), false))
	}
	v := newTestVerifier()
	for _, d := range []time.Duration{time.Minute, 6 * 24 * time.Hour, 7*24*time.Hour - time.Minute} {
		wantCode(t, presign(v, d), "")
	}
	for _, d := range []time.Duration{7*24*time.Hour + time.Minute, 10 * 365 * 24 * time.Hour} {
		o := presign(v, d)
		wantCode(t, o, CodeAccessDenied)
		if !strings.Contains(o.Message, "604800 seconds") {
			t.Errorf("Expires %v ahead: message %q does not name the limit", d, o.Message)
		}
	}
	v.MaxPresignV2 = time.Hour
	wantCode(t, presign(v, 50*time.Minute), "")
	wantCode(t, presign(v, 2*time.Hour), CodeAccessDenied)
}
