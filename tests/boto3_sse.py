"""Server-side encryption through boto3 (tests/sse_test.go runs it over
HTTPS against a server with a key ring): SSE-S3 and SSE-C on PUT, GET,
HEAD, ranges at the 64 KiB package edges, multipart, copies between every
pair of settings, the bucket's default encryption, versions, and the
errors S3 gives (no key, wrong key, key for a plain object, SSE-KMS not
built).

Bodies repeat a marker between random bytes (MARKER_* in the
environment): the Go test then searches the drive folders for each.
"""

import base64
import hashlib
import os
import sys

from s3check import call, check, client, failures

B = "sse-boto3"
PKG = 64 * 1024
CKEY = hashlib.sha256(b"customer key one").digest()
CKEY2 = hashlib.sha256(b"customer key two").digest()


def body(marker, n):
    """n bytes: random filler with the marker every 4 KiB."""
    out = bytearray(os.urandom(n))
    m = marker.encode()
    for i in range(0, n - len(m), 4096):
        out[i:i + len(m)] = m
    return bytes(out)


def ssec(key):
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def copy_ssec(key):
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


KMS_KEY = os.environ["KMS_KEY"]  # made by the Go test with `ecstore admin kms key create`


def enc_args(kind, key=CKEY):
    return {"plain": {}, "s3": {"ServerSideEncryption": "AES256"}, "c": ssec(key),
            "kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}}[kind]


def read_args(kind, key=CKEY):
    return ssec(key) if kind == "c" else {}


def main():
    s3 = client()
    s3.create_bucket(Bucket=B)
    data = {
        "plain": body(os.environ["MARKER_PLAIN"], 300_000),
        "s3": body(os.environ["MARKER_S3"], 300_000),
        "c": body(os.environ["MARKER_C"], 300_000),
        "small-s3": body(os.environ["MARKER_SMALL_S3"], 5_000),
        "small-c": body(os.environ["MARKER_SMALL_C"], 5_000),
        "copy": body(os.environ["MARKER_COPY"], 200_000),
        "kms": body(os.environ["MARKER_KMS"], 300_000),
    }
    for kind in ("plain", "s3", "c", "kms"):
        r = s3.put_object(Bucket=B, Key=kind, Body=data[kind], **enc_args(kind))
        if kind == "s3":
            check("PUT SSE-S3 answers AES256", r.get("ServerSideEncryption") == "AES256", str(r.get("ServerSideEncryption")))
            check("SSE-S3 ETag is the MD5", r["ETag"].strip('"') == hashlib.md5(data[kind]).hexdigest())
        if kind == "c":
            check("PUT SSE-C echoes the algorithm", r.get("SSECustomerAlgorithm") == "AES256")
            check("SSE-C ETag is not the MD5", r["ETag"].strip('"') != hashlib.md5(data[kind]).hexdigest())
    s3.put_object(Bucket=B, Key="small-s3", Body=data["small-s3"], ServerSideEncryption="AES256")
    s3.put_object(Bucket=B, Key="small-c", Body=data["small-c"], **ssec(CKEY))

    for kind in ("plain", "s3", "c", "small-s3", "small-c", "kms"):
        k = kind.replace("small-", "")
        got = s3.get_object(Bucket=B, Key=kind, **read_args(k))
        check("GET %s whole" % kind, got["Body"].read() == data[kind])
        check("GET %s says its encryption" % kind,
              got.get("ServerSideEncryption") == {"s3": "AES256", "kms": "aws:kms"}.get(k)
              and got.get("SSECustomerAlgorithm") == ("AES256" if k == "c" else None),
              "%s %s" % (got.get("ServerSideEncryption"), got.get("SSECustomerAlgorithm")))
        h = s3.head_object(Bucket=B, Key=kind, **read_args(k))
        check("HEAD %s size is the plaintext's" % kind, h["ContentLength"] == len(data[kind]))

    r = s3.head_object(Bucket=B, Key="kms")
    check("HEAD SSE-KMS names its key", r.get("SSEKMSKeyId") == KMS_KEY, str(r.get("SSEKMSKeyId")))
    check("SSE-KMS ETag is not the MD5", r["ETag"].strip('"') != hashlib.md5(data["kms"]).hexdigest())
    r = s3.put_object(Bucket=B, Key="kms-default", Body=b"d" * 1000, ServerSideEncryption="aws:kms")
    check("SSE-KMS without a key id uses the default key", r.get("SSEKMSKeyId") == "default", str(r.get("SSEKMSKeyId")))
    ctx = base64.b64encode(b'{"purpose":"test"}').decode()
    s3.put_object(Bucket=B, Key="kms-ctx", Body=b"c" * 1000, ServerSideEncryption="aws:kms", SSEKMSKeyId=KMS_KEY,
                  SSEKMSEncryptionContext=ctx)
    check("SSE-KMS with an encryption context reads back", s3.get_object(Bucket=B, Key="kms-ctx")["Body"].read() == b"c" * 1000)
    st, code, _, _ = call(s3.put_object, Bucket=B, Key="kms-x", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="no-such-key")
    check("SSE-KMS with an unknown key: 400 KMS.NotFoundException", (st, code) == (400, "KMS.NotFoundException"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.put_object, Bucket=B, Key="kms-x", Body=b"x", ServerSideEncryption="aws:kms",
                          SSEKMSEncryptionContext="not base64!")
    check("SSE-KMS with a malformed context: 400", st == 400, "%s %s" % (st, code))

    # Ranges at and across package edges.
    for kind in ("s3", "c", "kms"):
        for start, end in ((0, 0), (PKG - 1, PKG), (PKG, 2 * PKG - 1), (PKG - 5, 3 * PKG + 5), (299_990, 299_999)):
            got = s3.get_object(Bucket=B, Key=kind, Range="bytes=%d-%d" % (start, end), **read_args(kind))["Body"].read()
            check("%s range %d-%d" % (kind, start, end), got == data[kind][start:end + 1])

    # The errors.
    st, code, _, _ = call(s3.get_object, Bucket=B, Key="c")
    check("GET SSE-C without the key: 400 InvalidRequest", (st, code) == (400, "InvalidRequest"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.head_object, Bucket=B, Key="c")
    check("HEAD SSE-C without the key: 400", st == 400, str(st))
    st, code, _, _ = call(s3.get_object, Bucket=B, Key="c", **ssec(CKEY2))
    check("GET SSE-C with another key: 403 AccessDenied", (st, code) == (403, "AccessDenied"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.get_object, Bucket=B, Key="plain", **ssec(CKEY))
    check("GET a plain object with a key: 400", st == 400, "%s %s" % (st, code))
    st, code, _, _ = call(s3.put_object, Bucket=B, Key="dsse", Body=b"x", ServerSideEncryption="aws:kms:dsse")
    check("SSE-KMS dual-layer: 501 NotImplemented", (st, code) == (501, "NotImplemented"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.get_object_attributes, Bucket=B, Key="c", ObjectAttributes=["ObjectSize"])
    check("GetObjectAttributes SSE-C without the key: 400", st == 400, str(st))
    # (botocore encodes the key for GetObjectAttributes only when given as text.)
    r = s3.get_object_attributes(Bucket=B, Key="c", ObjectAttributes=["ObjectSize"], SSECustomerAlgorithm="AES256",
                                 SSECustomerKey=base64.b64encode(CKEY).decode(),
                                 SSECustomerKeyMD5=base64.b64encode(hashlib.md5(CKEY).digest()).decode())
    check("GetObjectAttributes SSE-C with the key", r.get("ObjectSize") == len(data["c"]))

    # Copies between every pair of settings, from sources of their own (a
    # copy to plain stores their bytes in clear: MARKER_COPY is not
    # searched for).
    for kind in ("plain", "s3", "c", "kms"):
        s3.put_object(Bucket=B, Key="src-" + kind, Body=data["copy"], **enc_args(kind))
    for src in ("plain", "s3", "c", "kms"):
        for dst in ("plain", "s3", "c", "kms"):
            key = "copy-%s-%s" % (src, dst)
            kw = dict(enc_args(dst, CKEY2))
            if src == "c":
                kw.update(copy_ssec(CKEY))
            st, code, _, _ = call(s3.copy_object, Bucket=B, Key=key, CopySource={"Bucket": B, "Key": "src-" + src}, **kw)
            got = s3.get_object(Bucket=B, Key=key, **read_args(dst, CKEY2))["Body"].read() if st == 200 else b""
            check("copy %s -> %s" % (src, dst), st == 200 and got == data["copy"], "%s %s" % (st, code))
    st, code, _, _ = call(s3.copy_object, Bucket=B, Key="x", CopySource={"Bucket": B, "Key": "c"})
    check("copy from SSE-C without the source key: 400", st == 400, "%s %s" % (st, code))
    # A copy onto itself that changes the encryption is allowed.
    s3.copy_object(Bucket=B, Key="copy-plain-plain", CopySource={"Bucket": B, "Key": "copy-plain-plain"}, ServerSideEncryption="AES256")
    h = s3.head_object(Bucket=B, Key="copy-plain-plain")
    check("copy onto itself to SSE-S3", h.get("ServerSideEncryption") == "AES256")

    # Multipart, every part sealed; UploadPartCopy from an SSE-C source.
    for kind in ("s3", "c", "kms"):
        key = "mp-" + kind
        up = s3.create_multipart_upload(Bucket=B, Key=key, **enc_args(kind))["UploadId"]
        p1 = body(os.environ["MARKER_MP"], 5 * 1024 * 1024)
        parts = []
        r = s3.upload_part(Bucket=B, Key=key, UploadId=up, PartNumber=1, Body=p1, **read_args(kind))
        parts.append({"PartNumber": 1, "ETag": r["ETag"]})
        if kind == "c":
            st, code, _, _ = call(s3.upload_part, Bucket=B, Key=key, UploadId=up, PartNumber=2, Body=b"x")
            check("SSE-C upload: a part without the key is refused", st == 400, "%s %s" % (st, code))
        kw = dict(read_args(kind))
        kw.update(copy_ssec(CKEY))
        r = s3.upload_part_copy(Bucket=B, Key=key, UploadId=up, PartNumber=2, CopySource={"Bucket": B, "Key": "c"},
                                CopySourceRange="bytes=0-99999", **kw)
        parts.append({"PartNumber": 2, "ETag": r["CopyPartResult"]["ETag"]})
        s3.complete_multipart_upload(Bucket=B, Key=key, UploadId=up, MultipartUpload={"Parts": parts})
        whole = p1 + data["c"][:100_000]
        got = s3.get_object(Bucket=B, Key=key, **read_args(kind))
        check("multipart %s whole" % kind, got["Body"].read() == whole)
        rng = s3.get_object(Bucket=B, Key=key, Range="bytes=%d-%d" % (len(p1) - 3, len(p1) + 3), **read_args(kind))["Body"].read()
        check("multipart %s range across parts" % kind, rng == whole[len(p1) - 3:len(p1) + 4])
        check("multipart %s says its encryption" % kind,
              {"s3": got.get("ServerSideEncryption") == "AES256", "kms": got.get("SSEKMSKeyId") == KMS_KEY,
               "c": got.get("SSECustomerAlgorithm") == "AES256"}[kind])

    # The bucket's default encryption.
    D = "sse-default"
    s3.create_bucket(Bucket=D)
    st, code, _, _ = call(s3.get_bucket_encryption, Bucket=D)
    check("no default encryption: 404", (st, code) == (404, "ServerSideEncryptionConfigurationNotFoundError"), "%s %s" % (st, code))
    s3.put_bucket_encryption(Bucket=D, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    r = s3.get_bucket_encryption(Bucket=D)["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("GetBucketEncryption", r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256")
    dflt = body(os.environ["MARKER_DEFAULT"], 200_000)
    r = s3.put_object(Bucket=D, Key="d", Body=dflt)
    check("a PUT without headers gets the default", r.get("ServerSideEncryption") == "AES256")
    check("it reads back", s3.get_object(Bucket=D, Key="d")["Body"].read() == dflt)
    s3.put_bucket_encryption(Bucket=D, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS_KEY}}]})
    r = s3.put_object(Bucket=D, Key="dk", Body=dflt)
    check("a PUT without headers gets the default aws:kms key",
          r.get("ServerSideEncryption") == "aws:kms" and r.get("SSEKMSKeyId") == KMS_KEY, "%s %s" % (r.get("ServerSideEncryption"), r.get("SSEKMSKeyId")))
    check("it reads back", s3.get_object(Bucket=D, Key="dk")["Body"].read() == dflt)
    s3.delete_bucket_encryption(Bucket=D)
    r = s3.put_object(Bucket=D, Key="after", Body=b"after")
    check("after DeleteBucketEncryption a PUT is plain", r.get("ServerSideEncryption") is None)

    # Versions, each with its own encryption.
    V = "sse-versions"
    s3.create_bucket(Bucket=V)
    s3.put_bucket_versioning(Bucket=V, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=V, Key="k", Body=b"one" * 30000, **ssec(CKEY))["VersionId"]
    v2 = s3.put_object(Bucket=V, Key="k", Body=b"two" * 30000, ServerSideEncryption="AES256")["VersionId"]
    check("the current version, SSE-S3", s3.get_object(Bucket=V, Key="k")["Body"].read() == b"two" * 30000)
    st, _, _, _ = call(s3.get_object, Bucket=V, Key="k", VersionId=v1)
    check("the older SSE-C version needs its key", st == 400, str(st))
    got = s3.get_object(Bucket=V, Key="k", VersionId=v1, **ssec(CKEY))["Body"].read()
    check("the older SSE-C version with its key", got == b"one" * 30000)
    check("versions listed", len(s3.list_object_versions(Bucket=V)["Versions"]) == 2 and v2)

    print("boto3 sse: %d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
