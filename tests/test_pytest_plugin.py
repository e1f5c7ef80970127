"""The pytest plugin: harness fixtures on the autojump clock, and scenario files as tests."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import trio

from player_sim import DeviceConfig, Simulation, SsmConfig, WorldConfig
from player_sim.pytest_plugin import SignalRecorder, SignalTimeout, SimulationFactory
from player_sim.scenario import load_scenario, result_timeline, run_scenario

SSM = "https://ssm.example/"


def phone(name: str = "phone", account: str = "alice") -> DeviceConfig:
    return DeviceConfig(name, account, ssm_server_url=SSM)


# --- fixtures, used directly ------------------------------------------------------------


async def test_player_sim_simulation_is_entered_on_virtual_time(
        player_sim_simulation: Simulation, autojump_clock: trio.testing.MockClock) -> None:
    sim = player_sim_simulation
    device = sim.add_device(phone())
    device.play("ch-1")
    await trio.sleep(3600)  # trio's clock is the world's clock
    assert sim.now == 3600
    # Playing from t=0.04 (setup answered): a heartbeat every 30 s, the last at 3570.04 s.
    assert device.heartbeats_sent == 119


async def test_wait_for_returns_at_the_notification_time(
        player_sim_simulation: Simulation, signal_recorder: SignalRecorder,
        autojump_clock: trio.testing.MockClock) -> None:
    sim = player_sim_simulation
    sim.add_device(phone()).play("ch-1")
    started = await signal_recorder.wait_for("playback_started", timeout=5)
    assert started.device == "phone" and started.payload == {"stream": "ch-1"}
    # Advanced event by event: the world stopped at the notification, not a wake-up later.
    assert started.time == pytest.approx(0.08)
    assert sim.now == started.time


async def test_wait_for_returns_successive_notifications_then_times_out(
        player_sim_simulation: Simulation, signal_recorder: SignalRecorder,
        autojump_clock: trio.testing.MockClock) -> None:
    sim = player_sim_simulation
    sim.add_device(phone("phone")).play("ch-1")
    sim.add_device(phone("tv")).play("ch-2")
    first = await signal_recorder.wait_for("playback_started", timeout=5)
    second = await signal_recorder.wait_for("playback_started", timeout=5)
    assert (first.device, second.device) == ("phone", "tv")
    before = sim.now
    with pytest.raises(SignalTimeout) as caught:
        await signal_recorder.wait_for("playback_started", timeout=30)
    assert sim.now == pytest.approx(before + 30)
    assert str(caught.value) == ("no playback_started within 30 virtual seconds; "
                                 "sent meanwhile: nothing")
    # A SignalTimeout is also what trio and pytest expect of a timeout and a failure.
    assert isinstance(caught.value, trio.TooSlowError)
    assert isinstance(caught.value, AssertionError)


async def test_wait_for_filters_by_device_and_payload(
        player_sim_simulation: Simulation, signal_recorder: SignalRecorder,
        autojump_clock: trio.testing.MockClock) -> None:
    sim = player_sim_simulation
    sim.world.ssm.fail_next("setup", 1, http_status=503, ssm_code=4001, message="down")
    sim.add_device(phone("phone")).play("ch-1")
    sim.add_device(phone("tv")).play("ch-2")
    with pytest.raises(SignalTimeout, match=(
            r"^no ssm_setup_error from 'tv' within 10 virtual seconds; sent meanwhile: "
            r"ssm_setup_error from 'phone' at 0\.04 s; .*playback_started from 'tv' at 0\.08 s")):
        await signal_recorder.wait_for("ssm_setup_error", device="tv", timeout=10)
    error = await signal_recorder.wait_for("ssm_setup_error", timeout=1, ssm_code=4001)
    assert error.device == "phone" and error.payload["http_status"] == 503
    assert signal_recorder.of_kind("ssm_setup_error", device="phone", ssm_code=4001) == [error]
    assert signal_recorder.of_kind("ssm_setup_error", ssm_code=1007) == []
    assert signal_recorder.kinds(device="tv") == ["state_changed", "state_changed",
                                                  "playback_started", "state_changed"]


async def test_an_unknown_kind_fails_at_once(
        signal_recorder: SignalRecorder, autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    with pytest.raises(KeyError, match="no signal 'ssm_setup_eror'; known signals: "):
        await signal_recorder.wait_for("ssm_setup_eror", timeout=60)
    with pytest.raises(KeyError):
        signal_recorder.of_kind("heartbeat")
    assert trio.current_time() == start


async def test_make_simulation_makes_independent_worlds(
        make_simulation: SimulationFactory, signal_recorder: SignalRecorder,
        autojump_clock: trio.testing.MockClock) -> None:
    small = await make_simulation(WorldConfig(ssm=SsmConfig(max_sessions_per_account=1)),
                                  seed=1)
    await trio.sleep(100)
    large = await make_simulation(seed=2)
    assert (small.now, large.now) == (100, 0)  # each one's time starts when it is made
    for sim in (small, large):
        sim.add_device(phone("a")).play("ch-1")
        sim.add_device(phone("b")).play("ch-1")
    # Two simulations: without simulation= the recorder waits on trio's clock ...
    refused = await signal_recorder.wait_for("ssm_setup_error", timeout=5)
    assert refused.device == "b" and refused.payload["ssm_code"] == 1007
    assert signal_recorder.senders[signal_recorder.notifications.index(refused)].world \
        is small.world
    # ... or, given one, advances it event by event.
    large.world.ssm.fail_next("heartbeat", 1, http_status=500)
    error = await signal_recorder.wait_for("ssm_heartbeat_error", timeout=60, simulation=large)
    assert error.time > 30 and large.now == pytest.approx(error.time)
    assert len(small.active_sessions("alice")) == 1
    assert len(large.active_sessions("alice")) == 2


async def test_a_recorder_without_simulation_hears_within_a_wake_interval(
        make_simulation: SimulationFactory, autojump_clock: trio.testing.MockClock) -> None:
    sim = await make_simulation(wake_interval=5)
    with SignalRecorder() as recorder:
        sim.add_device(phone()).play("ch-1")
        note = await recorder.wait_for("playback_started", timeout=60)
        assert note.time == pytest.approx(0.08)
        assert 0.08 <= sim.now <= 5
    sim.add_device(phone("tv")).play("ch-2")
    await trio.sleep(1)
    assert len(recorder) == 1 + 3  # disconnected: nothing after the block
    assert [n.kind for n in recorder] == recorder.kinds()


class TestOverriddenWorld:
    """A test class (or module, or conftest) overrides the world and the seed."""

    @pytest.fixture
    def player_sim_config(self) -> WorldConfig:
        return WorldConfig(ssm=SsmConfig(max_sessions_per_account=1, heartbeat_period=10))

    @pytest.fixture
    def player_sim_seed(self) -> int:
        return 42

    async def test_the_overrides_are_used(
            self, player_sim_simulation: Simulation, signal_recorder: SignalRecorder,
            autojump_clock: trio.testing.MockClock) -> None:
        sim = player_sim_simulation
        assert sim.world.seed == 42
        sim.add_device(phone("a")).play("ch-1")
        sim.add_device(phone("b")).play("ch-1")
        error = await signal_recorder.wait_for("ssm_setup_error", device="b", timeout=1)
        assert error.payload["ssm_code"] == 1007
        await sim.sleep(60)
        assert sim.device("a").heartbeats_sent == 6


# --- in a project of its own (pytester) ------------------------------------------------

PASSING = """\
    name: Playing keeps one session alive
    tags: [smoke]
    covers: [ssm.heartbeat.keeps-session]
    devices:
      phone: {account: alice}
    steps:
      - play: {device: phone, stream: channel-1}
      - wait: 5m
      - expect: {metric: active_sessions, account: alice, equals: 1}
    """

FAILING = """\
    name: A deliberately wrong expectation
    devices:
      phone: {account: alice}
    steps:
      - play: {device: phone, stream: channel-1}
      - wait: 10s
      - expect: {signal: ssm_setup_error, device: phone, within: 5s}
    """

INVALID = """\
    name: Typos
    devices:
      phone: {acount: alice}
    steps:
      - wiat: 5s
    """

NOT_A_SCENARIO = """\
    # a CI configuration that happens to be YAML
    jobs:
      test:
        steps:
          - run: pytest
    """


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        trio_mode = true
        filterwarnings = ["error"]
        addopts = "-p no:cacheprovider"
        """)
    for path, text in {"scenarios/passing.scenario.yaml": PASSING,
                       "scenarios/failing.scenario.yaml": FAILING,
                       "scenarios/_fragment.yaml": "world: {}\n",
                       "scenarios/broken/on_purpose.scenario.yaml": FAILING,
                       "ci.yaml": NOT_A_SCENARIO,
                       "elsewhere/loose.scenario.yml": PASSING,
                       "scenarios/not_named_so.yaml": PASSING}.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return pytester


