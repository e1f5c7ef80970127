"""Session providers in fleets (issue 14): which provider each account uses, logins and
KS refreshes as series, deterministic across shards and workers.

The fleets are small (40 accounts, 1 virtual hour) with a 1 h KS, so every device
that plays meets its refresh window within the run.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from player_sim.fleet import FleetFileError, FleetResult, fleet_from_text, run_fleet
from player_sim.fleet._spec import PROVIDER_KINDS
from player_sim.providers import RefreshPolicy

FLEET = """\
name: providers
seed: 5
start: "20:00"
duration: 1h
accounts:
  count: 40
  devices: {1: 40%, 2: 60%}
  households: {1: 90%, 2: 10%}
  platforms:
    android: {share: 50%}
    ios: {share: 30%, pip: true}
    tv: {share: 20%, backgrounds: false, provider_variant: android}
providers:
  mix: {ott: 50%, ovp: 35%, none: 15%}
  anonymous: 25%
viewing:
  sessions_per_day: 24
  session_length: {median: 8m, p90: 20m}
  zaps_per_hour: 6
  kills_per_hour: 2
  relaunch: {probability: 90%, after: 10s}
  retry: {after: 20s, attempts: 1}
backend:
  ssm: {max_sessions_per_account: 2}
  ott: {ks_validity: 1h, anonymous_ks_validity: 1h}
  ovp: {user_session_validity: 1h}
