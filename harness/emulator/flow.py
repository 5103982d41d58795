"""The whole cross-account flow against the local emulator, as a list of checked rows.

1. ``cdk deploy TargetStack`` with account B's key and ``cdk deploy TrustedStack`` with account A's
   (the real CDK CLI, ``-c local=true``), then read the outputs CloudFormation returns.
2. Create alice in A, add her to the group, give her an access key; bob gets a key but no group;
   carol lives in a third account.
3. alice runs ``cross-account exec`` and becomes the role in B; the command she runs creates and
   lists an S3 bucket in B, and is refused IAM administration and ``UpdateStack TargetStack`` (the
   tamper guard: CloudFormation would run the update with the stack's service role).
4. Every unauthorized AssumeRole is refused: wrong or missing external ID, bob, carol, and (after a
   redeploy with ``require_mfa=true``) alice without MFA.
5. CI without keys (``github_oidc``): a workflow token of octo/app's main branch gets the deployer role
   in A and chains into B with the external ID; another branch's token and a chain without the
   external ID are refused. The tokens are unsigned: MiniStack does not verify them (docs/emulator.md).
6. Teardown: ``cdk destroy`` both stacks.

Used by ``harness/demo.py`` (prints the table), tests/test_e2e_flow.py and bench/bench_demo.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from harness.emulator.errors import FlowError
from harness.emulator.lane_flow import LANE_CONTEXT, LaneSteps
from harness.emulator.server import LOCAL_STATE_ROOT, Emulator, alive, run_emulator
from harness.node import NODE, NODE_BIN_DIR, NPM_BIN_DIR, PROJECT_ROOT
from harness.synth import cdk_json_context

VENV_BIN: Final = PROJECT_ROOT / ".venv" / "bin"
CDK: Final = NPM_BIN_DIR / "cdk"
CLIENT: Final = VENV_BIN / "cross-account"
#: Shared by runs (a cold jsii package cache makes every synth about 8x slower), inside the project.
JSII_CACHE: Final = LOCAL_STATE_ROOT / "jsii-package-cache"
THIRD_ACCOUNT: Final = "333333333333"
ACCESS_DENIED: Final = "AccessDenied"
ROLE_LINE: Final = "cross-account: assuming "
COMMAND_TIMEOUT_SECONDS: Final = 300
#: TargetStack's variants all carry the lane's settings (MyService's function needs them).
MFA_CONTEXT: Final = {**LANE_CONTEXT, "require_mfa": "true"}
#: The demo's CI: GitHub Actions workflows of octo/app's main branch may deploy.
GITHUB_ISSUER: Final = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE: Final = "sts.amazonaws.com"
CI_REPOSITORY: Final = "octo/app"
CI_SESSION: Final = "ci"


@dataclass(frozen=True)
class Row:
    """One checked step: the table prints step | expected | got."""

    step: str
    expected: str
    got: str

    @property
    def ok(self) -> bool:
        return self.expected == self.got


@dataclass(frozen=True)
class Keys:
    """An access key pair, and the session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass
