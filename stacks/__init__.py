"""The app's stacks: thin compositions of the constructs in `cross_account`."""

from __future__ import annotations

from aws_cdk import Annotations, App, BootstraplessSynthesizer, Environment, IStackSynthesizer, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from cross_account.settings import Settings
from stacks.target_stack import TargetStack
from stacks.target_stackset import TargetStackSet
from stacks.trusted_stack import TrustedStack

__all__ = ["TargetStack", "TargetStackSet", "TrustedStack", "add_stacks", "target_stack_id"]


def target_stack_id(account_id: str, *, several: bool) -> str:
    """`TargetStack` for one target account; `TargetStack-<account>` for several (deploy all: 'TargetStack-*')."""
    return f"TargetStack-{account_id}" if several else "TargetStack"


def add_stacks(app: App, settings: Settings, *, nag: bool = True) -> list[Stack]:
    """Add both sides of the trust to `app`, with cdk-nag's AwsSolutions checks as a validation plugin."""
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    def synthesizer() -> IStackSynthesizer | None:
        # Local runs deploy into an emulator without a bootstrap stack.
        return BootstraplessSynthesizer() if settings.local else None

    several = len(settings.target_accounts) > 1
    stacks: list[Stack] = [
        TargetStack(
            app,
            target_stack_id(account, several=several),
            settings=settings,
            env=Environment(account=account, region=settings.region),
            synthesizer=synthesizer(),
            description="Cross-account access: the role that the trusted account assumes",
        )
        for account in settings.target_accounts
    ]
    stacks.append(
        TrustedStack(
            app,
            "TrustedStack",
            settings=settings,
            env=Environment(account=settings.trusted_account_id, region=settings.region),
            synthesizer=synthesizer(),
            description="Cross-account access: the group allowed to assume the target accounts' role",
        )
    )
    if settings.organization_wide:
        stacks.append(
            TargetStackSet(
                app,
                "TargetStackSet",
                settings=settings,
                env=Environment(region=settings.region),
                synthesizer=synthesizer(),
                description="Cross-account access: the role rolled out to organizational units by a StackSet",
            )
        )
    if warning := settings.placeholders():
        Annotations.of(app).add_warning_v2("cross-account:example-values", warning)
    return stacks
