"""Issue 16's measured defects, each with its minimal input: a clean error or a bounded run.

Every command line runs in-process through ``player_sim.cli.main``; a case
passes when the exit code is the documented one, no exception escaped (the
user would have seen a traceback), and the message names the place and states
the rule. The fuzz suite (test_fuzz_input.py) looks for the inputs nobody wrote.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from click.testing import CliRunner

from player_sim import (
    ConfigError,
    DeviceConfig,
    DocumentedAppPolicy,
    InvalidTransition,
    LicenseConfig,
    NetworkConfig,
    OttConfig,
    OvpConfig,
    PlayerSimError,
    Simulation,
    SsmConfig,
    World,
    WorldConfig,
)
from player_sim._limits import (
    DEFAULT_MAX_EVENTS,
    INCLUDE_ROOT_ENV,
    MAX_INCLUDES,
    MAX_KEYWORD_DEPTH,
    limits_table,
)
from player_sim.cli import main
from player_sim.player import CoreConfig
from player_sim.providers import OttSessionProvider, OvpSessionProvider
from player_sim.scenario import ScenarioError, load_scenario_text

README = Path(__file__).resolve().parent.parent / "README.md"
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

BASE = """\
name: x
devices:
  phone: {account: alice}
steps:
  - play: {device: phone, stream: c}
