"""A ``CompressedTrace`` with blocks of 3 reads back, after any sequence of writes
(by ``write``, by stamp, whole records, frozen dicts, values ``marshal`` refuses), what
a plain ``Trace`` given the same writes does: every index, slice, filter and the JSONL."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import player_sim.trace as trace_module
from player_sim.trace import CompressedTrace, Trace, TraceRecord


class _Name(str):
    """A ``str`` subclass: ``marshal`` refuses it, so its block is kept as it is."""


_DEVICES = st.sampled_from(["phone", "tv", None])
_STREAMS = st.one_of(st.sampled_from(["news", "sport"]), st.builds(_Name, st.just("film")))
_VARIANTS = st.one_of(st.fixed_dictionaries({"drm": st.sampled_from(["widevine", "fairplay"]),
                                             "pip": st.booleans()}),
                      st.just({"fraction": 0.5}))

#: One write: ("write", device, stream), ("stamped", device, request id), ("added",
#: device, variants) or ("whole", device, stream).
_WRITE = st.one_of(
    st.tuples(st.just("write"), _DEVICES, _STREAMS),
    st.tuples(st.just("stamped"), st.sampled_from(["phone", "tv"]),
              st.integers(-(2**40), 2**40)),
    st.tuples(st.just("added"), st.sampled_from(["phone", "tv"]), _VARIANTS),
    st.tuples(st.just("whole"), _DEVICES, _STREAMS),
)


def _apply(trace: Trace, writes: list[tuple[str, Any, Any]]) -> None:
    stamps: dict[str, int | None] = {}
    for t, (how, device, value) in enumerate(writes):
        if how == "write":
            trace.write(float(t), device, "playback_started", "foreground", "playing",
                        {"stream": value}, 1)
        elif how == "stamped":
            if device not in stamps:
                stamps[device] = trace.stamp(device, "heartbeat_sent", "foreground",
                                             "playing", 1, ("request_id", "token"))
            stamp = stamps[device]
            assert stamp is not None
            trace.write_stamped(float(t), stamp, (value, f"ssm-{device}-{t}"))
        elif how == "added":
            trace.write(float(t), device, "device_added", None, None,
                        {"account": "a", "ssm": True, "sync": False, "variants": dict(value)},
                        None)
        else:  # an int t: kept whole
            trace.append(TraceRecord(t, device, "playback_started", "foreground", "playing",
                                     {"stream": value}, 1))


@settings(max_examples=150, deadline=None)
@given(writes=st.lists(_WRITE, max_size=25), cut=st.integers(0, 30), width=st.integers(0, 9))
def test_a_compressed_trace_reads_back_what_a_plain_one_does(
        writes: list[tuple[str, Any, Any]], cut: int, width: int) -> None:
    plain = Trace()
    _apply(plain, writes)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trace_module, "_BLOCK", 3)
        compressed = CompressedTrace()
        _apply(compressed, writes)
    records = list(plain)
    assert len(compressed) == len(records)
    assert len(compressed._blocks) == len(records) // 3
    assert list(compressed) == records
    assert [compressed[i] for i in range(-len(records), len(records))] == records * 2
    assert compressed[cut:cut + width] == records[cut:cut + width]
    assert compressed[cut::2] == records[cut::2]
    for device in ("phone", "tv", None):
        for kinds in (("heartbeat_sent",), ("device_added", "playback_started")):
            assert compressed.of_kind(*kinds, device=device) == plain.of_kind(*kinds,
                                                                              device=device)
    assert compressed.to_jsonl() == plain.to_jsonl()
