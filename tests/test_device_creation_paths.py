"""A device finds its shared core configuration by its config's fields; the same one."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest

from player_sim import DeviceConfig
from player_sim._messages import SsmAnswer
from player_sim.player import CoreConfig
from player_sim.player import _events as ev
from player_sim.world import _device_base
from player_sim.world._device_base import _shared_core_config

SSM = "https://ssm.example/"

_CONFIGS: list[dict[str, Any]] = [
    dict(zip(("ssm_server_url", "sync_ssm_setup_teardown", "pip", "profile", "variants"),
             values, strict=True))
    for values in itertools.product(
        [SSM, None], [False, True], [False, True], ["documented", "ios", "web"],
        [{}, {"heartbeat_start": "after-license-answer"},
         {"heartbeat_start": "after-license-answer", "ssm_version": "v2"}])]


@pytest.fixture(autouse=True)
def _empty_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with nothing shared yet."""
    monkeypatch.setattr(_device_base, "_shared_core_configs", {})
    monkeypatch.setattr(_device_base, "_core_configs_by_inputs", {})


def test_the_shared_configuration_is_the_one_the_config_builds() -> None:
    for round_ in range(2):  # built and looked up by value, then found by the inputs
        for index, fields in enumerate(_CONFIGS):
            config = DeviceConfig(name=f"d{round_}-{index}", account="a", **fields)
            assert _shared_core_config(config) == config.core_config()
    assert len(_device_base._core_configs_by_inputs) == len(_CONFIGS)


def test_configs_alike_share_one_whatever_their_variants_order() -> None:
    first = DeviceConfig(name="a", account="x", variants={"heartbeat_start": "after-license-answer",
                                             "ssm_version": "v2"})
    second = DeviceConfig(name="b", account="x", variants={"ssm_version": "v2",
                                              "heartbeat_start": "after-license-answer"})
    assert _shared_core_config(first) is _shared_core_config(second)
    assert _shared_core_config(second) is _shared_core_config(first)


def test_a_subclass_builds_its_own_way() -> None:
    @attrs.frozen
    class Tuned(DeviceConfig):
        def core_config(self, *, has_session_provider: bool | None = None) -> CoreConfig:
            return attrs.evolve(super().core_config(has_session_provider=has_session_provider),
                                pip_enabled=True)

    plain = DeviceConfig(name="a", account="x")
    tuned = Tuned(name="b", account="x")
    assert _shared_core_config(plain).pip_enabled is False
    assert _shared_core_config(tuned).pip_enabled is True
    assert _shared_core_config(plain).pip_enabled is False


def test_a_full_table_still_gives_the_right_configuration(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_device_base, "_SHARED_CORE_CONFIGS_MAX", 1)
    first = DeviceConfig(name="a", account="x")
    second = DeviceConfig(name="b", account="x", pip=True)
    assert _shared_core_config(first) is _shared_core_config(DeviceConfig(name="c", account="x"))
    assert _shared_core_config(second) == second.core_config()
    assert _shared_core_config(second) is not _shared_core_config(second)


def test_the_device_added_variants_are_a_new_dict_equal_to_asdict(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_device_base, "_variants_fields", {})
    for fields in _CONFIGS:
        variants = DeviceConfig(name="d", account="a", **fields).ssm_variants
        first, second = _device_base.variants_fields(variants), \
            _device_base.variants_fields(variants)
        assert first == second == attrs.asdict(variants) == variants.as_dict()
        assert first is not second
        first["drm"] = "changed"  # a record's dict is its own
        assert _device_base.variants_fields(variants) == attrs.asdict(variants)


def _answered_the_general_way(answer: Any, request_id: int | None) -> dict[str, Any]:
    data = attrs.asdict(answer)
    del data["playback_id"]
    if request_id is not None:
        data["request_id"] = request_id
    return _device_base._flatten(data)


_SSM_ANSWERS = [SsmAnswer(200, None, "", "tok-1", 30.0), SsmAnswer(200),
                SsmAnswer(403, 1007, "too many sessions"), SsmAnswer(0, None, "timed out"),
                SsmAnswer(200, None, "ok", None, 10)]


@pytest.mark.parametrize("request_id", [None, 7])
def test_answers_read_field_by_field_trace_as_asdict_flattened(request_id: int | None) -> None:
    @attrs.frozen
    class Noted(ev.SetupAnswered):
        note: str = "x"

    answers: list[Any] = [
        *(kind(3, ssm) for kind in (ev.SetupAnswered, ev.TeardownAnswered)
          for ssm in _SSM_ANSWERS),
        *(ev.LicenseAnswered(3, granted, status, code, message, token)
          for granted, status, code, message, token in itertools.product(
              [True, False], [200, 403], [None, 4001], ["", "denied"], [None, "lic-tok"])),
        Noted(3, _SSM_ANSWERS[0]),
    ]
    for answer in answers:
        fast = _device_base._answered_fields(answer, request_id)
        general = _answered_the_general_way(answer, request_id)
        assert fast == general
        assert list(fast) == list(general)  # the record's keys, in the trace's order
