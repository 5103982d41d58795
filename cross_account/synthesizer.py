"""Deploy a service's stacks with a session of the cross-account role: CDK without its bootstrap roles."""

from __future__ import annotations

import os
from typing import Any, Final

import jsii
from aws_cdk import (
    Annotations,
    Aspects,
    Aws,
    CliCredentialsStackSynthesizer,
    DockerImageAssetLocation,
    IAspect,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from cross_account import lane, rules
from cross_account.declaration import SettingsError

#: The role the app names by default (``role_name`` in its settings).
DEFAULT_ROLE_NAME: Final = "CrossAccountAccessRole"
#: Set by ``cross-account exec`` in the command's environment.
ROLE_ARN_VARIABLE: Final = "CROSS_ACCOUNT_ROLE_ARN"


class DeployLaneSynthesizer(CliCredentialsStackSynthesizer):
    """Synthesize a stack that a session of the cross-account role deploys through its deploy lane.

    Use it with no arguments in the default set-up::

        Stack(app, "MyService", env=Environment(account="222222222222", region="us-east-1"),
              synthesizer=DeployLaneSynthesizer())

    then ``cross-account exec -- npx cdk deploy MyService``. Built on CDK's
    ``CliCredentialsStackSynthesizer``: no bootstrap roles, no execution role, no bootstrap
    version parameter. The stack carries the lane's tag (``cross-account:deploy-lane``);
    its templates and file assets (Lambda code) go to the target account's staging bucket, under
    the lane's prefix; every IAM role in it gets the lane's path and permissions boundary (the
    role's ``service_role_services`` setting lets the session create such roles). Container
    image assets are refused at synth.

    ``role_name``: the role the deploy uses. Default: the role of the session that
    ``cross-account exec`` runs the command in (``$CROSS_ACCOUNT_ROLE_ARN``), else
    ``CrossAccountAccessRole``. ``bucket_name``: default ``cross-account-deploys-<account>-<region>``.
    ``service_role_path``: default ``/cross-account-lane/<role name>/`` (as the role's setting).
    """

    def __init__(
        self,
        *,
        role_name: str | None = None,
        bucket_name: str | None = None,
        service_role_path: str | None = None,
    ) -> None:
        self._problem: str | None = None
        self._session_account: str | None = None
        lane_name = role_name or self._role_name_of_session() or DEFAULT_ROLE_NAME
        try:
            rules.validate_role_name("role_name", lane_name)
            if service_role_path is not None:
                rules.validate_path("service_role_path", service_role_path)
        except SettingsError as error:
            self._problem, lane_name = str(error), DEFAULT_ROLE_NAME
        self.lane: str = lane_name
        self.service_role_path: str = service_role_path or lane.default_service_role_path(lane_name)
        super().__init__(
            file_assets_bucket_name=bucket_name or lane.staging_bucket_name("${AWS::AccountId}", "${AWS::Region}"),
            bucket_prefix=f"{lane_name}/",
        )

    def _role_name_of_session(self) -> str | None:
        arn = os.environ.get(ROLE_ARN_VARIABLE)
        if not arn:
            return None
        try:
            match = rules.validate_role_arn(ROLE_ARN_VARIABLE, arn)
        except SettingsError as error:
            self._problem = str(error)
            return None
        self._session_account = arn.split(":")[4]
        return str(match.group("name"))

    def bind(self, stack: Stack) -> None:
        super().bind(stack)
        self._stack = stack
        where = "DeployLaneSynthesizer"
        if self._problem:
            Annotations.of(stack).add_error(f"{where}: {self._problem}")
        account = stack.account
        if self._session_account and not Token.is_unresolved(account) and account != self._session_account:
            Annotations.of(stack).add_error(
                f"{where}: the stack is for account {account}, but ${ROLE_ARN_VARIABLE} is a role of account "
                f"{self._session_account}: deploy it with a role of {account} (cross-account exec NAME), or "
                "change the stack's env"
            )
        stack.tags.set_tag(lane.LANE_TAG_KEY, self.lane)
        boundary = (
            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:policy{self.service_role_path}"
            f"{lane.boundary_policy_name(self.lane)}"
        )
        Aspects.of(stack).add(_LaneRoles(self.service_role_path, boundary))

    def add_docker_image_asset(self, *args: Any, **kwargs: Any) -> DockerImageAssetLocation:
        Annotations.of(self._stack).add_error(
            "DeployLaneSynthesizer: container image assets are not supported: the lane has no image repository "
            "the session may push to. Push the image from CI to a repository of your own and reference it "
            "(ContainerImage.from_ecr_repository), or use a Lambda zip asset"
        )
        return DockerImageAssetLocation(image_uri="unsupported", repository_name="unsupported")


@jsii.implements(IAspect)
class _LaneRoles:
    """Every role of a lane stack lives under the lane's path, with its boundary: the only roles the session
    may create."""

    def __init__(self, path: str, boundary_arn: str) -> None:
        self._path, self._boundary_arn = path, boundary_arn

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, iam.CfnRole):
            return
        for name, wanted in (("path", self._path), ("permissions_boundary", self._boundary_arn)):
            current: Any = getattr(node, name)
            if current is None:
                setattr(node, name, wanted)
            elif current != wanted:
                Annotations.of(node).add_error(
                    f"DeployLaneSynthesizer: the role's {name} is {current}, but a lane session may create roles "
                    f"only with {wanted}; leave {name} unset"
                )
