"""What would IAM decide? A bridge from synthesized templates to an IAM policy simulator.

Reads the IAM roles, groups and managed policies of a cloud assembly (a ``cdk.out``
directory, or what :func:`harness.synth.synth` returns), resolves the few intrinsics
CDK writes into policies, and evaluates batches of requests with
``@cloud-copilot/iam-simulate`` in one Node process per batch.

The simulator is AGPL-3.0: it is a test tool, run as a separate process, and the
``cross_account`` package never imports it or this package.

One module per step, each importing only the ones before it:

- :mod:`~harness.simulate.model`: templates -> IAM model (intrinsics, :class:`StackEnv`, :class:`Role`,
  :class:`Group`, :class:`User`, :class:`IamModel`, :func:`load_templates`, :func:`load_synthesized`);
- :mod:`~harness.simulate.engine`: requests -> decisions (:class:`Request`, :class:`Decision`,
  :class:`Reason`, and :func:`simulate`, the bridge to ``harness/simulate.mjs``);
- :mod:`~harness.simulate.scenarios`: requests that succeed only together (:class:`Scenario`,
  :class:`Outcome`, :func:`run_scenarios`, the request builders, :func:`standard_scenarios`);
- :mod:`~harness.simulate.howto`: the original how-to's policies, the negative control;
- :mod:`~harness.simulate.cli`: the command line, ``python -m harness.simulate cdk.out`` (see :func:`main`).

Every name is re-exported here: ``from harness.simulate import X`` works for all of them.
"""

from harness.simulate.cli import format_table, main
from harness.simulate.engine import (
    NODE_TIMEOUT_SECONDS,
    OIDC_CLAIMS,
    SIMULATE_MJS,
    WEB_IDENTITY_ACTION,
    ContextValue,
    Decision,
    Reason,
    Request,
    principal_context,
    simulate,
)
from harness.simulate.model import (
    DEFAULT_REGION,
    GENERATED_NAME_SUFFIX,
    PRINCIPAL_TYPES,
    STACK_ID,
    UNMODELLED_TYPES,
    URL_SUFFIXES,
    Group,
    IamModel,
    PolicyDocument,
    Role,
    SimulationError,
    StackEnv,
    UnresolvedIntrinsicError,
    User,
    load_assembly,
    load_synthesized,
    load_templates,
    principal_arn,
    principal_name,
    resolve_intrinsics,
    stack_environments,
)
from harness.simulate.scenarios import (
    ADMIN_POLICY,
    OTHER_ORG,
    THIRD_ACCOUNT,
    TRUST_POLICY,
    Outcome,
    Scenario,
    TrustRequirements,
    Verdict,
    assume_role_requests,
    run_scenarios,
    session_request,
    standard_scenarios,
    trust_requirements,
    web_identity_request,
)

__all__ = [
    "ADMIN_POLICY",
    "DEFAULT_REGION",
    "GENERATED_NAME_SUFFIX",
    "NODE_TIMEOUT_SECONDS",
    "OIDC_CLAIMS",
    "OTHER_ORG",
    "PRINCIPAL_TYPES",
    "SIMULATE_MJS",
    "STACK_ID",
    "THIRD_ACCOUNT",
    "TRUST_POLICY",
    "UNMODELLED_TYPES",
    "URL_SUFFIXES",
    "WEB_IDENTITY_ACTION",
    "ContextValue",
    "Decision",
    "Group",
    "IamModel",
    "Outcome",
    "PolicyDocument",
    "Reason",
    "Request",
    "Role",
    "Scenario",
    "SimulationError",
    "StackEnv",
    "TrustRequirements",
    "UnresolvedIntrinsicError",
    "User",
    "Verdict",
    "assume_role_requests",
    "format_table",
    "load_assembly",
    "load_synthesized",
    "load_templates",
    "main",
    "principal_arn",
    "principal_context",
    "principal_name",
    "resolve_intrinsics",
    "run_scenarios",
    "session_request",
    "simulate",
    "stack_environments",
    "standard_scenarios",
    "trust_requirements",
    "web_identity_request",
]
