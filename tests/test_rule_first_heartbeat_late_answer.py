"""``ssm.heartbeat.first-after-period`` and a late setup answer for a playback zapped away from.

The exhaustive explorer found it at depth 7 on the documented core (core/default): play,
zap to the same stream, the zap's setup answered, its first heartbeat sent and answered,
then the first playback's setup answer arrives late. The player tears that session down
and its heartbeat timer runs on; the monitor took the late answer for the one that starts
the timer and reported the next heartbeat, a period after the last, as a first heartbeat
28 s after it. A late answer starts nothing: only an answer for the playback holding the
session does (that it still does, and an early first heartbeat after it is still
reported, is ``tests/test_rules_monitors.py``'s to show).
"""

from __future__ import annotations

from player_sim import PlayerCore
from player_sim.explore import CORE_CONFIGS
from player_sim.explore._coremodel import CoreEnv, core_checker, inputs, step

RULE = "ssm.heartbeat.first-after-period"


def _walk(path: list[str]) -> list[tuple[str, str]]:
    """Feed ``path`` (the explorer's labels) to a documented core; the findings of each step."""
    config = CORE_CONFIGS["default"]
    core, env, checker = PlayerCore(config), CoreEnv(), core_checker(config, (RULE,))
    found: list[tuple[str, str]] = []
    for label in path:
        options = {lab: (event, index, used) for lab, event, index, used in inputs(core, env)}
        event, index, used = options[label]
        env, _, findings = step(core, env, event, index, used, checker)
        found += [(label, f.message) for f in findings]
    return found


def test_a_late_setup_answer_for_an_old_playback_starts_no_heartbeat_period() -> None:
    assert _walk(["Play('a')", "Zap('a')", "setup ok #2", "heartbeat due #2", "heartbeat ok #2",
                  "setup ok #1", "heartbeat due #2"]) == []

