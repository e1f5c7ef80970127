"""An included file is composed once and shared by the scenarios that include it: no
scenario changes the shared nodes, so each one's data, locations and problems are those
of a fresh composition. The rule ids a loader checks ``covers:`` against are read once
from the (read-only) catalogue."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from player_sim.scenario import ScenarioError, _loader, _yaml, known_rule_ids, load_scenario


def write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


SCENARIO = """\
    name: {name}
    include: _shared.yaml
    devices:
      phone: {{account: alice}}
    steps:
      - play: {{device: phone, stream: channel-1}}
      - wait: 1m
    """


def _marks(found: dict[Any, Any]) -> dict[Any, tuple[str, int, int]]:
    return {path: (m.name, m.line, m.column) for path, m in found.items()}


def _fresh(path: Path) -> _yaml.Document:
    _yaml._compose_include.cache_clear()
    return _yaml.compose_file(str(path))


def test_a_shared_include_is_composed_once_and_each_scenario_reads_it_whole(
        tmp_path: Path) -> None:
    write(tmp_path, """\
        include: _deeper.yaml
        world:
          ssm: {heartbeat_period: 10s}
        devices:
          shared: {account: bob}
        """, "_shared.yaml")
    write(tmp_path, "world:\n  network: {latency: 5ms}\n", "_deeper.yaml")
    paths = [write(tmp_path, SCENARIO.format(name=f"s{i}"), f"s{i}.scenario.yaml")
             for i in range(3)]
    fresh = [_fresh(p) for p in paths]
    _yaml._compose_include.cache_clear()
    shared = [_yaml.compose_file(str(p)) for p in paths]
    assert _yaml._compose_include.cache_info().hits >= 4  # two includes, scenarios 2 and 3
    for one, other in zip(shared, fresh, strict=True):
        assert one.data == other.data
        assert _marks(one.values) == _marks(other.values)
        assert _marks(one.keys) == _marks(other.keys)
        assert one.problems == other.problems == []
    scenarios = [load_scenario(p) for p in paths]
    assert all(s.world.network.latency == 0.005 for s in scenarios)  # the nested include
    assert all([d.name for d in s.devices] == ["shared", "phone"] for s in scenarios)


def test_every_scenario_including_a_bad_fragment_is_told(tmp_path: Path) -> None:
    """Filtering an included file's keys must not change the shared composition: the
    second scenario including it gets the same problem as the first."""
    write(tmp_path, "steps:\n  - wait: 1s\n", "_shared.yaml")
    paths = [write(tmp_path, SCENARIO.format(name=f"s{i}"), f"s{i}.scenario.yaml")
             for i in range(2)]
    _yaml._compose_include.cache_clear()
    for path in paths:
        with pytest.raises(ScenarioError, match=r"_shared.yaml:1:1: an included file may only "
                                                r"hold world, accounts, devices, not 'steps'"):
            load_scenario(path)
    assert _yaml._compose_include.cache_info().hits == 1


def test_an_include_that_does_not_compose_is_reported_each_time(tmp_path: Path) -> None:
    write(tmp_path, "world: [unclosed\n", "_shared.yaml")
    paths = [write(tmp_path, SCENARIO.format(name=f"s{i}"), f"s{i}.scenario.yaml")
             for i in range(2)]
    for path in paths:
        with pytest.raises(ScenarioError, match=r"_shared\.yaml:2:1: this is not valid YAML"):
            load_scenario(path)


def test_the_rule_ids_are_read_once_from_the_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    from player_sim import rules

    first = known_rule_ids()
    assert first is not None and "ssm.setup.before-license" in first
    assert known_rule_ids() is first  # the catalogue is read-only: its ids stay
    monkeypatch.setattr(rules, "CATALOGUE", {"only.this": None})  # a plain dict may change
    assert known_rule_ids() == {"only.this"}
    monkeypatch.setattr(rules, "CATALOGUE", {"only.that": None})
    assert known_rule_ids() == {"only.that"}
    assert _loader._KNOWN_IDS[0] is not rules.CATALOGUE
