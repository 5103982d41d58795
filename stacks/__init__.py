"""The app's stacks: thin compositions of the constructs in `cross_account`."""

from __future__ import annotations

from aws_cdk import App, BootstraplessSynthesizer, Environment, IStackSynthesizer, Validations
from cdk_nag import AwsSolutionsChecks

from cross_account.settings import Settings
from stacks.target_stack import TargetStack
from stacks.trusted_stack import TrustedStack

__all__ = ["TargetStack", "TrustedStack", "add_stacks"]


def add_stacks(app: App, settings: Settings, *, nag: bool = True) -> tuple[TargetStack, TrustedStack]:
    """Add both sides of the trust to `app`, with cdk-nag's AwsSolutions checks as a validation plugin."""
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Local runs deploy into an emulator without a bootstrap stack.
    synthesizer: IStackSynthesizer | None = BootstraplessSynthesizer() if settings.local else None
    target = TargetStack(
        app,
        "TargetStack",
        settings=settings,
        env=Environment(account=settings.target_account_id, region=settings.region),
        synthesizer=synthesizer,
        description="Cross-account access: the role that the trusted account assumes",
    )
    trusted = TrustedStack(
        app,
        "TrustedStack",
        settings=settings,
        env=Environment(account=settings.trusted_account_id, region=settings.region),
        synthesizer=BootstraplessSynthesizer() if settings.local else None,
        description="Cross-account access: the group allowed to assume the target account's role",
    )
    return target, trusted
