"""CI systems that sign in to AWS with OpenID Connect: the data that tells them apart, and their rules.

Each system is one entry of :data:`CI_PROVIDERS`: its token issuer, the audience its tokens carry
for AWS, and how its ``sub`` claim names a repository and a branch, tag or environment. Adding a
system is adding an entry. No CDK import: the settings parse with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from cross_account import declaration, rules
from cross_account.declaration import check


@dataclass(frozen=True)
class CiProvider:
    """How one CI system's OIDC tokens look."""

    #: The setting's name (``github_oidc``).
    setting: str
    #: The system's name, for descriptions and output names.
    label: str
    #: The deployer role's name unless the setting gives one.
    default_role_name: str
    #: The issuer's host: the IAM OIDC provider's URL without ``https://``.
    issuer: str
    #: The ``aud`` claim of tokens meant for AWS.
    audience: str
    #: ``sub`` claim per kind of ref, with ``{repository}`` and ``{name}``.
    subjects: Mapping[str, str]
    #: What a repository looks like: a literal owner (or group path) and name.
    repository_re: re.Pattern[str]
    repository_rule: str
    #: The claim with the repository's numeric ID, which a renamed, deleted or re-created repository does
    #: not keep (GitHub's ``repository_id``).
    id_claim: str
    #: The claim naming the workflow file that runs (GitHub's ``job_workflow_ref``), if the system has one.
    workflow_claim: str | None = None
    #: The claim that says a branch or tag is protected (GitLab's ``ref_protected``), if the system has one.
    protected_ref_claim: str | None = None
    #: The setting in words, for the README's settings table.
    summary: str = ""

    def subject(self, repository: str, kind: str, name: str) -> str:
        return self.subjects[kind].format(repository=repository, name=name)


_SEGMENT = r"[A-Za-z0-9_.-]+"
CI_PROVIDERS: Final[Mapping[str, CiProvider]] = {
    "github_oidc": CiProvider(
        setting="github_oidc",
        label="GitHub Actions",
        default_role_name="GithubActionsDeployer",
        issuer="token.actions.githubusercontent.com",
        audience="sts.amazonaws.com",
        subjects={
            "branches": "repo:{repository}:ref:refs/heads/{name}",
            "tags": "repo:{repository}:ref:refs/tags/{name}",
            "environments": "repo:{repository}:environment:{name}",
        },
        repository_re=re.compile(rf"^{_SEGMENT}/(?:{_SEGMENT}|\*)\Z", re.ASCII),
        repository_rule="must be OWNER/REPO",
        id_claim="repository_id",
        workflow_claim="job_workflow_ref",
        summary=(
            "a GitHub Actions deployer role in account A (see [Deploy from CI](#deploy-from-ci)): "
            '`{"repositories": [{"repository": "OWNER/REPO", "repository_id": …, "branches": […], '
            '"environments": […], "tags": […]}], "workflows": [...], "provider_arn": …, "role_name": …, '
            '"max_session_duration_seconds": …, "tier": …}`'
        ),
    ),
    "gitlab_oidc": CiProvider(
        setting="gitlab_oidc",
        label="GitLab CI",
        default_role_name="GitlabCiDeployer",
        issuer="gitlab.com",
        audience="https://gitlab.com",
        subjects={
            "branches": "project_path:{repository}:ref_type:branch:ref:{name}",
            "tags": "project_path:{repository}:ref_type:tag:ref:{name}",
        },
        repository_re=re.compile(rf"^{_SEGMENT}(?:/{_SEGMENT})*/(?:{_SEGMENT}|\*)\Z", re.ASCII),
        repository_rule="must be GROUP[/SUBGROUP…]/PROJECT",
        id_claim="project_id",
        protected_ref_claim="ref_protected",
        summary=(
            "the same for GitLab CI (`gitlab.com`; `repository` is `GROUP/PROJECT`; branches and tags; protected "
            'refs only unless `"allow_unprotected_refs": true`)'
        ),
    ),
}

#: Branch, tag and environment names: printable ASCII without ':' (git refuses it in refs) or '$' (it
#: would start an IAM policy variable).
REF_NAME_RE: Final = re.compile(r"^[\x21-\x23\x25-\x39\x3B-\x7E]{1,255}\Z", re.ASCII)
#: A workflow file, as GitHub's job_workflow_ref names it: literal OWNER/REPO/.github/workflows/FILE, then @ref
#: (wildcards only in the ref, and no '$').
WORKFLOW_REF_RE: Final = re.compile(
    rf"^{_SEGMENT}/{_SEGMENT}/\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml@[\x21-\x23\x25-\x7E]+\Z", re.ASCII
)
REPOSITORY_ID_RE: Final = re.compile(r"^[1-9][0-9]{0,19}\Z", re.ASCII)
OIDC_PROVIDER_ARN_RE: Final = re.compile(
    rf"^arn:(?:{rules.PARTITION_RE}):iam::\d{{12}}:oidc-provider/[\x21-\x7E]+\Z", re.ASCII
)


