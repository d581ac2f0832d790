#!/usr/bin/env python3
"""boto3 checks of bucket settings: bucket tagging (get, delete, the rules)
and the "nothing set" answers of the features ecstore has not built.

Run by TestBucketSettings (tests/settings_test.go), against a bucket the
test made and tagged (with the aws CLI) and holding one object:

    S3_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=... \
    AWS_SECRET_ACCESS_KEY=... BUCKET=b KEY=k \
    TAGS=team=storage,env=test python3 tests/boto3_settings.py

It prints one line per check ("ok" or "FAIL") and a summary, and exits 1
if any check failed.
"""

import os
import sys
import uuid

from s3check import call, check, client, failures

BUCKET = os.environ["BUCKET"]
KEY = os.environ["KEY"]
TAGS = [tuple(kv.split("=", 1)) for kv in os.environ["TAGS"].split(",")]
MISSING = "missing-" + uuid.uuid4().hex[:12]

def main():
    s3 = client()

    # Bucket tagging: the set the aws CLI put through the other gateway.
    st, code, r, _ = call(s3.get_bucket_tagging, Bucket=BUCKET)
    got = [(t["Key"], t["Value"]) for t in r["TagSet"]] if r else None
    check("get-bucket-tagging answers the tags put", st == 200 and got == TAGS, "%s %s %s" % (st, code, got))
    st, code, _, _ = call(s3.put_bucket_tagging, Bucket=BUCKET,
                       Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]})
    check("put-bucket-tagging with a key twice: InvalidTag", (st, code) == (400, "InvalidTag"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.put_bucket_tagging, Bucket=BUCKET, Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]})
    check("put-bucket-tagging with an aws: key: InvalidTag", (st, code) == (400, "InvalidTag"), "%s %s" % (st, code))
    many = [{"Key": "k%d" % i, "Value": "v"} for i in range(51)]
    st, code, _, _ = call(s3.put_bucket_tagging, Bucket=BUCKET, Tagging={"TagSet": many})
    check("put-bucket-tagging with 51 tags: InvalidTag", (st, code) == (400, "InvalidTag"), "%s %s" % (st, code))
    st, code, r, _ = call(s3.get_bucket_tagging, Bucket=BUCKET)
    got = [(t["Key"], t["Value"]) for t in r["TagSet"]] if r else None
    check("refused puts change nothing", got == TAGS, "%s" % (got,))
    st, code, _, _ = call(s3.delete_bucket_tagging, Bucket=BUCKET)
    check("delete-bucket-tagging: 204", st == 204, "%s %s" % (st, code))
    st, code, _, _ = call(s3.get_bucket_tagging, Bucket=BUCKET)
    check("get-bucket-tagging after the delete: NoSuchTagSet", (st, code) == (404, "NoSuchTagSet"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.put_bucket_tagging, Bucket=BUCKET, Tagging={"TagSet": many[:50]})
    st2, code2, r, _ = call(s3.get_bucket_tagging, Bucket=BUCKET)
    check("50 tags put and read back", st == 204 and r is not None and len(r["TagSet"]) == 50, "%s %s / %s %s" % (st, code, st2, code2))

    # Nothing set: what S3 answers for a bucket without the feature.
    for name, fn, want in [
        ("get-bucket-policy", s3.get_bucket_policy, (404, "NoSuchBucketPolicy")),
        ("get-bucket-cors", s3.get_bucket_cors, (404, "NoSuchCORSConfiguration")),
        ("get-bucket-encryption", s3.get_bucket_encryption, (404, "ServerSideEncryptionConfigurationNotFoundError")),
        ("get-bucket-website", s3.get_bucket_website, (404, "NoSuchWebsiteConfiguration")),
        ("get-bucket-replication", s3.get_bucket_replication, (404, "ReplicationConfigurationNotFoundError")),
        ("get-public-access-block", s3.get_public_access_block, (404, "NoSuchPublicAccessBlockConfiguration")),
    ]:
        st, code, _, _ = call(fn, Bucket=BUCKET)
        check(name + ": " + want[1], (st, code) == want, "%s %s" % (st, code))
    st, code, r, _ = call(s3.get_bucket_policy_status, Bucket=BUCKET)
    check("get-bucket-policy-status: not public", r is not None and r["PolicyStatus"]["IsPublic"] is False, "%s %s %s" % (st, code, r))
    st, code, r, _ = call(s3.get_bucket_notification_configuration, Bucket=BUCKET)
    confs = [k for k in (r or {}) if k.endswith("Configurations")]
    check("get-bucket-notification-configuration: empty", st == 200 and not confs, "%s %s %s" % (st, code, confs))
    for name, fn, kw in [("get-bucket-acl", s3.get_bucket_acl, {"Bucket": BUCKET}),
                         ("get-object-acl", s3.get_object_acl, {"Bucket": BUCKET, "Key": KEY})]:
        st, code, r, _ = call(fn, **kw)
        grants = r["Grants"] if r else []
        ok = (st == 200 and r["Owner"].get("ID") and len(grants) == 1 and grants[0]["Permission"] == "FULL_CONTROL"
              and grants[0]["Grantee"].get("ID") == r["Owner"]["ID"] and grants[0]["Grantee"].get("Type") == "CanonicalUser")
        check(name + ": the owner has FULL_CONTROL", ok, "%s %s %s" % (st, code, r))
    st, code, _, _ = call(s3.get_object_acl, Bucket=BUCKET, Key="no-such-key")
    check("get-object-acl of a missing key: NoSuchKey", (st, code) == (404, "NoSuchKey"), "%s %s" % (st, code))

    # Their writes are refused, never a silent success.
    st, code, _, _ = call(s3.put_bucket_policy, Bucket=BUCKET, Policy='{"Version":"2012-10-17","Statement":[]}')
    check("put-bucket-policy: NotImplemented", (st, code) == (501, "NotImplemented"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.delete_bucket_cors, Bucket=BUCKET)
    check("delete-bucket-cors: NotImplemented", (st, code) == (501, "NotImplemented"), "%s %s" % (st, code))

    # A missing bucket is NoSuchBucket for every one of them.
    for name, fn in [("get-bucket-tagging", s3.get_bucket_tagging), ("delete-bucket-tagging", s3.delete_bucket_tagging),
                     ("get-bucket-policy", s3.get_bucket_policy), ("get-bucket-policy-status", s3.get_bucket_policy_status),
                     ("get-bucket-cors", s3.get_bucket_cors), ("get-bucket-encryption", s3.get_bucket_encryption),
                     ("get-bucket-website", s3.get_bucket_website), ("get-bucket-replication", s3.get_bucket_replication),
                     ("get-bucket-notification-configuration", s3.get_bucket_notification_configuration),
                     ("get-bucket-acl", s3.get_bucket_acl), ("get-public-access-block", s3.get_public_access_block)]:
        st, code, _, _ = call(fn, Bucket=MISSING)
        check(name + " of a missing bucket: NoSuchBucket", (st, code) == (404, "NoSuchBucket"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.put_bucket_tagging, Bucket=MISSING, Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    check("put-bucket-tagging of a missing bucket: NoSuchBucket", (st, code) == (404, "NoSuchBucket"), "%s %s" % (st, code))
    st, code, _, _ = call(s3.get_object_acl, Bucket=MISSING, Key=KEY)
    check("get-object-acl in a missing bucket: NoSuchBucket", (st, code) == (404, "NoSuchBucket"), "%s %s" % (st, code))

    print("boto3 settings: %d checks failed" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
