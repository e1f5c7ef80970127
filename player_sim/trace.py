"""The trace: the contract between whatever produces behaviour and whatever judges it.

A simulated world, a served backend, a proxy or a converted device log writes
records of the kinds declared in :class:`Kind`; monitors, explorers, reports and
timelines read only records. Each kind has a *vantage* (device, server, wire or
harness); a trace says which vantages it holds, so a device log is judged on the
rules a device log can show, and the others are reported as not judged.

The JSONL form (format version 2): a header line, then one record per line,
keys sorted, no spaces::

    {"format":"player_sim.trace","vantages":["device","harness","server"],"version":2}
    {"app":"foreground","data":{"stream":"channel-1"},"device":"phone","kind":"playback_started","playback":"playing","playback_id":1,"t":0.16}

* ``t``: virtual seconds since the start (rounded to the microsecond);
* ``device``: the device's name, or ``null`` for a harness event;
* ``kind``: a declared :class:`Kind`;
* ``app`` / ``playback``: the device's states when the record was written
  (``null`` for kinds that are not stamped with states);
* ``playback_id``: on device records, the playback the record belongs to (every
  play or zap starts a new one); ``null`` elsewhere;
* ``data``: the kind's declared fields.

:func:`json_schema` gives the JSON Schema of a record line, generated from the
declarations. The same simulation and seed always give byte-identical JSONL.
"""

from __future__ import annotations

import json
import marshal
import math
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Final, TypeAlias, overload

import attrs

from ._errors import PlayerSimError
from ._trace_kinds import Field, Kind, Vantage

__all__ = ["FORMAT", "VERSION", "CompressedTrace", "Field", "Kind", "Trace", "TraceFormatError",
           "TraceRecord", "Vantage", "check_record", "json_schema", "kinds_table"]

#: The ``format`` of a trace's header line.
FORMAT: Final = "player_sim.trace"
#: The trace format version this module writes and reads.
VERSION: Final = 2

_EMPTY: Mapping[str, Any] = {}

#: How many records a sealed block of a :class:`CompressedTrace` holds.
_BLOCK = 4096
#: The block size of a trace that is not compressed: no block is ever sealed.
_NEVER: Final = sys.maxsize


_BY_VALUE: Final[dict[str, Kind]] = {k.value: k for k in Kind}


def _to_kind(value: str) -> Kind:
    if type(value) is Kind:
        return value
    kind = _BY_VALUE.get(value)
    if kind is None:
        raise ValueError(_unknown_kind(value))
    return kind


