"""The original how-to's two resources as a minimal CDK app: the role in B and the assume policy in A."""

import aws_cdk as cdk
from aws_cdk import aws_iam as iam

app = cdk.App()
target = cdk.Stack(app, "HowtoTarget", env=cdk.Environment(account="222222222222", region="us-east-1"))
iam.Role(
    target,
    "CrossAccountAccessRole",
    role_name="CrossAccountAccessRole",
    assumed_by=iam.AccountPrincipal("111111111111"),
    inline_policies={
        "CrossAccountPermissions": iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["s3:*", "cloudwatch:*", "cloudformation:*", "sqs:*", "events:*"], resources=["*"]
                )
            ]
        )
    },
)
trusted = cdk.Stack(app, "HowtoTrusted", env=cdk.Environment(account="111111111111", region="us-east-1"))
iam.ManagedPolicy(
    trusted,
    "AssumeCrossAccountAccessRole",
    statements=[
        iam.PolicyStatement(
            actions=["sts:AssumeRole", "iam:PassRole", "iam:ListRoles"],
            resources=["arn:aws:iam::222222222222:role/CrossAccountAccessRole"],
        )
    ],
)
app.synth()
