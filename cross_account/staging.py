"""The staging bucket of the deploy lane: where a session's templates and file assets wait for CloudFormation."""

from __future__ import annotations

from typing import Final

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cross_account import declaration, lane, tokens
from cross_account.declaration import SettingsError
from cross_account.private.construct import construct_label
from cross_account.role import CrossAccountRole

#: What a lane session does with its own objects.
_OBJECT_ACTIONS: Final = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
)
_BUCKET_READS: Final = ("s3:ListBucket", "s3:GetBucketLocation", "s3:GetEncryptionConfiguration")


class DeployStagingBucket(Construct):
    """The bucket that lane deploys stage their templates and file assets in, one per account and region.

    Named ``cross-account-deploys-<account>-<region>``, so that a service app's
    :class:`~cross_account.synthesizer.DeployLaneSynthesizer` finds it without settings.
    Encrypted, no public access, TLS only, objects expire. Each role granted with
    :meth:`grant_deploy` reads and writes its own prefix (``<lane>/``) and no other; the role's
    tamper guard keeps the bucket's policy and configuration out of every session's reach.

    Kept when its stack is deleted (``RemovalPolicy.RETAIN``): empty and delete it before the stack
    is deployed again, or CloudFormation finds the name taken.
    """

    def __init__(self, scope: Construct, construct_id: str, *, object_expiration_days: int = 30) -> None:
        """``object_expiration_days``: objects are deleted this long after upload (1-3650). Default: 30
        (an asset older than that is uploaded again by the next deploy that needs it)."""
        label = construct_label(scope, construct_id, "DeployStagingBucket")
        if not tokens.unresolved(object_expiration_days):
            try:
                declaration.check(
                    "object_expiration_days",
                    object_expiration_days,
                    type(object_expiration_days) is int and 1 <= object_expiration_days <= 3650,
                    "must be a whole number of days from 1 to 3650",
                )
            except SettingsError as error:
                raise error.at(label) from None
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        name = lane.staging_bucket_name(stack.account, stack.region)
        #: Written out rather than referenced: policies then name it without a dependency on the bucket.
        self.bucket_arn: str = f"arn:{stack.partition}:s3:::{name}"
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(object_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket_name: str = self.bucket.bucket_name
        resource = self.bucket.node.default_child
        assert resource is not None
        Validations.of(resource).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="staging for deploys only; CloudFormation and CloudTrail record who deployed what",
            )
        )

    def grant_deploy(self, access: CrossAccountRole) -> iam.Grant:
        """Let ``access``'s sessions stage under their lane's prefix, through the bucket's policy (the role's own
        policies stay as they are); a Deny there keeps them out of every other prefix, whatever else they are
        granted."""
        own = f"{self.bucket_arn}/{access.lane}/*"
        principal = iam.ArnPrincipal(access.role_arn)
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(lane.STAGING_OBJECT_ACCESS),
                not_resources=[own],
                conditions={"ArnEquals": {"aws:PrincipalArn": access.role_arn}},
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(principals=[principal], actions=list(_BUCKET_READS), resources=[self.bucket_arn])
        )
        return iam.Grant.add_statement_to_resource_policy(
            grantee=access,
            actions=list(_OBJECT_ACTIONS),
            resource_arns=[own],
            resource=self.bucket,
            statement=iam.PolicyStatement(principals=[principal], actions=list(_OBJECT_ACTIONS), resources=[own]),
        )
