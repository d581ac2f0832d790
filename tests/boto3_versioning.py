#!/usr/bin/env python3
"""boto3 checks of versioning and object tagging against the embedded server.

Run by TestVersioningBoto3 (tests/versioning_test.go):

    S3_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... \
    AWS_SECRET_ACCESS_KEY=... BUCKET=b python3 tests/boto3_versioning.py

The bucket exists and is empty. It prints one line per check ("ok" or
"FAIL") and a summary, and exits 1 if any check failed.
"""

import os
import sys

import urllib3

from s3check import call, check, client, failures

BUCKET = os.environ["BUCKET"]

def versions(s3, key):
    r = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    out = []
    for v in r.get("Versions", []):
        out.append((v["VersionId"], v["IsLatest"], False))
    for m in r.get("DeleteMarkers", []):
        out.append((m["VersionId"], m["IsLatest"], True))
    return out


def main():
    s3 = client()
    # Before versioning: the null version.
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"zero")
    st, code, r, _ = call(s3.get_bucket_versioning, Bucket=BUCKET)
    check("get-bucket-versioning of a new bucket: no status", st == 200 and "Status" not in r, "%s %s %s" % (st, code, r))
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    r = s3.get_bucket_versioning(Bucket=BUCKET)
    check("get-bucket-versioning: Enabled", r.get("Status") == "Enabled", "%s" % r)
    st, code, _, _ = call(s3.put_bucket_versioning, Bucket=BUCKET,
                          VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
    check("MFA delete: NotImplemented", (st, code) == (501, "NotImplemented"), "%s %s" % (st, code))

    v1 = s3.put_object(Bucket=BUCKET, Key="k", Body=b"one", Tagging="a=1")["VersionId"]
    v2 = s3.put_object(Bucket=BUCKET, Key="k", Body=b"two")["VersionId"]
    check("versioned puts answer distinct ids", v1 and v2 and v1 != v2 and "null" not in (v1, v2), "%s %s" % (v1, v2))
    r = s3.get_object(Bucket=BUCKET, Key="k")
    check("get answers the latest version and its id", r["Body"].read() == b"two" and r["VersionId"] == v2, r.get("VersionId", ""))
    r = s3.get_object(Bucket=BUCKET, Key="k", VersionId=v1)
    check("get of version 1 (with its tag count)", r["Body"].read() == b"one" and r.get("TagCount") == 1, "%s" % r.get("TagCount"))
    r = s3.get_object(Bucket=BUCKET, Key="k", VersionId="null")
    check("get of the null version", r["Body"].read() == b"zero")
    r = s3.head_object(Bucket=BUCKET, Key="k", VersionId=v1)
    check("head of version 1", r["ContentLength"] == 3 and r["VersionId"] == v1)
    vs = versions(s3, "k")
    check("list-object-versions: 3 versions, the latest first",
          [v[0] for v in vs] == [v2, v1, "null"] and vs[0][1] and not vs[1][1], "%s" % vs)

    # A delete marker.
    r = s3.delete_object(Bucket=BUCKET, Key="k")
    marker = r.get("VersionId")
    check("delete writes a delete marker", r.get("DeleteMarker") is True and marker, "%s" % r)
    st, code, _, h = call(s3.head_object, Bucket=BUCKET, Key="k")
    check("head of a deleted key: 404 with x-amz-delete-marker", st == 404 and h.get("x-amz-delete-marker") == "true",
          "%s %s %s" % (st, code, h))
    st, code, _, h = call(s3.get_object, Bucket=BUCKET, Key="k", VersionId=marker)
    check("get of the marker by id: 405 MethodNotAllowed", (st, code) == (405, "MethodNotAllowed"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.delete_bucket, Bucket=BUCKET)
    check("delete-bucket with versions: BucketNotEmpty", (st, code) == (409, "BucketNotEmpty"), "%s %s" % (st, code))
    s3.delete_object(Bucket=BUCKET, Key="k", VersionId=marker)
    check("removing the marker brings the object back", s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"two")

    # Tags per version.
    s3.put_object_tagging(Bucket=BUCKET, Key="k", VersionId=v2, Tagging={"TagSet": [{"Key": "t", "Value": "2"}]})
    r = s3.get_object_tagging(Bucket=BUCKET, Key="k", VersionId=v2)
    check("tags of version 2", r["TagSet"] == [{"Key": "t", "Value": "2"}] and r.get("VersionId") == v2, "%s" % r)
    r = s3.get_object_tagging(Bucket=BUCKET, Key="k", VersionId=v1)
    check("tags of version 1 unchanged", r["TagSet"] == [{"Key": "a", "Value": "1"}], "%s" % r)

    # DeleteObjects with version ids.
    r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "k", "VersionId": v1}, {"Key": "k", "VersionId": "null"}]})
    got = sorted(d.get("VersionId") for d in r.get("Deleted", []))
    check("delete-objects with version ids", got == sorted([v1, "null"]) and not r.get("Errors"), "%s" % r)
    vs = versions(s3, "k")
    check("one version left", [v[0] for v in vs] == [v2], "%s" % vs)
    # Conditional deletes: If-Match on DeleteObject, ETag in DeleteObjects.
    etag = s3.put_object(Bucket=BUCKET, Key="cd", Body=b"cond")["ETag"]
    st, code, _, _ = call(s3.delete_object, Bucket=BUCKET, Key="cd", IfMatch='"0123"')
    check("delete If-Match another ETag: 412 PreconditionFailed", (st, code) == (412, "PreconditionFailed"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.delete_object, Bucket=BUCKET, Key="cd-missing", IfMatch="*")
    check("delete If-Match * of a missing key: 404 NoSuchKey", (st, code) == (404, "NoSuchKey"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.delete_object, Bucket=BUCKET, Key="cd", IfMatchSize=4)
    check("delete If-Match-Size (S3 Express only): 501 NotImplemented", (st, code) == (501, "NotImplemented"), "%s %s" % (st, code))
    check("failed conditional deletes leave the object", s3.get_object(Bucket=BUCKET, Key="cd")["Body"].read() == b"cond")
    r = s3.delete_object(Bucket=BUCKET, Key="cd", IfMatch=etag)
    check("delete If-Match the ETag writes a delete marker", r.get("DeleteMarker") is True, "%s" % r)
    st, code, _, _ = call(s3.delete_object, Bucket=BUCKET, Key="cd", IfMatch="*")
    check("delete If-Match * over a delete marker: 404 NoSuchKey", (st, code) == (404, "NoSuchKey"), "%s %s" % (st, code))
    etag2 = s3.put_object(Bucket=BUCKET, Key="cd2", Body=b"two")["ETag"]
    r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "cd2", "ETag": '"0123"'}, {"Key": "cd", "ETag": etag}]})
    errs = sorted((e["Key"], e["Code"]) for e in r.get("Errors", []))
    check("delete-objects with ETags that do not hold: an error each",
          errs == [("cd", "NoSuchKey"), ("cd2", "PreconditionFailed")] and not r.get("Deleted"), "%s" % r)
    r = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "cd2", "ETag": etag2}]})
    d = r.get("Deleted", [])
    check("delete-objects with the ETag deletes", len(d) == 1 and d[0].get("DeleteMarker") is True and not r.get("Errors"), "%s" % r)
    for key in ("cd", "cd2"):
        for v in versions(s3, key):
            s3.delete_object(Bucket=BUCKET, Key=key, VersionId=v[0])

    # Suspended: writes replace the null version.
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    r = s3.put_object(Bucket=BUCKET, Key="k", Body=b"s1")
    check("a put while suspended answers version id null", r.get("VersionId") == "null", "%s" % r.get("VersionId"))
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"s2")
    vs = versions(s3, "k")
    check("suspended: the null version replaced, the others kept", [v[0] for v in vs] == ["null", v2], "%s" % vs)
    check("the null version reads its last write", s3.get_object(Bucket=BUCKET, Key="k", VersionId="null")["Body"].read() == b"s2")

    # Empty the bucket.
    for v in versions(s3, "k"):
        s3.delete_object(Bucket=BUCKET, Key="k", VersionId=v[0])
    check("every version deleted", versions(s3, "k") == [])

    # POST Object (a browser form) with a tagging field: the tags go on
    # the object.
    tagdoc = "<Tagging><TagSet><Tag><Key>via</Key><Value>form</Value></Tag></TagSet></Tagging>"
    post = s3.generate_presigned_post(BUCKET, "posted", Fields={"tagging": tagdoc}, Conditions=[{"tagging": tagdoc}])
    fields = dict(post["fields"])
    fields["file"] = ("f.txt", b"posted body")
    r = urllib3.PoolManager().request("POST", post["url"], fields=fields)
    check("POST Object with a tagging field", r.status == 204, "%d %s" % (r.status, r.data[:300]))
    tags = s3.get_object_tagging(Bucket=BUCKET, Key="posted").get("TagSet", [])
    check("the form's tags are on the object", tags == [{"Key": "via", "Value": "form"}], repr(tags))
    bad = "<Tagging><TagSet>" + "".join("<Tag><Key>k%d</Key><Value>v</Value></Tag>" % i for i in range(11)) + "</TagSet></Tagging>"
    post = s3.generate_presigned_post(BUCKET, "posted2", Fields={"tagging": bad}, Conditions=[{"tagging": bad}])
    fields = dict(post["fields"])
    fields["file"] = ("f.txt", b"x")
    r = urllib3.PoolManager().request("POST", post["url"], fields=fields)
    check("POST Object with 11 tags: 400 InvalidTag", r.status == 400 and b"InvalidTag" in r.data, "%d %s" % (r.status, r.data[:300]))
    for v in versions(s3, "posted"):
        s3.delete_object(Bucket=BUCKET, Key="posted", VersionId=v[0])

    print("boto3 versioning: %d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
