"""Mutants: deliberately wrong apps, SDKs and providers, to prove the checks can fail.

A :class:`Mutant` changes each device of a scenario through the same public
seams a QA team's own variant uses: an app policy (an
:class:`~player_sim.AppPolicy` subclass), an SDK model (an
:class:`~player_sim.SdkModel` subclass, ``DeviceConfig(sdk=...)``) or a session
provider (an :class:`~player_sim.OttSessionProvider` or
:class:`~player_sim.OvpSessionProvider` subclass). :func:`run_mutants` runs the
bundled scenarios and a random search against each; a mutant is *caught* when a
scenario that passes with the documented app and SDK fails with the mutant, or
when the search finds a rule the mutant breaks whose counterexample passes
without it. :data:`MUTANTS` lists the bundled ones (their classes:
:mod:`._mutant_catalogue`), each with the document sentence it breaks; add your
own by building a :class:`Mutant`, or name a variant class with
:func:`mutant_from_reference` (``player-sim mutants --mutant module:NAME``).

Rules::

    a mutant is applied to every device its seam fits (an OTT provider mutant
    leaves OVP devices alone; an app mutant keeps each documented app's settings);
    a mutant that raises (a bad configuration, a hook that fails) is reported with
    its error; the other mutants still run;
    mutants are picklable: they run on a process pool (--workers).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

import attrs

from .._errors import ConfigError
from ..player import AppPolicy, DocumentedAppPolicy, SdkModel
from ..providers import (
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
    SessionProvider,
)
from ..rules import CATALOGUE
from ..scenario import Scenario, discover, load_many, load_scenario_text, run_scenario
from ..world import DeviceConfig, load_reference
from . import _mutant_catalogue as mc
from ._search import explore_random
from ._strategies import DOCUMENTED_SPACE

__all__ = [
    "MUTANTS", "MUTANT_EXAMPLES", "Mutant", "MutantResult", "format_mutants",
    "mutant_from_reference", "mutants_json", "mutants_markdown", "run_mutants",
]

#: Random-search budget per mutant (scenarios per round).
MUTANT_EXAMPLES: Final = 100
_SHOWN: Final = 3  # scenarios listed per mutant

_SEED_SSM: Final = "seeds/000_7011756516eda0b2.txt"
_SEED_PROVIDERS: Final = "seeds/004_0c9c6e939a18d3d9.txt"


def _check_policy(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not (isinstance(value, type) and issubclass(value, AppPolicy)):
        raise ConfigError(f"a mutant's policy is an AppPolicy subclass, not {value!r}")


def _check_sdk(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, SdkModel):
        raise ConfigError(f"a mutant's sdk is an SdkModel instance, not {value!r}")


def _check_provider(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not (isinstance(value, type) and issubclass(
            value, OttSessionProvider | OvpSessionProvider)):
        raise ConfigError(f"a mutant's session_provider is a subclass of OttSessionProvider "
                          f"or OvpSessionProvider, not {value!r}")


@attrs.frozen
class Mutant:
    """A deliberately wrong variant, applied to every device of a scenario.

    ``policy``: an app policy class; each device whose app follows the documented
    policy gets this class with the same settings (a passive app stays passive;
    a class that does not subclass DocumentedAppPolicy replaces any app).
    ``sdk``: an :class:`~player_sim.SdkModel` for every device (each device's core
    reads its own copy). ``session_provider``: a subclass of
    :class:`~player_sim.OttSessionProvider` or :class:`~player_sim.OvpSessionProvider`,
    rebuilt from each device's own provider of that backend with the same settings.

    ``rule`` is the catalogue rule the defect breaks (``None`` when no rule of the
    catalogue states it yet); ``quote`` and ``where`` the document sentence and its
    place (default: the rule's).
    """

    name: str
    description: str
    policy: type[AppPolicy] | None = attrs.field(default=None, validator=_check_policy)
    sdk: SdkModel | None = attrs.field(default=None, eq=False, validator=_check_sdk)
    session_provider: type[Any] | None = attrs.field(default=None, validator=_check_provider)
    rule: str | None = None
    quote: str = ""
    where: str = ""

    @property
    def seam(self) -> str:
        """Which seam the mutant goes through: ``app``, ``sdk`` or ``provider``."""
        return "app" if self.policy is not None else "sdk" if self.sdk is not None \
            else "provider"

    @property
    def sentence(self) -> tuple[str, str]:
        """The document sentence the mutant breaks, and where it is."""
        rule = CATALOGUE.get(self.rule) if self.rule is not None else None
        if self.quote or rule is None:
            return self.quote, self.where
        return rule.quote, rule.where

    def apply(self, config: DeviceConfig) -> DeviceConfig:
        """``config`` with the mutant plugged in (use as ``configure_device``)."""
        changes: dict[str, Any] = {}
        if self.policy is not None:
            if issubclass(self.policy, DocumentedAppPolicy):
                if isinstance(config.policy, DocumentedAppPolicy):
                    changes["policy"] = self.policy(**attrs.asdict(config.policy))
            else:
                changes["policy"] = self.policy()
        if self.sdk is not None:
            changes["sdk"] = self.sdk
        provider = config.session_provider
        if self.session_provider is not None and provider is not None:
            rebuilt = _rebuilt(provider, self.session_provider)
            if rebuilt is not None:
                changes["session_provider"] = rebuilt
        return attrs.evolve(config, **changes) if changes else config


def _rebuilt(provider: SessionProvider, cls: type[Any]) -> SessionProvider | None:
    """A ``cls`` provider with ``provider``'s settings, if ``cls`` is of its backend."""
    if isinstance(provider, OttSessionProvider) and issubclass(cls, OttSessionProvider):
        built: SessionProvider = cls(provider.base_url, provider.partner_id,
                                     variant=provider.variants,
                                     persist_session=provider.persist_session)
        return built
    if isinstance(provider, OvpSessionProvider) and issubclass(cls, OvpSessionProvider):
        built = cls(provider.base_url, provider.partner_id or None,
                    assumed_validity=provider.assumed_validity, variant=provider.variants)
        return built
    return None


def mutant_from_reference(reference: str) -> Mutant:
    """The mutant ``reference`` (``module:NAME``) names: a :class:`Mutant` object, or a
    variant class (an :class:`~player_sim.SdkModel`, :class:`~player_sim.AppPolicy` or
    session provider subclass) made a mutant named after it. Importing the module
    runs its code. Raises :class:`~player_sim.ConfigError` for anything else."""
    found = load_reference(reference)
    name = reference.rpartition(":")[2]
    doc = (getattr(found, "__doc__", None) or "").strip().split("\n")[0]
    if isinstance(found, Mutant):
        return found
    if isinstance(found, SdkModel):
        return Mutant(name, doc, sdk=found)
    if isinstance(found, type):
        if issubclass(found, SdkModel):
            try:
                return Mutant(name, doc, sdk=found())
            except TypeError as err:
                raise ConfigError(f"{reference}() failed: {err}") from None
        if issubclass(found, AppPolicy):
            return Mutant(name, doc, policy=found)
        if issubclass(found, OttSessionProvider | OvpSessionProvider):
            return Mutant(name, doc, session_provider=found)
    raise ConfigError(f"{reference} is not a mutant: name a Mutant object, or a subclass of "
                      "SdkModel, AppPolicy, OttSessionProvider or OvpSessionProvider")


def _m(name: str, description: str, *, rule: str | None = None, quote: str = "",
       where: str = "", sdk: type[SdkModel] | None = None,
       policy: type[AppPolicy] | None = None,
       provider: type[Any] | None = None) -> Mutant:
    return Mutant(name, description, policy=policy, sdk=None if sdk is None else sdk(),
                  session_provider=provider, rule=rule, quote=quote, where=where)


#: The bundled mutants, each wrong in one documented behaviour, by seam.
MUTANTS: Final[tuple[Mutant, ...]] = (
    # --- SDK -------------------------------------------------------------------------------
    _m("never-tears-down", "the SDK never sends the SSM teardown",
       sdk=mc.NeverTearsDown, rule="ssm.teardown.on-stop"),
    _m("async-teardown-at-limit", "the SDK tears down asynchronously in sync mode, so a zap "
       "at the session limit races its own teardown", sdk=mc.AsyncTeardownInSyncMode,
       rule="ssm.sync.blocks-main-thread"),
    _m("blocking-teardown-in-async-mode", "the SDK blocks the main thread for teardowns "
       "without syncSSMSetupTeardown", sdk=mc.BlockingTeardownInAsyncMode,
       rule="ssm.sync.blocks-main-thread"),
    _m("sync-setup-does-not-block", "the SDK sends a sync-mode setup without blocking",
       sdk=mc.SyncSetupDoesNotBlock, rule="ssm.sync.blocks-main-thread"),
    _m("stale-heartbeat-token", "the SDK reuses the first session token (no rotation)",
       sdk=mc.ReusesStaleToken, rule="ssm.heartbeat.token-rotation"),
    _m("heartbeat-with-setup-token", "the SDK heartbeats with the setup's token, not the "
       "rotated one", sdk=mc.HeartbeatWithSetupToken, rule="ssm.heartbeat.token-rotation"),
    _m("teardown-with-setup-token", "the SDK tears down with the setup's token",
       sdk=mc.TeardownWithSetupToken, rule="ssm.teardown.ends-session"),
    _m("license-without-token", "the SDK sends the license request without the SSM token",
       sdk=mc.LicenseWithoutToken, rule="ssm.license.carries-token"),
    _m("license-before-setup-answer", "the SDK sends a license request before the setup "
       "answer", sdk=mc.LicenseBeforeSetupAnswer, rule="ssm.setup.before-license"),
    _m("fixed-heartbeat-period", "the SDK ignores the heartbeat period the setup answers "
       "(fixed 30 s)", sdk=mc.FixedHeartbeatPeriod, rule="ssm.heartbeat.keeps-session"),
    _m("heartbeats-stop-in-pip", "the SDK's heartbeats stop in picture-in-picture",
       sdk=mc.HeartbeatsStopInPip, rule="ssm.pip.runs-normally"),
    _m("heartbeats-in-background", "the SDK keeps SSM running in normal background",
       sdk=mc.HeartbeatsInBackground, rule="ssm.background.suspends"),
    _m("heartbeat-timer-survives-stop", "the SDK does not cancel the heartbeat timer on "
       "stop", sdk=mc.HeartbeatTimerSurvivesStop, rule="ssm.heartbeat.one-timer"),
    _m("status-only-errors", "the SDK checks the HTTP status only: a 200 with a denial in "
       "the body is accepted", sdk=mc.StatusOnlyErrors, rule="ssm.errors.body-decides"),
    _m("setup-error-not-notified", "the SDK fails a refused setup without notifying",
       sdk=mc.SetupErrorNotNotified, rule="ssm.errors.setup-notified"),
    _m("heartbeat-error-not-notified", "the SDK drops a failed heartbeat's session without "
       "notifying", sdk=mc.HeartbeatErrorNotNotified, rule="ssm.errors.heartbeat-notified"),
    _m("teardown-error-only-logged", "the SDK only logs a teardown error",
       sdk=mc.TeardownErrorOnlyLogged, rule="ssm.errors.teardown-notified"),
    _m("notifies-without-http-status", "the SDK's error notifications carry HTTP status 0",
       sdk=mc.NotifiesWithoutHttpStatus, rule="ssm.errors.carry-codes"),
    _m("notifies-without-ssm-code", "the SDK's error notifications drop the SSM code",
       sdk=mc.NotifiesWithoutSsmCode, rule="ssm.errors.carry-codes"),
    _m("retries-setup-1007", "the SDK retries a setup refused with 1007",
       sdk=mc.RetriesSetupAt1007, rule="ssm.setup.no-retry",
       quote="The SDK marks setup / renewal / teardown failures as \"no retry\".",
       where="DOMAIN.md"),
    _m("retries-heartbeat", "the SDK sends a failed heartbeat again before notifying",
       sdk=mc.RetriesHeartbeat, rule="ssm.heartbeat.no-retry",
       quote="The SDK marks setup / renewal / teardown failures as \"no retry\".",
       where="DOMAIN.md"),
    _m("retries-teardown", "the SDK sends a failed teardown again before notifying",
       sdk=mc.RetriesTeardown, rule="ssm.teardown.no-retry",
       quote="The SDK marks setup / renewal / teardown failures as \"no retry\".",
       where="DOMAIN.md"),
    # --- app ------------------------------------------------------------------------------
    _m("ignores-heartbeat-errors", "the app keeps playing after ssm_heartbeat_error",
       policy=mc.IgnoresHeartbeatErrors, rule="ssm.errors.stop-playback"),
    _m("resumes-without-checking", "the app resumes after background despite an SSM error",
       policy=mc.ResumesWithoutChecking, rule="ssm.background.resume-if-no-error"),
    _m("resumes-despite-error", "the app leaves a paused playback's heartbeat error for "
       "later and resumes it at the foreground", policy=mc.ResumesDespiteError,
       rule="ssm.background.resume-if-no-error"),
    _m("zaps-to-another-stream", "after a heartbeat error the app zaps to a fallback stream",
       policy=mc.ZapsToAnotherStream, rule="ssm.background.heartbeat-error-zap"),
    _m("handles-heartbeat-errors-in-pip-only", "the app reacts to heartbeat errors only in "
       "picture-in-picture", policy=mc.StopsOnHeartbeatErrorInPipOnly,
       rule="ssm.errors.stop-playback"),
    # --- session providers -------------------------------------------------------------------
    _m("never-refreshes-ks", "the OTT session provider never refreshes or renews the KS",
       provider=mc.NeverRefreshesKs, rule="provider.ott.refresh-before-expiry"),
    _m("ott-refreshes-after-expiry", "the OTT session provider refreshes only after expiry",
       provider=mc.OttRefreshesAfterExpiry, rule="provider.ott.refresh-before-expiry"),
    _m("ott-reuses-ended-ks", "the OTT session provider answers the KS of an ended session",
       provider=mc.OttReusesEndedKs, rule="provider.ended.requests-fail"),
    _m("ott-wrong-partner-id", "the OTT session provider reports another partner id",
       provider=mc.WrongOttPartnerId, rule="provider.partner-id.configured"),
    _m("ovp-widget-id-without-underscore", "the OVP session provider's widget id lacks the "
       "'_'", provider=mc.OvpWidgetIdWithoutUnderscore, rule="provider.ovp.widget-id",
       quote="OVP: `session/startWidgetSession(widgetId = \"_\" + partnerId)`",
       where="DOMAIN.md"),
    _m("ovp-wrong-partner-id", "the OVP session provider reports another partner id",
       provider=mc.OvpWrongPartnerId, rule="provider.partner-id.configured"),
    _m("ovp-never-renews", "the OVP session provider answers an expired KS, never renews",
       provider=mc.OvpNeverRenews, rule="provider.ovp.renew-after-expiry"),
    _m("ovp-reuses-ended-ks", "the OVP session provider answers the KS of an ended session",
       provider=mc.OvpReusesEndedKs, rule="provider.ended.requests-fail"),
)


@attrs.frozen
class MutantResult:
    """How one mutant fared: ``scenarios`` holds ``(scenario file, what failed)`` for
    each bundled scenario that passes without the mutant and fails with it;
    ``rules`` the rules the search found broken by the mutant alone; ``error`` why
    the mutant could not be run (a bad configuration, a hook that raised)."""

    mutant: Mutant
    scenarios: tuple[tuple[str, str], ...]
    rules: tuple[str, ...]
    error: str | None = None

    @property
    def caught(self) -> bool:
        return self.error is None and bool(self.scenarios or self.rules)

    @property
    def verdict(self) -> str:
        """``CAUGHT``, ``SURVIVED`` or ``ERROR``."""
        return "ERROR" if self.error is not None else "CAUGHT" if self.caught else "SURVIVED"


def _what_failed(result: Any) -> str:
    first = result.failures[0]
    return f"rule {first.text}" if first.kind == "rule" else f"{first.kind}: {first.text}"


def _probe(mutant: Mutant) -> None:
    """Apply ``mutant`` to a plain device and a device of each provider backend, so a
    configuration it makes invalid is refused before anything runs."""
    mutant.apply(DeviceConfig(name="probe", account="probe"))
    mutant.apply(DeviceConfig(name="probe", account="probe",
                              session_provider=OttSessionProvider("https://ott.example/api_v3/", 1),
                              media=PhoenixMediaProvider()))
    mutant.apply(DeviceConfig(name="probe", account="probe",
                              session_provider=OvpSessionProvider("https://ovp.example", 1),
                              media=OvpMediaProvider()))


def run_mutants(mutants: Iterable[Mutant] = MUTANTS, *,
                scenario_paths: Sequence[str] = ("scenarios",),
                examples: int = MUTANT_EXAMPLES, seed: int = 0,
                rules: Collection[str] | None = None) -> list[MutantResult]:
    """Run the scenarios of ``scenario_paths`` and a random search of
    ``examples`` scenarios per round (0: no search; ``rules``: only for those)
    against each mutant.

    Only scenarios that pass without any mutant count; a rule found by the
    search counts when its counterexample passes without the mutant. A mutant
    that raises (invalid configuration, a hook that fails) gets a result with
    its ``error``; the others still run.
    Raises :class:`~player_sim.scenario.ScenarioError` for an invalid file.
    """
    scenarios, errors = load_many(discover(scenario_paths))
    if errors:
        raise errors[0]
    baseline: list[Scenario] = [s for s in scenarios if run_scenario(s).passed]
    return [_run_one(mutant, baseline, examples, seed, rules) for mutant in mutants]


def _run_one(mutant: Mutant, baseline: Sequence[Scenario], examples: int, seed: int,
             rules: Collection[str] | None) -> MutantResult:
    caught: list[tuple[str, str]] = []
    broken: list[str] = []
    try:
        _probe(mutant)
        for scenario in baseline:
            result = run_scenario(scenario, configure_device=mutant.apply)
            if not result.passed:
                caught.append((os.path.basename(scenario.path), _what_failed(result)))
        if examples:
            report = explore_random(examples=examples, seed=seed, space=DOCUMENTED_SPACE,
                                    rules=rules, configure_device=mutant.apply)
            for counterexample in report.counterexamples:
                clean = run_scenario(load_scenario_text(counterexample.text))
                if counterexample.rule not in [f.text for f in clean.failures]:
                    broken.append(counterexample.rule)
    except Exception as err:  # the mutant's own code or configuration: reported, not raised
        return MutantResult(mutant, tuple(caught), tuple(broken),
                            f"{type(err).__name__}: {err}")
    return MutantResult(mutant, tuple(caught), tuple(broken))


def format_mutants(results: Sequence[MutantResult]) -> str:
    """One block per mutant: CAUGHT, SURVIVED or ERROR, and by what (the first
    scenarios, the searched rules); then a table, one row per mutant: its seam,
    verdict, how many scenarios and which searched rules caught it."""
    lines = []
    for r in results:
        lines.append(f"{r.verdict:8} {r.mutant.name}: {r.mutant.description}")
        if r.error is not None:
            lines.append(f"         error: {r.error}")
        for name, what in r.scenarios[:_SHOWN]:
            lines.append(f"         scenario {name}: {what}")
        if len(r.scenarios) > _SHOWN:
            lines.append(f"         ... and {len(r.scenarios) - _SHOWN} more scenarios")
        if r.rules:
            lines.append(f"         explore: {', '.join(r.rules)}")
    width = max([len(r.mutant.name) for r in results] + [6])
    lines.append("")
    lines.append(f"{'mutant':{width}}  seam      verdict   scenarios  searched rules")
    for r in results:
        lines.append(f"{r.mutant.name:{width}}  {r.mutant.seam:8}  {r.verdict:8}  "
                     f"{len(r.scenarios):9}  {', '.join(r.rules) or '-'}")
    survivors = [r.mutant.name for r in results if r.verdict == "SURVIVED"]
    failed = [r.mutant.name for r in results if r.error is not None]
    searched = sum(1 for r in results if r.rules)
    lines.append(f"{len(results)} mutants, {sum(r.caught for r in results)} caught "
                 f"({searched} by the search)"
                 + (f"; survived: {', '.join(survivors)}" if survivors else "")
                 + (f"; errors: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines) + "\n"


def mutants_json(results: Sequence[MutantResult]) -> list[dict[str, Any]]:
    """The results as JSON-ready data: per mutant its verdict, seam, rule, the
    scenarios (file, what failed) and searched rules that caught it, and any error."""
    out = []
    for r in results:
        quote, where = r.mutant.sentence
        out.append({"name": r.mutant.name, "verdict": r.verdict, "seam": r.mutant.seam,
                    "description": r.mutant.description, "rule": r.mutant.rule,
                    "quote": quote, "where": where,
                    "scenarios": [{"file": f, "failed": w} for f, w in r.scenarios],
                    "searched_rules": list(r.rules), "error": r.error})
    return out


def mutants_markdown(mutants: Sequence[Mutant] = MUTANTS) -> str:
    """The README's table of bundled mutants: name, seam, defect, the rule and the
    document sentence it breaks (generated: compared with the README by a test)."""
    rows = ["| mutant | seam | defect | breaks |", "|---|---|---|---|"]
    for m in mutants:
        quote, where = m.sentence
        rule = f"`{m.rule}`: " if m.rule else ""
        rows.append(f"| `{m.name}` | {m.seam} | {m.description} | {rule}"
                    f"\"{quote}\" ({where}) |")
    return "\n".join(rows) + "\n"
