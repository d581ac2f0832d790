#!/usr/bin/env python3
"""boto3 scenarios against an S3 endpoint: conditional writes, checksums of
every algorithm boto3 offers, multipart copy, and a browser-form POST from
generate_presigned_post.

Run by TestBoto3 (tests/boto3_test.go); runs against any endpoint:

    S3_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... \
    AWS_SECRET_ACCESS_KEY=... python3 tests/boto3_s3.py

It creates (and removes) its own bucket, prints one line per check ("ok" or
"FAIL") and a summary, and exits 1 if any check failed.

Expected checksums are computed here, independently of botocore (which needs
awscrt for CRC32C and CRC64NVME): zlib for CRC32, hashlib for SHA1/SHA256,
table-driven CRC32C and CRC64NVME.
"""

import base64
import functools
import hashlib
import os
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
import zlib

import boto3
from botocore.exceptions import ClientError

from s3check import check, client, failures

MiB = 1 << 20


def err_of(fn):
    """Runs fn; returns (HTTP status, S3 error code), or (200, "") if it succeeded."""
    try:
        fn()
        return 200, ""
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code", "")


def data_of(seed, n):
    """n reproducible pseudo-random bytes (fast: SHAKE-256 output)."""
    return hashlib.shake_256(b"ecstore-boto3-%d" % seed).digest(n)


# --- checksums, computed independently -------------------------------------

def _table(poly):
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_T32C = _table(0x82F63B78)
_T64NVME = _table(0x9A6C9329AC4BC9B5)


def _crc(data, table, mask):
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


@functools.lru_cache(maxsize=64)
def digest(algo, data):
    """The raw checksum of data (big-endian for CRCs), as S3 encodes it."""
    if algo == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algo == "CRC32C":
        return _crc(data, _T32C, 0xFFFFFFFF).to_bytes(4, "big")
    if algo == "CRC64NVME":
        return _crc(data, _T64NVME, 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    if algo == "SHA1":
        return hashlib.sha1(data).digest()
    if algo == "SHA256":
        return hashlib.sha256(data).digest()
    raise ValueError(algo)


def b64(b):
    return base64.b64encode(b).decode()


def checksum(algo, data):
    return b64(digest(algo, data))


def composite(algo, parts):
    """S3's COMPOSITE checksum: the checksum of the parts' raw checksums, -N."""
    raw = b"".join(digest(algo, p) for p in parts)
    return "%s-%d" % (checksum(algo, raw), len(parts))


ALGOS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]
# botocore computes these itself (the others need awscrt).
BOTOCORE_ALGOS = ["CRC32", "SHA1", "SHA256"]


# --- scenarios -------------------------------------------------------------

def conditional_put(s3, bucket):
    key = "cond/put"
    st, _ = err_of(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"first", IfNoneMatch="*"))
    check("put If-None-Match * creates", st == 200, "HTTP %d" % st)
    st, code = err_of(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"second", IfNoneMatch="*"))
    check("put If-None-Match * on an existing key: 412", (st, code) == (412, "PreconditionFailed"), "HTTP %d %s" % (st, code))
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    check("failed create left the object alone", body == b"first", repr(body))

    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    r = s3.put_object(Bucket=bucket, Key=key, Body=b"third", IfMatch=etag)
    check("put If-Match current ETag replaces", r["ETag"].strip('"') == hashlib.md5(b"third").hexdigest())
    st, code = err_of(lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"fourth", IfMatch=etag))
    check("put If-Match stale ETag: 412", (st, code) == (412, "PreconditionFailed"), "HTTP %d %s" % (st, code))
    st, code = err_of(lambda: s3.put_object(Bucket=bucket, Key="cond/missing", Body=b"x", IfMatch='"0123"'))
    check("put If-Match on a missing key: 404 NoSuchKey", (st, code) == (404, "NoSuchKey"), "HTTP %d %s" % (st, code))
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    check("object is the If-Match write", body == b"third", repr(body))


