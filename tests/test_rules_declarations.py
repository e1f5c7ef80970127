"""Monitors declare what they read and which vantage they need; a trace is judged on
exactly the rules its vantages can show."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from player_sim import DeviceConfig, SdkModel, SsmConfig, World, WorldConfig
from player_sim.cli import main
from player_sim.rules import (
    CATALOGUE,
    MONITORS,
    PROVIDER_MONITORS,
    CheckConfig,
    Monitor,
    judge_trace,
    judge_world,
)
from player_sim.trace import Kind, Trace, Vantage

URL = "https://ssm.example/"
ALL = (*MONITORS, *PROVIDER_MONITORS)


# --- declarations are checked when a monitor class is defined ------------------------------


def test_a_monitor_of_an_unknown_rule_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"monitor _Typo: no rule 'ssm.teardown.on-stpo' in the "
                                        r"catalogue; add its Rule to rules/_catalogue.py first"):
        class _Typo(Monitor):
            rule_id = "ssm.teardown.on-stpo"
            kinds = frozenset({"action"})


def test_a_monitor_that_observes_no_kind_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"observes no kinds; set kinds"):
        class _Blind(Monitor):
            rule_id = "ssm.teardown.on-stop"


def test_a_monitor_of_an_undeclared_kind_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"'teardown_sent' is not a trace kind; declare it"):
        class _Misnamed(Monitor):
            rule_id = "ssm.teardown.on-stop"
            kinds = frozenset({"teardown_sent"})


def test_a_monitor_reading_a_field_no_kind_declares_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"reads field 'base_url', which none of its kinds "
                                        r"\(action, heartbeat_sent\) declares"):
        class _Reader(Monitor):
            rule_id = "provider.base-url.host-only"
            kinds = frozenset({"heartbeat_sent", "action"})
            reads = frozenset({"base_url"})


def _is_data(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "data") or \
           (isinstance(node, ast.Name) and node.id == "data")


def _fields_read(cls: type[Monitor]) -> set[str]:
    """The ``data`` fields the monitor's own code (and its bases') reads from records:
    ``rec.data.get("x")``, ``rec.data["x"]``, and the same through ``data = rec.data``."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if klass is Monitor or not issubclass(klass, Monitor):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            target: ast.expr | None = None
            key: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "get" and node.args:
                target, key = node.func.value, node.args[0]
            elif isinstance(node, ast.Subscript):
                target, key = node.value, node.slice
            if target is None or not isinstance(key, ast.Constant) \
                    or not isinstance(key.value, str):
                continue
            if _is_data(target):
                found.add(key.value)
        # _ok(data) reads an SSM answer's status and code.
        found |= {name for node in ast.walk(tree) if isinstance(node, ast.Call)
                  and isinstance(node.func, ast.Name) and node.func.id == "_ok"
                  and node.args and _is_data(node.args[0])
                  for name in ("http_status", "ssm_code")}
    return found


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.rule_id)
def test_a_monitor_declares_exactly_the_fields_its_code_reads(cls: type[Monitor]) -> None:
    assert _fields_read(cls) == set(cls.reads), (
        f"{cls.__name__}: declare reads = frozenset({sorted(_fields_read(cls))})")


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.rule_id)
def test_a_monitor_needs_the_vantages_of_its_kinds(cls: type[Monitor]) -> None:
    kinds = {Kind(k).vantage for k in cls.kinds - cls.optional_kinds} - {Vantage.HARNESS}
    assert kinds <= cls.needs
    assert cls.needs <= {Vantage.DEVICE, Vantage.SERVER, Vantage.WIRE}


def test_every_rule_has_exactly_one_monitor() -> None:
    ids = [cls.rule_id for cls in ALL]
    assert sorted(ids) == sorted(CATALOGUE)


# --- a trace is judged on what its vantages show ----------------------------------------------


def _world(sdk: SdkModel | None = None) -> World:
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=1)), seed=3)
    phone = world.add_device(DeviceConfig(name="phone", account="alice", ssm_server_url=URL,
                                          sdk=sdk))
    tv = world.add_device(DeviceConfig(name="tv", account="alice", ssm_server_url=URL))
    phone.play("news")
    world.run_for(100)
    tv.play("news")          # refused at the limit: 1007
    world.run_for(5)
    phone.stop()
    world.run_for(10)        # past the reaction window (the documented 5 s bound)
    return world


def test_a_device_log_is_judged_on_the_device_rules_and_names_the_others() -> None:
    world = _world()
    full = judge_world(world)
    log = world.trace.seen_from(Vantage.DEVICE)
    assert not any(r.kind.vantage is Vantage.SERVER for r in log)
    verdict = judge_trace(Trace.from_jsonl(log.to_jsonl()), CheckConfig.for_world(world),
                          end=world.now)
    # Judged: the rules a device log can show, with the situations they judge.
    assert {"ssm.setup.before-license", "ssm.license.carries-token", "ssm.teardown.on-stop",
            "ssm.errors.setup-notified", "ssm.errors.heartbeat-notified",
            "ssm.errors.carry-codes", "ssm.heartbeat.token-rotation"} <= set(verdict.judged)
    assert verdict.observed["ssm.teardown.on-stop"] >= 1
    assert verdict.observed["ssm.errors.setup-notified"] >= 1   # tv's 1007, seen on tv
    # Not judged, by name, with the vantage each lacks.
    assert verdict.not_judged["ssm.setup.limit-refuses"] == {Vantage.SERVER}
    assert verdict.not_judged["ssm.session.expires"] == {Vantage.SERVER}
    assert verdict.not_judged["ssm.zap.no-self-limit"] == {Vantage.SERVER}
    assert set(verdict.judged) | set(verdict.not_judged) == set(CATALOGUE)
    assert set(verdict.judged) < set(full.judged)
    assert full.not_judged == {}
    assert verdict.violations == () == full.violations


class _NoTeardown(SdkModel):
    """An SDK that never tears its session down."""

    def sends_teardown(self) -> bool:
        return False


def test_a_device_log_alone_catches_a_missing_teardown() -> None:
    world = _world(_NoTeardown())
    log = world.trace.seen_from(Vantage.DEVICE)
    verdict = judge_trace(log, CheckConfig.for_world(world), end=world.now)
    assert [v.rule.id for v in verdict.violations] == ["ssm.teardown.on-stop"]


def test_player_sim_check_lists_what_a_device_log_cannot_show(tmp_path: Path) -> None:
    path = tmp_path / "device.jsonl"
    path.write_text(_world().trace.seen_from(Vantage.DEVICE).to_jsonl())
    result = CliRunner().invoke(main, ["check", str(path), "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert ("NOT JUDGED ssm.setup.limit-refuses: needs server records; this trace is seen "
            "from device") in result.output
    judged = len(CATALOGUE) - result.output.count("NOT JUDGED")
    assert f"{judged} rules judged, {len(CATALOGUE) - judged} not judged, 0 violations" \
        in result.output