def test_scenario_files_are_collected_one_item_per_file(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "elsewhere/loose.scenario.yml::loose",
        "scenarios/failing.scenario.yaml::failing",
        "scenarios/passing.scenario.yaml::passing",
        "3 tests collected*",
    ])
    assert "ci.yaml" not in result.stdout.str()
    assert "not_named_so" not in result.stdout.str()  # a YAML in scenarios/, not NAME.scenario.yaml
    assert "_fragment" not in result.stdout.str()
    assert "broken" not in result.stdout.str()


def test_a_failing_scenario_reports_the_runner_failure(project: pytest.Pytester) -> None:
    result = project.runpytest("scenarios")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ failing.scenario.yaml: A deliberately wrong expectation _*",
        "scenario 'A deliberately wrong expectation' failed (seed 0):",
        "expect at scenarios/failing.scenario.yaml:7:13: {signal: ssm_setup_error, "
        "device: phone, within: 5s}",
        "     7 |   - expect: {signal: ssm_setup_error, device: phone, within: 5s}",
        "  expected signal ssm_setup_error from phone between t=10s and t=15s; none was posted",
        "  trace around t=15s:",
        "*playback_started*stream=channel-1",
        "FAILED scenarios/failing.scenario.yaml::failing - scenario 'A deliberately*",
    ])
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "pytest_plugin.py" not in out and "def runtest" not in out


