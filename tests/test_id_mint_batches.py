"""IdMint keeps no generator per key: its batched draws give the tokens one would."""

from __future__ import annotations

import random

import pytest

from player_sim import _keyed
from player_sim._keyed import IdMint, derive_seed


def _reference_tokens(seed: int, calls: list[tuple[str, str]]) -> list[str]:
    """The tokens of ``calls`` from one ``random.Random`` per key (the contract)."""
    streams: dict[str, random.Random] = {}
    counts: dict[str, int] = {}
    tokens = []
    for prefix, key in calls:
        stream = streams.setdefault(key, random.Random(derive_seed(seed, "ids", key)))
        counts[key] = counts.get(key, 0) + 1
        tokens.append(f"{prefix}-{key}-{counts[key]}-{stream.getrandbits(32):08x}")
    return tokens


def _calls(size: int) -> list[tuple[str, str]]:
    """Keys interleaved unevenly, prefixes mixed: batches of keys end at different calls."""
    rng = random.Random(3)
    keys = ["phone", "tv", "alice", "device-17"]
    return [(rng.choice(["ssm", "lic", "ks"]), rng.choices(keys, weights=[8, 4, 2, 1])[0])
            for _ in range(size)]


def test_tokens_are_those_of_a_generator_per_key() -> None:
    calls = _calls(3000)  # "phone" passes several batches (and the twister's 624 words)
    mint = IdMint(7)
    assert [mint.token(prefix, key) for prefix, key in calls] == _reference_tokens(7, calls)


@pytest.mark.parametrize(("batch", "chunk"), [(1, 1), (3, 2), (5, 7)])
def test_any_batch_and_skip_chunk_give_the_same_tokens(
        monkeypatch: pytest.MonkeyPatch, batch: int, chunk: int) -> None:
    monkeypatch.setattr(_keyed, "_BATCH", batch)
    monkeypatch.setattr(_keyed, "_SKIP_CHUNK", chunk)
    calls = _calls(400)
    mint = IdMint(11)
    assert [mint.token(prefix, key) for prefix, key in calls] == _reference_tokens(11, calls)


def test_a_key_keeps_no_generator() -> None:
    mint = IdMint(1)
    mint.token("ssm", "phone")
    held = mint._issued["phone"]
    assert not any(isinstance(getattr(held, name), random.Random) for name in held.__slots__)
