"""The rule catalogue: every behaviour the two source documents state, as data.

Each :class:`Rule` has a stable id (scenario files name it in ``covers:``), the
place it comes from (a seed file and 1-based line, or ``DOMAIN.md`` for a fact
adopted as a configurable option), the quote, a one-line statement and its
kind:

* ``always``: something holds at every record of a trace;
* ``never``: something must not happen;
* ``within-after``: after a trigger, a response must follow within a window.

The monitors that check each rule over a trace live in :mod:`._monitors`;
nothing here runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, Literal

import attrs

__all__ = ["CATALOGUE", "DOMAIN", "PROVIDERS_DOC", "SSM_DOC", "Rule", "RuleKind", "rule",
           "verify_quotes"]

RuleKind = Literal["always", "never", "within-after"]

#: The SSM document (iOS SDK).
SSM_DOC: Final = "seeds/000_7011756516eda0b2.txt"
#: The session providers document (Android SDK).
PROVIDERS_DOC: Final = "seeds/004_0c9c6e939a18d3d9.txt"
#: Facts beyond the two documents, adopted as named options.
DOMAIN: Final = "DOMAIN.md"

_KINDS: Final = ("always", "never", "within-after")


def _check_kind(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _KINDS:
        raise ValueError(f"a rule's {attribute.name} must be one of {', '.join(_KINDS)}, "
                         f"not {value!r}")


@attrs.frozen
class Rule:
    """One documented behaviour.

    ``source`` is :data:`SSM_DOC`, :data:`PROVIDERS_DOC` or :data:`DOMAIN`;
    ``line`` is the 1-based line of ``quote`` in a seed file (0 for DOMAIN.md,
    whose facts are quoted by their wording). ``option`` names the simulator
    setting a DOMAIN.md fact became, if any.
    """

    id: str
    source: str
    line: int
    quote: str
    statement: str
    kind: RuleKind = attrs.field(validator=_check_kind)
    option: str | None = None

    @property
    def where(self) -> str:
        """``seeds/file.txt:LINE`` or ``DOMAIN.md``."""
        return f"{self.source}:{self.line}" if self.line else self.source


def _ssm(id: str, line: int, quote: str, statement: str, kind: RuleKind) -> Rule:
    return Rule(id, SSM_DOC, line, quote, statement, kind)


def _prov(id: str, line: int, quote: str, statement: str, kind: RuleKind) -> Rule:
    return Rule(id, PROVIDERS_DOC, line, quote, statement, kind)


def _dom(id: str, quote: str, statement: str, kind: RuleKind, option: str | None) -> Rule:
    return Rule(id, DOMAIN, 0, quote, statement, kind, option)


_RULES: Final[tuple[Rule, ...]] = (
    # --- SSM: setup, license, heartbeat, teardown -------------------------------------
    _ssm("ssm.setup.before-license", 3,
         "When the client device starts an encrypted playback, the CONNECT Player SDK requests "
         "a session token from the SSM server.",
         "With SSM, a license request is sent only after a successful SSM setup of the same "
         "playback.", "always"),
    _ssm("ssm.setup.every-playback", 15,
         "If the OTVSSPLicenseDelegate is initialised with ssmServerURL, every playback will "
         "have an SSM session.",
         "On an SSM device every play or zap sends an SSM setup before it can start playing.",
         "always"),
    _ssm("ssm.no-ssm-no-traffic", 15,
         "If the OTVSSPLicenseDelegate is initialised with ssmServerURL, every playback will "
         "have an SSM session.",
         "A device configured without an SSM server URL sends no SSM setup, heartbeat or "
         "teardown.", "never"),
    _ssm("ssm.license.carries-token", 3,
         "The session token is used as part of the license request",
         "Every license request of an SSM playback carries the session token the setup "
         "answered.", "always"),
    _ssm("ssm.setup.limit-refuses", 4,
         "If the request for a session token fails (potentially due to too many existing "
         "playback sessions)",
         "The SSM server never holds more live sessions for an account than its limit; a "
         "setup beyond it is refused.", "never"),
    _ssm("ssm.setup.failure-stops", 4,
         "the license request will fail, and playback can not continue.",
         "After a failed SSM setup, that playback sends no license request and never starts "
         "playing.", "never"),
    _ssm("ssm.heartbeat.keeps-session", 3,
         "the SDK keeps a heartbeat with the SSM server to maintain the SSM session",
         "While a device holds an SSM session and is not suspended, a heartbeat is sent at "
         "least once per heartbeat period.", "within-after"),
    _ssm("ssm.teardown.on-stop", 3,
         "The SDK tears down the SSM session when the playback stops.",
         "Stopping or zapping away from a playback that holds an SSM session sends its "
         "teardown (with release_item_on_stop, the default).", "within-after"),
    _ssm("ssm.stop.completes", 3,
         "The SDK tears down the SSM session when the playback stops.",
         "A stop ends in stopped: a player waits in stopping only while its blocking SSM "
         "teardown is on the wire, and leaves it within the reaction window after that "
         "teardown is answered (to stopped after a stop, to the next stream after a zap).",
         "within-after"),
    _ssm("ssm.teardown.on-item-release", 16,
         "When the playback stopped, the player will release the session when OTVAVPlayerItem "
         "is de-initialised.",
         "Releasing the player item while it holds an SSM session sends its teardown.",
         "within-after"),
    _ssm("ssm.sync.blocks-main-thread", 14,
         "to true blocks the main thread while the network requests are being made.",
         "With syncSSMSetupTeardown, setup and teardown block the main thread (no action runs "
         "until the answer, or until the client's cap releases it); without it, nothing "
         "blocks.", "always"),
    _ssm("ssm.errors.setup-notified", 20, "OTVSSMSetupErrorNotification",
         "A failed SSM setup answer posts ssm_setup_error to the device.", "within-after"),
    _ssm("ssm.errors.teardown-notified", 21, "OTVSSMTeardownErrorNotification",
         "A failed SSM teardown answer posts ssm_teardown_error to the device.",
         "within-after"),
    _ssm("ssm.errors.heartbeat-notified", 22, "OTVSSMHeartbeatErrorNotification",
         "A failed SSM heartbeat answer posts ssm_heartbeat_error to the device.",
         "within-after"),
    _ssm("ssm.errors.carry-codes", 23,
         "The notification userInfo contains information on any HTTP error codes and SSM "
         "error messages.",
         "Every SSM error notification carries the HTTP status, the SSM code and the message "
         "(and, by variant error_numbering, the numbers the platform's app sees: iOS "
         "userInfo keys, Android -1352/-1353/-1354, web 6001-6004).",
         "always"),
    _ssm("ssm.errors.stop-playback", 23,
         "The player should not continue playback once any of these notifications are "
         "received.",
         "After an SSM error notification the errored playback does not continue: it is "
         "stopped, zapped away from or failed within the app's reaction window, and never "
         "resumed.", "within-after"),
    _ssm("ssm.background.suspends", 27, "Normal background mode",
         "In normal background the app is suspended: no heartbeat is sent until it returns "
         "to the foreground (DOMAIN.md: timers stop on iOS).", "never"),
    _ssm("ssm.background.resume-if-no-error", 28,
         "When the application returns to the foreground, if no error notification is "
         "received, playback can resume.",
         "A playback paused by normal background resumes only if no SSM error notification "
         "was posted for it.", "never"),
    _ssm("ssm.background.heartbeat-error-zap", 28,
         "If anOTVSSMHeartbeatErrorNotification is received, the application should stop "
         "playback and attempt to zap to the same stream",
         "After ssm_heartbeat_error on a playing or paused stream, the app zaps to the same "
         "stream within its reaction window.", "within-after"),
    _ssm("ssm.pip.runs-normally", 30,
         "When PIP is enabled and the application goes to the background, the SSM service "
         "works as normal.",
         "In picture-in-picture, heartbeats keep their period as in the foreground.",
         "within-after"),
    # --- SSM facts adopted from DOMAIN.md ------------------------------------------------
    _dom("ssm.heartbeat.token-rotation",
         "Every successful heartbeat returns a NEW token that must be used on the next call "
         "(token rotation). Using a stale token fails.",
         "A device never sends a heartbeat with a token a successful heartbeat rotated out: "
         "each carries the token the last answer rotated in. Re-sending a token no answer "
         "rotated (after a heartbeat error, variant keep-heartbeating) is not a violation.",
         "never", None),
    _dom("ssm.session.expires",
         "A missed heartbeat makes the token invalid after a short server-side timeout",
         "A session with no heartbeat for session_timeout seconds expires at the server "
         "(default: two heartbeat periods plus the grace period).", "within-after",
         "SsmConfig.session_timeout"),
    _dom("ssm.teardown.answers-204", "Teardown answers 204.",
         "A successful teardown is answered with HTTP 204 and frees the session's slot.",
         "always", None),
    _dom("ssm.errors.body-decides",
         "An HTTP 200 that carries a denial in its body is documented for the older SRM "
         "session API, not for SSM; keep it as a named variant, attributed to SRM.",
         "An SSM answer whose body carries an SSM error code is a failure even with HTTP 200 "
         "(the older SRM session API's denials; SsmConfig.legacy_status_200).",
         "always", "SsmConfig.legacy_status_200"),
    _dom("ssm.zap.replaces-session",
         "Zapping (changing the source) tears the old session down and sets a new one up.",
         "A zap from a playback that holds an SSM session tears that session down and sets up "
         "a new one.", "within-after", "DeviceConfig.async_zap_order"),
    _dom("ssm.zap.no-self-limit",
         "With async teardown the new setup can reach the server before the old teardown: at "
         "the session limit this fails the zap.",
         "A device's setup is never refused for a limit while its own teardown is still on the "
         "wire (the async-teardown zap race).", "never", "DeviceConfig.async_zap_order"),
    _ssm("ssm.errors.names-stream", 23,
         "The player should not continue playback once any of these notifications are "
         "received.",
         "An SSM teardown error names the stream whose session failed to end: after a zap, "
         "the stream zapped away from, not the healthy new one the app would otherwise stop.",
         "always"),
    _dom("ssm.setup.late-answer-torn-down",
         "A stop while the setup is still in flight: the web client waits for the setup "
         "answer and then tears down; the iOS plugin finds no token yet, skips the teardown, "
         "and the late setup answer leaks a live session.",
         "A session whose setup was answered after its playback was stopped or zapped away "
         "from is torn down (variant skip-teardown leaks it: a zombie that holds a slot until "
         "it expires).", "within-after", "DeviceConfig.variants: stop_during_setup"),
    _dom("ssm.heartbeat.first-after-period",
         "Heartbeat start: iOS one period after the setup answer; web after the license "
         "answer.",
         "A session's first heartbeat is sent one heartbeat period after the answer that "
         "starts the client's timer (the setup answer, or the license answer: variant "
         "heartbeat_start), not sooner.", "never", "DeviceConfig.variants: heartbeat_start"),
    _dom("ssm.sync.capped-wait",
         "Nagra's own iOS plugin caps the wait: at most 5 s for setup and 3 s for teardown, "
         "after which the main thread is released while the request goes on.",
         "A client with a cap on the synchronous wait (variants sync_setup_cap, "
         "sync_teardown_cap) frees the main thread at the latest that long after the blocking "
         "request left.", "within-after", "DeviceConfig.variants: sync_setup_cap, "
         "sync_teardown_cap"),
    _dom("ssm.kill.operator-heartbeat-fails",
         "Operators can kill sessions server-side (`killDeviceSessions`, "
         "`killAccountSessions`): the killed session's next heartbeat fails.",
         "Once the operator killed a session, no heartbeat of it succeeds.", "never",
         "SsmServer.kill_device_sessions / kill_account_sessions"),
    _dom("ssm.kill.no-teardown",
         "A session that is never torn down (app killed, crash, tab closed) keeps its slot "
         "until it expires: the \"zombie session\".",
         "A killed app sends nothing; its session is ended only by expiry (or eviction).",
         "never", None),
    # --- failures are not retried (DOMAIN.md) ---------------------------------------------
    _dom("ssm.setup.no-retry",
         "The SDK marks setup / renewal / teardown failures as \"no retry\".",
         "A failed SSM setup (a 1007 refusal at the session limit among them) is not sent "
         "again for the same playback: only a new play or zap sets up again.", "never", None),
    _dom("ssm.heartbeat.no-retry",
         "The SDK marks setup / renewal / teardown failures as \"no retry\".",
         "A failed heartbeat is not retried: a client that stops heartbeating after an error "
         "(variant after_heartbeat_error: stop-heartbeating) sends no other heartbeat of that "
         "playback; one that keeps heartbeating (iOS, web) sends its next one a period later, "
         "not sooner.", "never", "DeviceConfig.variants: after_heartbeat_error"),
    _dom("ssm.teardown.no-retry",
         "The SDK marks setup / renewal / teardown failures as \"no retry\".",
         "A failed SSM teardown is not sent again: the playback's session is left to expire.",
         "never", None),
    # --- session providers -----------------------------------------------------------------
    _prov("provider.base-url.host-only", 15,
          "The Base url should only contain the host domain name and should not include",
          "An OVP session provider's base URL is a scheme and host only (the SDK appends "
          "api_v3/); an OTT one includes its API path (DOMAIN.md: the sentence holds for OVP).",
          "always"),
    _prov("provider.ks.partner-id", 23,
          "PartnerId - The partner that was used to create the session token.",
          "Every request made with a KS carries the partner id the KS was created for.",
          "always"),
    _prov("provider.ks.completes", 46,
          "completion.onComplete(new PrimitiveResult(getKs()));",
          "Every session-token request completes exactly once, with a KS or an error (DOMAIN.md: "
          "the Android refresh race drops the earlier caller's callback).", "within-after"),
    _prov("provider.ott.anonymous-login", 64,
          "The Anonymous session starts with the \"ottUser/anonymousLogin\" API.",
          "An anonymous OTT session is started by an ottUser/anonymousLogin call.", "always"),
    _prov("provider.ott.user-login", 65,
          "User specific session starts with the \"ottUser/login\" API, according to the "
          "username and password.",
          "A user OTT session is started by an ottUser/login call.", "always"),
    _prov("provider.ott.refresh-before-expiry", 67,
          "The provider handles the refreshes of the session token when needed, before the "
          "token expires,",
          "A token request made within the refresh margin of expiry refreshes the KS before "
          "answering.", "within-after"),
    _prov("provider.ott.renew-after-expiry", 68,
          "if the token has expired and can be renewed, the provider renews the token.",
          "A token request made after expiry renews the KS (unless the session ended) instead "
          "of answering the expired one.", "never"),
    _prov("provider.ended.requests-fail", 70,
          "This  means that additional requests using that token will fail.",
          "A request made with the KS of an ended session fails.", "always"),
    _prov("provider.ended.cannot-renew", 71,
          "Once a session has ended it can't be renewed, and a new session should be started.",
          "An ended session is never refreshed or renewed.", "never"),
    _prov("provider.ott.logout-ends", 73,
          "To end a session, use the \"ottUser/logout\" API.",
          "Ending a user OTT session calls ottUser/logout and ends the session.", "always"),
    _prov("provider.anonymous.cannot-end", 75,
          "An anonymous session can't be ended Until the session token (KS) expires.",
          "Ending an anonymous session revokes nothing: its KS stays valid until it expires.",
          "never"),
    _prov("provider.ready-after-start", 77,
          "After a session has started, the SessionProvider is ready and can be used as a "
          "parameter for media providers and other components.",
          "A media load is made only with a KS from a started session.", "always"),
    _prov("provider.ovp.widget-session", 114,
          "A anonymous session starts with the \"session/startWidgetSession\" API.",
          "An anonymous OVP session is started by a session/startWidgetSession call.",
          "always"),
    _prov("provider.ovp.user-login", 115,
          "A user specific session starts with the \"user/loginByLoginId\" API",
          "A user OVP session is started by a user/loginByLoginId call.", "always"),
    _prov("provider.ovp.valid-24h", 117,
          "By default a session is valid for 24 hours.",
          "An OVP session is valid for 24 hours by default.", "always"),
    _prov("provider.ovp.renew-after-expiry", 117,
          "Once expired, the OvpSessionProvider will try to renew the session.",
          "A token request after an OVP session expired renews it instead of answering the "
          "expired KS.", "never"),
    _prov("provider.ovp.session-end", 122,
          "To end a session, use the \"session/end\" API.",
          "Ending a user OVP session calls session/end.", "always"),
    _prov("provider.media.uses-session-provider", 91,
          ".setSessionProvider(ottSessionProvider)",
          "A media provider obtains its KS from its session provider before loading; if that "
          "fails, the load fails with the error and makes no API call (DOMAIN.md).",
          "always"),
    _dom("provider.ott.refresh-margin",
         "OTT refresh is lazy: on each token request, if the time left is at or below a refresh "
         "delta, it refreshes first",
         "The refresh margin is 12 % of the validity left when the session was set (Android) "
         "or a fixed safety margin (iOS, 0 by default).", "within-after",
         "ProviderVariants.refresh_policy"),
    _dom("provider.ott.one-refresh",
         "iOS does not de-duplicate at all: concurrent requests past the margin each send a "
         "refresh; with a rotating refresh token the second fails and clears the session",
         "A provider sends at most one refresh of its OTT session at a time (the refresh token "
         "rotates: a second one fails and logs the user out).", "never",
         "ProviderVariants.concurrent_refresh"),
    _dom("provider.ovp.widget-id",
         'session/startWidgetSession(widgetId = "_" + partnerId)',
         "An OVP widget session is asked for with the widget id \"_\" followed by the partner "
         "id: the backend never refuses one as malformed.", "always", None),
    _prov("provider.ended.no-reuse", 71,
          "Once a session has ended it can't be renewed, and a new session should be started.",
          "After a session ended, no request carries its KS again and no session is started "
          "until the app asks for one (a login): the provider neither reuses the ended KS "
          "nor logs in again on its own.", "never"),
    _prov("provider.partner-id.configured", 23,
          "PartnerId - The partner that was used to create the session token.",
          "The partner id a session provider reports (partnerId(), read at each token request) "
          "and the partner of every KS the backend issues to it equal the partner id it was "
          "configured with.", "always"),
    _dom("provider.ott.refresh-error-601",
         'A failed refresh reports a session error (code 601, "Failed to obtain session")',
         "A token request whose refresh the backend refused is answered with session error "
         "601, not with the backend's own code: the app sees one documented error.",
         "always", None),
    # --- SSM rules the small world's explorer used to state on its own -------------------
    _ssm("ssm.heartbeat.one-timer", 3,
         "the SDK keeps a heartbeat with the SSM server to maintain the SSM session",
         "A player item runs one heartbeat timer: two heartbeats of the same playback are "
         "never closer than one heartbeat period (less the heartbeat slack).", "never"),
    _ssm("ssm.teardown.ends-session", 3,
         "The SDK tears down the SSM session when the playback stops.",
         "A running device's teardown ends its session: it is never refused as invalid (a "
         "heartbeat on the wire rotated its token out) while a session of that device that "
         "its player no longer holds is still live at the server, holding its slot until it "
         "expires.", "never"),
)


def _index(rules: tuple[Rule, ...]) -> dict[str, Rule]:
    index: dict[str, Rule] = {}
    for r in rules:
        if r.id in index:
            raise ValueError(f"rule ids must be unique: {r.id!r} appears twice")
        index[r.id] = r
    return index


class _Catalogue(Mapping[str, Rule]):
    """Every rule by id, in catalogue order."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._rules = _index(rules)

    def __getitem__(self, key: str) -> Rule:
        return self._rules[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)