def test_an_invalid_scenario_reports_its_problems(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "invalid.yaml").write_text(textwrap.dedent(INVALID))
    result = project.runpytest("scenarios/invalid.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "invalid scenario file:",
        "scenarios/invalid.yaml:3:11: unknown key 'acount' in device 'phone'; "
        "did you mean 'account'?*",
        "scenarios/invalid.yaml:5:5: unknown step 'wiat'; did you mean 'wait'?*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_an_invalid_file_named_on_the_command_line_is_run_whatever_its_name(
        project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "invalid.yaml").write_text(textwrap.dedent(INVALID))
    result = project.runpytest("scenarios/invalid.yaml", "scenarios/not_named_so.yaml")
    result.assert_outcomes(passed=1, failed=1)


def test_broken_scenarios_run_only_when_named(project: pytest.Pytester) -> None:
    result = project.runpytest("scenarios/broken")
    result.assert_outcomes(failed=1)
    # Named next to their parent folder (pytest folds the inner argument into the outer
    # one): the broken file is still run, not silently dropped.
    project.runpytest("scenarios", "scenarios/broken").assert_outcomes(passed=1, failed=2)
    project.runpytest("scenarios").assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED scenarios/broken/on_purpose.scenario.yaml::on_purpose*"])


def test_k_matches_scenario_name_and_tags_and_the_seed_option(
        project: pytest.Pytester) -> None:
    project.runpytest("scenarios", "-k", "smoke").assert_outcomes(passed=1, deselected=1)
    project.runpytest("scenarios", "-k", "wrong and expectation").assert_outcomes(
        failed=1, deselected=1)
    result = project.runpytest("scenarios/failing.scenario.yaml", "--player-sim-seed", "5")
    result.stdout.fnmatch_lines(["*failed (seed 5):"])


def test_timeline_option_draws_each_run_and_names_it_in_a_failure(
        project: pytest.Pytester) -> None:
    result = project.runpytest("scenarios", "--player-sim-timeline", "drawings")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*none was posted", "*", "timeline: drawings/failing.svg"])
    assert "timeline: drawings/passing.svg" not in result.stdout.str()
    drawings = project.path / "drawings"
    assert sorted(p.name for p in drawings.iterdir()) == ["failing.svg", "passing.svg"]
    scenario = load_scenario(project.path / "scenarios" / "failing.scenario.yaml")
    run = run_scenario(scenario)
    drawn = (drawings / "failing.svg").read_text(encoding="utf-8")
    # As player-sim run --timeline draws it, its failure marked at the expectation's line.
    assert drawn.count('class="failure-item"') == result_timeline(run).count(
        'class="failure-item"') == 1
    assert "failing.scenario.yaml:7:13" in drawn