def _audience(key: str, value: Any) -> str:
    check(
        key,
        value,
        isinstance(value, str) and 1 <= len(value) <= 255 and not any(c in value for c in "*?"),
        "must be the exact aud claim, 1-255 characters, no wildcard",
    )
    return str(value)


@dataclass(frozen=True, kw_only=True)
class CiRepository:
    """One repository (project) and the refs whose workflows may deploy."""

    repository: str
    #: Its numeric ID (GitHub's ``repository_id``, GitLab's ``project_id``): someone who takes over
    #: the name after a rename or deletion gets another. Default: the name alone. Give it for every
    #: repository or none.
    repository_id: str | int | None = None
    branches: Sequence[str] = ()
    tags: Sequence[str] = ()
    environments: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class CiOidcSettings:
    """A CI system's deployer role in the trusted account: the ``github_oidc`` / ``gitlab_oidc`` settings,
    and the props of :class:`~cross_account.oidc.CiOidcDeployer`.

    The fields with a rule of their own are declared with :func:`~cross_account.declaration.setting`; the
    repositories, the provider ARN and the workflows are checked against the provider in :meth:`validated`.
    """

    #: The CI system (an entry of ``CI_PROVIDERS``). Required.
    provider: CiProvider
    #: The repositories (projects) and refs whose workflows may deploy. Required, at least one.
    repositories: tuple[CiRepository, ...]
    #: An existing IAM OIDC provider for the issuer (an account holds one per URL). Default: create one.
    provider_arn: str | None = None
    #: The role's name. Default: the provider's ``default_role_name``.
    role_name: str = declaration.setting(rules.validate_role_name)
    #: The role's maximum session, 3600-43200 seconds. Default: 3600.
    max_session_duration_seconds: int = declaration.setting(rules.validate_max_session_duration, default=3600)
    #: Accept ``OWNER/*``: every repository of the owner, present and future. Default: false.
    allow_any_repository_of_owner: bool = declaration.setting(rules.validate_bool, default=False, tokens=False)
    #: Accept ``*`` and ``?`` in branch, tag and environment names (``release/*``). Default: false.
    allow_ref_wildcards: bool = declaration.setting(rules.validate_bool, default=False, tokens=False)
    #: Where the system says whether a ref is protected (GitLab's ``ref_protected``), accept pipelines of
    #: unprotected branches and tags too: anyone who can push such a ref gets the role. Default: false.
    allow_unprotected_refs: bool = declaration.setting(rules.validate_bool, default=False, tokens=False)
    #: The ``aud`` claim the trust requires. Default: the provider's.
    audience: str = declaration.setting(_audience)
    #: With role tiers: the tier whose grant the CI role gets. Default: the only role.
    tier: str | None = declaration.setting(declaration.optional(rules.validate_role_name), default=None, tokens=False)
    #: Only these workflow files may get the role (GitHub's ``job_workflow_ref``, e.g.
    #: ``octo/app/.github/workflows/deploy.yml@refs/heads/main``): a ``pull_request_target`` or
    #: ``workflow_run`` workflow runs with the branch's ``sub`` but is another file. Default: any.
    workflows: tuple[str, ...] = ()

    @classmethod
    def of(cls, provider: CiProvider, **values: Any) -> CiOidcSettings:
        """The settings of `provider` from `values` (the setting's keys), its defaults filling the rest (and
        standing for ``None``); unknown keys are refused naming the known."""
        _check_provider(provider)
        _check_keys(provider.setting, values)
        defaults = {"role_name": provider.default_role_name, "audience": provider.audience}
        given = {name: value for name, value in values.items() if not (name in defaults and value is None)}
        return cls(provider=provider, **{**defaults, **given})

    def validated(
        self, *, unresolved: Callable[[Any], bool] = declaration.never, prefix: str | None = None
    ) -> CiOidcSettings:
        """A copy with every value checked, named as the setting's keys (``github_oidc.role_name``; ``prefix``
        instead of ``github_oidc.``). A value only known at deploy time (``unresolved``: a CDK token, given to the
        construct) passes as it is, but for the flags."""
        _check_provider(self.provider)
        provider, known = self.provider, _known(unresolved)
        key = f"{provider.setting}." if prefix is None else prefix
        declared = {
            f.name: declaration.rule_of(f).apply(f"{key}{f.name}", getattr(self, f.name), unresolved=unresolved)
            for f in fields(self)
            if "rule" in f.metadata
        }
        check(
            f"{key}allow_unprotected_refs",
            declared["allow_unprotected_refs"],
            not declared["allow_unprotected_refs"] or provider.protected_ref_claim is not None,
            f"{provider.label} tokens say nothing about protected refs",
        )
        return replace(
            self,
            **declared,
            repositories=_repositories(
                f"{key}repositories",
                self.repositories,
                provider,
                declared["allow_any_repository_of_owner"],
                declared["allow_ref_wildcards"],
                known,
            ),
            provider_arn=known(lambda k, v: _provider_arn(k, v, provider))(f"{key}provider_arn", self.provider_arn),
            workflows=_workflows(f"{key}workflows", self.workflows, provider, known),
        )

    def subjects(self, repositories: Sequence[CiRepository] | None = None) -> list[str]:
        """The ``sub`` patterns of the trust: one per repository (default: all) and ref."""
        return [
            self.provider.subject(repo.repository, kind, name)
            for repo in (self.repositories if repositories is None else repositories)
            for kind in self.provider.subjects
            for name in getattr(repo, kind)
        ]

    def trusted(self) -> list[tuple[list[str], Any]]:
        """What each trust statement accepts: ``sub`` patterns and a repository ID (a token stays one). Pinned
        repositories get a statement each, so that one repository's ID never stands in for another's name."""
        if self.repositories[0].repository_id is None:
            return [(self.subjects(), None)]
        return [(self.subjects([repo]), repo.repository_id) for repo in self.repositories]


