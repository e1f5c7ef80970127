"""The app policy's answers reach the device whatever sequence they come as, and a
notification's actions come before the background's (issue 17, round 4: the device
no longer copies every answer into a new list)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from player_sim import DeviceConfig, World, WorldConfig
from player_sim.player import AppPolicy, PlayerView
from player_sim.player import _events as ev

SSM = "https://ssm.example/"


class _Policy(AppPolicy):
    """Asks for a resume in the notification of going to the background (a tuple),
    and for a stop from ``on_background`` (a generator)."""

    def on_notification(self, player: PlayerView, kind: str,
                        payload: Any) -> Sequence[ev.Action]:
        if kind == "state_changed" and payload["app"] == "background":
            return (ev.Resume(),)
        return ()

    def on_background(self, player: PlayerView) -> Sequence[ev.Action]:
        def actions() -> Iterator[ev.Action]:
            yield ev.Stop()
        return actions()  # type: ignore[return-value]


def test_the_notification_s_actions_then_the_background_s_are_applied() -> None:
    world = World(WorldConfig(), seed=1)
    phone = world.add_device(DeviceConfig(name="phone", account="a", ssm_server_url=SSM,
                                          policy=_Policy(), app_reaction_delay=1.0))
    phone.play("c1")
    world.run_for(5)
    phone.enter_background()
    world.run_for(5)
    acted = [(r.t, r.data["name"]) for r in world.trace
             if r.kind == "action" and r.data["origin"] == "app"]
    assert acted == [(6.0, "resume"), (6.0, "stop")]
