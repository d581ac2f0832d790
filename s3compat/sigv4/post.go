package sigv4

import "time"

// VerifyPostPolicy authenticates a browser-form upload (S3's POST Object).
// fields are the form fields before the file, names lower-cased. The
// signature covers the base64 policy field alone: Signature Version 4
// (x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature) or
// Version 2 (awsaccesskeyid, signature). It returns the access key that
// signed; checking the policy's expiration and conditions is the caller's
// job. Failures are *Error values.
func (v *Verifier) VerifyPostPolicy(fields map[string]string) (accessKey string, err error) {
	policy := fields["policy"]
	if policy == "" {
		return "", newErr(CodeInvalidArgument, "Bucket POST must contain a field named 'policy'.")
	}
	if ak, ok := fields["awsaccesskeyid"]; ok {
		secret, e := v.lookup(ak)
		if e != nil {
			return "", e
		}
		if !v2SigEqual(v2Sign(secret, policy), fields["signature"]) {
			return "", errSignature()
		}
		return ak, nil
	}
	if fields["x-amz-algorithm"] != algorithm {
		return "", newErr(CodeInvalidArgument, "Bucket POST must contain a field named 'x-amz-algorithm' with the value "+algorithm+", or 'AWSAccessKeyId'.")
	}
	cred, msg := parseCredential(fields["x-amz-credential"])
	if msg != "" {
		return "", newErr(CodeInvalidArgument, "Invalid x-amz-credential: "+msg)
	}
	date := fields["x-amz-date"]
	if _, err := time.Parse(iso8601Basic, date); err != nil || date[:8] != cred.date {
		return "", newErr(CodeInvalidArgument, "x-amz-date must be an ISO 8601 basic timestamp of the credential's date.")
	}
	if !v.checkRegion(cred.region) {
		return "", newErr(CodeInvalidArgument, "Invalid x-amz-credential: the region '"+truncate(cred.region, 64)+"' is wrong; expecting '"+v.Region+"'")
	}
	secret, e := v.lookup(cred.accessKey)
	if e != nil {
		return "", e
	}
	key := signingKey(secret, cred.date, cred.region, serviceS3)
	if !sigEqual(hmacSHA256(key, policy), fields["x-amz-signature"]) {
		return "", errSignature()
	}
	return cred.accessKey, nil
}
