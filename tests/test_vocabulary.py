"""Each vocabulary is declared once; everything that lists it derives from that declaration.

A new action, state or enum value that the scenario language, the trace, the strategies,
the timeline or the README does not know fails here, naming what is missing.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest

from player_sim import ConfigError
from player_sim._timeline import APP_COLOURS, LEGEND_LABELS, PLAYBACK_COLOURS, render_timeline
from player_sim._validators import limit_or_none, positive_or_none
from player_sim.backends import DRM_SCHEMES, LIMIT_POLICIES
from player_sim.explore._strategies import WEIGHTS, accepted_actions
from player_sim.player import ACTIONS, ACTIVE_PLAYBACK_STATES, AppState, PlaybackState
from player_sim.player import events as ev
from player_sim.player._actions import action_name
from player_sim.player._actions import action_name as _action_name
from player_sim.player._policy import _ZAPPABLE
from player_sim.providers import REFERENCE_TYPES, REFRESH_POLICY_NAMES
from player_sim.rules._monitors import ACTIVE
from player_sim.scenario import ScenarioError, load_scenario_text
from player_sim.scenario._model import ACTIONS as SCENARIO_ACTIONS
from player_sim.scenario._model import APP_POLICIES, BASE_URLS
from player_sim.scenario._schema import SCHEMA, actions_markdown
from player_sim.world import LINKS, ZAP_ORDERS, Device, DeviceConfig, World

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PACKAGE = ROOT / "player_sim"

# --- actions ---------------------------------------------------------------------------


def test_every_player_action_has_an_entry_in_the_action_table() -> None:
    declared = {spec.event for spec in ACTIONS if spec.event is not None}
    missing = [cls.__name__ for cls in typing.get_args(ev.Action) if cls not in declared]
    assert not missing, f"add these event classes to player/_actions.py ACTIONS: {missing}"
    assert len({spec.name for spec in ACTIONS}) == len(ACTIONS), "action names are unique"


@pytest.mark.parametrize("spec", ACTIONS, ids=lambda spec: spec.name)
def test_every_action_is_a_scenario_step_with_a_schema_entry(spec: Any) -> None:
    assert SCENARIO_ACTIONS[spec.name] is spec
    step = SCHEMA["properties"]["steps"]["items"]["properties"]
    assert spec.name in step, f"the scenario schema has no step {spec.name!r}"
    assert spec.meaning in step[spec.name]["description"]
    assert callable(getattr(Device, spec.name, None)), f"Device has no {spec.name}() method"


@pytest.mark.parametrize("spec", [s for s in ACTIONS if s.event is not None],
                         ids=lambda spec: spec.name)
def test_the_scenario_verb_is_the_trace_action_name(spec: Any) -> None:
    action = spec.build(dict.fromkeys((a.name for a in spec.args), "x"))
    assert action_name(action) == spec.name
    assert _action_name(action) == spec.name  # what the world writes in ``action`` records


def test_scenario_steps_write_the_same_words_as_the_trace() -> None:
    scenario = load_scenario_text("""\
name: verbs
devices: {phone: {account: alice, pip: true}}
steps:
  - play: {device: phone, stream: channel-1}
  - wait: 1s
  - enter_pip: phone
  - leave_pip: phone
  - enter_background: phone
  - enter_foreground: phone
  - stop: phone
  - wait: 1s