def _unknown_kind(value: object) -> str:
    import difflib  # only a mistake needs it

    close = difflib.get_close_matches(str(value), [k.value for k in Kind], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no trace kind {value!r}{hint} (player_sim.trace.Kind lists them)"


@attrs.frozen(slots=True)
class TraceRecord:
    """One event. ``data`` must be treated as read-only.

    Constructing a record with an undeclared kind, or with a field its kind does
    not declare, raises :class:`ValueError`: producers cannot write what the
    format does not say.
    """

    t: float
    device: str | None
    kind: Kind = attrs.field(converter=_to_kind)
    app: str | None = None
    playback: str | None = None
    data: Mapping[str, Any] = _EMPTY
    playback_id: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_names(self.kind, self.data)

    @property
    def vantage(self) -> Vantage:
        return self.kind.vantage

    @classmethod
    def from_json(cls, line: str, source: str = "<record>", number: int = 1) -> TraceRecord:
        """Parse one record line (no header), as :meth:`Trace.from_jsonl` does each line;
        a bad line raises :class:`TraceFormatError` naming ``source`` and ``number``."""
        return _read_record(line, source, number)

    def to_json(self) -> str:
        return json.dumps(
            {"t": round(self.t, 6), "device": self.device, "kind": self.kind.value,
             "app": self.app, "playback": self.playback, "playback_id": self.playback_id,
             "data": dict(self.data)},
            sort_keys=True, separators=(",", ":"))


class TraceFormatError(PlayerSimError):
    """A JSONL trace line is malformed; ``line`` is 1-based."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        super().__init__(f"{source}:{line}: {message}")


_ENVELOPE: Final = {"t": (int, float), "device": (str, type(None)), "kind": (str,),
                    "app": (str, type(None)), "playback": (str, type(None)),
                    "playback_id": (int, type(None)), "data": (dict,)}
_ALL_VANTAGES: Final = frozenset(Vantage)


def _header(vantages: frozenset[Vantage]) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION,
                       "vantages": sorted(v.value for v in vantages)},
                      sort_keys=True, separators=(",", ":"))


class Trace:
    """An append-only list of :class:`TraceRecord`, in time order, seen from ``vantages``.

    ``vantages`` says what the producer could see: a simulated world sees the
    device, the servers and the harness; a device log only the device. A rule
    needing a vantage the trace lacks is not judged on it.

    A producer appends a record with :meth:`append`, or, without building the
    :class:`TraceRecord` first, with :meth:`write` (what the world does: the
    cheaper of the two). A subclass that overrides :meth:`append` but not
    :meth:`write` receives every written record through its :meth:`append`.

    **How records are kept.** Column by column, not as objects: a traced fleet
    writes millions of records. A record is its time ``t`` (a C double), the
    number of the device that wrote it and the number of its *stamp* (of which
    kind, in which app and playback states, for which playback, with which data
    fields; two C ints), and its data values, appended to one list. Devices
    and stamps are each kept once: a device's name is not in its stamps, so the
    devices of a fleet share the stamps of their setup and of their heartbeats
    (thousands of devices, a few dozen stamps), and a record costs its
    numbers, its time and its values: a few dozen bytes, where an object and
    its ``data`` dict cost several hundred. A ``dict`` of plain values in a
    field that may hold an object (``device_added``'s ``variants``) is kept
    once for all the equal ones (:meth:`_freeze`). Nothing is kept
    per record that the garbage collector tracks, so a long traced run does not
    make it walk millions of records.

    A :class:`CompressedTrace` keeps its records in compressed blocks: a few
    bytes a record rather than a few dozen.

    Reading a record (iterating, indexing, :meth:`of_kind`) builds a new
    :class:`TraceRecord` and ``data`` dict, equal to what was written, field for
    field and in the same order: records read are values (compare them with
    ``==``, not ``is``, and changing one changes nothing in the trace; a value
    in ``data`` is the very object written (in a :class:`CompressedTrace`, once its
    block is sealed, an equal one of the same type), but for a dict :meth:`_freeze` keeps,
    which comes back as a new one, and a bytes-like value, which a sealed block
    gives back as ``bytes``: a value in ``data`` must be treated as read-only, as
    the record's ``data`` itself). Devices and stamps are told
    apart by equality, so a device, app or playback given as a ``str`` subclass
    may come back as an equal ``str`` (the same JSON). A record whose ``t`` is
    not a ``float``, whose ``data`` is not a ``dict``, or whose ``playback_id``
    is neither an ``int`` nor ``None`` (``True == 1``; never one the world
    writes) is kept whole, and reading it gives that very object.
    """

    __slots__ = ("_block", "_blocks", "_decoded", "_device_numbers", "_device_of", "_devices",
                 "_frozen", "_frozen_at", "_holding", "_index", "_stamp_of", "_stamped", "_stamps",
                 "_starts", "_times", "_values", "vantages")

    def __init__(self, records: Iterable[TraceRecord] = (), *,
                 vantages: Iterable[Vantage] = (Vantage.DEVICE, Vantage.SERVER,
                                                Vantage.HARNESS)) -> None:
        #: How many records a sealed block holds (``_NEVER``: none is sealed).
        self._block = _BLOCK if self.compressed else _NEVER
        #: The blocks sealed (:meth:`_seal`), each of ``_block`` records, in order.
        self._blocks: list[bytes | _Columns] = []
        #: The last sealed block decoded (:meth:`_sealed`): its number, its columns,
        #: where its records' values start (noted when indexing asks, as ``_starts``).
        self._decoded: tuple[int, _Columns, array[int]] | None = None
        #: The open block's columns: each record's time, device number and stamp
        #: number, and the records' values, one after the other.
        self._times = array("d")
        self._device_of = array("I")
        self._stamp_of = array("I")
        self._values: list[Any] = []
        #: Where in ``_values`` a dict kept frozen is (compressed only: :meth:`_seal`).
        self._frozen_at: list[int] = []
        #: Every device, by number, and its number, by the device (``None``: number 0).
        self._devices: list[str | None] = [None]
        self._device_numbers: dict[str | None, int] = {None: 0}
        #: The device and stamp numbers of each number :meth:`stamp` gave, by it.
        self._stamped: list[tuple[int, int]] = []
        #: Every stamp, by number (``None``: a record kept whole, its one value).
        self._stamps: list[_Stamp | None] = [None]
        #: A stamp's number, by its key (see :meth:`_new_stamp`): the stamps none of
        #: whose fields may hold an object, so a record of them keeps its values as given.
        self._index: dict[tuple[Any, ...], int] = {}
        #: The number of each other stamp, by its key (see :meth:`_freeze`).
        self._holding: dict[tuple[Any, ...], int] = {}
        #: Each dict kept frozen, by its items and their types.
        self._frozen: dict[tuple[tuple[Any, ...], tuple[type, ...]], _Frozen] = {}
        #: Where each open record's values start: only for indexing, grown when it asks.
        self._starts = array("q")
        self.vantages: frozenset[Vantage] = frozenset(vantages)
        for record in records:
            self._keep(record)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "append" in cls.__dict__ and "write" not in cls.__dict__:
            # Such a subclass sees every record in its append, written ones too.
            cls.write = cls._write_through_append  # type: ignore[method-assign]

    def append(self, record: TraceRecord) -> None:
        self._keep(record)

    def write(self, t: float, device: str | None, kind: str, app: str | None,
              playback: str | None, data: Mapping[str, Any], playback_id: int | None) -> None:
        """Append the record ``TraceRecord(t, device, kind, app, playback, data,
        playback_id)`` would be, with the same checks (an undeclared kind or field
        raises :class:`ValueError`), without making that object."""
        if type(t) is not float or type(data) is not dict or (
                playback_id is not None and type(playback_id) is not int):
            self._keep_whole(TraceRecord(t, device, kind, app, playback, data, playback_id))
            return
        key = (kind, app, playback, playback_id, tuple(data))
        try:
            stamp = self._index.get(key)
            who = self._device_numbers.get(device)
        except TypeError:  # an unhashable field: no stamp to share
            self._keep_whole(TraceRecord(t, device, kind, app, playback, data, playback_id))
            return
        if who is None:
            who = self._new_device(device)
        if stamp is None:  # a new stamp, or one whose fields may hold an object
            stamp, values = self._stamp_and_values(key, data)
            self._times.append(t)
            self._device_of.append(who)
            self._stamp_of.append(stamp)
            self._values.extend(values)
            return
        self._times.append(t)
        self._device_of.append(who)
        self._stamp_of.append(stamp)
        self._values.extend(data.values())

    def stamp(self, device: str | None, kind: str, app: str | None, playback: str | None,
              playback_id: int | None, names: tuple[str, ...]) -> int | None:
        """A number that stands, in :meth:`write_stamped`, for a record of these fields
        whose data has the fields ``names``, in that order (checked as :meth:`write`
        checks them); ``None`` if records of this trace's class must go through
        :meth:`write` (a subclass that overrides it, or :meth:`append`), if
        ``playback_id`` is neither ``None`` nor an ``int`` (such a record is kept whole),
        or if one of the fields may hold an object (see :meth:`_freeze`).

        A producer writing many records of the same fields (a device's heartbeats) asks
        once and writes each with :meth:`write_stamped`, skipping the lookups.
        """
        if type(self).write not in _STAMPING or (
                playback_id is not None and type(playback_id) is not int):
            return None
        key = (kind, app, playback, playback_id, names)
        stamp = self._index.get(key)
        if stamp is None:
            if key in self._holding:
                return None
            stamp = self._new_stamp(key)
            if key in self._holding:
                return None
        who = self._device_numbers.get(device)
        if who is None:
            who = self._new_device(device)
        self._stamped.append((who, stamp))
        return len(self._stamped) - 1

    def write_stamped(self, t: float, stamp: int, values: tuple[Any, ...]) -> None:
        """``write(t, ..., data, ...)`` for a record whose other fields are those given to
        :meth:`stamp` for ``stamp`` (a number it gave for this very trace), with ``data``
        = ``dict(zip(names, values))`` and ``t`` a ``float``: the same record, appended
        without looking its device and stamp up (the caller vouches for the three
        conditions)."""
        who, number = self._stamped[stamp]
        self._times.append(t)
        self._device_of.append(who)
        self._stamp_of.append(number)
        self._values.extend(values)

    def _write_through_append(self, t: float, device: str | None, kind: str,
                              app: str | None, playback: str | None,
                              data: Mapping[str, Any], playback_id: int | None) -> None:
        """:meth:`write` of a subclass that overrides :meth:`append`."""
        self.append(TraceRecord(t, device, kind, app, playback, data, playback_id))

    @property
    def _records(self) -> _Records:
        """What a subclass appends to to keep a record (records were a list once)."""
        return _Records(self)

    def _keep(self, record: TraceRecord) -> None:
        """Keep ``record`` (checked when it was made), whatever a subclass appends."""
        if type(record.t) is float and type(record.data) is dict and (
                record.playback_id is None or type(record.playback_id) is int):
            Trace.write(self, record.t, record.device, record.kind, record.app,
                        record.playback, record.data, record.playback_id)
        else:
            self._keep_whole(record)

    def _new_stamp(self, key: tuple[Any, ...]) -> int:
        """Number a new stamp, ``key`` = ``(kind, app, playback, playback_id, names)``,
        with its kind and field names checked (a key refused is not kept).

        The stamp is the key with its kind a :class:`Kind` (a member equals and
        hashes as its string, so a producer's key with the kind as a ``str``
        finds it), and the names of the fields that may hold an object (their
        dicts are kept frozen: :meth:`_freeze`). Its key goes into ``_index``,
        or, with such fields, into ``_holding``.
        """
        kind, app, playback, playback_id, names = key
        member = _to_kind(kind)
        _check_names(member, names)
        objects = _OBJECT_FIELDS[member]
        number = len(self._stamps)
        held = tuple(name for name in names if name in objects)
        self._stamps.append((member, app, playback, playback_id, names, held))
        (self._holding if held else self._index)[(member, *key[1:])] = number
        return number

    def _stamp_and_values(self, key: tuple[Any, ...],
                          data: Mapping[str, Any]) -> tuple[int, Iterable[Any]]:
        """The number of the stamp of ``key`` (numbered if new) and the values to keep
        of a record's ``data``: as they are, unless the stamp's fields may hold an
        object (:meth:`_freeze`)."""
        stamp = self._holding.get(key)
        if stamp is None:
            stamp = self._new_stamp(key)
            if key not in self._holding:
                return stamp, data.values()
        held = self._stamps[stamp][5]  # type: ignore[index]  # numbered: not None
        values = [self._freeze(value) if name in held else value
                  for name, value in data.items()]
        if self.compressed:  # its blocks are sealed: note where the frozen dicts go
            start = len(self._values)
            self._frozen_at.extend(start + at for at, value in enumerate(values)
                                   if type(value) is _Frozen)
        return stamp, values

    def _freeze(self, value: Any) -> Any:
        """What the trace keeps of ``value``, a value of a field that may hold an object.

        A ``dict`` whose keys are ``str`` and whose values are each a ``str``,
        ``int``, ``bool`` or ``None`` (exactly those types: they are equal only
        when their JSON is the same) is kept as the trace's own frozen copy of
        its items, one for all the equal dicts written (every device configured
        alike writes an equal ``device_added`` ``variants``), and read back as a
        new dict: neither a later change to the dict written nor one to a record
        read reaches the trace. Any other value is kept as it is.
        """
        if type(value) is not dict:
            return value
        types = tuple(map(type, value.values()))
        if not _FREEZABLE.issuperset(types) or not _KEYS.issuperset(map(type, value)):
            return value
        items = tuple(value.items())
        frozen = self._frozen.get((items, types))
        if frozen is None:
            frozen = self._frozen[(items, types)] = _Frozen(items)
        return frozen

    def _new_device(self, device: str | None) -> int:
        """Number a device not met before."""
        number = len(self._devices)
        self._devices.append(device)
        self._device_numbers[device] = number
        return number

    def _keep_whole(self, record: TraceRecord) -> None:
        self._times.append(0.0)
        self._device_of.append(0)
        self._stamp_of.append(_WHOLE)
        self._values.append(record)

    def _seal(self) -> None:
        """Seal the open block into one compressed block (kept as it is if one of its
        values cannot be marshalled), and open an empty one.

        A dict kept frozen (a :class:`_Frozen`, which ``marshal`` refuses, being a
        ``tuple`` subclass) is written as a plain tuple, one for all its places in
        the block, and made frozen again when the block is decoded (:meth:`_sealed`).
        """
        columns = (self._times, self._device_of, self._stamp_of, self._values)
        frozen_at = self._frozen_at
        values = columns[3]
        if frozen_at:
            values = values.copy()
            plain: dict[int, tuple[Any, ...]] = {}
            for at in frozen_at:
                frozen = values[at]
                values[at] = plain.setdefault(id(frozen), tuple(frozen))
        block: bytes | _Columns
        try:
            block = zlib.compress(marshal.dumps((*columns[:3], values, frozen_at)), 1)
        except ValueError:  # a value marshal cannot write
            block = columns
        self._blocks.append(block)
        self._times, self._device_of, self._stamp_of = array("d"), array("I"), array("I")
        self._values, self._frozen_at, self._starts = [], [], array("q")

    def _sealed(self, number: int) -> tuple[_Columns, array[int]]:
        """The columns of sealed block ``number``, and where its records' values start,
        as far as noted (see :meth:`_columns_of`)."""
        decoded = self._decoded
        if decoded is not None and decoded[0] == number:
            return decoded[1], decoded[2]
        block = self._blocks[number]
        if type(block) is bytes:
            times, who_of, stamp_of, values, frozen_at = marshal.loads(zlib.decompress(block))
            made: dict[int, _Frozen] = {}
            for at in frozen_at:
                plain = values[at]
                frozen = made.get(id(plain))
                if frozen is None:
                    frozen = made[id(plain)] = _Frozen(plain)
                values[at] = frozen
            columns: _Columns = (array("d", times), array("I", who_of), array("I", stamp_of),
                                 values)
        else:
            columns = block  # type: ignore[assignment]  # kept as it is
        self._decoded = (number, columns, array("q"))
        return columns, self._decoded[2]

    def _columns(self) -> Iterator[_Columns]:
        """The columns of every block, in order, the open one last: also the blocks
        sealed while the caller walks them, records written meanwhile included."""
        number = 0
        while True:
            if number < len(self._blocks):
                yield self._sealed(number)[0]
            else:
                yield self._times, self._device_of, self._stamp_of, self._values
                if number >= len(self._blocks):  # not sealed while walked: the end
                    return
            number += 1

    def __iter__(self) -> Iterator[TraceRecord]:
        devices, stamps = self._devices, self._stamps
        for times, who_of, stamp_of, values in self._columns():
            start = 0
            for t, who, number in zip(times, who_of, stamp_of, strict=True):
                stamp = stamps[number]
                yield _restore(t, devices[who], stamp, values, start)
                start += 1 if stamp is None else len(stamp[4])

    def __len__(self) -> int:
        return len(self._blocks) * self._block + len(self._times)

    #: Whether the trace keeps its records in compressed blocks (:class:`CompressedTrace`).
    compressed: ClassVar[bool] = False

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceRecord]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | list[TraceRecord]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._run_of(start, stop)
        size = len(self)
        if index < 0:
            index += size
        if not 0 <= index < size:
            raise IndexError("trace index out of range")
        block, index = divmod(index, self._block)
        (times, who_of, stamp_of, values), starts = self._columns_of(block)
        return _restore(times[index], self._devices[who_of[index]], self._stamps[stamp_of[index]],
                        values, starts[index])

    def _columns_of(self, number: int) -> tuple[_Columns, array[int]]:
        """The columns of block ``number`` (the open one if none is sealed under it),
        and where each of its records' values start."""
        if number < len(self._blocks):
            columns, starts = self._sealed(number)
        else:
            columns = (self._times, self._device_of, self._stamp_of, self._values)
            starts = self._starts
        if len(starts) < len(columns[2]):
            _note_starts(self._stamps, columns[2], starts)
        return columns, starts

    def _run_of(self, start: int, stop: int) -> list[TraceRecord]:
        """The records ``start`` to ``stop`` (excluded; ``0 <= start``), in order: one
        walk over each block's columns rather than one index each."""
        devices, stamps, size = self._devices, self._stamps, self._block
        records = []
        while start < stop:
            block, first = divmod(start, size)
            (times, who_of, stamp_of, values), starts = self._columns_of(block)
            last = min(stop - block * size, len(times))
            offset = starts[first]
            for t, who, number in zip(times[first:last], who_of[first:last],
                                      stamp_of[first:last], strict=True):
                stamp = stamps[number]
                records.append(_restore(t, devices[who], stamp, values, offset))
                offset += 1 if stamp is None else len(stamp[4])
            start = block * size + last
        return records

    def of_kind(self, *kinds: str, device: str | None = None) -> list[TraceRecord]:
        """The records of the given kinds (of one device when ``device`` is given)."""
        return self._select(lambda kind: kind in kinds, device)

    def seen_from(self, *vantages: Vantage) -> Trace:
        """The records a producer with only ``vantages`` would have written."""
        keep = frozenset(vantages)
        kept = CompressedTrace if self.compressed else Trace
        return kept(self._select(lambda kind: kind.vantage in keep), vantages=keep)

    def _select(self, keep: Callable[[Kind], bool],
                device: str | None = None) -> list[TraceRecord]:
        """The records of a kind ``keep`` accepts (asked once per stamp) and, unless
        ``device`` is ``None``, of a device equal to ``device``, in order."""
        devices, stamps = self._devices, self._stamps
        kept_stamps = [stamp is not None and keep(stamp[0]) for stamp in stamps]
        if device is None:
            wanted = None
        else:
            try:
                wanted = self._device_numbers.get(device, -1)
            except TypeError:  # unhashable: no device numbered is equal to it
                wanted = -1
        kept = []
        for times, who_of, stamp_of, values in self._columns():
            start = 0
            for t, who, number in zip(times, who_of, stamp_of, strict=True):
                stamp = stamps[number]
                if stamp is None:  # kept whole: asked as it is
                    record: TraceRecord = values[start]
                    if keep(record.kind) and (device is None or record.device == device):
                        kept.append(record)
                    start += 1
                    continue
                if kept_stamps[number] and (wanted is None or who == wanted):
                    kept.append(_restore(t, devices[who], stamp, values, start))
                start += len(stamp[4])
        return kept

    def to_jsonl(self) -> str:
        """The whole trace as JSONL text: the header line, then one line per record."""
        return _header(self.vantages) + "\n" + "".join(r.to_json() + "\n" for r in self)

    @classmethod
    def from_jsonl(cls, text: str, source: str = "<trace>") -> Trace:
        """Parse JSONL text; a bad line raises :class:`TraceFormatError` naming it."""
        lines = text.splitlines()
        header, vantages = _read_header(lines, source)
        records: list[TraceRecord] = []
        for number, line in enumerate(lines[header:], start=header + 1):
            if line.strip():
                record = _read_record(line, source, number)
                if records and record.t < records[-1].t:
                    raise TraceFormatError(source, number, f"'t' goes back in time "
                                           f"({record.t:g} after {records[-1].t:g}); records "
                                           "are in time order")
                records.append(record)
        return cls(records, vantages=vantages)


class CompressedTrace(Trace):
    """A :class:`Trace` that keeps its records in compressed blocks: for the traces of
    very large fleets (``WorldConfig(compress_trace=True)``).

    Every 4,096 records, the columns and values written since the last block are
    sealed into one block (``marshal``, then ``zlib`` at its fastest level): a
    fleet's records repeat themselves (the same stamps, states, streams, sessions
    numbered alike), so a sealed record costs a few bytes (a device's setup records
    about 3, a traced heartbeat's about 10) rather than a few dozen, for about half
    a microsecond more per record written. A block that holds a value ``marshal``
    cannot write (an object of a class of its own, a ``str`` subclass) is kept as
    it is instead. Reading a sealed record decodes its block (the last one decoded
    is kept, so records read in order or near each other decode it once). Records
    read are those a :class:`Trace` gives, but that a value read from a sealed
    block is an equal new object of the same type (a bytes-like one comes back as
    ``bytes``).
    """

    __slots__ = ()

    compressed: ClassVar[bool] = True

    def write(self, t: float, device: str | None, kind: str, app: str | None,
              playback: str | None, data: Mapping[str, Any], playback_id: int | None) -> None:
        Trace.write(self, t, device, kind, app, playback, data, playback_id)
        if len(self._times) >= self._block:
            self._seal()

    def write_stamped(self, t: float, stamp: int, values: tuple[Any, ...]) -> None:
        Trace.write_stamped(self, t, stamp, values)
        if len(self._times) >= self._block:
            self._seal()

    def _keep(self, record: TraceRecord) -> None:
        Trace._keep(self, record)
        if len(self._times) >= self._block:
            self._seal()


#: The writes :meth:`Trace.stamp` serves: those that keep a stamped record as it is.
_STAMPING: Final = (Trace.write, CompressedTrace.write)


#: A record's *stamp*: everything but its time, its device and its data values (kind,
#: app, playback, playback id, the names of its data fields, in order), and the names
#: of those of its fields that may hold an object.
_Stamp: TypeAlias = tuple[Kind, str | None, str | None, int | None, tuple[str, ...],
                          tuple[str, ...]]

#: A block's columns: each record's time, device number and stamp number, and the
#: records' values, one after the other.
_Columns: TypeAlias = tuple["array[float]", "array[int]", "array[int]", list[Any]]

#: The stamp number of a record kept whole (see :class:`Trace`).
_WHOLE: Final = 0


def _note_starts(stamps: list[_Stamp | None], stamp_of: array[int], starts: array[int]) -> None:
    """Grow ``starts``, where the values of each of a block's first records start, to
    every record of the block (of stamps ``stamp_of``)."""
    done = len(starts)
    if done:
        last = stamps[stamp_of[done - 1]]
        start = starts[-1] + (1 if last is None else len(last[4]))
    else:
        start = 0
    for number in stamp_of[done:]:
        starts.append(start)
        stamp = stamps[number]
        start += 1 if stamp is None else len(stamp[4])


class _Frozen(tuple[tuple[str, Any], ...]):
    """The items of a dict a trace keeps frozen (see :meth:`Trace._freeze`)."""

    __slots__ = ()


#: The names of each kind's fields that may hold an object (a JSON object, a dict).
_OBJECT_FIELDS: Final = {kind: frozenset(f.name for f in kind.fields if "object" in f.types)
                         for kind in Kind}
#: The types of the values (and keys) of a dict a trace keeps frozen.
_FREEZABLE: Final = frozenset({str, int, bool, type(None)})
_KEYS: Final = frozenset({str})


class _Records:
    """A trace's records as a subclass appends to them (``self._records.append``)."""

    __slots__ = ("_trace",)

    def __init__(self, trace: Trace) -> None:
        self._trace = trace

    def append(self, record: TraceRecord) -> None:
        self._trace._keep(record)


def _check_names(kind: Kind, names: Iterable[str]) -> None:
    """Refuse a data field ``kind`` does not declare (:class:`ValueError`)."""
    if not kind.names.issuperset(names):
        extra = sorted(set(names) - kind.names)
        raise ValueError(f"trace kind {kind.value!r} has no field {extra[0]!r}; it "
                         f"declares {', '.join(sorted(kind.names)) or 'none'}")


_new_record = object.__new__
_SET_FIELD: Final = tuple(getattr(TraceRecord, name).__set__ for name in (
    "t", "device", "kind", "app", "playback", "data", "playback_id"))


def _restore(t: float, device: str | None, stamp: _Stamp | None, values: list[Any],
             start: int) -> TraceRecord:
    """The record of ``device`` kept at ``start`` of ``values`` with ``stamp``
    (``None``: kept whole).

    Its fields were checked when it was written, so the record's slots are set
    directly rather than through the converting, checking ``__init__``.
    """
    if stamp is None:
        record: TraceRecord = values[start]
        return record
    kind, app, playback, playback_id, names, objects = stamp
    record = _new_record(TraceRecord)
    set_t, set_device, set_kind, set_app, set_playback, set_data, set_playback_id = _SET_FIELD
    set_t(record, t)
    set_device(record, device)
    set_kind(record, kind)
    set_app(record, app)
    set_playback(record, playback)
    data = dict(zip(names, values[start:start + len(names)], strict=True)) if names else {}
    if objects:
        for name in objects:
            value = data[name]
            if type(value) is _Frozen:
                data[name] = dict(value)
    set_data(record, data)
    set_playback_id(record, playback_id)
    return record


def _read_header(lines: list[str], source: str) -> tuple[int, frozenset[Vantage]]:
    """The header's line number (1-based) and vantages; refuses a missing or other version."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        obj = _loads(line, source, number)
        example = _header(frozenset({Vantage.DEVICE}))
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            if isinstance(obj, dict) and "kind" in obj:
                raise TraceFormatError(source, number, "no header line: this looks like a "
                                       "version-1 trace (player_sim 0.1); version "
                                       f"{VERSION} is read: write it again with player_sim, "
                                       f"or start it with a header line such as {example}")
            raise TraceFormatError(source, number, "expected the header line, such as "
                                   f"{example}")
        if obj.get("version") != VERSION:
            raise TraceFormatError(source, number, f"trace format version "
                                   f"{obj.get('version')!r} is not read; this is player_sim's "
                                   f"version {VERSION}")
        names = obj.get("vantages")
        known = {v.value: v for v in Vantage}
        if not isinstance(names, list) or not names or any(n not in known for n in names):
            raise TraceFormatError(source, number, "'vantages' must be a non-empty list of "
                                   f"{', '.join(known)}, not {names!r}")
        return number, frozenset(known[n] for n in names)
    raise TraceFormatError(source, 1, "empty trace: expected the header line")


#: The longest record line read (characters): a record is a few hundred.
MAX_LINE: Final = 1 << 20


def _loads(line: str, source: str, number: int) -> Any:
    """``json.loads``, with every way it can fail as a :class:`TraceFormatError`."""
    if len(line) > MAX_LINE:
        raise TraceFormatError(source, number, f"line of {len(line):,} characters; a trace "
                               f"line is at most {MAX_LINE:,}")
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise TraceFormatError(source, number, f"not JSON: {err.msg} at column "
                               f"{err.colno}") from None
    except RecursionError:
        raise TraceFormatError(source, number, "JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise TraceFormatError(source, number, f"not a JSON value player_sim reads: "
                               f"{str(err).split(';')[0]}") from None


def _read_record(line: str, source: str, number: int) -> TraceRecord:
    obj = _loads(line, source, number)
    if not isinstance(obj, dict):
        raise TraceFormatError(source, number, "expected a JSON object per line")
    for key, types in _ENVELOPE.items():
        if key not in obj and key in ("t", "kind"):
            raise TraceFormatError(source, number, f"missing required key {key!r}")
        # bool is an int to isinstance, but never a valid value here.
        if key in obj and (not isinstance(obj[key], types) or isinstance(obj[key], bool)):
            raise TraceFormatError(source, number, f"{key!r} has the wrong type "
                                   f"({type(obj[key]).__name__})")
    if not _finite(obj["t"]) or obj["t"] < 0:
        raise TraceFormatError(source, number, "'t' must be a finite number of "
                               f"seconds from the start (>= 0), not {_short(obj['t'])}")
    unknown = sorted(set(obj) - set(_ENVELOPE))
    if unknown:
        raise TraceFormatError(source, number, f"unknown key {unknown[0]!r}; "
                               f"expected {', '.join(sorted(_ENVELOPE))}")
    try:
        kind = _to_kind(obj["kind"])
    except ValueError as err:
        raise TraceFormatError(source, number, str(err)) from None
    data = obj.get("data", {})
    problem = _data_problem(kind, data)
    if problem is not None:
        raise TraceFormatError(source, number, problem)
    return TraceRecord(float(obj["t"]), obj.get("device"), kind, obj.get("app"),
                       obj.get("playback"), data, obj.get("playback_id"))


def _data_problem(kind: Kind, data: Mapping[str, Any]) -> str | None:
    """What is wrong with ``data`` for ``kind`` (``None``: nothing)."""
    for name in sorted(set(data) - kind.names):
        return (f"{kind.value!r} has no field {name!r}; it declares "
                f"{', '.join(sorted(kind.names)) or 'none'}")
    for name in sorted(kind.required - set(data)):
        return f"{kind.value!r} needs field {name!r} ({_field(kind, name).meaning})"
    for field in kind.fields:
        if field.name not in data:
            continue
        value = data[field.name]
        if not field.accepts(value):
            return (f"'data.{field.name}' has the wrong type: {kind.value!r} field "
                    f"{field.name!r} must be {' or '.join(field.types)}, not "
                    f"{_short(value)}")
        if isinstance(value, int | float) and not isinstance(value, bool) \
                and not _finite(value):
            return (f"'data.{field.name}' must be a finite number of at most 10^18, not "
                    f"{_short(value)}")
    return None


def _finite(value: int | float) -> bool:
    """A number JSON may hold that player_sim computes with: finite, at most 10^18."""
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and abs(value) <= 1e18 and math.isfinite(value)


def _short(value: object) -> str:
    """``value`` as JSON, cut to a readable length."""
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, int) and abs(value) >= 10**40:
        text = f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    else:
        text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field(kind: Kind, name: str) -> Field:
    return next(f for f in kind.fields if f.name == name)


def check_record(record: TraceRecord) -> str | None:
    """What is wrong with ``record``'s data for its kind: a missing required field or
    a value of the wrong type (``None``: nothing). Undeclared fields are refused
    when a record is made."""
    return _data_problem(record.kind, record.data)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of one record line, generated from :class:`Kind`."""
    variants = []
    for kind in Kind:
        props = {f.name: {"type": list(f.types) if len(f.types) > 1 else f.types[0],
                          "description": f.meaning} for f in kind.fields}
        variants.append({
            "if": {"properties": {"kind": {"const": kind.value}}},
            "then": {"properties": {"data": {
                "type": "object", "additionalProperties": False, "properties": props,
                "required": sorted(kind.required)}}},
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"player_sim trace record (format version {VERSION})",
        "type": "object",
        "required": ["t", "kind"],
        "additionalProperties": False,
        "properties": {
            "t": {"type": "number", "description": "virtual seconds since the start"},
            "device": {"type": ["string", "null"],
                       "description": "the device's name; null for a harness event"},
            "kind": {"enum": [k.value for k in Kind], "description": "what happened"},
            "app": {"type": ["string", "null"],
                    "description": "the device's app state; null for unstamped kinds"},
            "playback": {"type": ["string", "null"],
                         "description": "the device's playback state; null for unstamped kinds"},
            "playback_id": {"type": ["integer", "null"],
                            "description": "the playback a device record belongs to"},
            "data": {"type": "object", "description": "the kind's declared fields"},
        },
        "allOf": variants,
    }


def kinds_table() -> str:
    """The Markdown table of every kind (kind, vantage, meaning, fields), as the README
    shows it; optional fields are in brackets."""
    rows = ["| kind | vantage | meaning | fields |", "|---|---|---|---|"]
    for kind in Kind:
        fields = ", ".join(f"`{f.name}`" if f.required else f"[`{f.name}`]"
                           for f in kind.fields)
        rows.append(f"| `{kind.value}` | {kind.vantage.value} | {kind.meaning} | "
                    f"{fields or '—'} |")
    return "\n".join(rows) + "\n"
