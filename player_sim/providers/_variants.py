"""How the real session-provider clients differ: one declaration, named variants.

DOMAIN.md ("Kaltura session providers", from the Android and iOS client source)
says where the Android and iOS network kits disagree, and where both differ
from what the seed document describes. A :class:`ProviderVariants` holds every
such choice; :meth:`ProviderVariants.documented` (the default),
:meth:`~ProviderVariants.android` and :meth:`~ProviderVariants.ios` are the
named ones, :meth:`~ProviderVariants.named` picks one by the name a scenario
file's ``session_provider: {variant: ...}`` writes.

A :class:`RefreshPolicy` says when an OTT KS is refreshed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, get_args

import attrs

from .._errors import ConfigError
from .._validators import non_negative, one_of, positive_or_none

__all__ = ["CONCURRENT_REFRESH", "DURING_LOGOUT", "FAILED_REFRESH", "HTTP_RETRY_DELAYS",
           "REFRESH_POLICY_NAMES", "VARIANT_NAMES", "ConcurrentRefresh", "DuringLogout",
           "FailedRefresh", "ProviderVariants", "RefreshPolicy"]


def _fraction(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0 <= value < 1:
        raise ConfigError(f"{attribute.name} must be in [0, 1), not {value!r}")


def _margin(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None:
        non_negative(_, attribute, value)


@attrs.frozen
class RefreshPolicy:
    """When a KS is refreshed: once the time left is at or below the refresh delta.

    The delta is ``fraction`` of the validity left when the session was set,
    or the fixed ``margin`` in seconds. Named policies: :meth:`android`,
    :meth:`ios`, :meth:`custom`.
    """

    name: str
    fraction: float | None = attrs.field(default=None, validator=_fraction)
    margin: float | None = attrs.field(default=None, validator=_margin)

    def __attrs_post_init__(self) -> None:
        if (self.fraction is None) == (self.margin is None):
            raise ConfigError("a refresh policy has either a fraction or a margin, "
                              "exactly one of them")

    @classmethod
    def android(cls) -> RefreshPolicy:
        """12 % of the validity left when set (a 24 h KS refreshes with ~2.9 h left)."""
        return cls("android", fraction=0.12)

    @classmethod
    def ios(cls) -> RefreshPolicy:
        """The iOS safety margin: 0 by default today (5, then 3 minutes in early versions),
        so the KS is refreshed only once it has expired."""
        return cls("ios", margin=0.0)

    @classmethod
    def custom(cls, margin: float) -> RefreshPolicy:
        """A fixed ``margin`` in seconds (the iOS safety margin is configurable)."""
        return cls("custom", margin=margin)

    @classmethod
    def named(cls, name: str) -> RefreshPolicy:
        if name not in _NAMED_POLICIES:
            raise ConfigError(f"no refresh policy {name!r}; named policies are "
                              f"{', '.join(_NAMED_POLICIES)} (or RefreshPolicy.custom(margin))")
        return _NAMED_POLICIES[name]()

    def delta(self, validity_left: float) -> float:
        """The refresh delta for a session set with ``validity_left`` seconds to go."""
        if self.margin is not None:
            return self.margin
        assert self.fraction is not None
        return self.fraction * max(validity_left, 0.0)


_NAMED_POLICIES: Final[dict[str, Callable[[], RefreshPolicy]]] = {
    "android": RefreshPolicy.android, "ios": RefreshPolicy.ios}
#: The named refresh policies (``RefreshPolicy.named``), as scenario files write them.
REFRESH_POLICY_NAMES: Final = tuple(_NAMED_POLICIES)

#: What a token request does while a refresh of the same session is in flight:
#: ``queue``: it waits and gets the refresh's result (the seed's provider);
#: ``overwrite-slot``: it takes the one callback slot, so the EARLIER request is never
#: answered (Android); ``each-sends``: it sends its own refresh (iOS).
ConcurrentRefresh = Literal["queue", "overwrite-slot", "each-sends"]
CONCURRENT_REFRESH: Final[tuple[ConcurrentRefresh, ...]] = get_args(ConcurrentRefresh)
#: What a failed OTT refresh does to the session: ``keep`` it and retry at the next
#: token request (Android), or ``clear`` it (iOS: the user is logged out).
FailedRefresh = Literal["keep", "clear"]
FAILED_REFRESH: Final[tuple[FailedRefresh, ...]] = get_args(FailedRefresh)
#: What an OTT session is while its ``ottUser/logout`` is in flight (sent, not answered):
#: ``active``: still active, until the logout's answer clears it (the Android source:
#: ``endSession`` obtains a KS and queues the logout; the session is cleared in the
#: logout's completion, and ``getSessionToken`` / a second ``endSession`` meanwhile
#: use the same KS, which the server revokes as the logout arrives, so a request sent
#: in that window carries a revoked KS and fails); ``ending``: token requests are
#: refused with 601 and a second end waits for the logout in flight (no second request).
DuringLogout = Literal["active", "ending"]
DURING_LOGOUT: Final[tuple[DuringLogout, ...]] = get_args(DuringLogout)
#: The Android network kit's delays before its 4 retries of an HTTP error.
HTTP_RETRY_DELAYS: Final = (1.0, 2.0, 4.0, 8.0)


def _delays(_: object, attribute: attrs.Attribute[Any], value: tuple[float, ...]) -> None:
    if any(d < 0 for d in value):
        raise ConfigError(f"{attribute.name} are delays in seconds, none negative, "
                          f"not {value!r}")


@attrs.frozen
class ProviderVariants:
    """Every way the session-provider clients differ, in one value.

    * ``refresh_policy``: when an OTT KS is refreshed;
    * ``concurrent_refresh``: a token request during an OTT refresh in flight
      (:data:`ConcurrentRefresh`);
    * ``failed_refresh``: what a failed OTT refresh does (:data:`FailedRefresh`);
    * ``during_logout``: what an OTT user session is while its logout is in
      flight (:data:`DuringLogout`; every named variant: ``active``, as the
      Android source does);
    * ``ovp_renew_window``: seconds before expiry in which an OVP token request
      answers the current KS and renews in the background (strictly less, whole
      seconds); ``None``: no window, renewal only once expired (iOS);
    * ``ovp_session_end``: ending an OVP user session calls ``session/end``
      (the iOS client has none: the session is only cleared);
    * ``http_retry_delays``: delays before each retry of an HTTP error (status
      >= 400; errors in a 200 body are not retried); ``()``: no retry;
    * ``connect_timeout`` / ``read_timeout``: an unreachable backend fails after
      ``connect_timeout`` (not one latency later), an answer slower than
      ``read_timeout`` fails at that time (408); ``None``: no timeout.
    """

    name: str
    refresh_policy: RefreshPolicy
    concurrent_refresh: ConcurrentRefresh = attrs.field(validator=one_of(CONCURRENT_REFRESH))
    failed_refresh: FailedRefresh = attrs.field(validator=one_of(FAILED_REFRESH))
    ovp_renew_window: float | None = attrs.field(default=600.0, validator=positive_or_none)
    ovp_session_end: bool = True
    http_retry_delays: tuple[float, ...] = attrs.field(default=(),
                                                       validator=_delays)
    connect_timeout: float | None = attrs.field(default=None, validator=positive_or_none)
    read_timeout: float | None = attrs.field(default=None, validator=positive_or_none)
    during_logout: DuringLogout = attrs.field(default="active",
                                              validator=one_of(DURING_LOGOUT))

    @classmethod
    def documented(cls) -> ProviderVariants:
        """The seed document's provider: every caller gets the refresh's result, a
        failed refresh keeps the session, 12 % margin, no network-kit retries."""
        return cls("documented", RefreshPolicy.android(), "queue", "keep")

    @classmethod
    def android(cls) -> ProviderVariants:
        """The Android client: 12 % margin, one callback slot (the earlier caller is
        dropped), a failed refresh keeps the session; the network kit retries HTTP
        errors 4 times (1, 2, 4, 8 s), connect timeout 10 s, read 20 s."""
        return cls("android", RefreshPolicy.android(), "overwrite-slot", "keep",
                   http_retry_delays=HTTP_RETRY_DELAYS, connect_timeout=10.0,
                   read_timeout=20.0)

    @classmethod
    def ios(cls) -> ProviderVariants:
        """The iOS client: safety margin 0, no de-duplication (each request past the
        margin sends its own refresh), a failed refresh clears the session; OVP
        without the 10-minute window and without ``session/end``."""
        return cls("ios", RefreshPolicy.ios(), "each-sends", "clear",
                   ovp_renew_window=None, ovp_session_end=False)

    @classmethod
    def named(cls, name: str) -> ProviderVariants:
        """The variant called ``name`` (``documented``, ``android``, ``ios``)."""
        if name not in _NAMED_VARIANTS:
            raise ConfigError(f"no provider variant {name!r}; variants are "
                              f"{', '.join(_NAMED_VARIANTS)}")
        return _NAMED_VARIANTS[name]()

    def with_refresh_policy(self, policy: RefreshPolicy | str | None) -> ProviderVariants:
        """This variant with another refresh policy (``None``: unchanged)."""
        if policy is None:
            return self
        return attrs.evolve(self, refresh_policy=policy if isinstance(policy, RefreshPolicy)
                            else RefreshPolicy.named(policy))


_NAMED_VARIANTS: Final[dict[str, Callable[[], ProviderVariants]]] = {
    "documented": ProviderVariants.documented, "android": ProviderVariants.android,
    "ios": ProviderVariants.ios}
#: The named provider variants, as scenario files write them (the first is the default).
VARIANT_NAMES: Final = tuple(_NAMED_VARIANTS)
