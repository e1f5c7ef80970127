"""Randomness by stable key (ARCHITECTURE.md, principle 10) and the FIFO network.

Every random draw and generated id of a world comes from a stream keyed by
(seed, device or account), so one account's devices behave the same whether the
account runs alone or among many others; and the network keeps one device's
messages on one link in order, whatever the jitter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import pytest

from player_sim import DeviceConfig, NetworkConfig, SsmConfig, World, WorldConfig
from player_sim._keyed import IdMint, KeyedRandom, derive_seed
from player_sim.backends import OttConfig
from player_sim.providers import OttSessionProvider, PhoenixMediaProvider
from player_sim.trace import Trace

SSM_URL = "https://ssm.example/"
OTT_URL = "https://phoenix.example/api_v3/"
OTHERS = [f"acct{i}" for i in range(12)]
#: The same configuration for the account alone and in the crowd: jitter on.
CONFIG = WorldConfig(ssm=SsmConfig(max_sessions_per_account=3),
                     network=NetworkConfig(latency=0.05, jitter=0.3),
                     ott=OttConfig(users={f"user-{a}": "pw" for a in ["alice", *OTHERS]}))

Step = tuple[float, Callable[[World], None]]


def _account(account: str, start: float) -> list[Step]:
    """What one account's three devices do, from ``start``: plays, a teardown-first
    zap, background, a kill and relaunch, and an OTT login with a KS-backed playback."""
    phone, tablet, tv = f"{account}-phone", f"{account}-tablet", f"{account}-tv"

    def add(w: World) -> None:
        w.add_device(DeviceConfig(name=phone, account=account, ssm_server_url=SSM_URL,
                                  async_zap_order="teardown-first"))
        w.add_device(DeviceConfig(name=tablet, account=account, ssm_server_url=SSM_URL))
        w.add_device(DeviceConfig(name=tv, account=account, ssm_server_url=SSM_URL,
                                  session_provider=OttSessionProvider(OTT_URL, 3009),
                                  media=PhoenixMediaProvider()))

    def relaunch(w: World) -> None:
        w.device(phone).relaunch()
        w.device(phone).play("c1")

    return [(start, add),
            (start, lambda w: w.device(phone).play("c1")),
            (start, lambda w: w.device(tv).login(f"user-{account}", "pw")),
            (start + 1, lambda w: w.device(tablet).play("c2")),
            (start + 2, lambda w: w.device(tv).play("c3")),
            (start + 40, lambda w: w.device(phone).zap("c4")),
            (start + 70, lambda w: w.device(tablet).enter_background()),
            (start + 100, lambda w: w.device(phone).kill()),
            (start + 130, lambda w: w.device(tablet).enter_foreground()),
            (start + 200, relaunch),
            (start + 230, lambda w: w.device(tv).zap("c5"))]


def _run(scripts: list[list[Step]], *, seed: int, until: float = 600.0) -> World:
    """Run the scripts' steps in time order (a script's own steps keep their order)."""
    world = World(CONFIG, seed=seed)
    steps = sorted((t, i, n, act) for i, script in enumerate(scripts)
                   for n, (t, act) in enumerate(script))
    for t, _, _, act in steps:
        world.run_until(t)
        act(world)
    world.run_until(until)
    return world


def _of(world: World, account: str) -> str:
    """The records of ``account``'s devices, as JSONL."""
    return Trace(r for r in world.trace
                 if r.device is not None and r.device.startswith(f"{account}-")).to_jsonl()


def _alice_in_a_crowd(seed: int) -> World:
    before = [_account(a, start) for a, start in zip(OTHERS[:6], [0, 0, 3, 10, 10, 25],
                                                      strict=True)]
    after = [_account(a, start) for a, start in zip(OTHERS[6:], [10, 10, 11, 40, 60, 100],
                                                     strict=True)]
    return _run([*before, _account("alice", 10), *after], seed=seed)


def _tokens(world: World) -> list[str]:
    """Every token and id the backends issued, in trace order."""
    ids = []
    for r in world.trace:
        if r.kind == "ssm_setup_answered" and r.data["token"] is not None:
            ids.append(r.data["token"])
        elif r.kind == "ks_issued":
            ids.append(r.data["ks"])
    return ids


# --- (a) one account alone or in a crowd -------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 7])
def test_an_account_behaves_the_same_alone_and_among_many_others(seed: int) -> None:
    alone = _run([_account("alice", 10)], seed=seed)
    crowd = _alice_in_a_crowd(seed)
    mine = _of(alone, "alice")
    assert mine == _of(crowd, "alice")
    # the run is not trivial: jittered traffic, rotated tokens, a KS, a zombie, a relaunch
    kinds = {r.kind for r in alone.trace}
    assert {"ssm_heartbeat", "ks_issued", "app_killed", "app_relaunched", "zap"} <= kinds
    assert len(crowd.trace) > 10 * len(alone.trace)


# --- (b) same seed, same trace; another seed, other tokens -------------------------------------

def test_the_same_seed_gives_a_byte_identical_trace() -> None:
    assert _alice_in_a_crowd(5).trace.to_jsonl() == _alice_in_a_crowd(5).trace.to_jsonl()


def test_another_seed_gives_other_tokens_and_other_timing() -> None:
    one, two = _alice_in_a_crowd(5), _alice_in_a_crowd(6)
    assert not set(_tokens(one)) & set(_tokens(two))
    assert [r.t for r in one.trace] != [r.t for r in two.trace]  # the jitter moved


