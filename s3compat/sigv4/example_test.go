package sigv4_test

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ecstore/ecstore/s3compat/sigv4"
)

// A front end verifies each request, then reads the verified body to EOF;
// a *sigv4.Error from Verify or from Read carries the S3 error code.
func ExampleVerifier_Verify() {
	v := &sigv4.Verifier{
		Lookup: func(ak string) (string, bool) {
			if ak == "AKIAIOSFODNN7EXAMPLE" {
				return "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true
			}
			return "", false
		},
		Region: "us-east-1",
		Now:    func() time.Time { return time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC) },
	}

	// AWS's documented PUT Object example.
	r := httptest.NewRequest("PUT", "https://examplebucket.s3.amazonaws.com/test$file.text", strings.NewReader("Welcome to Amazon S3."))
	r.Header.Set("Date", "Fri, 24 May 2013 00:00:00 GMT")
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	r.Header.Set("X-Amz-Content-Sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"+
		"Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")

	res, err := v.Verify(r)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	body, err := io.ReadAll(res.Body)
	var se *sigv4.Error
	if errors.As(err, &se) {
		fmt.Println("bad body:", se.Code)
		return
	}
	fmt.Printf("%s wrote %q (%d bytes)\n", res.AccessKey, body, res.ContentLength)

	// The same request with a different body: the signature still holds,
	// but the body does not match x-amz-content-sha256.
	r.Body = io.NopCloser(strings.NewReader("Welcome to Amazon S4."))
	res, _ = v.Verify(r)
	_, err = io.ReadAll(res.Body)
	if errors.As(err, &se) {
		fmt.Println("bad body:", se.Code)
	}
	// Output:
	// AKIAIOSFODNN7EXAMPLE wrote "Welcome to Amazon S3." (21 bytes)
	// bad body: XAmzContentSHA256Mismatch
}
