#!/usr/bin/env python3
"""A small service that a person in account A deploys into account B through the role's deploy lane.

    cross-account exec -- npx cdk deploy MyService

``DeployLaneSynthesizer`` needs no CDK bootstrap stack: the stack carries the lane's tag, its
template and Lambda code go to B's staging bucket under the role's prefix, and the function's role
gets the lane's path and permissions boundary. The role must allow what the stack creates: here
``allowed_actions`` with ``lambda:*`` and ``logs:*`` besides the defaults, and
``service_role_services=["lambda.amazonaws.com"]`` (the function's role).

Account and region: ``-c account=... -c region=...``, else the account of the credentials the CDK
CLI runs with (``CDK_DEFAULT_ACCOUNT``/``CDK_DEFAULT_REGION``).
"""

import os
from pathlib import Path

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

from cross_account import DeployLaneSynthesizer

app = App()
account = app.node.try_get_context("account") or os.environ.get("CDK_DEFAULT_ACCOUNT")
region = app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION")
stack = Stack(app, "MyService", env=Environment(account=account, region=region), synthesizer=DeployLaneSynthesizer())
# "version" changes the stack on demand (a second deploy that updates it).
version = str(app.node.try_get_context("version") or "1")

queue = sqs.Queue(stack, "Orders", retention_period=Duration.days(4))
rule = events.Rule(
    stack,
    "OrderPlaced",
    event_pattern=events.EventPattern(source=["my.shop"], detail_type=["OrderPlaced"]),
)
rule.add_target(targets.SqsQueue(queue))
cloudwatch.Alarm(
    stack,
    "OrdersPiling",
    metric=queue.metric_approximate_number_of_messages_visible(),
    threshold=100,
    evaluation_periods=3,
    alarm_description=f"Orders are piling up (version {version})",
)
s3.Bucket(
    stack,
    "Receipts",
    encryption=s3.BucketEncryption.S3_MANAGED,
    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    enforce_ssl=True,
    removal_policy=RemovalPolicy.DESTROY,
)
lambda_.Function(
    stack,
    "Handler",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_asset(str(Path(__file__).parent / "handler")),
    environment={"QUEUE_URL": queue.queue_url, "VERSION": version},
)
app.synth()
