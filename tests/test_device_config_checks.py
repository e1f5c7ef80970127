"""A DeviceConfig is checked in full once per shape, its name and account every time:
whatever was checked before, a config is refused exactly when, and as, it would be
checked from scratch."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from player_sim import ConfigError, DeviceConfig, DocumentedAppPolicy
from player_sim.player import AppPolicy
from player_sim.world import _config

SSM = "https://ssm.example/"


@pytest.fixture(autouse=True)
def _nothing_checked_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_config, "_checked_shapes", set())


def _refusal(**fields: Any) -> str | None:
    """The message building ``fields`` raises, or ``None`` if it is accepted."""
    try:
        DeviceConfig(**fields)
    except ConfigError as error:
        return str(error)
    return None


def _from_scratch(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> str | None:
    with monkeypatch.context() as patch:
        patch.setattr(_config, "_checked_shapes", set())
        return _refusal(**fields)


#: (a config that passes, the same with one field a value that is equal or alike but
#: fails): the first primes the shapes, the second must still be refused.
_TWINS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"pip": True}, {"pip": 1}),
    ({"pip": False}, {"pip": 0}),
    ({"sync_ssm_setup_teardown": True}, {"sync_ssm_setup_teardown": 1.0}),
    ({"app_reaction_delay": 1}, {"app_reaction_delay": True}),
    ({"app_reaction_delay": 0.5}, {"app_reaction_delay": float("nan")}),
    ({"request_timeouts": {"setup": 1}}, {"request_timeouts": {"setup": True}}),
    ({"request_timeouts": {"setup": 1.0}}, {"request_timeouts": {"setup": 0}}),
    ({"variants": {"drm": "playready"}}, {"variants": {"drm": ["playready"]}}),
    ({"variants": {"sync_setup_cap": 5}}, {"variants": {"sync_setup_cap": True}}),
    ({"variants": {}}, {"variants": {"no_such_variant": 1}}),
    ({"profile": "ios"}, {"profile": "iOS"}),
    ({"ssm_server_url": SSM}, {"ssm_server_url": "ftp://ssm.example/"}),
    ({}, {"name": ""}),
    ({}, {"account": "  "}),
    ({}, {"name": 7}),
    ({}, {"policy": object()}),
    ({}, {"media": object()}),
    ({}, {"request_timeouts": [("setup", 1.0)]}),
]


@pytest.mark.parametrize(("good", "bad"), _TWINS)
def test_a_config_checked_before_lets_no_other_through(
        monkeypatch: pytest.MonkeyPatch, good: dict[str, Any], bad: dict[str, Any]) -> None:
    base = {"name": "d", "account": "a", "ssm_server_url": SSM}
    assert _refusal(**{**base, **good}) is None
    assert _refusal(**{**base, **good}) is None  # the fast path, this time
    expected = _from_scratch(monkeypatch, **{**base, **bad})
    assert expected is not None
    assert _refusal(**{**base, **bad}) == expected


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the fields checked from now on, in order."""
    checked: list[str] = []

    def counted(check: Any) -> Any:
        def run(instance: Any, field: Any, value: Any) -> None:
            checked.append(field.name)
            check(instance, field, value)
        return run

    monkeypatch.setattr(_config, "_DEVICE_CHECKS",
                        [(f, counted(c)) for f, c in _config._DEVICE_CHECKS])
    return checked


def test_configs_alike_are_checked_once_and_equal_either_way(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = _config._DEVICE_CHECKS
    checked = _count_checks(monkeypatch)
    first = DeviceConfig(name="d1", account="a", ssm_server_url=SSM, variants={"drm": "fairplay"})
    assert len(checked) == len(real)
    checked.clear()
    second = DeviceConfig(name="d2", account="b", ssm_server_url=SSM,
                          variants={"drm": "fairplay"})
    assert checked == ["name", "account"]
    assert attrs.evolve(second, name="d1", account="a") == first
    assert len(_config._checked_shapes) == 1


def test_what_a_shape_cannot_stand_for_is_checked_in_full(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = _config._DEVICE_CHECKS
    checked = _count_checks(monkeypatch)

    @attrs.frozen
    class Mine(DeviceConfig):
        pass

    for _ in range(2):
        Mine(name="d", account="a")
        assert len(checked) == len(real)
        checked.clear()
    for _ in range(2):  # a provider, media or SDK set: in full each time
        with pytest.raises(ConfigError):
            DeviceConfig(name="d", account="a", media=object())  # type: ignore[arg-type]
        assert checked[-1] == "media"
    assert not _config._checked_shapes


def test_disabled_validators_check_nothing() -> None:
    with attrs.validators.disabled():
        config = DeviceConfig(name="", account="a", pip=1)  # type: ignore[arg-type]
    assert config.pip == 1


def test_the_shapes_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_config, "_CHECKED_SHAPES_MAX", 2)
    for delay in range(5):
        DeviceConfig(name="d", account="a", app_reaction_delay=delay)
    assert len(_config._checked_shapes) == 2
    assert _refusal(name="d", account="a", app_reaction_delay=-1) is not None


def test_every_config_not_given_an_app_shares_the_documented_one() -> None:
    first, second = DeviceConfig(name="a", account="x"), DeviceConfig(name="b", account="x")
    assert first.policy is second.policy
    assert type(first.policy) is DocumentedAppPolicy
    assert first.policy == DocumentedAppPolicy()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        first.policy.zap_on_heartbeat_error = False  # type: ignore[misc]
    own: AppPolicy = DocumentedAppPolicy(zap_on_heartbeat_error=False)
    assert DeviceConfig(name="c", account="x", policy=own).policy is own