def test_fixtures_work_in_a_project_with_the_autojump_clock(
        project: pytest.Pytester) -> None:
    project.makepyfile(test_plugin_harness_example="""
        import pytest
        import trio
        from player_sim import DeviceConfig

        async def test_heartbeat_error(player_sim_simulation, signal_recorder, autojump_clock):
            sim = player_sim_simulation
            phone = sim.add_device(DeviceConfig("phone", "alice",
                                                ssm_server_url="https://ssm.example/"))
            phone.play("ch-1")
            await trio.sleep(600)
            sim.world.ssm.fail_next("heartbeat", 1, http_status=500, ssm_code=4001)
            error = await signal_recorder.wait_for("ssm_heartbeat_error", timeout=31)
            assert error.time == pytest.approx(sim.now)
            assert 600 < error.time <= 631
            assert signal_recorder.of_kind("ssm_heartbeat_error") == [error]

        async def test_times_out(make_simulation, signal_recorder, autojump_clock):
            await make_simulation()
            await signal_recorder.wait_for("ssm_setup_error", timeout=3600)
        """)
    result = project.runpytest("test_plugin_harness_example.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*SignalTimeout: no ssm_setup_error within 3600 virtual seconds; sent meanwhile: "
        "nothing"])


def test_the_readme_harness_example_passes(project: pytest.Pytester) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## pytest plugin\n"):]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    project.makepyfile(test_plugin_readme_example=example.group(1))
    project.runpytest("test_plugin_readme_example.py").assert_outcomes(passed=1)


# --- opt-in collection, and the harness's traps -------------------------------------------

#: YAML an unrelated project has: CI, compose, Kubernetes, a load test's "scenarios"
#: folder, top-level ``steps:`` keys. None of it is a player_sim scenario.
FOREIGN_YAML = {
    "azure-pipelines.yml": "trigger: [main]\nsteps:\n  - script: pytest\n",
    "cloudbuild.yaml": "steps:\n  - name: gcr.io/cloud-builders/docker\n    args: [build, .]\n",
    ".gitlab-ci.yml": "test:\n  script: [pytest]\n",
    ".github/workflows/ci.yml": "on: push\njobs:\n  test:\n    steps:\n      - run: pytest\n",
    "docker-compose.yaml": "services:\n  web:\n    image: nginx\n",
    "k8s/deployment.yaml": ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
                            "spec:\n  replicas: 2\n"),
    "loadtest/scenarios/checkout.yml": "name: checkout\nsteps:\n  - get: /checkout\n",
    "scenarios/smoke.yaml": "name: smoke\ndevices: {}\nsteps: []\n",
}


@pytest.fixture
def foreign_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    for path, text in FOREIGN_YAML.items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return pytester


def test_a_project_without_scenario_files_collects_nothing(
        foreign_project: pytest.Pytester) -> None:
    result = foreign_project.runpytest("--collect-only", "-q")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout.str()
    result.stdout.fnmatch_lines(["no tests collected*"])
    assert "error" not in result.stdout.str().lower()


def test_player_sim_run_in_a_foreign_project_selects_nothing(
        foreign_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from player_sim.cli import NOTHING_SELECTED, main

    monkeypatch.chdir(foreign_project.path)
    result = CliRunner().invoke(main, ["run", "."])
    assert result.exit_code == NOTHING_SELECTED == 5, result.output
    assert "no scenario selected: . holds no NAME.scenario.yaml file" in result.output


def test_a_simulation_on_the_real_clock_is_refused_with_the_fix(
        project: pytest.Pytester) -> None:
    project.makepyfile(test_real_clock="""
        import trio

        async def test_forgot_the_clock(player_sim_simulation):
            await trio.sleep(600)

        async def test_factory_forgot_the_clock(make_simulation):
            await make_simulation()

        async def test_real_time_on_purpose(make_simulation):
            sim = await make_simulation(real_time=True)
            assert 0 <= sim.now < 60
        """)
    result = project.runpytest("test_real_clock.py")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines([
        "RealClockError: a player_sim Simulation would run on trio's real clock*request the "
        "autojump_clock fixture*real_time=True*"] * 2)
    assert "Traceback" not in result.stdout.str()


def test_the_async_fixtures_outside_trio_mode_say_how_to_fix_it(
        pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_no_trio_mode="""
        async def test_uses_the_world(player_sim_simulation, autojump_clock):
            pass
        """)
    result = pytester.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines([
        "*test_uses_the_world uses player_sim_simulation, an async player_sim fixture, so it "
        "must be a trio test*trio_mode = true*player-sim init*"])