#: Every rule, by id, in a stable order.
CATALOGUE: Final[Mapping[str, Rule]] = _Catalogue(_RULES)


def rule(rule_id: str) -> Rule:
    """The rule called ``rule_id``; ``KeyError`` suggests the closest ids."""
    try:
        return CATALOGUE[rule_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(rule_id, list(CATALOGUE), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise KeyError(f"no rule {rule_id!r}{hint} ('player-sim rules' lists them)") from None


def _normalise(text: str) -> str:
    return " ".join(text.split())


def verify_quotes(root: Path) -> list[str]:
    """Check every quote against the files under ``root`` (``seeds/`` and ``DOMAIN.md``).

    Returns one message per quote that is not found at its line (seed files;
    a quote may continue on the following lines) or anywhere (DOMAIN.md).
    """
    problems = []
    for r in CATALOGUE.values():
        path = root / r.source
        text = path.read_text(encoding="utf-8")
        if r.line:
            lines = text.splitlines()
            window = _normalise(" ".join(lines[r.line - 1: r.line + 2]))
            start = _normalise(lines[r.line - 1]) if r.line <= len(lines) else ""
            quote = _normalise(r.quote)
            if quote not in window or quote[:15] not in start:
                problems.append(f"{r.id}: quote not found at {r.where}: {r.quote!r}")
        elif _normalise(r.quote) not in _normalise(text):
            problems.append(f"{r.id}: quote not found in {r.source}: {r.quote!r}")
    return problems
