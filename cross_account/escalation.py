"""Grants with which a session acts as another principal, or leaves a grant behind: what the synth warns about.

The tamper guard denies what explicit Denies can close; these tables name what they cannot (code that
a privileged role runs, resource policies that outlive the session). No CDK import.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Final

from cross_account.iam_data import ELSEWHERE

#: Not in policy_sentry's list, but they run code or calls with a role stored on the resource (or, for
#: kms:PutKeyPolicy and eks access entries, hand out access), whoever calls them.
STORED_ROLE_ACTIONS: Final = (
    "codebuild:StartBuild",
    "codebuild:StartBuildBatch",
    "codebuild:UpdateProject",
    "ec2:ModifyInstanceAttribute",
    "ecs:ExecuteCommand",
    "ecs:RegisterTaskDefinition",
    "ecs:UpdateService",
    "eks:CreateAccessEntry",
    "eks:UpdateClusterConfig",
    "glue:UpdateJob",
    "kms:PutKeyPolicy",
    "ssm:CreateAssociation",
    "ssm:SendCommand",
    "ssm:StartSession",
    "states:StartExecution",
    "states:UpdateStateMachine",
)


def acting_as_others(actions: Sequence[str]) -> dict[str, str]:
    """Grants with which the session acts with another principal's permissions: service -> a warning.

    CloudFormation is not one of them: its stack writes, which would run with a stack's stored service
    role, are kept to the deploy lane (stacks its own sessions created, with no service role).
    """
    reached: dict[str, list[str]] = {}
    candidates = [c for c in (*ELSEWHERE, *STORED_ROLE_ACTIONS) if not c.startswith("cloudformation:")]
    for candidate in _matched(candidates, actions):
        reached.setdefault(candidate.split(":")[0], []).append(candidate)
    warnings = {}
    for service, names in sorted(reached.items()):
        names.sort()
        listed = ", ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
        warnings[service] = (
            f"allowed_actions let the session run {listed}: these act with another principal's permissions "
            "(a function's, a project's, a task's, an instance's role). Narrow allowed_actions or allowed_resources"
        )
    return warnings


#: Writes of a resource's own policy: a grant to another account made this way outlives the session.
RESOURCE_POLICY_WRITES: Final = (
    "s3:PutBucketPolicy",
    "s3:PutBucketAcl",
    "sqs:AddPermission",
    "sqs:SetQueueAttributes",
    "events:PutPermission",
    "sns:AddPermission",
    "sns:SetTopicAttributes",
    "lambda:AddPermission",
    "kms:PutKeyPolicy",
    "ecr:SetRepositoryPolicy",
    "secretsmanager:PutResourcePolicy",
    "logs:PutResourcePolicy",
)


#: AWS managed policies that grant IAM writes or running code as other roles: what they add despite the guard.
PRIVILEGED_MANAGED_POLICIES: Final = {
    "AdministratorAccess": "IAM writes and running code as other roles",
    "IAMFullAccess": "IAM writes",
    "PowerUserAccess": "running code as other roles",
    "AWSLambda_FullAccess": "running code as other roles",
    "AWSCodeBuildAdminAccess": "running code as other roles",
    "AmazonEC2FullAccess": "running code as other roles",
    "AmazonECS_FullAccess": "running code as other roles",
    "AmazonSSMFullAccess": "running code as other roles",
    "AWSStepFunctionsFullAccess": "running code as other roles",
}


def _matched(candidates: Sequence[str], patterns: Sequence[str]) -> list[str]:
    return [c for c in candidates if any(fnmatchcase(c.lower(), pattern.lower()) for pattern in patterns)]


def resource_policy_writes(actions: Sequence[str]) -> str | None:
    """A synth warning for ``actions`` that write resources' own policies, or None."""
    writes = _matched(RESOURCE_POLICY_WRITES, actions)
    if not writes:
        return None
    listed = ", ".join(writes[:3]) + (f" and {len(writes) - 3} more" if len(writes) > 3 else "")
    return (
        f"allowed_actions let the session write resource policies ({listed}): a grant to another account "
        "made this way outlives the session and the person's group membership. Narrow allowed_actions, "
        "or watch these calls in CloudTrail"
    )


def privileged_managed_policies(arns: Sequence[str]) -> list[str]:
    """A synth warning per AWS managed policy of ``arns`` that the guard cannot fully tame."""
    warnings = []
    for arn in arns:
        name = arn.rsplit("/", 1)[-1]
        if ":iam::aws:policy/" in arn and name in PRIVILEGED_MANAGED_POLICIES:
            warnings.append(
                f"managed_policy_arns: {name} grants {PRIVILEGED_MANAGED_POLICIES[name]}. The tamper guard denies "
                "IAM writes outside the deploy lane and assuming other roles, not running code that a privileged "
                "role runs (lambda:UpdateFunctionCode, codebuild:StartBuild, ssm:SendCommand). For your functions' "
                "roles, use service_role_services (the lane's role delegation) instead"
            )
    return warnings
