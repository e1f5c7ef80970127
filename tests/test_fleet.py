"""Fleet capacity runs: the fleet file, the population model, sharding, the executor seam.

Every fleet here is small (tens of accounts, half an hour): a run takes well under
a second in one process.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

from player_sim.fleet import (
    FleetFileError,
    FleetResult,
    fleet_from_text,
    load_fleet,
    open_executor,
    parse_override,
    percentile,
    plan_shards,
    run_fleet,
    run_shard,
    run_tasks,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "prime_time.fleet.yaml"

SMALL = """\
name: small
seed: 3
start: "20:00"
duration: 30m
accounts:
  count: 40
  devices: {1: 30%, 2: 40%, 3: 30%}
  households: {1: 80%, 2: 20%}
  platforms:
    phone: {share: 60%, pip: true, zap_order: ZAP_ORDER}
    tv: {share: 40%, backgrounds: false, zap_order: ZAP_ORDER}
viewing:
  sessions_per_day: 12
  session_length: {median: 10m, p90: 25m}
  zaps_per_hour: 6
  background: {per_hour: 2, duration: {median: 1m, p90: 4m}}
  pip: {per_hour: 1, duration: 2m}
  kills_per_hour: KILLS
  relaunch: {probability: 80%, after: 10s}
  retry: {after: 20s, attempts: 1}
  events:
    - {name: kick-off, at: "20:10", joining: 40%, within: 2m, length: 30m}
backend:
  ssm: {max_sessions_per_account: 2, heartbeat_period: 30s}
  network: {latency: 30ms, jitter: 20ms}
