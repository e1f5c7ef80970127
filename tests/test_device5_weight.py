"""What an idle playing device no longer holds of its own (issue 17, round 5): the
config's empty mappings, the core's effects list between inputs, the heartbeat
timer's trace stamps when heartbeats are untraced. Each is shared, and nothing a
device does changes (the trace digests prove the traces unchanged)."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import attrs
import pytest

from player_sim import DeviceConfig, DocumentedAppPolicy, PlaybackState, World, WorldConfig
from player_sim.explore._coremodel import clone_core
from player_sim.player import PlayerCore
from player_sim.player import _events as ev
from player_sim.world._config import _NO_ENTRIES

SSM = "https://ssm.example/"


def _ssm_config(name: str = "d0", **fields: Any) -> DeviceConfig:
    return DeviceConfig(name=name, account="a", ssm_server_url=SSM, **fields)


def test_configs_not_given_mappings_share_one_empty_one() -> None:
    one, two = _ssm_config("d0"), _ssm_config("d1")
    assert one.request_timeouts is two.request_timeouts is _NO_ENTRIES
    assert one.variants is two.variants is _NO_ENTRIES
    assert one.variants == {} and one.request_timeouts == {} and not one.variants
    assert one == attrs.evolve(_ssm_config("d0", variants={}, request_timeouts={}))
    assert repr(one) == repr(_ssm_config("d0", variants={}, request_timeouts={}))
    assert json.dumps(one.variants) == "{}"
    assert attrs.asdict(one)["variants"] == {}


@pytest.mark.parametrize("change", [
    lambda m: m.__setitem__("drm", "fairplay"),
    lambda m: m.__delitem__("drm"),
    lambda m: m.update(drm="fairplay"),
    lambda m: m.setdefault("drm", "fairplay"),
    lambda m: m.pop("drm"),
    lambda m: m.popitem(),
    lambda m: m.clear(),
])
def test_the_shared_empty_mapping_refuses_changes(change: Any) -> None:
    config = _ssm_config()
    with pytest.raises(TypeError, match="every DeviceConfig shares"):
        change(config.variants)
    with pytest.raises(TypeError):
        config.request_timeouts |= {"setup": 1.0}  # type: ignore[misc]
    assert _NO_ENTRIES == {} and _ssm_config("d1").variants is _NO_ENTRIES


def test_the_shared_empty_mapping_pickles_and_copies_as_itself() -> None:
    config = _ssm_config()
    for again in (pickle.loads(pickle.dumps(config)), copy.deepcopy(config), copy.copy(config)):
        assert again == config
        assert again.variants is _NO_ENTRIES and again.request_timeouts is _NO_ENTRIES


def test_a_mapping_given_is_kept_and_used() -> None:
    timeouts = {"setup": 0.5}
    variants = {"drm": "fairplay"}
    config = _ssm_config(request_timeouts=timeouts, variants=variants)
    assert config.request_timeouts is timeouts and config.variants is variants
    world = World(WorldConfig(), seed=1)
    device = world.add_device(config)
    assert device._timeouts is timeouts
    assert device.core.config.variants.drm == "fairplay"
    with pytest.raises(Exception, match="no call"):  # still checked, shared default or not
        _ssm_config(request_timeouts={"zap": 1.0})


def test_a_core_holds_the_shared_empty_tuple_between_inputs() -> None:
    one, two = PlayerCore(), PlayerCore()
    assert one._effects == () and one._effects is two._effects
    seen: list[object] = []

    class Watching(PlayerCore):
        __slots__ = ()

        def _effects_since(self, app: Any, playback: Any) -> tuple[ev.Effect, ...]:
            seen.append(type(self._effects))  # a list to gather in, during the input
            return super()._effects_since(app, playback)

    watching = Watching()
    effects = watching.feed(ev.Play("channel-1"))
    assert seen == [list] and effects and watching._effects is one._effects
    assert one.feed(ev.Play("channel-1")) == effects  # the shared () never collected any


def test_a_clone_and_its_original_gather_their_effects_apart() -> None:
    core = PlayerCore()
    core.feed(ev.Play("channel-1"))
    clone = clone_core(core)
    assert clone._effects is core._effects == ()
    stopped = clone.feed(ev.Stop())
    assert stopped and core._effects == () and clone._effects == ()
    assert core.feed(ev.Stop()) == stopped  # the original, untouched by the clone's input


@pytest.mark.parametrize("traced", [False, True])
def test_untraced_heartbeat_timers_share_stamps_never_filled(traced: bool) -> None:
    world = World(WorldConfig(trace_heartbeats=traced), seed=1)
    for index in range(3):
        world.add_device(DeviceConfig(name=f"d{index}", account=f"a{index}",
                                      ssm_server_url=SSM)).play("channel-1")
    world.run_for(5)  # playing, the first heartbeat armed
    stamps = [device._heartbeat_timer[2] for device in world.devices]
    assert all(d.core.playback is PlaybackState.PLAYING for d in world.devices)
    assert (len({id(s) for s in stamps}) == 1) is not traced
    world.run_for(40)  # every device sent a heartbeat, answered
    assert all(d._heartbeats_sent >= 1 for d in world.devices)
    assert [device._heartbeat_timer[2] for device in world.devices] == stamps
    assert all((s.trace is world.trace) is traced for s in stamps)
    assert sum(r.kind == "heartbeat_sent" for r in world.trace) == (3 if traced else 0)


def _fleet(traced: bool) -> World:
    """Four devices: two play on, one zaps, one is killed and relaunched to play again."""
    world = World(WorldConfig(trace_heartbeats=traced), seed=3)
    devices = [world.add_device(DeviceConfig(name=f"d{index}", account=f"a{index}",
                                             ssm_server_url=SSM)) for index in range(4)]
    for device in devices:
        device.play("channel-1")
    world.run_for(45)
    devices[2].zap("channel-2")
    devices[3].kill()
    world.run_for(5)
    devices[3].relaunch()
    devices[3].play("channel-1")
    world.run_for(100)
    return world


def test_untraced_devices_at_the_same_playback_share_one_heartbeat_timer() -> None:
    world = _fleet(traced=False)
    timers = [device._heartbeat_timer for device in world.devices]
    assert timers[0] is timers[1]  # playback 1 of launch 0, both
    assert timers[2] is not timers[0] and timers[2][0].playback_id == 2
    assert timers[3] is not timers[0] and timers[3][1] == 1  # the relaunched app's
    traced = [device._heartbeat_timer for device in _fleet(traced=True).devices]
    assert len({id(timer) for timer in traced}) == 4  # a traced device's is its own
    assert [t[:2] for t in traced] == [t[:2] for t in timers]


def test_a_shared_timer_beats_as_a_device_s_own_did() -> None:
    """Stale timers (the zapped playback's, the killed app's) still fire into nothing:
    each device sends the heartbeats a traced one (timers of its own) sends."""
    untraced, traced = _fleet(traced=False), _fleet(traced=True)
    sent = [device._heartbeats_sent for device in untraced.devices]
    assert sent == [device._heartbeats_sent for device in traced.devices]
    assert sent == [sum(r.kind == "heartbeat_sent" and r.device == device.name
                        for r in traced.trace) for device in traced.devices]
    assert sent[0] >= 4 and sent[3] >= 3


@pytest.mark.parametrize("profile", ["documented", "ios", "android", "web"])
def test_a_core_config_works_out_what_the_core_reads_of_its_variants(profile: str) -> None:
    from player_sim.player import CoreConfig
    from player_sim.player._variants import SsmVariants

    for overrides in ({}, {"ssm_version": "v2", "after_heartbeat_error": "keep-heartbeating",
                           "heartbeat_start": "after-license-answer"}):
        variants = SsmVariants.of(profile, overrides)  # type: ignore[arg-type]
        config = CoreConfig(variants=variants)
        read = (config._keeps_heartbeating, config._skips_late_teardown,
                config._heartbeat_after_license, config._error_numbering, config._v2)
        assert read == (variants.after_heartbeat_error == "keep-heartbeating",
                        variants.stop_during_setup == "skip-teardown",
                        variants.heartbeat_start == "after-license-answer",
                        variants.error_numbering, variants.ssm_version == "v2")
        for again in (pickle.loads(pickle.dumps(config)), attrs.evolve(config, pip_enabled=True)):
            assert (again._keeps_heartbeating, again._skips_late_teardown,
                    again._heartbeat_after_license, again._error_numbering, again._v2) == read
        assert repr(config).count("_v2") == 0 and config == CoreConfig(variants=variants)
    assert attrs.evolve(CoreConfig(), variants=SsmVariants.of(profile, {"ssm_version": "v2"})
                        )._v2 is True


def test_a_core_keeps_no_slot_of_what_its_config_works_out() -> None:
    derived = {"_keeps_heartbeating", "_skips_late_teardown", "_heartbeat_after_license",
               "_error_numbering", "_v2"}
    assert not derived & set(PlayerCore.__slots__)


def test_state_changed_notices_are_made_once_per_move_and_shared() -> None:
    one, two = PlayerCore(), PlayerCore()
    first, second = one.feed(ev.Play("channel-1")), two.feed(ev.Play("channel-2"))
    moved = [e for e in first if isinstance(e, ev.Notify) and e.kind == "state_changed"]
    again = [e for e in second if isinstance(e, ev.Notify) and e.kind == "state_changed"]
    assert moved and all(a is b for a, b in zip(moved, again, strict=True))
    assert moved[0] == ev.Notify("state_changed", tuple(sorted({
        "app": "foreground", "app_from": "foreground",
        "playback": one.playback.value, "playback_from": "idle"}.items())))
    stopped = one.feed(ev.Stop())
    changed = [e for e in stopped if isinstance(e, ev.Notify) and e.kind == "state_changed"]
    assert changed and changed[-1].payload()["playback"] == one.playback.value
    assert changed[-1] is not moved[0]


def test_the_device_added_variants_follow_each_device_s_own() -> None:
    from player_sim.world._device_base import as_dict, variants_fields

    plain = _ssm_config("d0").ssm_variants
    ios = DeviceConfig(name="d1", account="a", profile="ios").ssm_variants
    for variants in (plain, ios, ios, plain, ios):
        fields = variants_fields(variants)
        assert fields == as_dict(variants) and fields is not variants_fields(variants)
    assert variants_fields(plain) != variants_fields(ios)


def test_a_device_reads_its_sdk_model_and_variants_from_its_configs() -> None:
    from player_sim import SdkModel
    from player_sim.world._device_base import _DeviceBase

    assert not {"_sdk", "_variants"} & set(_DeviceBase.__slots__)
    world = World(WorldConfig(), seed=1)
    model = SdkModel()
    plain = world.add_device(_ssm_config("d0"))
    modelled = world.add_device(_ssm_config("d1", sdk=model, variants={"drm": "playready"}))
    assert plain._sdk is None and modelled._sdk is model is modelled.config.sdk
    assert modelled._variants is modelled.core.config.variants
    assert modelled._variants.drm == "playready" and plain._variants.drm != "playready"


def test_the_documented_app_answers_unhooked_kinds_with_nothing() -> None:
    """What lets a device skip asking it: every kind but the four hooked ones."""
    from player_sim import signals
    from player_sim.world._device_app import _HOOKED_KINDS

    core = PlayerCore()
    assert set(signals.ALL_SIGNALS) > _HOOKED_KINDS
    for kind in set(signals.ALL_SIGNALS) - _HOOKED_KINDS:
        assert DocumentedAppPolicy().on_notification(core, kind, {"stream": "s"}) == ()


_ASKED: list[str] = []


@attrs.frozen
class _OnlyItsErrors(DocumentedAppPolicy):  # an error hook of its own: still not asked
    def on_license_error(self, player: Any, payload: Any) -> tuple[ev.Action, ...]:
        _ASKED.append("license_error")
        return ()


@attrs.frozen
class _Counting(DocumentedAppPolicy):
    def on_other_notification(self, player: Any, kind: str, payload: Any
                              ) -> tuple[ev.Action, ...]:
        _ASKED.append(kind)
        return (ev.Stop(),) if kind == "playback_started" else ()


def test_an_app_is_asked_unless_it_is_the_documented_one_on_those_kinds() -> None:
    from player_sim.world._device_app import _quiet_on_unhooked_kinds

    assert _quiet_on_unhooked_kinds(DocumentedAppPolicy)
    assert _quiet_on_unhooked_kinds(_OnlyItsErrors)
    assert not _quiet_on_unhooked_kinds(_Counting)
    _ASKED.clear()
    world = World(WorldConfig(), seed=1)
    quiet = world.add_device(DeviceConfig(name="q", account="a0", ssm_server_url=SSM,
                                          policy=_OnlyItsErrors()))
    counting = world.add_device(DeviceConfig(name="c", account="a1", ssm_server_url=SSM,
                                             policy=_Counting()))
    quiet.play("channel-1")
    counting.play("channel-1")
    world.run_for(10)
    assert _ASKED.count("state_changed") >= 3 and "playback_started" in _ASKED
    assert quiet.core.playback is PlaybackState.PLAYING
    assert counting.core.playback is not PlaybackState.PLAYING  # its answer was applied


def test_playback_started_notices_are_made_once_per_stream_and_shared() -> None:
    def started(core: PlayerCore, stream: str) -> ev.Notify:
        effects = core.feed(ev.Play(stream))
        effects += core.feed(ev.LicenseAnswered(core.playback_id, True, 200))
        [notice] = [e for e in effects if isinstance(e, ev.Notify)
                    and e.kind == "playback_started"]
        return notice

    from player_sim.player import CoreConfig

    # Without SSM nor a session provider, a play goes straight to the license request.
    one, two, three = (PlayerCore(CoreConfig(uses_ssm=False)) for _ in range(3))
    first, again = started(one, "channel-1"), started(two, "channel-1")
    other = started(three, "channel-9")
    assert first is again and first == ev.Notify("playback_started", (("stream", "channel-1"),))
    assert other.payload() == {"stream": "channel-9"} and other is not first


def test_heartbeating_cores_of_one_playback_share_one_heartbeat_arm() -> None:
    world = World(WorldConfig(), seed=3)
    devices = world.add_devices([DeviceConfig(name=f"d{i}", account=f"a{i}", ssm_server_url=SSM)
                                 for i in range(3)], play="channel-1")
    world.run_for(45)  # past each device's first heartbeat (a 30 s period)
    arms = [d.core._heartbeat_arm for d in devices]
    assert all(d.core.playback is PlaybackState.PLAYING for d in devices)
    assert arms[0] is arms[1] is arms[2]
    assert arms[0] == ev.ArmHeartbeat(devices[0].core.playback_id,
                                      devices[0].core.heartbeat_period)
    devices[0].zap("channel-1")  # a new playback id: its own arm, the others' unchanged
    world.run_for(45)
    assert devices[0].core._heartbeat_arm.playback_id == devices[0].core.playback_id
    assert devices[0].core._heartbeat_arm is not arms[1]
    assert devices[1].core._heartbeat_arm is arms[1]