#: The keys of a CI system's setting: every field but the provider, which the setting's name says.
KEYS: Final = tuple(f.name for f in fields(CiOidcSettings) if f.name != "provider")


def _check_provider(provider: Any) -> None:
    check(
        "provider",
        provider,
        isinstance(provider, CiProvider),
        f"must be one of CI_PROVIDERS ({', '.join(CI_PROVIDERS)})",
    )


def _check_keys(key: str, values: Mapping[str, Any]) -> None:
    for name in values:
        check(f"{key}.{name}", values[name], name in KEYS, f"unknown; known: {', '.join(KEYS)}")


def parse_ci_oidc(provider: CiProvider) -> declaration.Validator:
    """The parser of one CI system's setting: an object, each key checked, refused in one line naming it.

    It reads the JSON into a :class:`CiOidcSettings` and leaves every rule to :meth:`CiOidcSettings.validated`,
    which the construct calls on its props too.
    """

    def parse(key: str, value: Any) -> CiOidcSettings | None:
        value = declaration.parse_json_string(key, value, dict)
        if value is None or value == {}:
            return None
        check(key, value, isinstance(value, Mapping), f"must be an object of {', '.join(KEYS)}")
        given = CiOidcSettings.of(provider, **{"repositories": None, **value})  # unknown keys refused first
        entries = _repository_entries(f"{key}.repositories", given.repositories, provider)
        return replace(given, repositories=entries).validated()

    return parse


def _known(unresolved: Callable[[Any], bool]) -> Callable[..., declaration.Validator]:
    """``known(validator, literal)``: ``validator`` for a known value. Of a value with tokens in it, ``literal``
    checks the text around them: a wildcard there would widen the trust and is never checked against the
    allow_* settings."""

    def known(validator: declaration.Validator, literal: Callable[[str], bool] | None = None) -> declaration.Validator:
        def apply(key: str, value: Any) -> Any:
            if not unresolved(value):
                return validator(key, value)
            if literal is not None and isinstance(value, str):
                for part in rules.literal_parts(value):
                    check(key, value, literal(part), _MIXED_VALUE_RULE)
            return value

        return apply

    return known


_MIXED_VALUE_RULE: Final = (
    "the text beside a token may hold no wildcard (* ?), ':' or '$' (an ID: digits only); write the value whole"
)


def _plain(part: str) -> bool:
    return not any(char in part for char in "*?:$")


def _workflows(
    key: str, value: Any, provider: CiProvider, known: Callable[..., declaration.Validator]
) -> tuple[str, ...]:
    check(key, value, not value or provider.workflow_claim is not None, f"{provider.label} tokens name no workflow")
    return declaration.sequence_of(key, value, known(_workflow_ref, _plain))


def _workflow_ref(key: str, value: Any) -> str:
    check(
        key,
        value,
        isinstance(value, str) and bool(WORKFLOW_REF_RE.match(value)),
        "must be OWNER/REPO/.github/workflows/FILE.yml@REF, literal but for wildcards in REF "
        "(e.g. octo/app/.github/workflows/deploy.yml@refs/heads/main)",
    )
    return str(value)