class Workspace:
    """One run's files, all inside the project's ignored ``.local`` folder; removed after a clean run."""

    root: Path

    @classmethod
    def create(cls) -> Workspace:
        root = LOCAL_STATE_ROOT / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        for sub in ("tmp", "home", "cdk-home", "cdk.out"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        JSII_CACHE.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def emulator_dir(self) -> Path:
        return self.root / "emulator"

    @property
    def log(self) -> Path:
        return self.root / "commands.log"

    def assembly(self, variant: str) -> Path:
        return self.root / "cdk.out" / variant

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Flow:
    """The flow against one running emulator. :meth:`run` returns every row, teardown included."""

    emulator: Emulator
    workspace: Workspace
    context: Mapping[str, Any] = field(default_factory=cdk_json_context)
    rows: list[Row] = field(default_factory=list)
    echo: Callable[[str], None] | None = None
    #: Synthesize the require_mfa variant while the first checks run (it is deployed later).
    presynth: bool = True

    def __post_init__(self) -> None:
        self.account_a = str(self.context["trusted_account_id"])
        self.account_b = str(self.context["target_account_id"])
        if THIRD_ACCOUNT in (self.account_a, self.account_b):
            raise FlowError(f"cdk.json uses {THIRD_ACCOUNT}, the demo's third account: pick another")
        self.bucket = f"cross-account-demo-{uuid.uuid4().hex[:12]}"
        # MiniStack's CloudFormation has no AWS::IAM::OIDCProvider: the flow creates the provider
        # through IAM and TrustedStack imports it by ARN (the provider_arn setting).
        self.oidc_provider_arn = f"arn:aws:iam::{self.account_a}:oidc-provider/{GITHUB_ISSUER}"
        ci = {"repositories": [{"repository": CI_REPOSITORY, "branches": ["main"]}]}
        self.oidc_context = {
            "github_oidc": json.dumps({**ci, "provider_arn": self.oidc_provider_arn}),
            **LANE_CONTEXT,
        }
        #: Stacks in B that the lane rows make (and B's admin's): deleted with B's key at teardown if still there.
        self._lane_stacks: list[str] = []
        self._deployed: list[tuple[str, str]] = []  # (stack, account), to destroy in reverse
        self._background: dict[str, subprocess.Popen[bytes]] = {}  # variant -> its cdk synth

    # --- running things -------------------------------------------------------------------

    @property
    def _neutral(self) -> Path:
        """Where the client runs: no cdk.json, so every value it sends is the one this flow gave it.

        (In the project folder the client would fill a missing --external-id from cdk.json.)
        """
        return self.workspace.root / "home"

    def _say(self, text: str) -> None:
        if self.echo is not None:
            self.echo(text)

    def _env(self, aws: Mapping[str, str]) -> dict[str, str]:
        """A child's environment: the pinned Node, our emulator credentials, and every write kept in the run folder."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "JSII_"))}
        base.update(
            {
                "PATH": os.pathsep.join([str(NPM_BIN_DIR), str(NODE_BIN_DIR), str(VENV_BIN), os.environ["PATH"]]),
                "JSII_NODE": str(NODE),
                "JSII_RUNTIME_PACKAGE_CACHE_ROOT": str(JSII_CACHE),
                "CDK_HOME": str(self.workspace.root / "cdk-home"),
                "CDK_DISABLE_CLI_TELEMETRY": "true",
                # CDK's built-in template validator is 75% of a Python synth (3.2 s instead of 8.5 s): the demo
                # skips it, as its templates are the tests' (cfn-lint, and `cdk synth` with it in tests/test_app.py).
                "CDK_VALIDATION": "false",
                "HOME": str(self.workspace.root / "home"),
                "TMPDIR": str(self.workspace.root / "tmp"),
                "CROSS_ACCOUNT_CACHE_DIR": str(self.workspace.root / "tmp" / "cross-account-cache"),
                "PYTHONPATH": str(PROJECT_ROOT),
                # npx would ask the registry whether npm is current, and print the answer.
                "NPM_CONFIG_UPDATE_NOTIFIER": "false",
            }
        )
        base.update(aws)
        return base

    def _run(
        self, argv: Sequence[str], aws: Mapping[str, str], *, cwd: Path = PROJECT_ROOT
    ) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        result = subprocess.run(
            list(argv),
            cwd=cwd,
            env=self._env(aws),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        with self.workspace.log.open("a") as log:
            shown = " ".join(argv)
            log.write(f"$ (cd {cwd}) {shown}\n# exit {result.returncode} in {time.monotonic() - started:.1f} s\n")
            log.write(result.stdout + result.stderr + "\n")
        return result

    def _cdk(self, args: Sequence[str], account: str) -> None:
        result = self._run([str(CDK), *args, "--no-notices"], self.emulator.root_env(account))
        if result.returncode != 0:
            # The CLI's last line is often generic ("Subprocess exited with error 1"): keep the cause above it.
            lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
            tail = " | ".join(lines[-3:]) or "no output"
            raise FlowError(f"cdk {' '.join(args[:2])} failed (exit {result.returncode}): {tail}")

    def _client(self, service: str, keys: Keys) -> Any:
        return boto3.session.Session(
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
            region_name="us-east-1",
        ).client(service, endpoint_url=self.emulator.endpoint, verify=self.emulator.ca_bundle)

    def _root(self, account: str) -> Keys:
        env = self.emulator.root_env(account)
        return Keys(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])

    def _check(self, step: str, expected: str, got: str) -> Row:
        row = Row(step, expected, got)
        self.rows.append(row)
        self._say(f"{'ok  ' if row.ok else 'FAIL'} {step.strip()}")  # the table at the end shows what came back
        return row

    # --- the steps --------------------------------------------------------------------------

    def _stack(self, stack: str, account: str) -> dict[str, Any]:
        stacks = self._client("cloudformation", self._root(account)).describe_stacks(StackName=stack)["Stacks"]
        return dict(stacks[0])

    def _outputs(self, stack: str, account: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self._stack(stack, account).get("Outputs", [])}

    def _synth_args(self, variant: str, context: Mapping[str, str]) -> list[str]:
        pairs = {"local": "true", **context}
        return [
            *[arg for k, v in pairs.items() for arg in ("-c", f"{k}={v}")],
            "--output",
            str(self.workspace.assembly(variant)),
        ]

    def synth_in_background(self, variant: str, context: Mapping[str, str]) -> None:
        """Start ``cdk synth`` of a variant deployed later, so it overlaps the steps before that deploy."""
        argv = [str(CDK), "synth", *self._synth_args(variant, context), "--quiet", "--no-notices"]
        self.start_background(variant, argv, cwd=PROJECT_ROOT, aws=self.emulator.root_env(self.account_b))

    def start_background(self, variant: str, argv: Sequence[str], *, cwd: Path, aws: Mapping[str, str]) -> None:
        """Run a synth in the background; :meth:`_await_synth` waits for it, teardown stops it."""
        with (self.workspace.root / f"synth-{variant}.log").open("w") as log:
            self._background[variant] = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=self._env(aws),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown can stop the CLI, the app and jsii
            )

    def _await_synth(self, variant: str) -> None:
        if variant not in self._background:
            return
        process = self._background.pop(variant)
        if process.wait(timeout=COMMAND_TIMEOUT_SECONDS) != 0:
            lines = (self.workspace.root / f"synth-{variant}.log").read_text().strip().splitlines()
            raise FlowError(f"cdk synth ({variant}) failed (exit {process.returncode}): {lines[-1] if lines else ''}")

    def _stop_background(self) -> None:
        for process in self._background.values():
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._background.clear()

    def deploy(self, stack: str, account: str, *, variant: str, context: Mapping[str, str]) -> str:
        """``cdk deploy STACK`` with the account's key. Synthesizes `variant` once; later deploys reuse it."""
        assembly = self.workspace.assembly(variant)
        if variant in self._background:
            self._await_synth(variant)
        if (assembly / "manifest.json").exists():
            source = ["--app", str(assembly)]
        else:
            source = self._synth_args(variant, context)
        self._say(f"cdk deploy {stack} (account {account}{', ' + variant if context else ''}) ...")
        self._cdk(["deploy", stack, *source, "--require-approval", "never"], account)
        if (stack, account) not in self._deployed:
            self._deployed.append((stack, account))
        return str(self._stack(stack, account)["StackStatus"])

    def create_user(self, name: str, account: str, *, group: str | None = None) -> Keys:
        iam = self._client("iam", self._root(account))
        iam.create_user(UserName=name)
        if group is not None:
            iam.add_user_to_group(GroupName=group, UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def grant_assume_anything(self, name: str, account: str) -> None:
        """Carol's own account lets her assume any role: so her refusal comes from B's trust policy alone."""
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
        self._client("iam", self._root(account)).put_user_policy(
            UserName=name, PolicyName="AssumeAnyRole", PolicyDocument=json.dumps(document)
        )

    def _client_cli(
        self, keys: Keys, command: str, *args: str, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cross-account COMMAND --role-arn ... --no-cache ...`` as the holder of `keys` (in a folder without
        cdk.json unless `cwd` is given)."""
        if not CLIENT.exists():
            raise FlowError(f"{CLIENT} is missing: run `make setup` (it installs the cross-account client)")
        return self._run([str(CLIENT), command, *args], self.emulator.env(**_key_args(keys)), cwd=cwd or self._neutral)

    def assume_outcome(self, keys: Keys, role_arn: str, external_id: str | None) -> str:
        """``cross-account assume`` as `keys`: "allowed", or "AccessDenied" when the client exits non-zero
        with its one-line AccessDenied message and prints no credentials; anything else is shown as is."""
        args = ["--role-arn", role_arn, "--no-cache", "--format", "json"]
        if external_id is not None:
            args += ["--external-id", external_id]
        result = self._client_cli(keys, "assume", *args)
        # The client names the role it assumes on a line of its own, before any call.
        lines = [line for line in result.stderr.strip().splitlines() if not line.startswith(ROLE_LINE)]
        if result.returncode == 0:
            return "allowed"
        if len(lines) == 1 and ACCESS_DENIED in lines[0] and not result.stdout.strip():
            return ACCESS_DENIED
        return f"exit {result.returncode}: {' | '.join(lines)[:160]}"

    def exec_probe(self, keys: Keys, role_arn: str, external_id: str) -> dict[str, str]:
        """alice runs a command as the role: ``cross-account exec -- python -m harness.emulator.session_probe``."""
        probe = [str(VENV_BIN / "python"), "-m", "harness.emulator.session_probe", "--bucket", self.bucket]
        probe += ["--protected-stack", "TargetStack"]
        args = ["--role-arn", role_arn, "--external-id", external_id, "--no-cache", "--", *probe]
        result = self._client_cli(keys, "exec", *args)
        if result.returncode != 0:
            raise FlowError(f"cross-account exec failed (exit {result.returncode}): {result.stderr.strip()[-300:]}")
        data: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
        return data

    def bucket_owner_sees(self, account: str) -> bool:
        names = {b["Name"] for b in self._client("s3", self._root(account)).list_buckets().get("Buckets", [])}
        return self.bucket in names

    def trust_requires_mfa(self, role_name: str) -> bool:
        role = self._client("iam", self._root(self.account_b)).get_role(RoleName=role_name)["Role"]
        document = role["AssumeRolePolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        statements = document.get("Statement", [])
        return any(
            s.get("Condition", {}).get("Bool", {}).get("aws:MultiFactorAuthPresent") == "true"
            for s in statements
            if "sts:AssumeRole" in _as_list(s.get("Action"))
        )

    def register_oidc_provider(self) -> None:
        """Create GitHub's OIDC provider in A through IAM (what CloudFormation would do on AWS)."""
        iam = self._client("iam", self._root(self.account_a))
        with suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_open_id_connect_provider(
                Url=f"https://{GITHUB_ISSUER}", ClientIDList=[GITHUB_AUDIENCE], ThumbprintList=["0" * 40]
            )

    def web_identity(self, role_arn: str, sub: str) -> tuple[str, Keys | None]:
        """A workflow's ``AssumeRoleWithWebIdentity`` (an unsigned call, as on AWS) with a token for `sub`."""
        claims = {"iss": f"https://{GITHUB_ISSUER}", "aud": GITHUB_AUDIENCE, "sub": sub}
        return self.assume_with_token(role_arn, unsigned_token(claims))

    def assume_with_token(self, role_arn: str, token: str) -> tuple[str, Keys | None]:
        """``AssumeRoleWithWebIdentity`` with this token: "allowed" and the session's keys, or the error code."""
        sts = boto3.session.Session(region_name="us-east-1").client(
            "sts",
            endpoint_url=self.emulator.endpoint,
            verify=self.emulator.ca_bundle,
            config=Config(signature_version=UNSIGNED),
        )
        try:
            reply = sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=CI_SESSION, WebIdentityToken=token
            )
        except ClientError as error:
            return _error_code(error), None
        credentials = reply["Credentials"]
        return "allowed", Keys(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])

    def chain_outcome(self, keys: Keys, role_arn: str, external_id: str | None) -> str:
        """The CI session's ``AssumeRole`` into B: the new session's ARN, or the error code."""
        extra = {"ExternalId": external_id} if external_id is not None else {}
        try:
            reply = self._client("sts", keys).assume_role(RoleArn=role_arn, RoleSessionName=CI_SESSION, **extra)
        except ClientError as error:
            return _error_code(error)
        return str(reply["AssumedRoleUser"]["Arn"])

    def stack_gone(self, stack: str, account: str) -> str:
        try:
            status = str(self._stack(stack, account)["StackStatus"])
        except ClientError as error:
            if "does not exist" in str(error):
                return "deleted"
            raise
        return "deleted" if status == "DELETE_COMPLETE" else status

    # --- the flow ---------------------------------------------------------------------------

    def run(self) -> list[Row]:
        """Every step, then teardown even when a step fails; a failed step becomes an "error: ..." row."""
        try:
            self._main()
        except (FlowError, ClientError, BotoCoreError, subprocess.SubprocessError, ValueError, KeyError) as error:
            self.rows.append(Row("flow stopped early", "no error", f"error: {_first_line(error)}"))
        finally:
            self._teardown()
        return self.rows

    def _main(self) -> None:
        a, b = self.account_a, self.account_b
        status = self.deploy("TargetStack", b, variant="default", context=self.oidc_context)
        self._check("cdk deploy TargetStack (account B)", "CREATE_COMPLETE", status)
        if self.presynth:
            self.synth_in_background("require-mfa", MFA_CONTEXT)
        lane = self.lane_steps()
        if self.presynth:
            lane.synth_in_background()
        self.register_oidc_provider()
        status = self.deploy("TrustedStack", a, variant="default", context=self.oidc_context)
        self._check("cdk deploy TrustedStack (account A)", "CREATE_COMPLETE", status)

        target, trusted = self._outputs("TargetStack", b), self._outputs("TrustedStack", a)
        role_arn, external_id, group = target["RoleArn"], target["ExternalId"].split(",")[0], trusted["GroupName"]
        self._check("TrustedStack grants that role", role_arn, trusted["TargetRoleArn"])

        alice = self.create_user("alice", a, group=group)
        bob = self.create_user("bob", a)
        carol = self.create_user("carol", THIRD_ACCOUNT)
        self.grant_assume_anything("carol", THIRD_ACCOUNT)
        role_name = role_arn.rsplit("/", 1)[1]

        probe = self.exec_probe(alice, role_arn, external_id)
        expected_arn = f"arn:aws:sts::{b}:assumed-role/{role_name}/alice"
        self._check("alice: exec -> GetCallerIdentity", expected_arn, probe["arn"])
        self._check("  ... creates and lists a bucket", "created", probe["bucket"])
        self._check("  ... B's root sees the bucket", "yes", _yes(self.bucket_owner_sees(b)))
        self._check("  ... iam:CreateUser in the session", ACCESS_DENIED, probe["iam_create_user"])
        self._check("  ... UpdateStack TargetStack", ACCESS_DENIED, probe["cfn_update_protected_stack"])

        refused = [
            ("alice, wrong external ID", alice, "WRONG-ID"),
            ("alice, no external ID", alice, None),
            ("bob (in A, not in the group)", bob, external_id),
            (f"carol (third account {THIRD_ACCOUNT})", carol, external_id),
        ]
        for step, keys, given_id in refused:
            self._check(step, ACCESS_DENIED, self.assume_outcome(keys, role_arn, given_id))
        self._ci(trusted["GithubActionsDeployerRoleArn"], role_arn, external_id)
        lane.run(alice, role_arn, external_id)

        status = self.deploy("TargetStack", b, variant="require-mfa", context=MFA_CONTEXT)
        self._check("cdk deploy TargetStack, require_mfa", "UPDATE_COMPLETE", status)
        self._check("  ... the trust requires MFA", "yes", _yes(self.trust_requires_mfa(role_name)))
        self._check("alice without MFA", ACCESS_DENIED, self.assume_outcome(alice, role_arn, external_id))

    def _ci(self, deployer_arn: str, role_arn: str, external_id: str) -> None:
        """A workflow of the configured branch gets the deployer and chains into B; another branch does not."""
        got, keys = self.web_identity(deployer_arn, f"repo:{CI_REPOSITORY}:ref:refs/heads/main")
        self._check(f"GitHub token, {CI_REPOSITORY} main", "allowed", got)
        got, _ = self.web_identity(deployer_arn, f"repo:{CI_REPOSITORY}:ref:refs/heads/dev")
        self._check(f"GitHub token, {CI_REPOSITORY} branch dev", ACCESS_DENIED, got)
        if keys is None:
            raise FlowError("the workflow token of the configured branch got no session")
        expected_arn = f"arn:aws:sts::{self.account_b}:assumed-role/{role_arn.rsplit('/', 1)[1]}/{CI_SESSION}"
        self._check("  ... into B with the external ID", expected_arn, self.chain_outcome(keys, role_arn, external_id))
        self._check("  ... into B without external ID", ACCESS_DENIED, self.chain_outcome(keys, role_arn, None))

    def lane_steps(self) -> LaneSteps:
        """alice deploys her own service into B through the deploy lane (harness/emulator/lane_flow.py)."""
        return LaneSteps(self)

    def _delete_lane_stacks(self) -> None:
        """What the lane rows left (a stopped flow): deleted with B's key, before TargetStack goes."""
        cloudformation = self._client("cloudformation", self._root(self.account_b))
        for stack in self._lane_stacks:
            with _quietly():
                cloudformation.delete_stack(StackName=stack)

    def _teardown(self) -> None:
        """Remove what the flow made outside the stacks, then ``cdk destroy`` each deployed stack."""
        self._stop_background()
        a = self.account_a
        with _quietly():
            iam = self._client("iam", self._root(a))
            group = self._outputs("TrustedStack", a).get("GroupName")
            if group:
                # IAM refuses to delete a group that still has members (so does CloudFormation on AWS).
                for user in iam.get_group(GroupName=group).get("Users", []):
                    iam.remove_user_from_group(GroupName=group, UserName=user["UserName"])
        with _quietly():
            self._client("iam", self._root(a)).delete_open_id_connect_provider(
                OpenIDConnectProviderArn=self.oidc_provider_arn
            )
        self._delete_lane_stacks()
        for stack, account in reversed(self._deployed):
            try:
                self._cdk(["destroy", stack, "--app", str(self._any_assembly()), "--force"], account)
                got = self.stack_gone(stack, account)
            except (FlowError, ClientError, subprocess.SubprocessError) as error:
                got = f"error: {_first_line(error)}"
            self._check(f"cdk destroy {stack}", "deleted", got)

    def _any_assembly(self) -> Path:
        for variant in ("default", "require-mfa"):
            if (self.workspace.assembly(variant) / "manifest.json").exists():
                return self.workspace.assembly(variant)
        raise FlowError("no cloud assembly to destroy from")


def _key_args(keys: Keys) -> dict[str, Any]:
    return {
        "access_key_id": keys.access_key_id,
        "secret_access_key": keys.secret_access_key,
        "session_token": keys.session_token,
    }


def unsigned_token(claims: Mapping[str, Any], *, lifetime_seconds: int = 300) -> str:
    """A JWT with these claims, ``iat`` and ``exp`` but no signature: enough for MiniStack, never for AWS."""
    now = int(time.time())

    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    payload = {"iat": now, "exp": now + lifetime_seconds, **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code"))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]


def _quietly() -> AbstractContextManager[None]:
    """Best-effort clean-up: a failure here must not hide the rows that explain it."""
    return suppress(ClientError, KeyError, IndexError)


@dataclass(frozen=True)
class FlowResult:
    """A finished run: the rows (emulator stop included) and the wall time after set-up."""

    rows: list[Row]
    seconds: float
    workspace: Workspace

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(row.ok for row in self.rows)


def run_flow(*, keep: bool = False, echo: Callable[[str], None] | None = None, presynth: bool = True) -> FlowResult:
    """Start the emulator, run the flow, stop the emulator, check it is gone; the run folder is removed unless kept."""
    started = time.monotonic()
    workspace = Workspace.create()
    rows: list[Row] = []
    pid = 0
    with run_emulator(workspace.emulator_dir, tls=True) as emulator:
        pid = emulator.pid
        if echo is not None:
            echo(f"MiniStack on {emulator.endpoint} (PID {pid}), IAM enforced")
            echo(f"run folder: {workspace.root.relative_to(PROJECT_ROOT)}")
        rows = Flow(emulator, workspace, echo=echo, presynth=presynth).run()
    rows.append(Row(f"emulator stopped (PID {pid})", "stopped", "running" if alive(pid) else "stopped"))
    result = FlowResult(rows, time.monotonic() - started, workspace)
    if result.ok and not keep:
        workspace.remove()
    return result