"""


def cli(where: Path, *args: str) -> tuple[int, str]:
    """Run ``player-sim ARGS`` in ``where``: the exit code and all output; fails the
    test if an exception escaped (a traceback a user would have seen)."""
    old = os.getcwd()
    os.chdir(where)
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        os.chdir(old)
    escaped = result.exception
    assert escaped is None or isinstance(escaped, SystemExit), repr(escaped)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return result.exit_code, output


def write(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def _fan_out() -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        f"_f{i}.yaml": f"include: [_f{i + 1}.yaml, _f{i + 1}.yaml]\n" for i in range(23)}
    files["_f23.yaml"] = "world: {}\n"
    files["case.yaml"] = "include: _f0.yaml\n" + BASE
    return files


#: (id, files, where the error is (line:column of case.yaml, or a file:line prefix), the
#: words the message must hold). Every case must exit 2 with that message.
LOADER_CASES: list[tuple[str, dict[str, str | bytes], str, str]] = [
    ("huge-wait", {"case.yaml": BASE + "  - wait: 1000000d\n"}, "case.yaml:6:11",
     "longer than 366d"),
    ("tiny-period", {"case.yaml": "world:\n  ssm: {heartbeat_period: 0.000001ms}\n" + BASE},
     "case.yaml:2:27", "shorter than 1ms"),
    ("400-digit-duration", {"case.yaml": BASE + "  - wait: " + "9" * 400 + "s\n"},
     "case.yaml:6:11", "not a finite number of seconds"),
    ("deep-nesting", {"case.yaml": BASE + "x: " + "[" * 600 + "]" * 600 + "\n"},
     "case.yaml:6:", "nested more than 64 levels"),
    ("recursive-alias", {"case.yaml": "x: &a [*a]\n" + BASE}, "case.yaml:1:",
     "an alias refers to a node that holds it"),
    ("nul-in-include", {"case.yaml": 'include: "a\\0b"\n' + BASE}, "case.yaml:1:10",
     "can't hold a NUL character"),
    ("int-tag-on-text", {"case.yaml": BASE + "seed: !!int abc\n"}, "case.yaml:6:7",
     "can't read this value as a whole number"),
    ("5000-digit-integer", {"case.yaml": BASE + "seed: " + "9" * 5000 + "\n"},
     "case.yaml:6:7", "larger than 10^18"),
    ("tag-by-prefix", {"case.yaml": BASE + "description: !!strx hi\n"}, "case.yaml:6:14",
     "the tag 'tag:yaml.org,2002:strx' is not allowed"),
    ("tag-on-key", {"case.yaml": BASE + "? !!python/name:os.system x\n: 1\n"},
     "case.yaml:6:3", "keys must be plain words"),
    ("binary-tag", {"case.yaml": BASE + "description: !!binary aGk=\n"}, "case.yaml:6:14",
     "is not allowed"),
    ("non-utf8-include", {"case.yaml": "include: latin.yaml\n" + BASE,
                          "latin.yaml": b"world: {}\n# \xe9\xff\n"},
     "case.yaml:1:10", "must be UTF-8 text"),
    ("bad-ipv6-base-url", {"case.yaml": BASE.replace(
        "phone: {account: alice}", "phone: {account: alice, session_provider: {backend: ott, "
        "partner_id: 3, base_url: 'http://[::1'}}")}, "case.yaml:3:", "not a valid URL"),
    ("huge-invariant", {"case.yaml": BASE + "always:\n  - 'active_sessions(alice) <= "
                        + "9" * 400 + "'\n"}, "case.yaml:7:5", "at most 10^18"),
    ("alias-bomb", {"case.yaml": _bomb() + BASE}, "case.yaml:", "more than 100,000 values"),
    ("include-fan-out", _fan_out(), "_f", f"more than {MAX_INCLUDES} includes"),
    ("include-absolute", {"case.yaml": "include: /etc/hostname\n" + BASE}, "case.yaml:1:10",
     "is outside"),
    ("include-dev-zero", {"case.yaml": "include: /dev/zero\n" + BASE}, "case.yaml:1:10",
     "is outside"),
    ("include-a-mapping", {"case.yaml": "include: {a: 1}\n" + BASE}, "case.yaml:1:10",
     "include names a file or a list of files"),
    ("include-wrong-item", {"case.yaml": "include: [1, _w.yaml]\n" + BASE,
                            "_w.yaml": "world: {}\n"}, "case.yaml:1:11",
     "each include is a file name"),
    ("include-a-folder", {"case.yaml": "include: sub\n" + BASE, "sub/x": "x"},
     "case.yaml:1:10", "can't include 'sub'"),
    ("include-too-big", {"case.yaml": "include: _big.yaml\n" + BASE,
                         "_big.yaml": "# " + "x" * (2 << 20) + "\n"}, "case.yaml:1:10",
     "larger than 1,048,576 bytes"),
    ("float-as-integer", {"case.yaml": BASE + "  - lose: {endpoint: ssm.setup, count: 500.0}\n"},
     "case.yaml:6:40", "count must be a whole number"),
    ("yaml-tab", {"case.yaml": BASE + "\t- wait: 1s\n"}, "case.yaml:6:1",
     "YAML indents with spaces, never tabs"),
    ("yaml-indentation", {"case.yaml": "name: x\ndevices:\n  phone: {account: alice}\n"
                          " steps: []\n"}, "case.yaml:4:2", "check the indentation"),
    ("yaml-unquoted-colon", {"case.yaml": "name: Zap: two devices\n" + BASE[8:]},
     "case.yaml:1:10", "a value holding ': ' must be quoted"),
]


@pytest.mark.parametrize(("files", "where", "words"),
                         [case[1:] for case in LOADER_CASES],
                         ids=[case[0] for case in LOADER_CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_each_hostile_file_is_a_clean_error_at_its_place(
        tmp_path: Path, files: dict[str, str | bytes], where: str, words: str,
        command: str) -> None:
    write(tmp_path, files)
    code, output = cli(tmp_path, command, "case.yaml")
    assert code == 2, output
    assert any(line.startswith(where) and words in line for line in output.splitlines()), \
        output


def test_a_value_from_outside_the_folder_is_never_read_or_echoed(tmp_path: Path) -> None:
    secret = "hunter2-outside"
    write(tmp_path, {"secret.yaml": f"world: {{ssm: {{heartbeat_period: {secret}}}}}\n"})
    project = tmp_path / "project"
    write(project, {"a.yaml": "include: ../secret.yaml\n" + BASE,
                    "b.yaml": "include: link.yaml\n" + BASE})
    (project / "link.yaml").symlink_to(tmp_path / "secret.yaml")
    for name in ("a.yaml", "b.yaml"):
        code, output = cli(project, "validate", name)
        assert code == 2 and "is outside" in output and secret not in output


def test_an_include_of_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    write(tmp_path, {"case.yaml": "include: pipe.yaml\n" + BASE})
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it to read would wait for a writer
    code, output = cli(tmp_path, "validate", "case.yaml")
    assert code == 2 and "case.yaml:1:10: can't include 'pipe.yaml': it is not a regular " \
                         "file" in output


def test_the_include_root_is_the_project_folder_or_the_configured_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"pyproject.toml": "", "shared/_world.yaml": "world: {}\n",
                     "scenarios/case.yaml": "include: ../shared/_world.yaml\n" + BASE})
    assert cli(tmp_path / "scenarios", "validate", "case.yaml")[0] == 0
    (tmp_path / "pyproject.toml").unlink()  # no project: the scenario's folder only
    code, output = cli(tmp_path / "scenarios", "validate", "case.yaml")
    assert code == 2 and "is outside" in output
    monkeypatch.setenv(INCLUDE_ROOT_ENV, str(tmp_path))
    assert cli(tmp_path / "scenarios", "validate", "case.yaml")[0] == 0


def test_a_fragment_included_many_times_is_read_once_and_counted(tmp_path: Path) -> None:
    opened: list[str] = []
    real_open = open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(os.path.basename(str(file)))
        return real_open(file, *args, **kwargs)

    write(tmp_path, {"_w.yaml": "world: {}\n",
                     "case.yaml": "include: [_w.yaml, _w.yaml, _w.yaml]\n" + BASE})
    import builtins

    builtins.open = counting_open
    try:
        load_scenario_text((tmp_path / "case.yaml").read_text(), str(tmp_path / "case.yaml"))
    finally:
        builtins.open = real_open
    assert opened.count("_w.yaml") == 1


# --- the run budget -------------------------------------------------------------------

RUNAWAY = BASE + "  - wait: 300d\n"


def test_a_runaway_scenario_ends_with_the_run_budget_error(tmp_path: Path) -> None:
    write(tmp_path, {"case.yaml": "max_events: 500\n" + RUNAWAY})
    code, output = cli(tmp_path, "run", "case.yaml")
    assert code == 1
    assert "ERROR case.yaml" in output
    assert "step at case.yaml:7:11" in output  # the wait it was running
    assert "processed 500 world events" in output and "max_events" in output


def test_the_budget_option_overrides_the_file_and_a_sane_run_is_far_below_it(
        tmp_path: Path) -> None:
    write(tmp_path, {"case.yaml": BASE + "  - wait: 10m\n"})
    assert cli(tmp_path, "run", "case.yaml")[0] == 0
    code, output = cli(tmp_path, "run", "--max-events", "20", "case.yaml")
    assert code == 1 and "processed 20 world events" in output
    from player_sim.scenario import load_scenario, run_scenario

    most = max(run_scenario(load_scenario(p), check_rules=False).events
               for p in sorted(SCENARIOS.glob("[!_]*.yaml")))
    assert most * 100 < DEFAULT_MAX_EVENTS


def test_the_world_refuses_to_run_past_its_budget_or_to_nan() -> None:
    world = World(WorldConfig(), max_events=10)
    world.add_device(DeviceConfig(name="phone", account="alice",
                                  ssm_server_url="https://ssm.example/"))
    world.device("phone").play("c")
    with pytest.raises(PlayerSimError, match="processed 10 world events"):
        world.run_until(3600)
    for bad in (math.nan, math.inf, "10", True):
        with pytest.raises(ConfigError, match="run_until takes a finite number of seconds"):
            World().run_until(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_events must be a whole number"):
        World(max_events=0)


# --- configuration objects ------------------------------------------------------------

NAN = math.nan
CONFIG_CASES: list[tuple[Callable[[], object], str]] = [
    (lambda: SsmConfig(heartbeat_period=NAN), "heartbeat_period must be a finite number"),
    (lambda: SsmConfig(heartbeat_period=1e-7), "heartbeat_period must be at least 0.001s"),
    (lambda: SsmConfig(heartbeat_period="30s"), "heartbeat_period must be a finite number"),
    (lambda: SsmConfig(grace_period=math.inf), "grace_period must be a finite number"),
    (lambda: SsmConfig(session_timeout=1e12), "session_timeout must be at most"),
    (lambda: SsmConfig(max_sessions_per_account=True), "max_sessions_per_account must be a "
                                                       "whole number"),
    (lambda: SsmConfig(max_sessions_per_account=1.5), "max_sessions_per_account must be a "
                                                      "whole number"),
    (lambda: SsmConfig(max_sessions_per_account=NAN), "max_sessions_per_account must be a "
                                                      "whole number"),
    (lambda: SsmConfig(enabled="no"), "enabled must be true or false, not 'no'"),
    (lambda: SsmConfig(limit_policy=None), "limit_policy must be"),
    (lambda: SsmConfig(account_limits={"alice": True}), "account_limits"),
    (lambda: NetworkConfig(latency=NAN), "latency must be a finite number"),
    (lambda: NetworkConfig(jitter="1"), "jitter must be a finite number"),
    (lambda: LicenseConfig(require_ssm_token="no"),
     "require_ssm_token must be true or false (or None), not 'no'"),
    (lambda: OttConfig(ks_validity=NAN), "ks_validity must be a finite number"),
    (lambda: OttConfig(users={"alice": 1}), "users holds 1, which is not text"),
    (lambda: OttConfig(concurrency_limit=True), "concurrency_limit must be a whole number"),
    (lambda: OvpConfig(user_session_validity=-1), "user_session_validity must be positive"),
    (lambda: WorldConfig(ssm={"heartbeat_period": 30}), "ssm must be an instance of SsmConfig"),
    (lambda: WorldConfig(trace_heartbeats="no"), "trace_heartbeats must be true or false"),
    (lambda: DeviceConfig(name="p", account="a", policy=None),
     "policy must be an instance of AppPolicy"),
    (lambda: DeviceConfig(name="p", account="a", pip="no"), "pip must be true or false"),
    (lambda: DeviceConfig(name="p", account="a", app_reaction_delay=NAN),
     "app_reaction_delay must be a finite number"),
    (lambda: DeviceConfig(name=3, account="a"), "name must be text"),
    (lambda: DeviceConfig(name="p", account="a", ssm_server_url="http://[::1"),
     "not a valid URL"),
    (lambda: CoreConfig(uses_ssm="no"), "uses_ssm must be true or false"),
    (lambda: CoreConfig(pip_enabled=1), "pip_enabled must be true or false"),
    (lambda: DocumentedAppPolicy(zap_on_heartbeat_error="no"),
     "zap_on_heartbeat_error must be true or false"),
    (lambda: OttSessionProvider("http://[::1", 3), "not a valid URL"),
    (lambda: OttSessionProvider("https://x/api_v3/", 3, persist_session="no"),
     "persist_session must be true or false"),
    (lambda: OvpSessionProvider("https://x/", 3, assumed_validity=NAN),
     "assumed_validity must be a finite number"),
    (lambda: Simulation(wake_interval=NAN), "wake_interval must be a finite number"),
    (lambda: World(seed="1"), "seed must be a whole number"),
]


@pytest.mark.parametrize(("build", "words"), CONFIG_CASES)
def test_every_config_refuses_nonsense_with_the_rule(build: Callable[[], object],
                                                     words: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert words in str(info.value)
    assert len(str(info.value)) < 200  # a sentence, not a dump


# --- the trio shell -------------------------------------------------------------------

async def test_one_error_leaves_a_simulation_as_itself(autojump_clock: trio.abc.Clock) -> None:
    with pytest.raises(InvalidTransition):
        async with Simulation() as sim:
            phone = sim.add_device(DeviceConfig(name="phone", account="alice"))
            phone.enter_background()
            phone.enter_background()


async def test_a_closed_simulation_refuses_to_run_on(autojump_clock: trio.abc.Clock) -> None:
    async with Simulation() as sim:
        sim.add_device(DeviceConfig(name="phone", account="alice"))
        await sim.sleep(5)
    assert sim.now == 5 and len(sim.trace) >= 1  # what happened can still be read
    for use in (lambda: sim.add_device(DeviceConfig(name="tv", account="alice")),
                lambda: sim.listen().__enter__()):
        with pytest.raises(PlayerSimError, match="this Simulation has ended"):
            use()
    with pytest.raises(PlayerSimError, match="this Simulation has ended"):
        await sim.sleep(1)
    with pytest.raises(PlayerSimError, match="this Simulation has ended"):
        await sim.wait_until(lambda: False, timeout=1)
    with pytest.raises(ConfigError, match="seconds must be a finite number"):
        await Simulation().sleep(NAN)


# --- command lines --------------------------------------------------------------------

def test_deep_keyword_expressions_are_refused(tmp_path: Path) -> None:
    write(tmp_path, {"case.yaml": BASE})
    deep = "(" * 2000 + "x" + ")" * 2000
    for expression in (deep, "not " * 2000 + "x"):
        code, output = cli(tmp_path, "run", "-k", expression, "case.yaml")
        assert code == 2 and f"more than {MAX_KEYWORD_DEPTH} levels" in output


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--json", "", "--json needs a path, not an empty one"),
    ("--junit-xml", "", "--junit-xml needs a path"),
    ("--json", "blocker/out.json", "blocker is not a folder"),
    ("--trace-dir", "blocker", "'blocker' is a file"),
])
def test_report_paths_are_checked_before_anything_runs(tmp_path: Path, option: str,
                                                       value: str, words: str) -> None:
    write(tmp_path, {"case.yaml": BASE, "blocker": "x"})
    code, output = cli(tmp_path, "run", option, value, "case.yaml")
    assert code == 2 and words in output
    assert "PASS" not in output  # refused before the scenario ran


def test_a_failed_write_names_the_report_not_a_temporary_file(tmp_path: Path) -> None:
    write(tmp_path, {"case.yaml": BASE})
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    try:
        if os.access(target, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        code, output = cli(tmp_path, "run", "--json", "ro/out.json", "case.yaml")
    finally:
        target.chmod(0o700)
    assert code == 2 and "ro" in output and ".tmp-" not in output


def test_the_trace_folder_holds_one_run_and_no_leftovers(tmp_path: Path) -> None:
    write(tmp_path, {"case.yaml": BASE, "traces/other-run.jsonl": "{}\n",
                     ".traces.tmp-killed/half.jsonl": "{"})
    code, _ = cli(tmp_path, "run", "--trace-dir", "traces", "case.yaml")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "traces").iterdir()) == ["case.jsonl"]
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_check_refuses_wrong_payload_types_at_their_line(tmp_path: Path) -> None:
    header = ('{"format":"player_sim.trace","vantages":["device","harness","server"],'
              '"version":2}')
    bad = ('{"t":1,"kind":"ssm_setup_answered","device":"phone",'
           '"data":{"request_id":1,"http_status":200,"message":"","ssm_code":null,'
           '"heartbeat_period":"30s"}}')
    cases = {
        "payload.jsonl": (bad, "'data.heartbeat_period' has the wrong type"),
        "huge.jsonl": ('{"t":' + "9" * 400 + ',"kind":"zap"}', "'t' must be a finite number"),
        "negative.jsonl": ('{"t":-1,"kind":"zap"}', "'t' must be a finite number"),
        "deep.jsonl": ("[" * 100_000, "nested too deeply"),
    }
    for name, (line, words) in cases.items():
        write(tmp_path, {name: header + "\n" + line + "\n"})
        code, output = cli(tmp_path, "check", name)
        assert code == 2, output
        assert re.search(rf"{re.escape(name)}:2: .*{re.escape(words)}", output), output


def test_scenario_error_lists_are_raised_not_tracebacks() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario_text("x: &a [*a]\n" + BASE, "case.yaml")
    assert "nested more than" in str(info.value)


# --- the README -----------------------------------------------------------------------

def test_the_readme_limits_table_is_the_declared_one() -> None:
    text = README.read_text(encoding="utf-8")
    assert limits_table() in text, "regenerate README 'Limits' from player_sim._limits"


def test_a_date_is_text_and_an_alias_still_works() -> None:
    scenario = load_scenario_text(BASE.replace("name: x", "name: x\ndescription: 2001-12-14")
                                  + "tags: &t [a]\n", "case.yaml")
    assert scenario.description == "2001-12-14" and scenario.tags == ("a",)


@pytest.mark.parametrize(("build", "words"), [
    (lambda: OttConfig(assets={"a": {"drm": "x"}}), "assets holds {'drm': 'x'}, which is not "
                                                    "an instance of OttAsset"),
    (lambda: OttConfig(default_asset={}),
     "default_asset must be an instance of OttAsset (or None)"),
    (lambda: OvpConfig(entries={"e": 1}), "entries holds 1, which is not an instance of OvpEntry"),
    (lambda: DeviceConfig(name="p", account="a", content_token="x"),
     "content_token must be an instance of ContentToken (or None)"),
])
def test_a_mapping_where_a_config_object_belongs_is_refused(build: Callable[[], object],
                                                            words: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(words)):
        build()


# --- fleet files are read as scenario files are ------------------------------------------


def test_a_fleet_file_alias_bomb_deep_nesting_and_fifo_are_clean_errors(tmp_path: Path) -> None:
    from player_sim.fleet import FleetFileError, fleet_from_text, load_fleet

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, n in zip("abcdefg", "bcdefgh", strict=True))
    with pytest.raises(FleetFileError, match="aliases"):
        fleet_from_text(bomb, "bomb.fleet.yaml")
    with pytest.raises(FleetFileError, match="nested more than"):
        fleet_from_text("a: " + "[" * 200 + "]" * 200 + "\n", "deep.fleet.yaml")
    fifo = tmp_path / "pipe.fleet.yaml"
    os.mkfifo(fifo)
    with pytest.raises(FleetFileError, match="not a regular file"):
        load_fleet(str(fifo))  # refused before opening: it would block
