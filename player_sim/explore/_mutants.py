"""Mutants: deliberately wrong apps and SDKs, to prove the checks can fail.

A :class:`Mutant` changes each device of a scenario through the same public
interfaces a QA team's own variant would use: an app policy
(:class:`~player_sim.AppPolicy` subclass), an SDK model
(:class:`~player_sim.SdkModel` subclass, ``DeviceConfig(sdk=...)``) or a
session provider (an :class:`~player_sim.OttSessionProvider` subclass).
:func:`run_mutants` runs the bundled scenarios and a random search against
each; a mutant is *caught* when a scenario that passes with the documented app
and SDK fails with the mutant, or when the search finds a rule the mutant
breaks whose counterexample passes without it. :data:`MUTANTS` lists the
bundled ones; add your own by building a :class:`Mutant`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Final

import attrs

from ..player import DocumentedAppPolicy, PlaybackState, PlayerView, SdkModel, SsmCall
from ..player import _events as ev
from ..providers import KsCompletion, OttSessionProvider, PrimitiveResult, SessionProvider
from ..scenario import Scenario, discover, load_many, load_scenario_text, run_scenario
from ..world import DeviceConfig
from ._search import explore_random
from ._strategies import DOCUMENTED_SPACE

__all__ = [
    "MUTANTS", "MUTANT_EXAMPLES", "AsyncTeardownInSyncMode", "IgnoresHeartbeatErrors",
    "LicenseWithoutToken", "Mutant", "MutantResult", "NeverRefreshesKs", "NeverTearsDown",
    "ResumesWithoutChecking", "ReusesStaleToken", "StatusOnlyErrors", "format_mutants",
    "run_mutants",
]

#: Random-search budget per mutant (scenarios per round).
MUTANT_EXAMPLES: Final = 100
_SHOWN: Final = 3  # scenarios listed per mutant


# --- wrong apps ---------------------------------------------------------------------------

@attrs.frozen
class IgnoresHeartbeatErrors(DocumentedAppPolicy):
    """Keeps playing after ``ssm_heartbeat_error``: no stop, no zap."""

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Any) -> Sequence[ev.Action]:
        return ()


@attrs.frozen
class ResumesWithoutChecking(DocumentedAppPolicy):
    """Back from background, resumes a paused playback without checking for an SSM
    error; it handles error notifications only while a stream is playing, so an
    error that waited for it in the background goes unseen."""

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Any) -> Sequence[ev.Action]:
        if player.playback is PlaybackState.PAUSED:
            return ()
        return super().on_notification(player, kind, payload)

    def on_foreground(self, player: PlayerView) -> Sequence[ev.Action]:
        return (ev.Resume(),) if player.playback is PlaybackState.PAUSED else ()


# --- wrong SDKs ----------------------------------------------------------------------------

class NeverTearsDown(SdkModel):
    """Releases the player item but never sends the SSM teardown."""

    def sends_teardown(self) -> bool:
        return False


class AsyncTeardownInSyncMode(SdkModel):
    """Tears down asynchronously even with syncSSMSetupTeardown: the new stream's
    setup races the old teardown, and at the session limit the zap fails."""

    def teardown_blocks(self, sync_configured: bool) -> bool:
        return False


class ReusesStaleToken(SdkModel):
    """Keeps sending the first session token: ignores heartbeat token rotation."""

    def rotates_tokens(self) -> bool:
        return False


class LicenseWithoutToken(SdkModel):
    """Sends the license request without the SSM session token."""

    def license_token(self, token: str | None) -> str | None:
        return None


class StatusOnlyErrors(SdkModel):
    """Checks the HTTP status only: a 200 whose body carries an SSM error code is
    taken as success (a missing token read as empty)."""

    def read_answer(self, answer: ev.SsmAnswer, call: SsmCall) -> ev.SsmAnswer:
        if 200 <= answer.http_status < 300 and answer.ssm_code is not None:
            token = answer.token if answer.token is not None else ""
            return attrs.evolve(answer, ssm_code=None, token=token)
        return answer


# --- a wrong session provider ----------------------------------------------------------------

class NeverRefreshesKs(OttSessionProvider):
    """Answers the KS it holds, expiring or expired: never refreshes, never renews."""

    def get_ks(self, completion: KsCompletion) -> None:
        ks = self.ks
        if self.has_session and ks is not None:
            completion(PrimitiveResult(ks))
            return
        super().get_ks(completion)


def _never_refreshes(provider: SessionProvider) -> SessionProvider:
    if isinstance(provider, OttSessionProvider):
        return NeverRefreshesKs(provider.base_url, provider.partner_id)
    return provider


# --- mutants ---------------------------------------------------------------------------------

@attrs.frozen
class Mutant:
    """A deliberately wrong variant, applied to every device of a scenario.

    ``policy``: an app policy class; each device whose app follows the documented
    policy gets this class with the same settings (a passive app stays passive).
    ``sdk``: an :class:`~player_sim.SdkModel` for every device. ``session_provider``:
    makes the mutant provider from each device's own provider.
    """

    name: str
    description: str
    policy: type[DocumentedAppPolicy] | None = None
    sdk: SdkModel | None = attrs.field(default=None, eq=False)
    session_provider: Callable[[SessionProvider], SessionProvider] | None = attrs.field(
        default=None, eq=False)

    def apply(self, config: DeviceConfig) -> DeviceConfig:
        """``config`` with the mutant plugged in (use as ``configure_device``)."""
        changes: dict[str, Any] = {}
        if self.policy is not None and isinstance(config.policy, DocumentedAppPolicy):
            changes["policy"] = self.policy(**attrs.asdict(config.policy))
        if self.sdk is not None:
            changes["sdk"] = self.sdk
        if self.session_provider is not None and config.session_provider is not None:
            changes["session_provider"] = self.session_provider(config.session_provider)
        return attrs.evolve(config, **changes)


#: The bundled mutants, each wrong in one documented behaviour.
MUTANTS: Final[tuple[Mutant, ...]] = (
    Mutant("ignores-heartbeat-errors", "the app keeps playing after ssm_heartbeat_error",
           policy=IgnoresHeartbeatErrors),
    Mutant("resumes-without-checking", "the app resumes after background despite an SSM error",
           policy=ResumesWithoutChecking),
    Mutant("never-tears-down", "the SDK never sends the SSM teardown", sdk=NeverTearsDown()),
    Mutant("async-teardown-at-limit", "the SDK tears down asynchronously in sync mode, so a "
           "zap at the session limit races its own teardown", sdk=AsyncTeardownInSyncMode()),
    Mutant("stale-heartbeat-token", "the SDK reuses the first session token (no rotation)",
           sdk=ReusesStaleToken()),
    Mutant("never-refreshes-ks", "the OTT session provider never refreshes or renews the KS",
           session_provider=_never_refreshes),
    Mutant("license-without-token", "the SDK sends the license request without the SSM token",
           sdk=LicenseWithoutToken()),
    Mutant("status-only-errors", "the SDK checks the HTTP status only: a 200 with a denial in "
           "the body is accepted", sdk=StatusOnlyErrors()),
)


@attrs.frozen
class MutantResult:
    """How one mutant fared: ``scenarios`` holds ``(scenario file, what failed)`` for
    each bundled scenario that passes without the mutant and fails with it;
    ``rules`` the rules the search found broken by the mutant alone."""

    mutant: Mutant
    scenarios: tuple[tuple[str, str], ...]
    rules: tuple[str, ...]

    @property
    def caught(self) -> bool:
        return bool(self.scenarios or self.rules)


def _what_failed(result: Any) -> str:
    first = result.failures[0]
    return f"rule {first.text}" if first.kind == "rule" else f"{first.kind}: {first.text}"


def run_mutants(mutants: Iterable[Mutant] = MUTANTS, *,
                scenario_paths: Sequence[str] = ("scenarios",),
                examples: int = MUTANT_EXAMPLES, seed: int = 0,
                rules: Collection[str] | None = None) -> list[MutantResult]:
    """Run the scenarios of ``scenario_paths`` and a random search of
    ``examples`` scenarios per round (0: no search; ``rules``: only for those)
    against each mutant.

    Only scenarios that pass without any mutant count; a rule found by the
    search counts when its counterexample passes without the mutant.
    Raises :class:`~player_sim.scenario.ScenarioError` for an invalid file.
    """
    scenarios, errors = load_many(discover(scenario_paths))
    if errors:
        raise errors[0]
    baseline: list[Scenario] = [s for s in scenarios if run_scenario(s).passed]
    results = []
    for mutant in mutants:
        caught = []
        for scenario in baseline:
            result = run_scenario(scenario, configure_device=mutant.apply)
            if not result.passed:
                caught.append((os.path.basename(scenario.path), _what_failed(result)))
        broken: list[str] = []
        if examples:
            report = explore_random(examples=examples, seed=seed, space=DOCUMENTED_SPACE,
                                    rules=rules, configure_device=mutant.apply)
            for counterexample in report.counterexamples:
                clean = run_scenario(load_scenario_text(counterexample.text))
                if counterexample.rule not in [f.text for f in clean.failures]:
                    broken.append(counterexample.rule)
        results.append(MutantResult(mutant, tuple(caught), tuple(broken)))
    return results


def format_mutants(results: Sequence[MutantResult]) -> str:
    """One block per mutant: CAUGHT or SURVIVED, and by what."""
    lines = []
    for r in results:
        lines.append(f"{'CAUGHT' if r.caught else 'SURVIVED':8} {r.mutant.name}: "
                     f"{r.mutant.description}")
        for name, what in r.scenarios[:_SHOWN]:
            lines.append(f"         scenario {name}: {what}")
        if len(r.scenarios) > _SHOWN:
            lines.append(f"         ... and {len(r.scenarios) - _SHOWN} more scenarios")
        if r.rules:
            lines.append(f"         explore: {', '.join(r.rules)}")
    survivors = [r.mutant.name for r in results if not r.caught]
    lines.append(f"{len(results)} mutants, {len(results) - len(survivors)} caught"
                 + (f"; survived: {', '.join(survivors)}" if survivors else ""))
    return "\n".join(lines) + "\n"
