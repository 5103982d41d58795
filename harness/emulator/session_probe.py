"""What a command run by ``cross-account exec`` sees: who it is, what it may do. Prints one JSON object.

Run as ``python -m harness.emulator.session_probe --bucket NAME --protected-stack STACK`` with the
role session's credentials in the environment (that is what ``exec`` gives it). It reports:
- ``arn``: GetCallerIdentity's ARN (the assumed-role ARN in the target account);
- ``bucket``: "created" once it has created NAME and seen it in ListBuckets, else the error code;
- ``iam_create_user``: the outcome of an IAM administration call, which the role must not have;
- ``cfn_update_protected_stack``: the outcome of ``UpdateStack`` on STACK (the stack that holds the
  role), which the tamper guard denies although the role's permission set has ``cloudformation:*``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import boto3
from botocore.exceptions import ClientError


def _outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return "allowed"


def probe(bucket: str, protected_stack: str) -> dict[str, str]:
    session = boto3.session.Session()
    arn = str(session.client("sts").get_caller_identity()["Arn"])
    s3 = session.client("s3")
    created = _outcome(lambda: s3.create_bucket(Bucket=bucket))
    if created == "allowed":
        names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        created = "created" if bucket in names else "created but not listed"
    # A user name nobody else uses: if the call were allowed, the user would exist and teardown removes it.
    iam_outcome = _outcome(lambda: session.client("iam").create_user(UserName=f"{bucket}-intruder"))
    # The previous template, unchanged: if the call were allowed, the update would change nothing.
    cfn_outcome = _outcome(
        lambda: session.client("cloudformation").update_stack(
            StackName=protected_stack, UsePreviousTemplate=True, Capabilities=["CAPABILITY_NAMED_IAM"]
        )
    )
    return {"arn": arn, "bucket": created, "iam_create_user": iam_outcome, "cfn_update_protected_stack": cfn_outcome}


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--protected-stack", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.bucket, args.protected_stack)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