""")
    from player_sim.scenario import run_scenario
    result = run_scenario(scenario)
    assert result.passed
    steps = [s.name for s in scenario.steps if hasattr(s, "name")]
    names = [r.data["name"] for r in result.trace.of_kind("action")]
    assert names == steps


@pytest.mark.parametrize(("old", "new"), [("background", "enter_background"),
                                          ("foreground", "enter_foreground")])
def test_an_old_verb_is_refused_with_the_new_one(old: str, new: str) -> None:
    text = f"name: old\ndevices: {{phone: {{account: alice}}}}\nsteps:\n  - {old}: phone\n"
    with pytest.raises(ScenarioError) as info:
        load_scenario_text(text, "old.yaml")
    assert str(info.value).startswith(f"old.yaml:4:5: unknown step {old!r}; "
                                      f"did you mean {new!r}?")


def test_strategies_weigh_and_draw_only_declared_actions() -> None:
    names = {spec.name for spec in ACTIONS}
    assert set(WEIGHTS) <= names
    world = World()
    phone = world.add_device(DeviceConfig(name="phone", account="alice"))
    assert set(accepted_actions(phone)) <= names


def test_the_readme_step_table_is_the_action_table() -> None:
    match = re.search(r"<!-- actions: .*? -->\n(.*?)<!-- end of actions -->", README, re.S)
    assert match is not None, "README has no generated actions table"
    assert match.group(1) == actions_markdown(), (
        "README's actions table is stale; replace it with:\n" + actions_markdown())


# --- enums --------------------------------------------------------------------------------

def _find(schema: Any, key: str) -> list[Any]:
    """Every ``enum`` of a property called ``key`` anywhere in ``schema`` (also one of
    its ``anyOf`` alternatives: e.g. a named value or a ``module:Name`` reference)."""
    found: list[Any] = []
    if isinstance(schema, dict):
        for name, value in schema.items():
            if name == key and isinstance(value, dict) and "enum" in value:
                found.append(value["enum"])
            if name == key and isinstance(value, dict):
                found += [alt["enum"] for alt in value.get("anyOf", ()) if "enum" in alt]
            found += _find(value, key)
    elif isinstance(schema, list):
        for value in schema:
            found += _find(value, key)
    return found


@pytest.mark.parametrize(("key", "values"), [
    ("limit_policy", LIMIT_POLICIES), ("drm", DRM_SCHEMES), ("zap_order", ZAP_ORDERS),
    ("reference_type", REFERENCE_TYPES), ("policy", tuple(APP_POLICIES)),
    ("backend", tuple(BASE_URLS)), ("link", LINKS),
])
def test_schema_enums_are_the_declared_values(key: str, values: tuple[str, ...]) -> None:
    assert list(values) in _find(SCHEMA, key), f"the schema's {key} enum is not {values}"
    for value in values:
        assert f"`{value}`" in README or f"`{key}: {value}`" in README \
            or f" {value} " in README, f"README does not mention {key} {value!r}"


def test_named_refresh_policies_are_accepted_and_others_refused() -> None:
    base = ("name: r\nworld: {ott: {}}\ndevices:\n  phone: {account: alice, session_provider: "
            "{backend: ott, partner_id: 1, refresh_policy: %s}}\nsteps: []\n")
    for name in REFRESH_POLICY_NAMES:
        load_scenario_text(base % name)
    with pytest.raises(ScenarioError, match="refresh_policy is android, ios or a fixed"):
        load_scenario_text(base % "weekly")


# --- states ---------------------------------------------------------------------------------

def test_active_playback_states_are_declared_once() -> None:
    assert {s.value for s in ACTIVE_PLAYBACK_STATES} == ACTIVE
    assert _ZAPPABLE == ACTIVE_PLAYBACK_STATES
    assert PlaybackState.PLAYING in ACTIVE_PLAYBACK_STATES
    assert PlaybackState.STOPPED not in ACTIVE_PLAYBACK_STATES


def test_every_state_has_a_timeline_colour_and_a_legend_entry() -> None:
    assert list(PLAYBACK_COLOURS) == [s.value for s in PlaybackState]
    assert list(APP_COLOURS) == [s.value for s in AppState]
    # The legend lists only what a drawing uses, from one catalogue that knows every state.
    for state in PlaybackState:
        label = f"playback: {state.value.replace('_', ' ')}"
        assert LEGEND_LABELS[f"playback:{state.value}"] == label
    for app in AppState:
        assert LEGEND_LABELS[f"app:{app.value}"] == f"app: {app.value}"
    world = World()
    world.add_device(DeviceConfig(name="phone", account="alice")).play("channel-1")
    world.run_for(1)
    svg = render_timeline(world.trace, "states")
    drawn = set(re.findall(r'class="band playback-state" data-state="(\w+)"', svg))
    for state in PlaybackState:
        label = LEGEND_LABELS[f"playback:{state.value}"]
        assert (f">{label}</text>" in svg) == (state.value in drawn), state


# --- validators -------------------------------------------------------------------------------

@attrs.frozen
class _Probe:
    period: float | None = attrs.field(default=None, validator=positive_or_none)
    limit: int | None = attrs.field(default=None, validator=limit_or_none)


def test_validators_have_one_meaning() -> None:
    assert _Probe(period=0.5).period == 0.5
    with pytest.raises(ConfigError, match="period must be positive"):
        _Probe(period=0)
    for bad in (0, 0.5, True):
        with pytest.raises(ConfigError, match="whole number of at least 1"):
            _Probe(limit=bad)  # type: ignore[arg-type]


def test_no_config_module_defines_its_own_range_validator() -> None:
    own = [str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")
           if re.search(r"^def _(positive|non_negative)", path.read_text(), re.M)]
    assert not own, f"use player_sim._validators instead: {own}"
