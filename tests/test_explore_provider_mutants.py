"""Provider bugs: the random search over DOCUMENTED_SPACE finds each. Two are our own; two
(a late refresh, no renewal) are the bundled mutants' classes, reused here.

Each mutant is a session provider a QA team could ship by mistake, plugged in
the way :class:`~player_sim.explore.Mutant` plugs any provider in (a subclass,
rebuilt from the device's own provider: same URL, partner id and variant). The search
(``run_mutants`` with no scenario files: the search alone) must report a rule
broken by the mutant whose counterexample passes with the real provider. The
search looks only for the rule the mutant's defect breaks, so it stops once
that rule is found. The budget is ``player-sim mutants``' (``MUTANT_EXAMPLES``
per round), but for the OVP provider reusing an ended KS, which needs a logout
then a play on an OVP device: found at ``player-sim explore``'s budget
(``DEFAULT_EXAMPLES``), not at 100.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from player_sim.explore import DEFAULT_EXAMPLES, MUTANT_EXAMPLES, Mutant, run_mutants
from player_sim.explore._mutant_catalogue import OttRefreshesAfterExpiry, OvpNeverRenews
from player_sim.providers import (
    KsCompletion,
    OttSessionProvider,
    OvpSessionProvider,
    PrimitiveResult,
)


class OttAnswersExpiredKs(OttSessionProvider):
    """Answers the KS it holds even once expired: never renews."""

    def get_ks(self, completion: KsCompletion) -> None:
        if self.ks is not None:
            completion(PrimitiveResult(self.ks))
            return
        super().get_ks(completion)


class OvpReusesEndedKs(OvpSessionProvider):
    """After the session ended (logout), keeps answering the ended session's KS."""

    ended_ks: str | None = None

    def end_session(self, completion: KsCompletion | None = None) -> None:
        self.ended_ks = self.ks
        super().end_session(completion)

    def get_ks(self, completion: KsCompletion) -> None:
        if self.ks is None and self.ended_ks is not None:
            completion(PrimitiveResult(self.ended_ks))
            return
        super().get_ks(completion)




#: (mutant, the rule its defect breaks, the search's budget).
PROVIDER_MUTANTS = (
    (Mutant("ott-refreshes-only-when-expired", "the OTT provider ignores its refresh margin",
            session_provider=OttRefreshesAfterExpiry),
     "provider.ott.refresh-before-expiry", MUTANT_EXAMPLES),
    (Mutant("ott-answers-expired-ks", "the OTT provider answers an expired KS",
            session_provider=OttAnswersExpiredKs),
     "provider.ott.renew-after-expiry", MUTANT_EXAMPLES),
    (Mutant("ovp-reuses-ended-ks", "the OVP provider answers an ended session's KS",
            session_provider=OvpReusesEndedKs),
     "provider.ready-after-start", DEFAULT_EXAMPLES),
    (Mutant("ovp-never-renews", "the OVP provider answers an expired KS",
            session_provider=OvpNeverRenews),
     "provider.ovp.renew-after-expiry", MUTANT_EXAMPLES),
)


@pytest.mark.parametrize("mutant, rule_id, examples", PROVIDER_MUTANTS,
                         ids=[m.name for m, _, _ in PROVIDER_MUTANTS])
def test_the_search_alone_finds_each_provider_mutant(tmp_path: Path, mutant: Mutant,
                                                     rule_id: str, examples: int) -> None:
    (result,) = run_mutants([mutant], scenario_paths=[str(tmp_path)],
                            examples=examples, rules=[rule_id])
    assert result.scenarios == ()  # no scenario files: the search alone
    assert result.rules == (rule_id,), f"{mutant.name} survived the search"
