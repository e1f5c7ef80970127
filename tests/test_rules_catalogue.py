"""The rule catalogue: stable ids, real quotes, known kinds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from player_sim.rules import CATALOGUE, DOMAIN, PROVIDERS_DOC, SSM_DOC, Rule, rule, verify_quotes

SHARED = Path(os.environ.get("PLAYER_SIM_SEEDS_ROOT", "/work/shared"))


def test_ids_are_dotted_lowercase_and_sources_known() -> None:
    for rule_id, r in CATALOGUE.items():
        assert r.id == rule_id
        assert re.fullmatch(r"(ssm|provider)(\.[a-z0-9]+(-[a-z0-9]+)*)+", rule_id), rule_id
        assert r.source in (SSM_DOC, PROVIDERS_DOC, DOMAIN)
        assert (r.line > 0) == (r.source != DOMAIN), rule_id
        assert r.statement.endswith("."), rule_id


def test_the_ids_the_issue_names_exist() -> None:
    for rule_id in ("ssm.setup.before-license", "ssm.setup.limit-refuses",
                    "ssm.license.carries-token", "ssm.heartbeat.keeps-session",
                    "ssm.heartbeat.token-rotation", "ssm.teardown.on-stop",
                    "ssm.teardown.on-item-release", "ssm.no-ssm-no-traffic",
                    "ssm.sync.blocks-main-thread", "ssm.errors.setup-notified",
                    "ssm.errors.teardown-notified", "ssm.errors.heartbeat-notified",
                    "ssm.errors.stop-playback", "ssm.background.suspends",
                    "ssm.background.resume-if-no-error", "ssm.background.heartbeat-error-zap",
                    "ssm.pip.runs-normally"):
        assert rule_id in CATALOGUE


def test_every_source_line_with_behaviour_has_a_rule() -> None:
    ssm_lines = {r.line for r in CATALOGUE.values() if r.source == SSM_DOC}
    # setup+license+heartbeat+teardown, limit, sync, ssmServerURL/item, three notifications,
    # stop playback, background (normal, resume, zap), PiP
    assert {3, 4, 14, 15, 16, 20, 21, 22, 23, 27, 28, 30} <= ssm_lines
    provider_lines = {r.line for r in CATALOGUE.values() if r.source == PROVIDERS_DOC}
    assert {15, 23, 64, 65, 67, 68, 70, 71, 73, 75, 77, 114, 115, 117, 122} <= provider_lines


def test_unknown_rule_suggests_the_closest() -> None:
    with pytest.raises(KeyError, match=r"did you mean ssm\.teardown\.on-stop"):
        rule("ssm.teardown.onstop")
    assert rule("ssm.teardown.on-stop") is CATALOGUE["ssm.teardown.on-stop"]


def test_rule_kind_is_validated() -> None:
    with pytest.raises(ValueError, match="must be one of always, never, within-after"):
        Rule("x.y", DOMAIN, 0, "q", "s.", "sometimes")  # type: ignore[arg-type]


@pytest.mark.skipif(not (SHARED / SSM_DOC).exists(), reason="seed documents not present")
def test_every_quote_is_at_its_line() -> None:
    assert verify_quotes(SHARED) == []


def test_verify_quotes_notices_a_wrong_line(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / SSM_DOC).write_text("nothing here\n" * 40)
    (tmp_path / PROVIDERS_DOC).write_text("nothing here\n" * 200)
    (tmp_path / DOMAIN).write_text("nothing\n")
    problems = verify_quotes(tmp_path)
    assert len(problems) == len(CATALOGUE)
    assert any(p.startswith("ssm.teardown.on-stop: quote not found at seeds/") for p in problems)
