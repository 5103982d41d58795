"""The role's credentials for one run of a command: from the cache, else from STS, through the cached MFA session
when one serves (see :mod:`cross_account.cli.mfa`). `exec --server` asks again each time its session nears expiry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import timedelta

from cross_account.cli import mfa
from cross_account.cli.assume import call_assume_role, source_of, utc_now
from cross_account.cli.cache import REUSE_MARGIN, CredentialCache, cache_key
from cross_account.cli.credentials import Credentials, iso8601
from cross_account.cli.errors import CliError
from cross_account.cli.request import RoleRequest
from cross_account.cli.sts import Source, Sts


class RoleSession:
    """Credentials for one request; the MFA code given on the command line is used once (a code works once), later
    ones are asked on the terminal."""

    def __init__(
        self,
        request: RoleRequest,
        mfa_token: str | None,
        *,
        environ: Mapping[str, str],
        deadline: float,
        cache: CredentialCache | None,
        log: Callable[[str], None],
        warn: Callable[[str], None],
        notice: Callable[[str], None],
        direct_mfa: bool = False,
    ) -> None:
        """`direct_mfa`: send the MFA code with AssumeRole even where the MFA session would serve (the session must
        not be role-chained: a console session over one hour)."""
        self.request = request
        self.sts = Sts(profile=request.profile, region=request.region, deadline=deadline)
        self._mfa_token = mfa_token
        self._environ = environ
        self._cache = cache
        self._log = log
        self._warn = warn
        self._notice = notice
        self._direct_mfa = direct_mfa
        self._source: Source | None = None

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

    def credentials(self, margin: timedelta = REUSE_MARGIN) -> Credentials:
        """From the cache when a session has more than `margin` left; else from STS (and cached)."""
        if self._cache is None:
            return self._assume(via_mfa_session=False)
        fields = self.request.cache_fields(self.source.fingerprint)
        key = cache_key(fields)
        mfa_needed = self.request.mfa_serial is not None
        cached = self._cache.get(
            key, fields=fields, margin=margin, need_mfa=mfa_needed, need_unchained=self._direct_mfa and mfa_needed
        )
        if cached is not None:
            self._log(
                f"cached session {cached.session_name} for {cached.role_arn} (expires {iso8601(cached.expiration)})"
            )
            return dataclasses.replace(cached, region=self.request.region or cached.region)
        credentials = self._assume(self._via_mfa_session())
        self._log(f"new session {credentials.session_name}, expires {iso8601(credentials.expiration)}")
        try:
            self._cache.put(key, credentials, fields=fields, mfa=mfa_needed, chained=self.chained())
        except (CliError, OSError) as error:
            # The credentials are good; only reuse is lost.
            self._warn(f"not cached: {error}")
        return credentials

    def _via_mfa_session(self) -> bool:
        return self._cache is not None and not self._direct_mfa and mfa.serves(self.request, self.source)

    def _take_token(self) -> str | None:
        token, self._mfa_token = self._mfa_token, None
        return token

    def _assume(self, via_mfa_session: bool) -> Credentials:
        now = self._cache.clock if self._cache is not None else utc_now
        if not via_mfa_session:
            if self._cache is not None and self.request.mfa_serial is not None:
                reason = (
                    "--console-duration is over 3600 s" if self._direct_mfa else mfa.why_not(self.request, self.source)
                )
                self._log(f"the MFA code goes to AssumeRole itself, not through an MFA session: {reason}")
            return call_assume_role(self.request, mfa_token=self._take_token(), sts=self.sts, log=self._log, now=now)
        assert self._cache is not None
        session = mfa.mfa_session(
            self.request,
            source=self.source,
            mfa_token=self._take_token(),
            sts=self.sts,
            cache=self._cache,
            log=self._log,
            notice=self._notice,
        )
        via = Sts(profile=None, region=self.request.region, deadline=self.sts.deadline, credentials=session)
        return call_assume_role(self.request, mfa_token=None, sts=self.sts, via=via, log=self._log, now=now)
