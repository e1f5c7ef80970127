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

import difflib
import json
import math
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar, Final, TypeAlias, overload

import attrs

from ._errors import PlayerSimError
from ._trace_kinds import Field, Kind, Vantage

__all__ = ["FORMAT", "VERSION", "Field", "Kind", "Trace", "TraceFormatError", "TraceRecord",
           "Vantage", "check_record", "json_schema", "kinds_table"]

#: The ``format`` of a trace's header line.
FORMAT: Final = "player_sim.trace"
#: The trace format version this module writes and reads.
VERSION: Final = 2

_EMPTY: Mapping[str, Any] = {}


_BY_VALUE: Final[dict[str, Kind]] = {k.value: k for k in Kind}


def _to_kind(value: str) -> Kind:
    if type(value) is Kind:
        return value
    kind = _BY_VALUE.get(value)
    if kind is None:
        raise ValueError(_unknown_kind(value))
    return kind


def _unknown_kind(value: object) -> str:
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

    Records are kept column by column, not as objects (see :class:`_Columns`): a
    traced fleet writes millions, and a record held costs well under a hundred
    bytes this way. Reading one (iterating, indexing, :meth:`of_kind`) gives a
    :class:`TraceRecord` equal to the one written, made afresh each time: records
    read are values, compare them with ``==``, not ``is``.

    A producer appends a record with :meth:`append`, or, without building the
    :class:`TraceRecord` first, with :meth:`write` (what the world does: it is the
    cheaper of the two). A subclass that overrides :meth:`append` but not
    :meth:`write` receives every written record through its :meth:`append`.
    """

    __slots__ = ("_records", "vantages")

    def __init__(self, records: Iterable[TraceRecord] = (), *,
                 vantages: Iterable[Vantage] = (Vantage.DEVICE, Vantage.SERVER,
                                                Vantage.HARNESS)) -> None:
        self._records = _Columns()
        append = self._records.append
        for record in records:
            append(record)
        self.vantages: frozenset[Vantage] = frozenset(vantages)

    #: The class overrides :meth:`append` but not :meth:`write`: writes go through it.
    _appends_itself: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "append" in cls.__dict__ and "write" not in cls.__dict__:
            cls._appends_itself = True

    def append(self, record: TraceRecord) -> None:
        self._records.append(record)

    def write(self, t: float, device: str | None, kind: str, app: str | None,
              playback: str | None, data: Mapping[str, Any], playback_id: int | None) -> None:
        """Append the record ``TraceRecord(t, device, kind, app, playback, data,
        playback_id)`` would be, with the same checks (an undeclared kind or field
        raises :class:`ValueError`), without making that object."""
        if self._appends_itself:
            self.append(TraceRecord(t, device, kind, app, playback, data, playback_id))
        else:
            self._records.write(t, device, kind, app, playback, data, playback_id)

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceRecord]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | list[TraceRecord]:
        return self._records[index]

    def of_kind(self, *kinds: str, device: str | None = None) -> list[TraceRecord]:
        """The records of the given kinds (of one device when ``device`` is given)."""
        return self._records.select(
            lambda r: r.kind in kinds and (device is None or r.device == device))

    def seen_from(self, *vantages: Vantage) -> Trace:
        """The records a producer with only ``vantages`` would have written."""
        keep = frozenset(vantages)
        return Trace(self._records.select(lambda r: r.kind.vantage in keep), vantages=keep)

    def to_jsonl(self) -> str:
        """The whole trace as JSONL text: the header line, then one line per record."""
        return _header(self.vantages) + "\n" + "".join(r.to_json() + "\n" for r in self._records)

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


#: A record's *stamp*: everything but its time and its data values (device, kind,
#: app, playback, playback id, and the names of its data fields, in order).
_Stamp: TypeAlias = tuple[str | None, Kind, str | None, str | None, int | None,
                          tuple[str, ...]]

#: The stamp number of a record kept whole (see :class:`_Columns`).
_WHOLE: Final = 0


class _Columns:
    """A trace's records, column by column.

    A record is three entries: its time ``t`` (a C double), the number of its
    *stamp* (who wrote it, of which kind, in which app and playback states, for
    which playback, with which data fields), and where its data values start in
    one list of values. Stamps repeat (a device writes the same few kinds in the
    same states a whole playback long), so each is kept once; a heartbeat's
    record then costs a few dozen bytes, where an object and its ``data`` dict
    cost several hundred. Nothing is kept per record that the garbage collector
    tracks (the two arrays are not containers; the values live in one list), so
    a long traced run does not make the collector walk millions of records.

    Stamps are told apart by equality: a device, app or playback given as a
    ``str`` subclass may come back as an equal ``str`` written earlier (the same
    JSON). A record whose ``t`` is not a ``float``, whose ``data`` is not a
    ``dict`` or whose ``playback_id`` is neither an ``int`` nor ``None`` (never
    one the world writes; ``True == 1``) is kept whole, as the value of stamp
    ``_WHOLE``: reading it back gives that very object.

    Reading record ``i`` builds a new :class:`TraceRecord` and ``data`` dict from
    the columns: equal to what was written, field for field, in the same order.
    """

    __slots__ = ("_index", "_stamp_of", "_stamps", "_starts", "_times", "_values")

    def __init__(self) -> None:
        self._times = array("d")
        self._stamp_of = array("I")
        self._starts = array("q")
        self._values: list[Any] = []
        #: Every stamp, by number; ``_index`` finds a stamp's number.
        self._stamps: list[_Stamp | None] = [None]
        self._index: dict[tuple[Any, ...], int] = {}

    def __len__(self) -> int:
        return len(self._times)

    def append(self, record: TraceRecord) -> None:
        """Keep ``record`` (already checked when it was made)."""
        if _columnar(record.t, record.data, record.playback_id):
            self.write(record.t, record.device, record.kind, record.app, record.playback,
                       record.data, record.playback_id)
        else:
            self._keep_whole(record)

    def write(self, t: float, device: str | None, kind: str, app: str | None,
              playback: str | None, data: Mapping[str, Any], playback_id: int | None) -> None:
        """Keep the record these fields make; refuse what :class:`TraceRecord` refuses."""
        if not _columnar(t, data, playback_id):
            self._keep_whole(TraceRecord(t, device, kind, app, playback, data, playback_id))
            return
        key = (device, kind, app, playback, playback_id, tuple(data))
        try:
            stamp = self._index.get(key)
        except TypeError:  # an unhashable field: nothing to share it with
            self._keep_whole(TraceRecord(t, device, kind, app, playback, data, playback_id))
            return
        if stamp is None:
            stamp = self._new_stamp(key)
        self._times.append(t)
        self._stamp_of.append(stamp)
        values = self._values
        self._starts.append(len(values))
        values.extend(data.values())

    def _new_stamp(self, key: tuple[Any, ...]) -> int:
        device, kind, app, playback, playback_id, names = key
        member = _to_kind(kind)
        _check_names(member, names)
        stamp = len(self._stamps)
        self._stamps.append((device, member, app, playback, playback_id, names))
        # Keyed by the value, not the member: the same key whichever a producer passes.
        self._index[(device, member.value, app, playback, playback_id, names)] = stamp
        return stamp

    def _keep_whole(self, record: TraceRecord) -> None:
        self._times.append(0.0)
        self._stamp_of.append(_WHOLE)
        self._starts.append(len(self._values))
        self._values.append(record)

    def __iter__(self) -> Iterator[TraceRecord]:
        stamps, values = self._stamps, self._values
        for t, stamp, start in zip(self._times, self._stamp_of, self._starts, strict=True):
            yield _restore(t, stamps[stamp], values, start)

    @overload
    def __getitem__(self, index: int) -> TraceRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[TraceRecord]: ...

    def __getitem__(self, index: int | slice) -> TraceRecord | list[TraceRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return _restore(self._times[index], self._stamps[self._stamp_of[index]],
                        self._values, self._starts[index])

    def select(self, keep: Callable[[TraceRecord], bool]) -> list[TraceRecord]:
        """The records ``keep`` accepts, in order; ``keep`` is asked once per stamp
        (with the stamp's first record), and of each record kept whole."""
        stamps, values = self._stamps, self._values
        verdicts: dict[int, bool] = {}
        kept = []
        for t, stamp, start in zip(self._times, self._stamp_of, self._starts, strict=True):
            verdict = verdicts.get(stamp)
            if verdict is False:
                continue
            record = _restore(t, stamps[stamp], values, start)
            if verdict is None:
                verdict = keep(record)
                if stamp != _WHOLE:
                    verdicts[stamp] = verdict
            if verdict:
                kept.append(record)
        return kept


def _columnar(t: object, data: object, playback_id: object) -> bool:
    """Whether a record with these fields is kept in columns (else whole)."""
    return type(t) is float and type(data) is dict and (
        playback_id is None or type(playback_id) is int)


def _check_names(kind: Kind, names: Iterable[str]) -> None:
    """Refuse a data field ``kind`` does not declare (:class:`ValueError`)."""
    if not kind.names.issuperset(names):
        extra = sorted(set(names) - kind.names)
        raise ValueError(f"trace kind {kind.value!r} has no field {extra[0]!r}; it "
                         f"declares {', '.join(sorted(kind.names)) or 'none'}")


_new_record = object.__new__
_SET_FIELD: Final = tuple(getattr(TraceRecord, name).__set__ for name in (
    "t", "device", "kind", "app", "playback", "data", "playback_id"))


def _restore(t: float, stamp: _Stamp | None, values: list[Any], start: int) -> TraceRecord:
    """The record kept at ``start`` of ``values`` with ``stamp`` (``None``: kept whole).

    Its fields were checked when it was written, so the record's slots are set
    directly rather than through the converting, checking ``__init__``.
    """
    if stamp is None:
        record: TraceRecord = values[start]
        return record
    device, kind, app, playback, playback_id, names = stamp
    record = _new_record(TraceRecord)
    set_t, set_device, set_kind, set_app, set_playback, set_data, set_playback_id = _SET_FIELD
    set_t(record, t)
    set_device(record, device)
    set_kind(record, kind)
    set_app(record, app)
    set_playback(record, playback)
    set_data(record, dict(zip(names, values[start:start + len(names)], strict=True))
             if names else {})
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
