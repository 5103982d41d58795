"""The deploy lane in the emulator: alice deploys her own service into B with the role, and nothing else.

alice (a group member in A) runs, through ``cross-account exec``:

- ``npx cdk deploy MyService`` in ``examples/service-app`` (``DeployLaneSynthesizer``: the stack
  carries the lane's tag, its template and Lambda code go to B's staging bucket, the function's role
  gets the lane's path and boundary); a second deploy that changes it; ``cdk diff``; ``cdk destroy``;
- ``aws cloudformation deploy`` of a plain template with the lane's tag and the staging bucket, and
  the same without the tag (refused);

and, with the same session, is refused on a stack that B's administrator deployed: DeleteStack, and a
change set that would carry the lane's tag onto it. Needs MiniStack with the ``cloudformation`` tag
collector (``cfn_tag_collector.py``): without it no ``aws:ResourceTag`` condition sees a stack's tags.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from harness.node import PROJECT_ROOT

if TYPE_CHECKING:
    from harness.emulator.flow import Flow, Keys

SERVICE_APP: Final = PROJECT_ROOT / "examples" / "service-app"
SERVICE_STACK: Final = "MyService"
#: A plain template, deployed with `aws cloudformation deploy` (no CDK).
PLAIN_TEMPLATE: Final = SERVICE_APP / "plain-template.yaml"
CLI_STACK: Final = "MyQueues"
UNTAGGED_STACK: Final = "MyQueuesUntagged"
ADMIN_STACK: Final = "AdminService"
LANE_TAG_KEY: Final = "cross-account:deploy-lane"  # cross_account.lane.LANE_TAG_KEY, without importing CDK
#: What TargetStack needs for MyService: its Lambda function, log group and the function's role.
LANE_CONTEXT: Final = {
    "service_role_services": json.dumps(["lambda.amazonaws.com"]),
    "allowed_actions": json.dumps(["s3:*", "cloudwatch:*", "cloudformation:*", "sqs:*", "events:*", "lambda:*", "logs:*"]),
}
ACCESS_DENIED: Final = "AccessDenied"


def staging_bucket(account: str, region: str) -> str:
    return f"cross-account-deploys-{account}-{region}"


class LaneSteps:
    """The lane's rows, run by :class:`~harness.emulator.flow.Flow` after alice's first session."""

    def __init__(self, flow: Flow, alice: Keys, role_arn: str, external_id: str) -> None:
        self.flow, self.alice, self.role_arn, self.external_id = flow, alice, role_arn, external_id
        self.lane = role_arn.rsplit("/", 1)[1]
        self.bucket = staging_bucket(flow.account_b, "us-east-1")

    # --- commands alice runs --------------------------------------------------------------

    def exec_(self, command: Sequence[str], *, cwd: Path = SERVICE_APP) -> subprocess.CompletedProcess[str]:
        """``cross-account exec -- COMMAND`` as alice, in `cwd` (the service's cdk.json is not the role's: the
        client ignores it and takes the values given here)."""
        args = ["--role-arn", self.role_arn, "--external-id", self.external_id, "--no-cache", "--", *command]
        return self.flow._client_cli(self.alice, "exec", *args, cwd=cwd)

    def cdk(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.exec_(["npx", "cdk", *args, "--no-notices"])

    def cfn_deploy(self, stack: str, *, tagged: bool) -> subprocess.CompletedProcess[str]:
        """``aws cloudformation deploy`` of the plain template through the staging bucket, with or without the tag."""
        command = ["aws", "cloudformation", "deploy", "--stack-name", stack, "--template-file", str(PLAIN_TEMPLATE)]
        command += ["--s3-bucket", self.bucket, "--s3-prefix", self.lane, "--no-fail-on-empty-changeset"]
        if tagged:
            command += ["--tags", f"{LANE_TAG_KEY}={self.lane}"]
        return self.exec_(command)

    def session(self) -> Any:
        """alice's role session as a boto3 CloudFormation client (``cross-account assume --format json``)."""
        result = self.flow._client_cli(
            self.alice, "assume", "--role-arn", self.role_arn, "--external-id", self.external_id, "--no-cache",
            "--format", "json",
        )  # fmt: skip
        if result.returncode != 0:
            raise _error("cross-account assume", result)
        credentials = json.loads(result.stdout)
        keys = type(self.alice)(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials.get("SessionToken")
        )
        return self.flow._client("cloudformation", keys)

    # --- the rows ---------------------------------------------------------------------------

    def run(self) -> None:
        check = self.flow._check
        self.admin_deploy()
        check(f"B's admin: cfn deploy {ADMIN_STACK}", "CREATE_COMPLETE", self.status(ADMIN_STACK))

        self.flow._lane_stacks += [SERVICE_STACK, CLI_STACK, UNTAGGED_STACK]
        self.succeed(self.cdk("deploy", SERVICE_STACK, "--require-approval", "never"), "cdk deploy MyService")
        check("alice: exec -- cdk deploy MyService", "CREATE_COMPLETE", self.status(SERVICE_STACK))
        check("  ... the stack's lane tag", self.lane, self.tags(SERVICE_STACK).get(LANE_TAG_KEY, "none"))
        check("  ... its function's role: lane boundary", "yes", _yes(self.function_role_in_lane()))
        self.succeed(self.cdk("deploy", SERVICE_STACK, "--require-approval", "never", "-c", "version=2"), "redeploy")
        check("  ... cdk deploy again (a change)", "UPDATE_COMPLETE", self.status(SERVICE_STACK))
        check("  ... cdk diff (one more change)", "1 stack differs", self.diff())

        self.succeed(self.cfn_deploy(CLI_STACK, tagged=True), "aws cloudformation deploy")
        check("alice: exec -- aws cfn deploy, tagged", "CREATE_COMPLETE", self.status(CLI_STACK))
        check("  ... the same without the lane tag", ACCESS_DENIED, _denied(self.cfn_deploy(UNTAGGED_STACK, tagged=False)))

        cloudformation = self.session()
        check(f"  ... DeleteStack {ADMIN_STACK}", ACCESS_DENIED, _code(lambda: cloudformation.delete_stack(
            StackName=ADMIN_STACK)))  # fmt: skip
        check(f"  ... a lane-tagged change set on it", ACCESS_DENIED, self.hijack(cloudformation))
        self.succeed(self.cdk("destroy", SERVICE_STACK, "--force"), "cdk destroy MyService")
        check("alice: exec -- cdk destroy MyService", "deleted", self.flow.stack_gone(SERVICE_STACK, self.flow.account_b))

    def succeed(self, result: subprocess.CompletedProcess[str], what: str) -> None:
        if result.returncode != 0:
            raise _error(what, result)

    def admin_deploy(self) -> None:
        """B's administrator deploys a stack of their own, with B's key: no lane tag."""
        self.flow._lane_stacks.append(ADMIN_STACK)
        command = ["aws", "cloudformation", "deploy", "--stack-name", ADMIN_STACK, "--template-file", str(PLAIN_TEMPLATE)]
        result = self.flow._run(command, self.flow.emulator.root_env(self.flow.account_b), cwd=SERVICE_APP)
        self.succeed(result, f"aws cloudformation deploy {ADMIN_STACK} (B's admin)")

    def status(self, stack: str) -> str:
        return str(self.flow._stack(stack, self.flow.account_b)["StackStatus"])

    def tags(self, stack: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.flow._stack(stack, self.flow.account_b).get("Tags", [])}

    def function_role_in_lane(self) -> bool:
        """The function's role (from the stack's resources) has the lane's path and permissions boundary."""
        b = self.flow.account_b
        resources = self.flow._client("cloudformation", self.flow._root(b)).describe_stack_resources(
            StackName=SERVICE_STACK
        )["StackResources"]
        (name,) = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::IAM::Role"]
        role = self.flow._client("iam", self.flow._root(b)).get_role(RoleName=name.rsplit("/", 1)[-1])["Role"]
        boundary = f"arn:aws:iam::{b}:policy/cross-account-lane/{self.lane}/{self.lane}-ServiceRoleBoundary"
        boundary_of_role = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        return bool(role["Path"] == f"/cross-account-lane/{self.lane}/" and boundary_of_role == boundary)

    def diff(self) -> str:
        """``cdk diff`` with a third version: the CLI's own count of stacks with differences."""
        result = self.cdk("diff", SERVICE_STACK, "-c", "version=3")
        self.succeed(result, "cdk diff")
        output = result.stdout + result.stderr
        counts = [line.rsplit(":", 1)[1].strip() for line in output.splitlines() if "stacks with differences" in line]
        return f"{counts[-1]} stack differs" if counts else "no count in the output"

    def hijack(self, cloudformation: Any) -> str:
        """A change set on the admin's stack that carries the lane's tag, then its execution: refused at one
        of the two (CreateChangeSet may pass, since the request has the tag; the stack has none)."""
        template = PLAIN_TEMPLATE.read_text()
        created = _code(
            lambda: cloudformation.create_change_set(
                StackName=ADMIN_STACK, ChangeSetName="lane-hijack", TemplateBody=template,
                Tags=[{"Key": LANE_TAG_KEY, "Value": self.lane}], ChangeSetType="UPDATE",
            )
        )  # fmt: skip
        if created != "allowed":
            return created
        return _code(lambda: cloudformation.execute_change_set(StackName=ADMIN_STACK, ChangeSetName="lane-hijack"))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _code(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response.get("Error", {}).get("Code"))
    return "allowed"


def _denied(result: subprocess.CompletedProcess[str]) -> str:
    """AccessDenied when a command failed with it (the AWS CLI's "An error occurred (AccessDenied)")."""
    if result.returncode != 0 and f"({ACCESS_DENIED})" in result.stderr:
        return ACCESS_DENIED
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return f"exit {result.returncode}: {' | '.join(lines[-2:])[:160]}"


def _error(what: str, result: subprocess.CompletedProcess[str]) -> Exception:
    from harness.emulator.flow import FlowError

    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return FlowError(f"{what} failed (exit {result.returncode}): {' | '.join(lines[-3:]) or 'no output'}")


def context_args(context: Mapping[str, str]) -> list[str]:
    return [arg for key, value in context.items() for arg in ("-c", f"{key}={value}")]