"""


def small(zap_order: str = "setup-first", kills: float = 4.0, **overrides: object
          ) -> str:
    return SMALL.replace("ZAP_ORDER", zap_order).replace("KILLS", str(kills))


@functools.cache
def single_world() -> FleetResult:
    """The reference: the small fleet as one world in this process, 3 accounts traced."""
    return run_fleet(fleet_from_text(small(), "small.fleet.yaml"), shards=1, keep_accounts=3)


# --- the fleet file ---------------------------------------------------------------------------

def test_the_example_fleet_file_loads() -> None:
    spec = load_fleet(str(EXAMPLE))
    assert spec.accounts == 10000
    assert spec.ssm.max_sessions_per_account == 2
    assert spec.ssm.effective_session_timeout == 70.0
    assert spec.viewing.events[0].at == pytest.approx(6300.0)  # 20:45 is 1h45m after 19:00
    assert len(spec.viewing.curve) == 24
    assert sum(spec.viewing.curve) == pytest.approx(24.0)  # normalised to a mean of 1


def error_of(text: str, overrides: dict[str, object] | None = None) -> FleetFileError:
    with pytest.raises(FleetFileError) as caught:
        fleet_from_text(text, "f.yaml", overrides)
    return caught.value


def test_an_unknown_key_is_reported_at_its_line_and_column_with_a_suggestion() -> None:
    error = error_of(small().replace("  zaps_per_hour: 6", "  zap_per_hour: 6"))
    assert str(error) == ("f.yaml:15:3: unknown key 'zap_per_hour' in viewing; "
                          "did you mean 'zaps_per_hour'?")


def test_every_mistake_is_reported_in_file_order() -> None:
    text = small().replace("duration: 30m", "duration: 30").replace(
        "limit_policy", "x").replace("heartbeat_period: 30s", "heartbeat_period: soon")
    lines = str(error_of(text)).splitlines()
    assert lines == [
        "f.yaml:4:11: duration: write a duration with its unit, e.g. 30s, not a bare number",
        "f.yaml:24:56: backend.ssm.heartbeat_period: bad duration 'soon': write a number "
        "followed by a unit (ms, s, m, h or d), e.g. 300ms, 30s, 5m, 2h, 1d, 1h30m",
    ]


def test_server_wide_fault_counts_are_refused_with_the_rule() -> None:
    text = small().replace("backend:\n", "backend:\n  fail_next: {setup: 3}\n")
    message = str(error_of(text))
    assert message.startswith("f.yaml:24:3: 'fail_next' is refused in a fleet file: forced "
                              "faults count calls server-wide")
    assert "use backend.outages" in message


def test_a_bad_override_names_the_option_it_came_from() -> None:
    error = error_of(small(), {"ssm.session_timeout": "soon"})
    assert str(error).startswith("--ssm.session_timeout=soon:1:1: backend.ssm.session_timeout: "
                                 "bad duration 'soon'")


def test_a_sweep_names_a_known_parameter() -> None:
    assert parse_override("ssm.session_timeout=60s, 90s") == ("ssm.session_timeout",
                                                              ["60s", "90s"])
    with pytest.raises(ValueError, match=r"did you mean 'ssm\.session_timeout'"):
        parse_override("ssm.session_timout=60s")
    with pytest.raises(ValueError, match="PARAM=V1,V2"):
        parse_override("ssm.session_timeout")


def test_an_override_changes_the_spec() -> None:
    spec = fleet_from_text(small(), "f.yaml", {"ssm.session_timeout": "90s",
                                               "accounts.count": 7})
    assert spec.ssm.effective_session_timeout == 90.0
    assert spec.accounts == 7


# --- what a run answers ----------------------------------------------------------------------

def test_a_run_counts_what_the_fleet_did() -> None:
    result = single_world()
    summary = result.summary()
    assert summary["plays"] > 100
    assert 0 < summary["refused"] < summary["plays"]
    assert sum(summary["refused_by_reason"].values()) == summary["refused"]
    assert summary["kills"] > 0
    assert summary["rates"]["heartbeats"]["total"] > summary["plays"]
    assert summary["gauges"]["active_sessions"]["peak"] <= 2 * 40  # two per account at most
    # The per-second series add up to the totals.
    per_minute = result.per_minute()
    assert round(sum(per_minute["setups_per_second"]) * 60) == summary["rates"]["setups"]["total"]
    # The match starts at 20:10 (10 minutes in): setups peak then.
    assert summary["rates"]["setups"]["peak_at"].startswith("20:1")


def test_zap_races_come_from_setup_first_zaps_only() -> None:
    setup_first = single_world().refusal_reasons()
    teardown_first = run_fleet(fleet_from_text(small("teardown-first"), "f")).refusal_reasons()
    assert setup_first["zap_race"] > 0
    assert teardown_first["zap_race"] == 0


def test_killed_apps_leave_zombies_that_refuse_plays() -> None:
    with_kills = single_world().refusal_reasons()["zombie"]
    no_kills = run_fleet(fleet_from_text(small(kills=0), "f"))
    assert no_kills.summary()["kills"] == 0
    # Without kills a few zombies remain: a teardown sent with a token a heartbeat has
    # just rotated is refused (1006), and its session is left to expire.
    assert with_kills > 3 * no_kills.refusal_reasons()["zombie"]


def test_accounts_behave_the_same_in_a_small_and_a_large_fleet() -> None:
    few = run_fleet(fleet_from_text(small(), "small.fleet.yaml", {"accounts.count": 3}),
                    keep_accounts=3)
    assert few.sample == single_world().sample
    assert len(few.sample) > 10


def test_the_json_and_csv_carry_the_series() -> None:
    result = single_world()
    data = json.loads(result.to_json())
    assert data["summary"]["fingerprint"] == result.fingerprint()
    assert len(data["per_minute"]["active_sessions"]) == 30
    rows = result.to_csv().splitlines()
    assert rows[0].startswith("minute,time_of_day,setups_per_second,")
    assert rows[1].startswith("0,20:00:00,")
    assert len(rows) == 31


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile([5, 1, 3, 2, 4], 100) == 5
    assert percentile([], 95) == 0


# --- sharding and executors ------------------------------------------------------------------

def test_shards_keep_households_whole_and_cover_every_account() -> None:
    spec = fleet_from_text(small(), "f")
    for count in (1, 2, 3, 7):
        tasks = plan_shards(spec, count)
        households = [h for t in tasks for h in t.households()]
        assert [h.index for h in households] == list(range(len(households)))
        assert sum(h.size for h in households) == spec.accounts
        assert households[0].first == 0


def test_merging_sums_buckets_before_taking_peaks() -> None:
    spec = fleet_from_text(small(), "f")
    shards = [run_shard(task) for task in plan_shards(spec, 2)]
    merged = FleetResult.merge(spec, shards)
    peak = max(merged.buckets.second["heartbeats"])
    assert peak <= sum(max(s.buckets.second["heartbeats"]) for s in shards)
    assert merged.total("plays") == sum(sum(s.buckets.second["plays"]) for s in shards)


@pytest.mark.parametrize("shards", [2, 3, 5])
def test_any_split_gives_the_single_world_fingerprint(shards: int) -> None:
    spec = fleet_from_text(small(), "small.fleet.yaml")
    result = run_fleet(spec, shards=shards, keep_accounts=3)
    assert result.fingerprint() == single_world().fingerprint()
    assert result.sample == single_world().sample


def test_a_process_pool_gives_the_single_world_fingerprint() -> None:
    spec = fleet_from_text(small(), "small.fleet.yaml")
    result = run_fleet(spec, workers=2, shards=3, keep_accounts=3)
    assert result.fingerprint() == single_world().fingerprint()


def test_a_lost_task_runs_again_and_the_result_is_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fleet_tasks

    monkeypatch.setenv(fleet_tasks.MARKS_ENV, str(tmp_path))
    spec = fleet_from_text(small(), "small.fleet.yaml")
    tasks = plan_shards(spec, 2, keep_accounts=3)
    results = run_tasks(lambda: open_executor(2), fleet_tasks.die_once_then_run, tasks)
    assert len(list(tmp_path.iterdir())) == 2  # each shard's first attempt died
    assert FleetResult.merge(spec, results).fingerprint() == single_world().fingerprint()


def test_a_dask_cluster_gives_the_single_world_fingerprint() -> None:
    distributed = pytest.importorskip(
        "distributed", reason="Dask distributed is not installed (pip install "
                              "'player_sim[dask]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        spec = fleet_from_text(small(), "small.fleet.yaml")
        result = run_fleet(spec, address=address, shards=3, keep_accounts=3)
    assert result.fingerprint() == single_world().fingerprint()


def test_a_bad_executor_address_states_the_form() -> None:
    with pytest.raises(ValueError, match="dask://HOST:PORT"), \
            open_executor(1, "tcp://somewhere:8786"):
        pass


def test_worker_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"), open_executor(0):
        pass


def test_environment_is_unchanged() -> None:
    assert "PLAYER_SIM_TEST_DIE_ONCE" not in os.environ


def test_the_readme_shows_the_example_fleet_file_as_it_is() -> None:
    readme = (EXAMPLE.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "```yaml\n" + EXAMPLE.read_text(encoding="utf-8") + "```\n" in readme


@pytest.mark.parametrize(("before", "after", "message"), [
    ("households: {1: 80%, 2: 20%}", "households: {1: 80%, 300: 20%}",
     "f.yaml:8:15: accounts.households: keys are whole numbers from 1 to 255, not '300'"),
    ("attempts: 1", "attempts: -1",
     "f.yaml:20:33: viewing.retry.attempts: must be a whole number (0 or more), not -1"),
    ("joining: 40%", "joining: 140%",
     "f.yaml:22:46: viewing.events.0.joining: must be a fraction between 0 and 1 (0.3) or a "
     "percentage (30%), not '140%'"),
    ("limit_policy", "x", None),
])
def test_values_are_checked_where_they_are_written(before: str, after: str,
                                                   message: str | None) -> None:
    text = small().replace("ssm: {", "ssm: {limit_policy: evict-latest, ") if message is None \
        else small().replace(before, after)
    expected = message or ("f.yaml:24:23: backend.ssm.limit_policy: must be one of refuse-new, "
                           "evict-oldest, not 'evict-latest'; did you mean 'evict-oldest'?")
    assert str(error_of(text)) == expected
