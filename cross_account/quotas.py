"""IAM's quotas that the app measures against, and the tag the tamper guard reserves. No CDK import."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from cross_account.declaration import check

#: IAM's role trust-policy length: 2,048 characters by default, 4,096 at most after a quota increase.
DEFAULT_TRUST_POLICY_QUOTA: Final = 2048


MAX_TRUST_POLICY_QUOTA: Final = 4096


#: A managed policy holds 6,144 characters; keep room for the statement around the ARNs.
POLICY_RESOURCE_BUDGET: Final = 5000


#: A group takes 10 managed policies by default; beyond that, use the organization-wide grant.
MAX_POLICIES_PER_GROUP: Final = 10


#: Sizes are reckoned with the longest partition name, wherever the stack deploys.
LONGEST_PARTITION: Final = "aws-us-gov"


def policy_chunks(arns: Sequence[str], *, length: Callable[[str], int] = len) -> list[list[str]]:
    """Split role ARNs so that each managed policy stays under its size quota."""
    chunks: list[list[str]] = []
    size = POLICY_RESOURCE_BUDGET
    for arn in arns:
        needed = length(arn) + 3  # quotes and comma
        if size + needed > POLICY_RESOURCE_BUDGET:
            chunks.append([])
            size = 0
        chunks[-1].append(arn)
        size += needed
    return chunks


def check_policy_count(key: str, arn_count: int, policy_count: int) -> None:
    check(
        key,
        f"{arn_count} role ARNs",
        policy_count <= MAX_POLICIES_PER_GROUP,
        f"the grant needs {policy_count} managed policies, over the per-group quota of {MAX_POLICIES_PER_GROUP}; "
        "grant organization-wide instead (the organization_id setting; organization_roles on the construct)",
    )


#: IAM's quota of tags on a role.
MAX_TAGS: Final = 50


#: The tag the tamper guard puts on every role it guards, and denies every change to a role that carries.
GUARD_TAG: Final = ("cross-account:tamper-guard", "on")


#: Managed policies per role: 10 by default, 20 at most after a quota increase.
DEFAULT_MANAGED_POLICIES_PER_ROLE: Final = 10


#: All of a role's inline policies together, whitespace left out (a fixed IAM quota).
ROLE_INLINE_POLICIES_QUOTA: Final = 10240


MAX_MANAGED_POLICIES_PER_ROLE: Final = 20
