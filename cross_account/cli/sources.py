"""Where credentials come from, as sources that compose (the shape of aws-vault's providers):

- :class:`AssumeRoleSource` assumes the role with the source credentials, or with another source's (an MFA
  session, which carries the MFA already);
- :class:`~cross_account.cli.mfa.MfaSessionSource` asks sts:GetSessionToken with the MFA code;
- :class:`CachedSource` puts any STS source behind the credential cache: one lookup, one write, one set of
  messages for both.

:mod:`cross_account.cli.session` composes them for one request.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from cross_account.cli.assume import call_assume_role, prompt_mfa_token, utc_now
from cross_account.cli.cache import REUSE_MARGIN, CredentialCache, cache_key, describe
from cross_account.cli.credentials import Credentials, Issued, iso8601
from cross_account.cli.errors import CliError
from cross_account.cli.request import RoleRequest
from cross_account.cli.sts import Sts


class CredentialSource(Protocol):
    """Anything that gives credentials: STS, or a cache in front of it."""

    def retrieve(self) -> Credentials: ...


class StsSource(abc.ABC):
    """A source that asks STS each time: what it issues comes with when it was asked for, for the cache."""

    @abc.abstractmethod
    def issue(self) -> Issued:
        """A new session from STS."""

    def retrieve(self) -> Credentials:
        return self.issue().credentials


class MfaCode:
    """The MFA code for a device: the one given (--mfa-token) at most once, as a code works once, and only until
    :meth:`forget`; else asked for (on the terminal, or one line of standard input)."""

    def __init__(self, given: str | None, prompt: Callable[[str], str] = prompt_mfa_token) -> None:
        self._given = given
        self._prompt = prompt

    def __repr__(self) -> str:
        return "MfaCode(<hidden>)"

    def __call__(self, serial: str) -> str:
        given, self._given = self._given, None
        return given or self._prompt(serial)

    def forget(self) -> None:
        """Drop the given code unused: it was typed for the first request, and is stale for any later one."""
        self._given = None


@dataclasses.dataclass(frozen=True)
class AssumeRoleSource(StsSource):
    """sts:AssumeRole for the request, with the source credentials of `sts` (and the MFA code, if the role needs
    one; `why_not_via`: why it is not assumed through an MFA session, logged when the code is sent); or, given
    `via`, with its credentials, while GetCallerIdentity still goes to the source credentials."""

    request: RoleRequest
    _: dataclasses.KW_ONLY
    sts: Sts
    mfa_code: Callable[[str], str]
    log: Callable[[str], None]
    via: CredentialSource | None = None
    why_not_via: str | None = None
    clock: Callable[[], datetime] = utc_now

    def issue(self) -> Issued:
        via = None
        if self.via is None and self.why_not_via is not None:
            self.log(f"the MFA code goes to AssumeRole itself, not through an MFA session: {self.why_not_via}")
        if self.via is not None:
            via = Sts(
                profile=None, region=self.request.region, deadline=self.sts.deadline, credentials=self.via.retrieve()
            )
        return call_assume_role(
            self.request, sts=self.sts, mfa_code=self.mfa_code, via=via, log=self.log, now=self.clock
        )


@dataclasses.dataclass(frozen=True)
class CachedSource:
    """`inner` behind the credential cache (aws-vault's CachedSessionProvider): a session for exactly `fields` with
    more than `margin` left is reused; else `inner` is asked, and what it issues is written, with the time it was
    asked for (which the cache measures `max_age` and its own keep from). A cache that fails to read or write
    costs reuse only: a warning, and the credentials still come.

    `mfa`: sessions made with MFA (only those serve, and that is recorded); `max_age`: only entries younger serve;
    `chained`: what is written was role-chained; `unchained`: only entries that were not serve. `region`: the
    region the caller asked for, which a reused session takes (it is no part of the key).
    """

    inner: StsSource
    cache: CredentialCache
    fields: Mapping[str, Any]
    log: Callable[[str], None]
    warn: Callable[[str], None]
    margin: timedelta = REUSE_MARGIN
    mfa: bool = False
    max_age: timedelta | None = None
    chained: bool = False
    unchained: bool = False
    region: str | None = None

    def retrieve(self) -> Credentials:
        key = cache_key(self.fields)
        try:
            cached = self.cache.get(
                key,
                fields=self.fields,
                margin=self.margin,
                need_mfa=self.mfa,
                max_age=self.max_age,
                need_unchained=self.unchained,
            )
        except CliError as error:  # a keychain that refuses: the session is asked for again
            self.warn(f"the cache is not read for the {describe(self.fields)}: {error}")
            cached = None
        if cached is not None:
            self.log(f"cached {describe(self.fields, cached)} (expires {iso8601(cached.expiration)})")
            return dataclasses.replace(cached, region=self.region or cached.region)
        issued = self.inner.issue()
        credentials = issued.credentials
        self.log(f"new {describe(self.fields, credentials)}, expires {iso8601(credentials.expiration)}")
        try:
            self.cache.put(
                key, credentials, fields=self.fields, mfa=self.mfa, issued=issued.asked, chained=self.chained
            )
        except (CliError, OSError) as error:
            # The credentials are good; only reuse is lost.
            self.warn(f"the {describe(self.fields, credentials)} is not cached: {error}")
        return credentials
