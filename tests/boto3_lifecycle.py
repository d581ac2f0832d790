#!/usr/bin/env python3
"""boto3 checks of bucket lifecycle against the embedded server started
with the test hook ECSTORE_TEST_LIFECYCLE_DAY=1s (a lifecycle day lasts a
second, passes run every half second).

Run by TestVersioningBoto3 (tests/versioning_test.go):

    S3_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... \
    AWS_SECRET_ACCESS_KEY=... python3 tests/boto3_lifecycle.py

It creates its own buckets. It prints one line per check ("ok" or "FAIL")
and a summary, and exits 1 if any check failed.
"""

import datetime
import sys
import time

from s3check import call, check, client, failures

BUCKET = "boto3-lifecycle"
LOCKED = "boto3-lifecycle-locked"

def code_of(fn, **kw):
    """Runs fn(**kw); returns the S3 error code, or "" if it succeeded."""
    return call(fn, **kw)[1]


def shape(s3, bucket, key):
    """A key's versions, newest first: "m" for a delete marker, else the body."""
    r = s3.list_object_versions(Bucket=bucket, Prefix=key)
    entries = [(v["LastModified"], v["VersionId"], False) for v in r.get("Versions", []) if v["Key"] == key]
    entries += [(m["LastModified"], m["VersionId"], True) for m in r.get("DeleteMarkers", []) if m["Key"] == key]
    entries.sort(key=lambda e: e[0], reverse=True)
    out = []
    for _, vid, marker in entries:
        if marker:
            out.append("m")
            continue
        # The lifecycle worker may remove a version between the listing
        # and this read: then it is not there any more.
        st, code, r, _ = call(s3.get_object, Bucket=bucket, Key=key, VersionId=vid)
        if code == "NoSuchVersion":
            continue
        out.append(r["Body"].read().decode() if r else "error %s %s" % (st, code))
    return " ".join(out)


def wait_for(what, fn, want, timeout=20):
    """Polls fn() until it returns want; checks that it did."""
    deadline = time.time() + timeout
    got = fn()
    while got != want and time.time() < deadline:
        time.sleep(0.25)
        got = fn()
    check(what, got == want, "got %r, want %r" % (got, want))


def main():
    s3 = client()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})

    check("no configuration: NoSuchLifecycleConfiguration",
          code_of(s3.get_bucket_lifecycle_configuration, Bucket=BUCKET) == "NoSuchLifecycleConfiguration")
    bad = [
        ("Days 0: InvalidArgument", {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}, "InvalidArgument"),
        ("a transition: NotImplemented", {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
                                          "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}, "NotImplemented"),
        ("ExpiredObjectDeleteMarker with a tag: InvalidArgument",
         {"ID": "x", "Status": "Enabled", "Filter": {"Tag": {"Key": "a", "Value": "b"}},
          "Expiration": {"ExpiredObjectDeleteMarker": True}}, "InvalidArgument"),
    ]
    for name, rule, want in bad:
        got = code_of(s3.put_bucket_lifecycle_configuration, Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule]})
        check(name, got == want, "got " + repr(got))

    # The objects before the rules, so that they are due at the first pass.
    s3.put_object(Bucket=BUCKET, Key="tmp/a", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="tmp/a", Body=b"2")
    s3.put_object(Bucket=BUCKET, Key="keep/b", Body=b"kept")
    s3.put_object(Bucket=BUCKET, Key="gone/c", Body=b"c")
    s3.delete_object(Bucket=BUCKET, Key="gone/c")
    s3.put_object(Bucket=BUCKET, Key="tag/t", Body=b"t", Tagging="tier=scratch")
    s3.put_object(Bucket=BUCKET, Key="tag/u", Body=b"u", Tagging="tier=gold")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="up/x")["UploadId"]

    rules = [
        {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": "gone/"},
         "Expiration": {"ExpiredObjectDeleteMarker": True}},
        {"ID": "scratch", "Status": "Enabled", "Filter": {"Tag": {"Key": "tier", "Value": "scratch"}},
         "Expiration": {"Days": 1}},
        {"ID": "uploads", "Status": "Enabled", "Filter": {"Prefix": "up/"},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Days": 1}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    check("GetBucketLifecycleConfiguration answers the rules put",
          [(r["ID"], r["Status"], r.get("Filter"), r.get("Expiration"), r.get("NoncurrentVersionExpiration"),
            r.get("AbortIncompleteMultipartUpload")) for r in got] ==
          [(r["ID"], r["Status"], r.get("Filter"), r.get("Expiration"), r.get("NoncurrentVersionExpiration"),
            r.get("AbortIncompleteMultipartUpload")) for r in rules], repr(got))

    # gone/c: a marker over a version stays until the version is removed.
    time.sleep(1.5)
    check("a delete marker over a version is not expired", shape(s3, BUCKET, "gone/c") == "m c",
          shape(s3, BUCKET, "gone/c"))
    r = s3.list_object_versions(Bucket=BUCKET, Prefix="gone/c")
    s3.delete_object(Bucket=BUCKET, Key="gone/c", VersionId=r["Versions"][0]["VersionId"])

    # tmp/a: "2" expires into a marker, "1" and then "2" go as noncurrent,
    # and the marker left alone goes with Days.
    wait_for("tmp/a: every version expired in turn", lambda: shape(s3, BUCKET, "tmp/a"), "")
    wait_for("gone/c: the lone delete marker removed", lambda: shape(s3, BUCKET, "gone/c"), "")
    wait_for("tag/t (tier=scratch) expired into a delete marker",
             lambda: shape(s3, BUCKET, "tag/t").split(" ")[0], "m")
    check("tag/u (tier=gold) kept", shape(s3, BUCKET, "tag/u") == "u", shape(s3, BUCKET, "tag/u"))
    check("keep/b (disabled rule) kept", shape(s3, BUCKET, "keep/b") == "kept", shape(s3, BUCKET, "keep/b"))
    wait_for("the upload under up/ aborted",
             lambda: [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])], [])
    check("the aborted upload is gone", code_of(s3.list_parts, Bucket=BUCKET, Key="up/x", UploadId=upload) == "NoSuchUpload")

    s3.delete_bucket_lifecycle(Bucket=BUCKET)
    check("DeleteBucketLifecycle removes the rules",
          code_of(s3.get_bucket_lifecycle_configuration, Bucket=BUCKET) == "NoSuchLifecycleConfiguration")

    # A COMPLIANCE-locked version survives a rule that makes it due.
    s3.create_bucket(Bucket=LOCKED, ObjectLockEnabledForBucket=True)
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    locked = s3.put_object(Bucket=LOCKED, Key="k", Body=b"locked", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=until)["VersionId"]
    s3.put_object(Bucket=LOCKED, Key="k", Body=b"plain")
    s3.put_object(Bucket=LOCKED, Key="k", Body=b"current")
    s3.put_bucket_lifecycle_configuration(Bucket=LOCKED, LifecycleConfiguration={"Rules": [
        {"ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]})
    wait_for("a locked bucket: the unlocked noncurrent version goes, the COMPLIANCE one stays",
             lambda: shape(s3, LOCKED, "k"), "current locked")
    body = s3.get_object(Bucket=LOCKED, Key="k", VersionId=locked)["Body"].read()
    check("the locked version reads back whole", body == b"locked", repr(body))

    print("boto3 lifecycle: %d failures" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
