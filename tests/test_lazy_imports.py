"""What importing costs: ``import player_sim`` and the modules ``player-sim run`` needs
leave out what only some commands use (trio for a Simulation, the timeline for
drawings, saxutils, ElementTree for JUnit reports), and the public names still work."""

from __future__ import annotations

import subprocess
import sys

import pytest

import player_sim

#: Imported only by the commands and names that need them.
ON_DEMAND = ("trio", "player_sim._timeline", "xml.sax.saxutils", "xml.etree.ElementTree",
             "hypothesis", "player_sim.explore", "player_sim.fleet", "player_sim.serve",
             "player_sim.scenario._html")


def _imported_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys\nprint(*sys.modules)"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("code", [
    "import player_sim",
    "import player_sim.cli, player_sim.scenario, player_sim.rules",
])
def test_importing_leaves_out_what_only_some_commands_need(code: str) -> None:
    assert sorted(_imported_by(code) & set(ON_DEMAND)) == []


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in player_sim.__all__:
        assert getattr(player_sim, name) is not None, name
    assert set(player_sim.__all__) <= set(dir(player_sim))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        player_sim.no_such_name  # noqa: B018


def test_a_name_imported_on_first_use_is_the_module_s_own() -> None:
    from player_sim import _timeline

    assert player_sim.render_timeline is _timeline.render_timeline
    assert player_sim.FailureMark is _timeline.FailureMark
    assert _imported_by("from player_sim import window_around") >= {"player_sim._timeline"}


def test_the_scenario_packages_drawing_names_are_imported_on_first_use() -> None:
    from player_sim import scenario
    from player_sim.scenario import _html

    assert scenario.html_report is _html.html_report
    assert scenario.result_timeline is _html.result_timeline
    assert scenario.failure_marks is _html.failure_marks
    assert set(scenario.__all__) <= set(dir(scenario))
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        scenario.no_such_name  # noqa: B018
    assert _imported_by("from player_sim.scenario import html_report") >= {
        "player_sim.scenario._html"}
