"""Randomness by stable key: random streams and ids derived from (seed, kind, key).

A world never draws from one shared generator in global event order. Every draw
belongs to a *kind* (``"jitter"``, ``"ids"``) and a *key* (a device name, an
account, a user), and comes from that pair's own stream, seeded from
``blake2b(f"{seed}:{kind}:{key}")`` (never Python's ``hash()``, which is salted
per process). What one device or account draws therefore depends only on the
seed and on its own history: the same account behaves the same alone, in a
large fleet, or in a shard on another machine.

Streams are created on first use and cached, so a world pays only for the keys
it meets (a ``random.Random`` holds about 2.5 KB of state).

This module is at the bottom of the package: it imports nothing from it.
"""

from __future__ import annotations

import _random
import hashlib
import random
from typing import Final

__all__ = ["IdMint", "KeyedRandom", "derive_seed"]


def derive_seed(seed: int, kind: str, key: str) -> int:
    """The 64-bit seed of the ``(kind, key)`` stream of a world seeded with ``seed``.

    Stable across processes, machines and Python versions: a BLAKE2b digest of
    ``f"{seed}:{kind}:{key}"``, read big-endian.
    """
    digest = hashlib.blake2b(f"{seed}:{kind}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class KeyedRandom:
    """One ``random.Random`` per key, all of one ``kind``, derived from ``seed``.

    ``streams[key]`` is the key's generator, created at the first request and
    the same object afterwards. Two keys' streams are independent: drawing from
    one never moves another.
    """

    __slots__ = ("_kind", "_seed", "_streams")

    def __init__(self, seed: int, kind: str) -> None:
        self._seed = seed
        self._kind = kind
        self._streams: dict[str, random.Random] = {}

    def __getitem__(self, key: str) -> random.Random:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = random.Random(derive_seed(self._seed, self._kind, key))
        return stream

    def __len__(self) -> int:
        """How many keys have a stream so far."""
        return len(self._streams)


#: Draws a mint holds per key: the next ``_BATCH`` words of the key's stream.
_BATCH: Final = 32
#: The most words drawn at once while skipping to a key's next batch.
_SKIP_CHUNK: Final = 4096


class _Issued:
    """What a mint keeps per key: how many tokens it got, and the next draws of its stream.

    ``draws`` holds the key's next 32-bit words, the next one lowest; there are
    ``_BATCH - count % _BATCH`` of them left, none once ``count`` is a multiple of
    ``_BATCH`` (the next batch is drawn then).
    """

    __slots__ = ("count", "draws")

    def __init__(self) -> None:
        self.count = 0
        self.draws = 0


class IdMint:
    """Tokens issued per key: ``<prefix>-<key>-<n>-<8 hex digits>``.

    ``n`` counts the tokens of ``key`` (1, 2, ...), whatever their prefix, and
    the hex digits are the ``n``-th 32-bit draw (``getrandbits(32)``) of the
    key's ``"ids"`` stream, a ``random.Random`` seeded with
    ``derive_seed(seed, "ids", key)``: a token depends only on the seed, the key
    and how many tokens that key was issued before. Tokens of one mint are
    unique: ``key`` and ``n`` can be read back from the right of the token (for
    a prefix without ``-``), and no two calls give the same pair.

    **What a key costs.** A Mersenne Twister holds 2.5 KB of state, more than
    the rest of a playing device, so a key does not keep its own: it keeps its
    count and its next ``_BATCH`` draws (an int of 128 bytes). When they run out,
    the mint reseeds one generator it shares between keys, skips the draws the
    key has used and takes the next batch. The draws, hence the tokens, are the
    ones a generator per key would give (``tests/test_keyed_randomness.py``);
    the reseeding costs about 10 us per batch, a third of a microsecond per
    token, and skipping grows with the count (about 16 ns per draw used).
    """

    __slots__ = ("_issued", "_seed", "_shared")

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._issued: dict[str, _Issued] = {}
        self._shared = _random.Random()

    def token(self, prefix: str, key: str) -> str:
        """The next token issued to ``key``, e.g. ``ssm-phone-3-9f0c11a2``."""
        issued = self._issued.get(key)  # one lookup: every heartbeat rotates a token
        if issued is None:
            issued = self._issued[key] = _Issued()
        count = issued.count
        draws = issued.draws if count % _BATCH else self._batch(key, count)
        issued.draws = draws >> 32
        issued.count = count = count + 1
        return f"{prefix}-{key}-{count}-{draws & 0xFFFFFFFF:08x}"

    def _batch(self, key: str, used: int) -> int:
        """Draws ``used + 1`` to ``used + _BATCH`` of ``key``'s stream, the first lowest."""
        stream = self._shared
        stream.seed(derive_seed(self._seed, "ids", key))
        while used:  # getrandbits(32 * k) takes the next k words, the first lowest
            skip = min(used, _SKIP_CHUNK)
            stream.getrandbits(32 * skip)
            used -= skip
        return stream.getrandbits(32 * _BATCH)