# --- (c) ids are unique ---------------------------------------------------------------------------

def test_ids_are_unique_across_devices_and_accounts_and_keyed_by_device() -> None:
    world = _alice_in_a_crowd(2)
    tokens = _tokens(world)
    heartbeat_tokens = [r.data["token"] for r in world.trace.of_kind("heartbeat_sent")]
    assert len(tokens) > 50
    assert len(set(tokens)) == len(tokens)
    assert len(set(tokens) | set(heartbeat_tokens)) > len(tokens)  # rotated ones too
    sessions = [r.data["session"] for r in world.trace.of_kind("ssm_session_created")]
    assert len(set(sessions)) == len(sessions)
    for r in world.trace.of_kind("ssm_setup_answered", "ks_issued"):
        token = r.data.get("token") or r.data.get("ks")
        if token is not None:
            assert re.fullmatch(rf"(ssm|ks)-{re.escape(r.device or '')}-\d+-[0-9a-f]{{8}}",
                                token), token
    for r in world.trace.of_kind("ssm_session_created"):
        assert re.fullmatch(rf"{re.escape(r.device or '')}/\d+", r.data["session"])


def test_tokens_stay_unique_for_keys_that_look_alike_without_the_random_part() -> None:
    mint = IdMint(0)
    keys = ["a", "a-1", "a-1-1", "1", "-", ""]
    tokens = [mint.token("ssm", key) for _ in range(30) for key in keys]
    assert len({t.rsplit("-", 1)[0] for t in tokens}) == len(tokens)


# --- the streams ----------------------------------------------------------------------------------

def test_stream_seeds_are_stable_across_processes() -> None:
    # blake2b, never the salted hash(): pinned so that a change is a decision
    assert derive_seed(0, "ids", "phone") == derive_seed(0, "ids", "phone")
    assert derive_seed(0, "ids", "phone") == 0xa4e173e5de6c1a83
    assert len({derive_seed(0, "ids", "phone"), derive_seed(1, "ids", "phone"),
                derive_seed(0, "jitter", "phone"), derive_seed(0, "ids", "tablet")}) == 4


def test_streams_are_created_on_first_use_and_independent() -> None:
    streams = KeyedRandom(3, "jitter")
    assert len(streams) == 0
    first = streams["phone"].random()
    assert len(streams) == 1 and streams["phone"] is streams["phone"]
    other = KeyedRandom(3, "jitter")
    for _ in range(100):
        other["tablet"].random()
    assert other["phone"].random() == first


# --- the network: FIFO per device and link -------------------------------------------------------

def _arrivals(seed: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Messages of two devices on one jittered link: (sender, n) in arrival order at the
    backend, and the answers in arrival order at the devices."""
    world = World(WorldConfig(network=NetworkConfig(latency=0.01, jitter=0.5)), seed=seed)
    served: list[tuple[str, int]] = []
    answered: list[tuple[str, int]] = []

    def serve(message: tuple[str, int]) -> Callable[[], tuple[str, int]]:
        def at_the_backend() -> tuple[str, int]:
            served.append(message)
            return message
        return at_the_backend

    for n in range(40):
        for sender in ("phone", "tablet"):
            world.network.request("ssm", serve((sender, n)), lambda: None, answered.append,
                                  sender=sender)
        world.run_for(0.01)
    world.run_for(10)
    return served, answered


@pytest.mark.parametrize("seed", range(5))
def test_one_devices_messages_on_one_link_keep_their_order(seed: int) -> None:
    served, answered = _arrivals(seed)
    for sent in (served, answered):
        for sender in ("phone", "tablet"):
            assert [n for s, n in sent if s == sender] == list(range(40))
    # ... but the two devices' messages are not ordered with each other
    assert served != sorted(served, key=lambda m: (m[1], m[0]))


def test_fifo_holds_a_message_behind_a_slower_one_when_extra_latency_ends() -> None:
    world = World(seed=0)
    served: list[tuple[float, int]] = []
    world.add_latency("ssm", 5.0, 0.0, 1.0)

    def serve(n: int) -> Callable[[], None]:
        return lambda: served.append((world.now, n))

    for n in range(2):
        world.network.request("ssm", serve(n), lambda: None, lambda _: None, sender="phone")
        world.run_for(1.0)  # the second leaves after the window: 0.02 s, held to 5.02
    world.run_for(10)
    assert served == [(5.02, 0), (5.02, 1)]


@pytest.mark.parametrize("seed", range(20))
def test_a_teardown_first_zap_at_the_limit_never_races_its_own_teardown(seed: int) -> None:
    config = WorldConfig(ssm=SsmConfig(max_sessions_per_account=1),
                         network=NetworkConfig(latency=0.3, jitter=0.3))
    orders: tuple[tuple[Literal["setup-first", "teardown-first"], bool], ...] = (
        ("teardown-first", False), ("setup-first", True))
    for order, refused in orders:
        world = World(config, seed=seed)
        phone = world.add_device(DeviceConfig(name="phone", account="alice",
                                              ssm_server_url=SSM_URL, async_zap_order=order))
        phone.play("c1")
        world.run_for(5)
        phone.zap("c2")
        world.run_for(5)
        assert bool(world.trace.of_kind("ssm_setup_refused")) is refused, order