def race(n, attempt):
    """Runs attempt(i) in n threads released together; returns the outcomes."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        try:
            barrier.wait()
            out[i] = err_of(lambda: attempt(i))
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            out[i] = (0, repr(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def losers_ok(outcomes):
    # A loser sees 412, or 409 ConditionalRequestConflict (S3 answers that
    # when it sees the race in progress).
    return all(o == (412, "PreconditionFailed") or o[0] == 409 for o in outcomes if o[0] != 200)


def conditional_race(bucket):
    clients = [client(max_attempts=1) for _ in range(6)]
    for rnd in range(5):
        key = "race/put-%d" % rnd
        bodies = [b"writer %d of round %d" % (i, rnd) for i in range(len(clients))]
        out = race(len(clients), lambda i: clients[i].put_object(Bucket=bucket, Key=key, Body=bodies[i], IfNoneMatch="*"))
        winners = [i for i, o in enumerate(out) if o[0] == 200]
        check("racing creates, round %d: exactly one wins" % rnd, len(winners) == 1 and losers_ok(out), str(out))
        if len(winners) == 1:
            got = clients[0].get_object(Bucket=bucket, Key=key)["Body"].read()
            check("racing creates, round %d: the winner's bytes are stored" % rnd, got == bodies[winners[0]], repr(got))


def conditional_complete(s3, bucket):
    def upload(key, data):
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=data)["ETag"]
        return uid, {"Parts": [{"PartNumber": 1, "ETag": etag}]}

    key = "cond/mpu"
    uid, mpu = upload(key, b"mpu one")
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu, IfNoneMatch="*")
    check("complete If-None-Match * creates", s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"mpu one")

    uid, mpu = upload(key, b"mpu two")
    st, code = err_of(lambda: s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu, IfNoneMatch="*"))
    check("complete If-None-Match * on an existing key: 412", (st, code) == (412, "PreconditionFailed"), "HTTP %d %s" % (st, code))
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    st, code = err_of(lambda: s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu, IfMatch='"' + "0" * 32 + '-1"'))
    check("complete If-Match stale ETag: 412", (st, code) == (412, "PreconditionFailed"), "HTTP %d %s" % (st, code))
    # A failed precondition leaves the upload as it was: it completes now.
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mpu, IfMatch=etag)
    check("complete If-Match current ETag replaces", s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"mpu two")

    clients = [client(max_attempts=1) for _ in range(4)]
    for rnd in range(3):
        key = "race/mpu-%d" % rnd
        ups = [upload(key, b"mpu writer %d round %d" % (i, rnd)) for i in range(len(clients))]
        out = race(len(clients), lambda i: clients[i].complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=ups[i][0], MultipartUpload=ups[i][1], IfNoneMatch="*"))
        winners = [i for i, o in enumerate(out) if o[0] == 200]
        check("racing completes, round %d: exactly one wins" % rnd, len(winners) == 1 and losers_ok(out), str(out))
        if len(winners) == 1:
            got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            check("racing completes, round %d: the winner's bytes are stored" % rnd, got == b"mpu writer %d round %d" % (winners[0], rnd), repr(got))
        for uid, _ in ups:
            try:
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
            except ClientError:
                pass


def checksum_put(s3, bucket):
    data = data_of(1, 300 * 1024 + 7)
    for algo in ALGOS:
        want = checksum(algo, data)
        key = "ck/put-header-" + algo
        r = s3.put_object(Bucket=bucket, Key=key, Body=data, **{"Checksum" + algo: want})
        check("put_object Checksum%s echoed" % algo, r.get("Checksum" + algo) == want, "%s != %s" % (r.get("Checksum" + algo), want))
        h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        check("head_object ChecksumMode=ENABLED returns %s" % algo, h.get("Checksum" + algo) == want and h.get("ChecksumType") == "FULL_OBJECT",
              "%s %s" % (h.get("Checksum" + algo), h.get("ChecksumType")))
        g = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        body = g["Body"].read()
        check("get_object ChecksumMode=ENABLED returns %s and the bytes" % algo, g.get("Checksum" + algo) == want and body == data)
        h = s3.head_object(Bucket=bucket, Key=key)
        check("head_object without ChecksumMode omits %s" % algo, "Checksum" + algo not in h)

        bad = checksum(algo, data + b"!")
        st, code = err_of(lambda: s3.put_object(Bucket=bucket, Key=key + "-bad", Body=data, **{"Checksum" + algo: bad}))
        check("put_object wrong %s: 400 BadDigest" % algo, (st, code) == (400, "BadDigest"), "HTTP %d %s" % (st, code))
        st, _ = err_of(lambda: s3.head_object(Bucket=bucket, Key=key + "-bad"))
        check("put_object wrong %s stored nothing" % algo, st == 404, "HTTP %d" % st)

    for algo in BOTOCORE_ALGOS:
        # botocore computes the checksum and sends it (as a header or an
        # aws-chunked trailer, as its version chooses).
        key = "ck/put-sdk-" + algo
        r = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algo)
        want = checksum(algo, data)
        h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        check("put_object ChecksumAlgorithm=%s (computed by botocore) stored" % algo,
              r.get("Checksum" + algo) == want and h.get("Checksum" + algo) == want, "%s %s %s" % (r.get("Checksum" + algo), h.get("Checksum" + algo), want))


def checksum_multipart(s3, bucket):
    parts = [data_of(10, 5 * MiB), data_of(11, 5 * MiB + 3), data_of(12, 1000)]
    whole = b"".join(parts)
    cases = [(a, "COMPOSITE") for a in ["CRC32", "CRC32C", "SHA1", "SHA256"]]
    cases += [(a, "FULL_OBJECT") for a in ["CRC32", "CRC32C", "CRC64NVME"]]
    for algo, typ in cases:
        name = "%s/%s" % (algo, typ)
        key = "ck/mpu-%s-%s" % (algo, typ)
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algo, ChecksumType=typ)["UploadId"]
        refs = []
        for i, p in enumerate(parts):
            want = checksum(algo, p)
            r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i + 1, Body=p, **{"Checksum" + algo: want})
            check("upload_part %d %s echoed" % (i + 1, name), r.get("Checksum" + algo) == want, "%s != %s" % (r.get("Checksum" + algo), want))
            refs.append({"PartNumber": i + 1, "ETag": r["ETag"], "Checksum" + algo: want})
        lp = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
        check("list_parts %s lists part checksums" % name,
              [p.get("Checksum" + algo) for p in lp["Parts"]] == [checksum(algo, p) for p in parts])
        want = composite(algo, parts) if typ == "COMPOSITE" else checksum(algo, whole)
        kw = {}
        if typ == "FULL_OBJECT":
            kw["Checksum" + algo] = want  # the client's whole-object value, checked by the server
        r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": refs}, **kw)
        check("complete %s checksum" % name, r.get("Checksum" + algo) == want and r.get("ChecksumType") == typ,
              "%s %s, want %s %s" % (r.get("Checksum" + algo), r.get("ChecksumType"), want, typ))
        h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        check("head_object %s checksum" % name, h.get("Checksum" + algo) == want and h.get("ChecksumType") == typ,
              "%s %s" % (h.get("Checksum" + algo), h.get("ChecksumType")))
        g = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        body = g["Body"].read()
        check("get_object %s: bytes and checksum" % name, body == whole and g.get("Checksum" + algo) == want)
        g = s3.get_object(Bucket=bucket, Key=key, PartNumber=2, ChecksumMode="ENABLED")
        body = g["Body"].read()
        check("get_object PartNumber=2 %s: the part's bytes and checksum" % name,
              body == parts[1] and g.get("Checksum" + algo) == checksum(algo, parts[1]), "%s" % g.get("Checksum" + algo))
        a = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["Checksum", "ObjectParts"])
        got = [p.get("Checksum" + algo) for p in a.get("ObjectParts", {}).get("Parts", [])]
        check("get_object_attributes %s part checksums" % name, got == [checksum(algo, p) for p in parts], str(got))

    # A part whose checksum does not match its bytes is refused.
    key = "ck/mpu-bad"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    st, code = err_of(lambda: s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=parts[2],
                                             ChecksumSHA256=checksum("SHA256", parts[1])))
    check("upload_part wrong SHA256: 400 BadDigest", (st, code) == (400, "BadDigest"), "HTTP %d %s" % (st, code))
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)


def multipart_copy(s3, bucket):
    src = data_of(20, 13 * MiB + 5)
    s3.put_object(Bucket=bucket, Key="copy/src", Body=src)
    key = "copy/dst"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    # Ranges out of order in the source, crossing 1 MiB stripes; part 3 is a
    # whole (unranged) copy of another object; the last part is the source's
    # short tail.
    s3.put_object(Bucket=bucket, Key="copy/whole", Body=data_of(21, 5 * MiB + 1))
    parts = [
        ({"Bucket": bucket, "Key": "copy/src"}, "bytes=%d-%d" % (7 * MiB, 12 * MiB - 1), src[7 * MiB:12 * MiB]),
        ({"Bucket": bucket, "Key": "copy/src"}, "bytes=%d-%d" % (0, 5 * MiB + 12), src[:5 * MiB + 13]),
        ("%s/copy/whole" % bucket, None, data_of(21, 5 * MiB + 1)),
        ({"Bucket": bucket, "Key": "copy/src"}, "bytes=%d-%d" % (12 * MiB, len(src) - 1), src[12 * MiB:]),
    ]
    refs, want = [], b""
    for i, (source, rng, part) in enumerate(parts):
        kw = {"CopySourceRange": rng} if rng else {}
        r = s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i + 1, CopySource=source, **kw)
        etag = r["CopyPartResult"]["ETag"]
        check("upload_part_copy %d: ETag is the copied bytes' MD5" % (i + 1), etag.strip('"') == hashlib.md5(part).hexdigest())
        refs.append({"PartNumber": i + 1, "ETag": etag})
        want += part
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": refs})
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    check("multipart copy: bytes equal the copied ranges", got == want, "%d bytes, want %d" % (len(got), len(want)))
    g = s3.get_object(Bucket=bucket, Key=key, Range="bytes=%d-%d" % (5 * MiB - 10, 5 * MiB + 10))
    check("multipart copy: a range across a part boundary", g["Body"].read() == want[5 * MiB - 10:5 * MiB + 11])

    uid = s3.create_multipart_upload(Bucket=bucket, Key=key + "2")["UploadId"]
    st, code = err_of(lambda: s3.upload_part_copy(Bucket=bucket, Key=key + "2", UploadId=uid, PartNumber=1,
                                                  CopySource={"Bucket": bucket, "Key": "copy/src"}, CopySourceRange="bytes=%d-%d" % (0, len(src))))
    # S3 has answered this 400 InvalidArgument and 416 InvalidRange over time.
    check("upload_part_copy range past the source's end refused", (st, code) in [(416, "InvalidRange"), (400, "InvalidArgument")], "HTTP %d %s" % (st, code))
    etag = s3.head_object(Bucket=bucket, Key="copy/src")["ETag"]
    st, code = err_of(lambda: s3.upload_part_copy(Bucket=bucket, Key=key + "2", UploadId=uid, PartNumber=1,
                                                  CopySource={"Bucket": bucket, "Key": "copy/src"}, CopySourceIfNoneMatch=etag))
    check("upload_part_copy x-amz-copy-source-if-none-match: 412", (st, code) == (412, "PreconditionFailed"), "HTTP %d %s" % (st, code))
    s3.abort_multipart_upload(Bucket=bucket, Key=key + "2", UploadId=uid)


def post_form(url, fields, file_bytes):
    """POSTs a multipart/form-data body (fields, then the file); returns
    (status, headers, body)."""
    boundary = "ecstore" + uuid.uuid4().hex
    out = b""
    for k, v in fields.items():
        out += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary.encode(), k.encode(), v.encode())
    out += b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up.txt\"\r\nContent-Type: text/plain\r\n\r\n" % boundary.encode()
    out += file_bytes + b"\r\n--%s--\r\n" % boundary.encode()
    req = urllib.request.Request(url, data=out, method="POST", headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def presigned_post(s3, bucket):
    data = b"uploaded from a browser form"
    post = s3.generate_presigned_post(
        Bucket=bucket, Key="post/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-origin": "form"},
        Conditions=[["starts-with", "$key", "post/"], {"Content-Type": "text/plain"},
                    {"x-amz-meta-origin": "form"}, ["content-length-range", 1, 1000]],
        ExpiresIn=600)
    st, hdrs, body = post_form(post["url"], post["fields"], data)
    check("presigned POST: 204", st == 204, "HTTP %d %s" % (st, body[:300]))
    h = s3.head_object(Bucket=bucket, Key="post/up.txt")
    got = s3.get_object(Bucket=bucket, Key="post/up.txt")["Body"].read()
    check("presigned POST: bytes, ${filename}, Content-Type and metadata stored",
          got == data and h["ContentType"] == "text/plain" and h["Metadata"].get("origin") == "form", str(h.get("Metadata")))
    check("presigned POST: ETag header", hdrs.get("ETag", "").strip('"') == hashlib.md5(data).hexdigest())

    st, _, body = post_form(post["url"], post["fields"], b"x" * 1001)
    check("presigned POST over content-length-range: 400 EntityTooLarge", st == 400 and b"EntityTooLarge" in body, "HTTP %d %s" % (st, body[:300]))
    fields = dict(post["fields"], key="elsewhere/up.txt")
    st, _, body = post_form(post["url"], fields, data)
    check("presigned POST with a key outside the policy: 403", st == 403 and b"AccessDenied" in body, "HTTP %d %s" % (st, body[:300]))
    fields = dict(post["fields"], **{"x-amz-meta-extra": "1"})
    st, _, body = post_form(post["url"], fields, data)
    check("presigned POST with a field outside the policy: 403", st == 403 and b"Extra input fields" in body, "HTTP %d %s" % (st, body[:300]))
    fields = dict(post["fields"], **{"x-amz-signature": "0" * 64})
    st, _, body = post_form(post["url"], fields, data)
    check("presigned POST with a wrong signature: 403 SignatureDoesNotMatch", st == 403 and b"SignatureDoesNotMatch" in body, "HTTP %d %s" % (st, body[:300]))
    for k in ["elsewhere/up.txt", "post/up.txt-none"]:
        st, _ = err_of(lambda: s3.head_object(Bucket=bucket, Key=k))
        check("refused POSTs stored nothing (%s)" % k, st == 404, "HTTP %d" % st)


def empty_bucket(s3, bucket):
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for u in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objs = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objs:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


def main():
    s3 = client(max_attempts=3)
    bucket = "boto3-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    scenarios = [conditional_put, conditional_race, conditional_complete, checksum_put, checksum_multipart, multipart_copy, presigned_post]
    try:
        for fn in scenarios:
            start = time.time()
            try:
                if fn is conditional_race:
                    fn(bucket)
                else:
                    fn(s3, bucket)
            except Exception:  # noqa: BLE001 - reported, then the next scenario runs
                check(fn.__name__, False, traceback.format_exc())
            print("---- %s: %.1fs" % (fn.__name__, time.time() - start))
    finally:
        empty_bucket(s3, bucket)
    print("boto3 %s: %d checks failed" % (boto3.__version__, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
