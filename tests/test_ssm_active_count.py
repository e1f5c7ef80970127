"""The SSM server's count of an account's live sessions (``_active_count``, which
skips looking at the sessions while none of them can have expired) is always
``len(active_sessions(account))``: through setups, heartbeats, teardowns, kills
left to expire, and at the very instant a session expires, before its expiry
check has ended it."""

from __future__ import annotations

from player_sim import DeviceConfig, SsmConfig, World, WorldConfig

SSM = "https://ssm.example/"


def test_the_count_of_live_sessions_matches_the_list_at_every_moment() -> None:
    world = World(WorldConfig(ssm=SsmConfig(max_sessions_per_account=8,
                                            heartbeat_period=30.0)), seed=3)
    ssm = world.ssm
    seen: list[tuple[float, int]] = []

    def probe(_: object) -> None:
        for account in ("a", "b"):
            expected = len(ssm.active_sessions(account))
            assert ssm._active_count(account) == expected, (world.now, account)
        seen.append((world.now, len(ssm.active_sessions("a"))))

    # Probes at 0.01 s steps, scheduled first: at an expiry instant they run before the
    # server's expiry check (same time, earlier sequence), with the session expired
    # but still held.
    for step in range(0, 30_000):
        world.schedule_at(step / 100, probe, None)
    devices = [world.add_device(DeviceConfig(name=f"d{i}", account="a" if i < 6 else "b",
                                             ssm_server_url=SSM)) for i in range(8)]
    for device in devices:
        device.play("channel-1")
    world.run_until(5.0)
    devices[0].kill()  # its session is left to expire (a zombie)
    devices[1].stop()  # torn down
    world.run_until(40.0)
    devices[2].kill()
    devices[3].zap("channel-2")
    world.run_until(120.0)
    devices[0].relaunch()
    devices[0].play("channel-3")
    world.run_until(300.0)
    counts = {count for _, count in seen}
    assert len(counts) >= 3  # the count moved: setups, teardowns, expiries were seen
    assert any(n == 0 for _, n in seen[:1])
