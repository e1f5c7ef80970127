"""A dict of scalars in a field that may hold an object is kept once per trace, frozen:
every device configured alike writes an equal ``device_added`` ``variants``. Neither
the dict written nor a record read can change what the trace holds."""

from __future__ import annotations

import pickle
from typing import Any

from player_sim import DeviceConfig, World
from player_sim.trace import Trace, TraceRecord

_VARIANTS = {"drm": "widevine", "sync_setup_cap": None, "retries": 3, "pip": True}


def _added(trace: Trace, device: str, variants: Any, **more: Any) -> None:
    trace.write(0.0, device, "device_added", None, None,
                {"account": "a", "ssm": True, "sync": False, "variants": variants, **more},
                None)


def test_equal_variants_are_kept_once_and_read_back_as_new_dicts() -> None:
    trace = Trace()
    written = [dict(_VARIANTS) for _ in range(3)]
    for number, variants in enumerate(written):
        _added(trace, f"device-{number}", variants)
    assert len(trace._frozen) == 1
    assert trace._values[3] is trace._values[7] is trace._values[11]
    first, again = trace[0], trace[0]
    assert first.data["variants"] == _VARIANTS and type(first.data["variants"]) is dict
    assert first.data["variants"] is not again.data["variants"]
    assert list(first.data["variants"]) == list(_VARIANTS)  # in the order written
    first.data["variants"]["drm"] = "fairplay"  # a record read is a value
    written[1]["drm"] = "playready"  # and so is the dict written, once written
    assert [r.data["variants"] for r in trace] == [_VARIANTS] * 3
    assert [r.device for r in trace.of_kind("device_added")] == [
        "device-0", "device-1", "device-2"]


def test_only_dicts_of_exact_scalars_are_frozen_and_the_json_is_the_same() -> None:
    class Name(str):
        pass

    odd: list[Any] = [{"fraction": 0.5}, {"a": 1}, {"a": True}, {"a": {"b": "c"}},
                      {"a": Name("x")}, {"a": [1]}, {1: "a"}, None, "text", {}]
    trace, plain = Trace(), []
    for number, variants in enumerate(odd):
        _added(trace, f"device-{number}", variants)
        plain.append(TraceRecord(0.0, f"device-{number}", "device_added", None, None,
                                 {"account": "a", "ssm": True, "sync": False,
                                  "variants": variants}))
    assert list(trace) == plain
    assert [r.to_json() for r in trace] == [r.to_json() for r in plain]
    assert '"variants":{"a":true}' in trace[2].to_json()  # not merged with {"a": 1}
    assert len(trace._frozen) == 3  # {"a": 1}, {"a": True} and {}
    kept_as_written = [trace[i].data["variants"] for i in (0, 3, 4, 5, 6)]
    assert all(got is odd[i] for got, i in zip(kept_as_written, (0, 3, 4, 5, 6), strict=True))


def test_a_dict_in_a_field_that_holds_no_object_is_kept_as_written() -> None:
    trace = Trace()
    account: Any = {"x": "y"}  # not what the kind declares, but a record may say it
    _added(trace, "phone", dict(_VARIANTS), refresh_policy={"margin": 30})
    trace.write(1.0, "phone", "device_added", None, None, {"account": account}, None)
    assert trace[1].data["account"] is account
    assert trace[0].data["refresh_policy"] == {"margin": 30}
    assert type(trace[0].data["refresh_policy"]) is dict


def test_records_with_objects_take_write_not_a_stamp_and_pickle() -> None:
    trace = Trace()
    names = ("account", "ssm", "sync", "variants")
    assert trace.stamp("phone", "device_added", None, None, None, names) is None
    assert trace.stamp("phone", "device_added", None, None, None, names) is None
    assert trace.stamp("phone", "device_added", None, None, None, names[:3]) is not None
    _added(trace, "phone", dict(_VARIANTS))
    _added(trace, "tv", dict(_VARIANTS))
    again = pickle.loads(pickle.dumps(trace))
    assert list(again) == list(trace) and again.to_jsonl() == trace.to_jsonl()
    _added(again, "radio", dict(_VARIANTS))
    assert len(again._frozen) == 1


def test_a_world_of_devices_alike_keeps_one_variants() -> None:
    world = World(seed=1)
    for name in ("a", "b", "c"):
        world.add_device(DeviceConfig(name=name, account="x",
                                      ssm_server_url="https://ssm.example/"))
    world.add_device(DeviceConfig(name="d", account="x", ssm_server_url="https://ssm.example/",
                                  sync_ssm_setup_teardown=True))
    added = world.trace.of_kind("device_added")
    assert len(added) == 4 and len(world.trace._frozen) == 1
    assert Trace.from_jsonl(world.trace.to_jsonl()).to_jsonl() == world.trace.to_jsonl()