def _provider_arn(key: str, value: Any, provider: CiProvider) -> str | None:
    if value is not None:
        check(
            key,
            value,
            isinstance(value, str)
            and bool(OIDC_PROVIDER_ARN_RE.match(value))
            and value.endswith(f"/{provider.issuer}"),
            f"must be an IAM OIDC provider ARN arn:<partition>:iam::<account>:oidc-provider/{provider.issuer}",
        )
    return None if value is None else str(value)


def _repository_entries(key: str, value: Any, provider: CiProvider) -> Any:
    """The setting's ``repositories``: objects of known keys, read into :class:`CiRepository` (checked later)."""
    check(key, value, isinstance(value, list) and bool(value), 'must be a non-empty list of {"repository": …, …}')
    keys = ("repository", "repository_id", *provider.subjects)
    for i, entry in enumerate(value):
        check(f"{key}[{i}]", entry, isinstance(entry, Mapping), f"must be an object of {', '.join(keys)}")
        for name in entry:
            check(f"{key}[{i}].{name}", entry[name], name in keys, f"unknown; known: {', '.join(keys)}")
    return [CiRepository(**entry) for entry in value]


def _repositories(
    key: str,
    value: Any,
    provider: CiProvider,
    allow_owner: bool,
    allow_wildcards: bool,
    known: Callable[..., declaration.Validator],
) -> tuple[CiRepository, ...]:
    check(key, value, isinstance(value, list | tuple) and bool(value), "must be a non-empty list of CiRepository")
    kinds = tuple(provider.subjects)
    ref_name = known(_ref_name if allow_wildcards else _literal_ref_name, _plain)
    repositories = []
    for i, entry in enumerate(value):
        entry_key = f"{key}[{i}]"
        check(entry_key, entry, isinstance(entry, CiRepository), "must be a CiRepository")
        repository = known(lambda k, v: _repository(k, v, provider, allow_owner), _plain)(
            f"{entry_key}.repository", entry.repository
        )
        refs = {kind: declaration.sequence_of(f"{entry_key}.{kind}", getattr(entry, kind), ref_name) for kind in kinds}
        check(
            f"{entry_key}.environments",
            list(entry.environments),
            not entry.environments or "environments" in kinds,
            f"{provider.label} has no environments",
        )
        check(
            entry_key,
            entry.repository,
            any(refs.values()),
            f"must name at least one of {', '.join(kinds)}: a repository-wide trust lets every ref and pull request in",
        )
        repository_id = known(_repository_id, str.isdigit)(f"{entry_key}.repository_id", entry.repository_id)
        check(
            f"{entry_key}.repository_id",
            repository_id,
            repository_id is None or not repository.endswith("/*"),
            "names one repository; OWNER/* stands for many",
        )
        repositories.append(CiRepository(repository=repository, repository_id=repository_id, **refs))
    unpinned = [i for i, repo in enumerate(repositories) if repo.repository_id is None]
    if 0 < len(unpinned) < len(repositories):
        raise declaration.SettingsError(
            f"{key}[{unpinned[0]}].repository_id",
            None,
            "needed once another repository has one: the trust requires one of the IDs",
        )
    return tuple(repositories)


def _repository(key: str, value: Any, provider: CiProvider, allow_owner: bool) -> str:
    check(
        key,
        value,
        isinstance(value, str) and bool(provider.repository_re.match(value)),
        f"{provider.repository_rule}, with a literal owner and name: a wildcard there lets others in",
    )
    check(
        key,
        value,
        allow_owner or not value.endswith("/*"),
        "OWNER/* lets every repository of the owner in, present and future; "
        "set allow_any_repository_of_owner to mean it",
    )
    return str(value)


def _repository_id(key: str, value: Any) -> str | None:
    if value is None:
        return None
    # An int is checked before str(): a 5,000-digit number would fail in str() itself.
    in_range = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**20
    check(
        key,
        value,
        in_range or (isinstance(value, str) and bool(REPOSITORY_ID_RE.match(value))),
        "must be the repository's numeric ID, 1-20 digits (GitHub: gh api repos/OWNER/REPO --jq .id)",
    )
    return str(value)


def _ref_name(key: str, value: Any) -> str:
    check(
        key,
        value,
        isinstance(value, str) and bool(REF_NAME_RE.match(value)),
        "must be 1-255 printable characters without spaces, ':' or '$' (wildcards * and ? allowed)",
    )
    return str(value)


def _literal_ref_name(key: str, value: Any) -> str:
    text = _ref_name(key, value)
    check(
        key,
        text,
        not any(char in text for char in "*?"),
        "a wildcard lets every matching branch in (main* matches main-attacker); "
        "name the refs, or set allow_ref_wildcards to mean it",
    )
    return text