"""


def fleet(text: str = FLEET, **overrides: Any) -> Any:
    return fleet_from_text(text, "p.fleet.yaml", overrides or None)


@functools.cache
def reference() -> FleetResult:
    """One world, every account traced."""
    return run_fleet(fleet(), shards=1, keep_accounts=40)


def records(result: FleetResult, kind: str) -> list[dict[str, Any]]:
    out = []
    for line in result.sample:
        record = json.loads(line)
        if record["kind"] == kind:
            out.append(record)
    return out


# --- the fleet file -----------------------------------------------------------------------

def test_the_providers_section_is_read() -> None:
    spec = fleet()
    assert spec.providers.any
    weights = dict(zip(spec.providers.mix.values, spec.providers.mix.cumulative, strict=True))
    assert [PROVIDER_KINDS[v] for v in weights] == ["none", "ott", "ovp"]
    assert spec.providers.anonymous == 0.25 and spec.providers.logged_in
    assert spec.ott.ks_validity == 3600 and spec.ott.any_user and spec.ovp.any_user
    # a platform named like a provider variant runs it; others say which, or documented
    assert [p.provider_variant for p in spec.platforms] == ["android", "ios", "android"]
    assert not fleet(FLEET.replace("  mix: {ott: 50%, ovp: 35%, none: 15%}\n", "")
                     ).providers.any


@pytest.mark.parametrize(("before", "after", "message"), [
    ("mix: {ott: 50%", "mix: {ottt: 50%",
     "p.fleet.yaml:14:8: providers.mix: keys are none, ott, ovp, not 'ottt'; did you mean "
     "'ott'?"),
    ("anonymous: 25%", "refresh_policy: soon",
     "p.fleet.yaml:15:19: providers.refresh_policy: must be android or ios, or a margin as "
     "a duration (5m), not 'soon'"),
    ("ott: {ks_validity: 1h", "ott: {ks_validity: 0s",
     "p.fleet.yaml:25:22: backend.ott.ks_validity: ks_validity must be positive, not 0.0"),
    ("tv: {share: 20%, backgrounds: false, provider_variant: android}",
     "tv: {share: 20%, provider_variant: andriod}",
     "p.fleet.yaml:12:40: accounts.platforms.tv.provider_variant: must be one of documented, "
     "android, ios, not 'andriod'; did you mean 'android'?"),
])
def test_mistakes_are_reported_where_they_are_written(before: str, after: str,
                                                      message: str) -> None:
    with pytest.raises(FleetFileError) as caught:
        fleet(FLEET.replace(before, after))
    assert str(caught.value) == message


def test_the_refresh_policy_can_be_swept() -> None:
    assert fleet(**{"providers.refresh_policy": "10m"}).providers.refresh_policy == \
        RefreshPolicy.custom(600)
    assert fleet(**{"ott.ks_validity": "2h"}).ott.ks_validity == 7200


# --- what a run counts -----------------------------------------------------------------------

def test_the_series_count_the_logins_and_refreshes_of_the_trace() -> None:
    result = reference()
    summary = result.summary()["providers"]
    started = [r for r in records(result, "session_started") if not r["data"].get("prior")]
    refreshed = records(result, "ks_refreshed") + records(result, "ks_renewed")
    assert summary["ott"]["logins"] + summary["ovp"]["logins"] == len(started) > 0
    for backend in ("ott", "ovp"):
        assert summary[backend]["ks_refreshes"] == \
            sum(1 for r in refreshed if r["data"]["backend"] == backend) > 0
    assert result.total("ks_refreshes") == len(refreshed)
    assert round(sum(result.per_minute()["ks_refreshes_per_second"]) * 60) == len(refreshed)
    # Every backend request arrived: the OTT link carried the logins, refreshes and loads.
    loads = records(result, "media_load_started")
    assert summary["ott"]["requests"] + summary["ovp"]["requests"] >= len(loads)


def test_devices_start_logged_in_and_log_in_again_after_a_kill() -> None:
    result = reference()
    prior = [r for r in records(result, "session_started") if r["data"].get("prior")]
    devices = {r["device"] for r in records(result, "device_added")}
    with_provider = {r["device"] for r in prior}
    assert with_provider and with_provider <= devices
    for r in prior:  # a session of uniform age: it expires within the KS validity
        data = r["data"]  # (the OVP widget session: the 24 h the SDK assumes)
        validity = 86400 if data["backend"] == "ovp" and data["anonymous"] else 3600
        assert r["t"] < data["expires_at"] <= r["t"] + validity
    relaunched = {r["device"] for r in records(result, "app_relaunched")}
    logged_in_again = {r["device"] for r in records(result, "session_started")
                       if not r["data"].get("prior")}
    assert logged_in_again and logged_in_again <= relaunched | with_provider


def test_an_ott_refresh_comes_when_the_time_left_is_at_most_the_delta() -> None:
    result = reference()
    delta: dict[str, float] = {}
    checked = 0
    events = [r for r in (json.loads(line) for line in result.sample)
              if r["kind"] in ("session_started", "ks_refreshed")]
    for r in events:
        data = r["data"]
        if data["backend"] != "ott":
            continue
        if r["kind"] == "session_started":
            delta[r["device"]] = data["refresh_delta"]
        else:
            assert data["time_left"] <= delta[r["device"]] + 1e-6
            checked += 1
    assert checked > 0


def test_a_fleet_without_providers_sends_nothing_to_the_kaltura_backends() -> None:
    result = run_fleet(fleet(FLEET.replace("  mix: {ott: 50%, ovp: 35%, none: 15%}\n", "")))
    summary = result.summary()["providers"]
    assert summary["ott"]["requests"] == summary["ovp"]["requests"] == 0
    assert result.total("logins") == result.total("ks_refreshes") == 0
    assert result.summary()["plays"] > 0


# --- determinism -------------------------------------------------------------------------------

@pytest.mark.parametrize("shards", [2, 3])
def test_any_split_gives_the_single_world_fingerprint(shards: int) -> None:
    result = run_fleet(fleet(), shards=shards, keep_accounts=40)
    assert result.fingerprint() == reference().fingerprint()
    assert result.sample == reference().sample


def test_one_and_two_workers_give_the_same_fingerprint() -> None:
    one = run_fleet(fleet(), workers=1, keep_accounts=40)
    two = run_fleet(fleet(), workers=2, keep_accounts=40)
    assert two.shards > 1
    assert one.fingerprint() == two.fingerprint() == reference().fingerprint()


def test_accounts_behave_the_same_in_a_small_and_a_large_fleet() -> None:
    few = run_fleet(fleet(**{"accounts.count": 4}), keep_accounts=4)
    mine = {f"a{i}" for i in range(4)}
    same = [line for line in reference().sample
            if json.loads(line)["device"].split("-")[0] in mine]
    assert few.sample == same
    assert any('"ks_refreshed"' in line or '"ks_renewed"' in line for line in few.sample)


# --- charts ------------------------------------------------------------------------------------

def test_the_chart_has_a_provider_panel_and_the_sweep_table_its_columns(
        tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="charts need player_sim[plot]")
    from player_sim.fleet._plot import fleet_figure, save_figure, sweep_html, sweep_rows

    figure = fleet_figure(reference())
    assert len(figure.axes) == 5  # four panels, the last with a twin axis
    labels = {line.get_label() for axis in figure.axes for line in axis.get_lines()}
    assert "OTT requests/s" in labels
    save_figure(figure, str(tmp_path / "fleet.png"))
    assert (tmp_path / "fleet.png").stat().st_size > 0
    rows = sweep_rows("seed", [("5", reference())])
    assert rows[0]["KS refreshes"] == reference().total("ks_refreshes")
    page = sweep_html("seed", [("5", reference())])
    assert "KS refreshes" in page and "<svg" in page


def test_the_readme_shows_the_ks_refresh_example_as_it_is() -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "ks_refresh.fleet.yaml"
    readme = (example.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "```yaml\n" + example.read_text(encoding="utf-8") + "```\n" in readme
    spec = fleet_from_text(example.read_text(encoding="utf-8"), str(example))
    assert spec.providers.any and spec.ott.ks_validity == 86400


def test_a_kill_during_a_login_does_not_stop_the_device_logging_in_again() -> None:
    # not logged in at the start: the app logs in when it first plays; a kill while that
    # login is on the wire loses its answer, and the relaunched app logs in again
    from player_sim import World
    from player_sim.fleet._population import Runner, households, make_viewers
    from player_sim.player import PlaybackState
    from player_sim.player import _events as ev

    spec = fleet(FLEET.replace("  anonymous: 25%\n", "  anonymous: 0%\n  logged_in: false\n")
                 .replace("mix: {ott: 50%, ovp: 35%, none: 15%}", "mix: {ott: 100%}"))
    world = World(spec.world_config, seed=spec.seed)
    viewer = next(make_viewers(Runner(spec, world), next(households(spec))))
    viewer.watching, viewer.stream = True, "channel-1"
    assert viewer._act(ev.Play("channel-1")) and viewer.logging_in
    device = viewer._device()
    device.kill()
    viewer._kill()
    world.run_for(1)  # the login's answer arrives for a provider that forgot it
    device.relaunch()
    viewer.watching = True
    viewer._act(ev.Play("channel-1"))
    world.run_for(2)
    assert device.core.playback is PlaybackState.PLAYING
