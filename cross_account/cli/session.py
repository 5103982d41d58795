"""The role's credentials for one run of a command, from sources composed for the request (see
:mod:`cross_account.cli.sources`):

- with a cache, and an MFA session that serves (see :mod:`cross_account.cli.mfa`):
  ``Cached(AssumeRole(via=Cached(MfaSession)))``: one MFA prompt for many roles;
- with a cache otherwise: ``Cached(AssumeRole)``, the MFA code (if any) sent with AssumeRole;
- without a cache: ``AssumeRole``.

`exec --server` asks again each time its session nears expiry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from cross_account.cli import mfa
from cross_account.cli.assume import source_of, utc_now
from cross_account.cli.cache import REUSE_MARGIN, CredentialCache
from cross_account.cli.credentials import Credentials
from cross_account.cli.request import RoleRequest
from cross_account.cli.sources import AssumeRoleSource, CachedSource, CredentialSource, MfaCode
from cross_account.cli.sts import Source, Sts


class RoleSession:
    """Credentials for one request, reused from the cache while they have more than `margin` left."""

    def __init__(
        self,
        request: RoleRequest,
        mfa_code: MfaCode,
        *,
        environ: Mapping[str, str],
        deadline: float,
        cache: CredentialCache | None,
        log: Callable[[str], None],
        warn: Callable[[str], None],
        notice: Callable[[str], None],
        margin: timedelta = REUSE_MARGIN,
        unchained: bool = False,
        source_keys: tuple[str, str] | None = None,
    ) -> None:
        """`mfa_code`: the code given on the command line serves the first :meth:`credentials` only (a renewal of
        `exec --server` asks for a new one). `unchained`: the role session must not be role-chained (a console
        session over one hour), so the MFA session does not serve. `source_keys`: the --profile's keys, from the
        keychain."""
        self.request = request
        self.sts = Sts(profile=request.profile, region=request.region, deadline=deadline, keys=source_keys)
        self._mfa_code = mfa_code
        self._environ = environ
        self._cache = cache
        self._log = log
        self._warn = warn
        self._notice = notice
        self._margin = margin
        self._unchained = unchained
        self._source: Source | None = None
        self._credential_source: CredentialSource | None = None

    @property
    def source(self) -> Source:
        """The source credentials (resolved once per run)."""
        if self._source is None:
            self._source = source_of(self.request, self._environ, self.sts)
        return self._source

    def chained(self) -> bool:
        """Whether the role session is role-chained (STS caps it, and a console session from it, at 1 hour): the
        source credentials are temporary, or the role is assumed from the MFA session."""
        return self.source.temporary or self._via_mfa_session()

    @property
    def credential_source(self) -> CredentialSource:
        """The sources composed for the request (built once, on first use: it resolves the source credentials)."""
        if self._credential_source is None:
            self._credential_source = self._compose()
        return self._credential_source

    def credentials(self) -> Credentials:
        """From the cache when a session has more than the margin left; else from STS (and cached)."""
        try:
            return self.credential_source.retrieve()
        finally:
            self._mfa_code.forget()

    def _via_mfa_session(self) -> bool:
        return self._cache is not None and not self._unchained and mfa.serves(self.request, self.source)

    def _compose(self) -> CredentialSource:
        request, cache = self.request, self._cache
        via = self._mfa_session(cache) if cache is not None and self._via_mfa_session() else None
        why_not_via = None
        if via is None and cache is not None and request.mfa_serial is not None:
            why_not_via = "--console-duration is over 3600 s" if self._unchained else mfa.why_not(request, self.source)
        assume = AssumeRoleSource(
            request,
            sts=self.sts,
            mfa_code=self._mfa_code,
            log=self._log,
            via=via,
            why_not_via=why_not_via,
            clock=cache.clock if cache is not None else utc_now,
        )
        if cache is None:
            return assume
        return CachedSource(
            assume,
            cache,
            fields=request.cache_fields(self.source.fingerprint),
            log=self._log,
            warn=self._warn,
            margin=self._margin,
            mfa=request.mfa_serial is not None,
            chained=self.chained(),
            unchained=self._unchained,
            region=request.region,
        )

    def _mfa_session(self, cache: CredentialCache) -> CredentialSource:
        """The MFA session for the request's device, from the cache while it is young enough for the role."""
        session = mfa.MfaSessionSource(
            self.request, sts=self.sts, mfa_code=self._mfa_code, keep=cache.keep, notice=self._notice, clock=cache.clock
        )
        return CachedSource(
            session,
            cache,
            fields=mfa.session_fields(self.request, self.source),
            log=self._log,
            warn=self._warn,
            mfa=True,
            max_age=mfa.max_age(self.request),
        )
