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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from cross_account.lane import LANE_TAG_KEY, staging_bucket_name
from harness.emulator.errors import FlowError
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
#: What TargetStack needs for MyService: its Lambda function, log group and the function's role.
LANE_CONTEXT: Final = {
    "service_role_services": json.dumps(["lambda.amazonaws.com"]),
    "allowed_actions": json.dumps(
        ["s3:*", "cloudwatch:*", "cloudformation:*", "sqs:*", "events:*", "lambda:*", "logs:*"]
    ),
}
ACCESS_DENIED: Final = "AccessDenied"


class LaneSteps:
    """The lane's rows, run by :class:`~harness.emulator.flow.Flow` after alice's first session.

    The first ``cdk deploy`` synthesizes in place, as alice would; the second version is synthesized in
    the background while earlier rows run (like TargetStack's require_mfa variant), and ``cdk diff`` and
    ``cdk destroy`` read the assemblies already made. Like every synth of the flow, the service's run
    without CDK's built-in template validator (``Flow._env``).
    """

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.first, self.second = flow.workspace.assembly("service-v1"), flow.workspace.assembly("service-v2")
        self._cloudformation: Any = None  # alice's session, made once by _session

    def _where(self) -> list[str]:
        return ["-c", f"account={self.flow.account_b}", "-c", "region=us-east-1"]

    def synth_in_background(self) -> None:
        """Synthesize the service's second version now, for the redeploy later."""
        argv = ["npx", "cdk", "synth", *self._where(), "-c", "version=2", "--output", str(self.second), "--quiet"]
        aws = self.flow.emulator.root_env(self.flow.account_b)
        self.flow.start_background("service-v2", [*argv, "--no-notices"], cwd=SERVICE_APP, aws=aws)

    def _second_version(self) -> list[str]:
        self.flow._await_synth("service-v2")
        if (self.second / "manifest.json").exists():
            return ["--app", str(self.second)]
        return [*self._where(), "-c", "version=2", "--output", str(self.second)]

    # --- commands alice runs --------------------------------------------------------------

    def exec_(self, command: Sequence[str], *, cwd: Path = SERVICE_APP) -> subprocess.CompletedProcess[str]:
        """``cross-account exec -- COMMAND`` as alice, in `cwd` (the service's cdk.json is not the role's: the
        client ignores it and takes the values given here)."""
        args = ["--role-arn", self.role_arn, "--external-id", self.external_id, "--no-cache", "--", *command]
        return self.flow._client_cli(self.alice, "exec", *args, cwd=cwd)

    def cdk(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.exec_(["npx", "cdk", *args, "--no-notices"])

    def _cfn_deploy(self, stack: str, *, tagged: bool) -> subprocess.CompletedProcess[str]:
        """``aws cloudformation deploy`` of the plain template through the staging bucket, with or without the tag."""
        command = ["aws", "cloudformation", "deploy", "--stack-name", stack, "--template-file", str(PLAIN_TEMPLATE)]
        command += ["--s3-bucket", self.bucket, "--s3-prefix", self.lane, "--no-fail-on-empty-changeset"]
        if tagged:
            command += ["--tags", f"{LANE_TAG_KEY}={self.lane}"]
        return self.exec_(command)

    def _session(self) -> Any:
        """alice's role session as a boto3 CloudFormation client (``cross-account assume --format json``)."""
        if self._cloudformation is None:
            result = self.flow._client_cli(
                self.alice, "assume", "--role-arn", self.role_arn, "--external-id", self.external_id, "--no-cache",
                "--format", "json",
            )  # fmt: skip
            _succeed(result, "cross-account assume")
            credentials = json.loads(result.stdout)
            keys = type(self.alice)(
                credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials.get("SessionToken")
            )
            self._cloudformation = self.flow._client("cloudformation", keys)
        return self._cloudformation

    # --- the rows ---------------------------------------------------------------------------

    def begin(self, alice: Keys, role_arn: str, external_id: str) -> None:
        """Who runs the lane's commands: alice, with this role and external ID."""
        self.alice, self.role_arn, self.external_id = alice, role_arn, external_id
        self.lane = role_arn.rsplit("/", 1)[1]
        self.bucket = staging_bucket_name(self.flow.account_b, "us-east-1")

    def run(self, alice: Keys, role_arn: str, external_id: str) -> None:
        self.begin(alice, role_arn, external_id)
        # Whatever a stopped flow leaves of these is deleted at teardown with B's key.
        self.flow._lane_stacks += [ADMIN_STACK, SERVICE_STACK, CLI_STACK, UNTAGGED_STACK]
        check = self.flow._check
        check(f"B's admin: cfn deploy {ADMIN_STACK}", "CREATE_COMPLETE", self.admin_deploy())
        check("alice: exec -- cdk deploy MyService", "CREATE_COMPLETE", self.cdk_deploy(first=True))
        check("  ... the stack's lane tag", self.lane, self.lane_tag(SERVICE_STACK))
        check("  ... its function's role: lane path", f"/cross-account-lane/{self.lane}/", self.function_role_path())
        check("  ... cdk deploy again (a change)", "UPDATE_COMPLETE", self.cdk_deploy(first=False))
        check("  ... cdk diff (against version 1)", "1 stack differs", self.diff())
        check("alice: exec -- aws cfn deploy, tagged", "CREATE_COMPLETE", self.cfn_deploy(CLI_STACK, tagged=True))
        check("  ... the same without the lane tag", ACCESS_DENIED, self.cfn_deploy(UNTAGGED_STACK, tagged=False))
        check(f"  ... DeleteStack {ADMIN_STACK}", ACCESS_DENIED, self.delete_admin_stack())
        check("  ... a lane-tagged change set on it", ACCESS_DENIED, self.hijack())
        check("alice: exec -- cdk destroy MyService", "deleted", self.cdk_destroy())

    def admin_deploy(self) -> str:
        """B's administrator deploys a stack of their own, with B's key: no lane tag."""
        command = ["aws", "cloudformation", "deploy", "--stack-name", ADMIN_STACK]
        command += ["--template-file", str(PLAIN_TEMPLATE)]
        result = self.flow._run(command, self.flow.emulator.root_env(self.flow.account_b), cwd=SERVICE_APP)
        _succeed(result, f"aws cloudformation deploy {ADMIN_STACK} (B's admin)")
        return self._status(ADMIN_STACK)

    def cdk_deploy(self, *, first: bool) -> str:
        """``npx cdk deploy MyService``: the first synthesizes in place, the second deploys version 2."""
        source = [*self._where(), "--output", str(self.first)] if first else self._second_version()
        result = self.cdk("deploy", SERVICE_STACK, "--require-approval", "never", *source)
        _succeed(result, f"cdk deploy {SERVICE_STACK}")
        return self._status(SERVICE_STACK)

    def cdk_destroy(self) -> str:
        _succeed(self.cdk("destroy", SERVICE_STACK, "--force", "--app", str(self.second)), "cdk destroy")
        return self.flow.stack_gone(SERVICE_STACK, self.flow.account_b)

    def cfn_deploy(self, stack: str, *, tagged: bool) -> str:
        """The stack's status after ``aws cloudformation deploy``, or AccessDenied when the CLI says so."""
        result = self._cfn_deploy(stack, tagged=tagged)
        return self._status(stack) if result.returncode == 0 else _denied(result)

    def delete_admin_stack(self) -> str:
        """alice's session asks DeleteStack on B's administrator's stack (no lane tag)."""
        return _code(lambda: self._session().delete_stack(StackName=ADMIN_STACK))

    def _status(self, stack: str) -> str:
        return str(self.flow._stack(stack, self.flow.account_b)["StackStatus"])

    def lane_tag(self, stack: str) -> str:
        tags = {t["Key"]: t["Value"] for t in self.flow._stack(stack, self.flow.account_b).get("Tags", [])}
        return str(tags.get(LANE_TAG_KEY, "none"))

    def function_role_path(self) -> str:
        """The function's role's path in IAM (MiniStack's CloudFormation keeps no boundary on the roles it
        makes: the boundary is the simulator's to prove, docs/emulator.md)."""
        b = self.flow.account_b
        resources = self.flow._client("cloudformation", self.flow._root(b)).describe_stack_resources(
            StackName=SERVICE_STACK
        )["StackResources"]
        names = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::IAM::Role"]
        if len(names) != 1:
            return f"{len(names)} roles"
        role = self.flow._client("iam", self.flow._root(b)).get_role(RoleName=names[0].rsplit("/", 1)[-1])["Role"]
        return str(role["Path"])

    def diff(self) -> str:
        """``cdk diff`` of the first version against the deployed second: the CLI's count of stacks that differ."""
        result = self.cdk("diff", SERVICE_STACK, "--app", str(self.first))
        _succeed(result, "cdk diff")
        output = result.stdout + result.stderr
        counts = [line.rsplit(":", 1)[1].strip() for line in output.splitlines() if "stacks with differences" in line]
        return f"{counts[-1]} stack differs" if counts else "no count in the output"

    def hijack(self) -> str:
        """A change set on the admin's stack that carries the lane's tag, then its execution: refused at one
        of the two (CreateChangeSet may pass, since the request has the tag; the stack has none)."""
        cloudformation = self._session()
        created = _code(
            lambda: cloudformation.create_change_set(
                StackName=ADMIN_STACK, ChangeSetName="lane-hijack", TemplateBody=PLAIN_TEMPLATE.read_text(),
                Tags=[{"Key": LANE_TAG_KEY, "Value": self.lane}], ChangeSetType="UPDATE",
            )
        )  # fmt: skip
        if created != "allowed":
            return created
        return _code(lambda: cloudformation.execute_change_set(StackName=ADMIN_STACK, ChangeSetName="lane-hijack"))


def _succeed(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise _error(what, result)


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
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return FlowError(f"{what} failed (exit {result.returncode}): {' | '.join(lines[-3:]) or 'no output'}")
