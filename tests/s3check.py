"""What the boto3 check scripts of tests/ share: a client of the server
under test (S3_ENDPOINT, credentials from the environment), one "ok" or
"FAIL" line per check, and S3 calls whose errors are answers.

The scripts import it from their own folder (python puts a script's folder
first on sys.path).
"""

import os

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["S3_ENDPOINT"]

# The names of the checks that failed, in order.
failures = []


def check(name, cond, detail=""):
    """Prints one line for a check and remembers a failure."""
    if cond:
        print("ok   " + name)
    else:
        print("FAIL " + name + (": " + detail if detail else ""))
        failures.append(name)


def client(max_attempts=1):
    """A path-style SigV4 client of the server under test."""
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": max_attempts, "mode": "standard"},
        ),
    )


def call(fn, **kw):
    """Runs fn(**kw); returns (HTTP status, S3 error code, response, headers)."""
    try:
        r = fn(**kw)
        return r["ResponseMetadata"]["HTTPStatusCode"], "", r, r["ResponseMetadata"].get("HTTPHeaders", {})
    except ClientError as e:
        return (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code", ""), None,
                e.response["ResponseMetadata"].get("HTTPHeaders", {}))
