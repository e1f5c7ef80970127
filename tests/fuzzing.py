"""Structure-aware fuzzing of player_sim's inputs: the strategies and the harness.

Three kinds of input, each drawn by Hypothesis from real material and then
broken the way hostile or careless authors break it:

* :func:`scenario_cases`: a bundled scenario (with its fragments) whose data is
  mutated (hostile values at any path, keys dropped or invented, absurd steps),
  dumped to YAML, then damaged as text (tabs, unquoted colons, alias bombs,
  deep nesting, tags, hostile includes, NUL and non-UTF-8 bytes, truncation);
* :func:`trace_cases`: a real trace whose records are mutated (wrong payload
  types, time going back, NaN, unknown kinds and keys, deep nesting, huge
  integers, a missing header), run through ``player-sim check``;
* :func:`cli_cases`: command lines with hostile options (``-k`` with thousands of
  parentheses, empty or unwritable report paths, absurd seeds and budgets).

:class:`Harness` writes each case into its own folder (next to a "secret" file
outside it that must never be echoed) and runs the command line in a worker
subprocess (tests/fuzz_worker.py) with a capped address space and a timeout.
:func:`judge` sorts each outcome: ``valid`` (exit 0), ``failed`` (exit 1: a
scenario or rule failed, a legitimate verdict), ``clean-error`` (exit 2, no
traceback; or exit 5, nothing selected, as pytest says it), or a defect:
``crash`` (a traceback or another exit code), ``hang`` (the timeout), ``memory``
(the cap), ``leak`` (the secret echoed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
#: A value planted outside every case's folder: no output may ever contain it.
SECRET = "s3cr3t-outside-value"
DEFECTS = ("crash", "hang", "memory", "leak")

_BUNDLED = sorted(p for p in SCENARIOS.glob("*.yaml") if not p.name.startswith("_"))
_FRAGMENTS = {p.name: p.read_text(encoding="utf-8") for p in SCENARIOS.glob("_*.yaml")}


@attrs.frozen
class Case:
    """Files to write (name -> text or bytes) and the command line to run among them."""

    files: dict[str, str | bytes]
    args: tuple[str, ...]
    label: str


@attrs.frozen
class Outcome:
    kind: str
    code: int | None
    detail: str


# --- values ---------------------------------------------------------------------------

def _durations() -> st.SearchStrategy[str]:
    number = st.one_of(st.integers(0, 10**6).map(str),
                       st.text("0123456789", min_size=1, max_size=400),
                       st.tuples(st.integers(0, 999), st.integers(0, 999999)).map(
                           lambda p: f"{p[0]}.{p[1]}"))
    unit = st.sampled_from(["ms", "s", "m", "h", "d", "", "x", "S"])
    part = st.tuples(number, unit).map("".join)
    return st.lists(part, min_size=1, max_size=3).map("".join)


HOSTILE: st.SearchStrategy[Any] = st.one_of(
    _durations(),
    st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**30, 1.5, 500.0, float("nan"), float("inf"),
                     True, False, None, "no", "yes", "", " ", "30s", "NaN", "1e999",
                     "http://[::1", "/dev/zero", "../secret.yaml", "a\x00b", [], {},
                     {"a": 1}, [1, [2, [3]]], "x" * 5000, "phone", "alice", "ssm.setup",
                     "play", "playing", "setup-first", "documented", "ott", "ovp"]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5)),
                 lambda inner: st.lists(inner, max_size=3)
                 | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8),
)

_STEPS = st.one_of(
    st.builds(lambda d: {"wait": d}, st.one_of(_durations(), HOSTILE)),
    st.builds(lambda d: {"at": d}, _durations()),
    st.sampled_from([{"play": {"device": "phone", "stream": "c"}}, {"stop": "phone"},
                     {"kill": "phone"}, {"enter_background": "phone"},
                     {"expect": {"signal": "zap", "within": "1s"}},
                     {"fail": {"endpoint": "ssm.heartbeat", "http_status": 503,
                               "count": 500.0}},
                     {"lose": {"endpoint": "ssm.setup", "count": 10**30}},
                     {"outage": {"backend": "ssm", "for": "366d"}}]),
    st.dictionaries(st.sampled_from(["wait", "play", "expect", "fail", "zzz"]), HOSTILE,
                    min_size=1, max_size=2),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += _paths(value, (*prefix, i))
    return out


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _delete(data: Any, path: tuple[Any, ...]) -> None:
    for part in path[:-1]:
        data = data[part]
    del data[path[-1]]


@st.composite
def _mutated(draw: st.DrawFn, data: Any) -> Any:
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(data)
        action = draw(st.sampled_from(["set", "set", "delete", "add", "step", "world"]))
        if action in ("set", "delete") and paths:
            path = draw(st.sampled_from(paths))
            try:
                if action == "set":
                    _set(data, path, draw(HOSTILE))
                else:
                    _delete(data, path)
            except (KeyError, IndexError, TypeError):
                pass
        elif action == "add" and isinstance(data, dict):
            data[draw(st.sampled_from(["nmae", "max_events", "seed", "include", "world",
                                       "always", "never", "zz"]))] = draw(HOSTILE)
        elif action == "step" and isinstance(data, dict) and isinstance(data.get("steps"), list):
            data["steps"].insert(draw(st.integers(0, len(data["steps"]))), draw(_STEPS))
        elif action == "world" and isinstance(data, dict):
            key = draw(st.sampled_from(["heartbeat_period", "grace_period", "session_timeout",
                                        "max_sessions_per_account"]))
            world = data.setdefault("world", {})
            if isinstance(world, dict):
                ssm = world.setdefault("ssm", {})
                if isinstance(ssm, dict):
                    ssm[key] = draw(st.one_of(_durations(), HOSTILE))
    return data


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
              for i in range(1, levels)]
    return "\n".join(lines) + "\n"


_HEADERS = st.one_of(
    st.integers(1, 9).map(_bomb),
    st.integers(10, 2000).map(lambda n: "deep: " + "[" * n + "]" * n + "\n"),
    st.integers(10, 2000).map(lambda n: "deep: " + "{a: " * n + "1" + "}" * n + "\n"),
    st.sampled_from(["x: &a [*a]\n", "x: &a {y: *a}\n", "seed: !!int abc\n",
                     "seed: !!python/object:os.system ls\n", "description: !!strx hi\n",
                     "!!str description: hi\n", "? !!python/name:os.system x\n: 1\n",
                     "description: !!timestamp 2001-12-14\n", "description: !!binary aGk=\n",
                     "seed: " + "9" * 5000 + "\n", "include: {a: 1}\n",
                     "include: [1, [2]]\n", "include: /dev/zero\n", "include: /etc/passwd\n",
                     "include: ../secret.yaml\n", "include: \"a\\0b\"\n",
                     "include: latin.yaml\n", "include: .\n", "include: self.yaml\n",
                     "include: [_fan0.yaml]\n", "include: big.yaml\n",
                     "include: link.yaml\n", "<<: *nowhere\n", "max_events: 50\n"]),
)


@st.composite
def _damaged(draw: st.DrawFn, text: str) -> str | bytes:
    for _ in range(draw(st.integers(0, 2))):
        lines = text.splitlines(keepends=True) or [""]
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["tab", "colon", "indent", "header", "truncate",
                                       "duplicate"]))
        if action == "tab":
            lines[i] = "\t" + lines[i]
        elif action == "colon":
            lines[i] = lines[i].replace(": ", ":", 1) + "x: y: z\n" * draw(st.integers(0, 1))
        elif action == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + lines[i]
        elif action == "header":
            lines.insert(0, draw(_HEADERS))
        elif action == "truncate":
            lines = lines[:i]
        else:
            lines.insert(i, lines[i])
        text = "".join(lines)
    if draw(st.integers(0, 20)) == 0:
        raw = text.encode()
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\xff\xfe", b"\x00", b"\xe9"])) + raw[at:]
    return text


def _support_files() -> dict[str, str | bytes]:
    """Fragments the bundled scenarios include, and targets of hostile includes."""
    files: dict[str, str | bytes] = dict(_FRAGMENTS)
    files["latin.yaml"] = b"world:\n  ssm: {heartbeat_period: 30s}\n# \xe9\xff\n"
    files["self.yaml"] = "include: self.yaml\n"
    for i in range(24):  # a fan-out of 2^24 includes
        files[f"_fan{i}.yaml"] = (f"include: [_fan{i + 1}.yaml, _fan{i + 1}.yaml]\n"
                                  if i < 23 else "world: {}\n")
    files["big.yaml"] = "# " + "x" * (2 << 20) + "\n"
    return files


@st.composite
def scenario_cases(draw: st.DrawFn) -> Case:
    """A bundled scenario, mutated as data and then as text, loaded or run."""
    source = draw(st.sampled_from(_BUNDLED))
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data = draw(_mutated(data))
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        text = source.read_text(encoding="utf-8")
    body = draw(_damaged(text))
    command = draw(st.sampled_from([("run", "--no-rules"), ("run",), ("validate",),
                                    ("run", "--no-rules", "--json", "out.json")]))
    support = _support_files()
    shown = body if isinstance(body, str) else body.decode("utf-8", "replace")
    files = {name: content for name, content in support.items()
             if name in _FRAGMENTS or name.partition(".")[0].rstrip("0123456789") in shown}
    files["case.yaml"] = body
    return Case(files, (*command, "case.yaml"), f"scenario {source.name}")


_TRACE_CACHE: dict[str, str] = {}


def base_trace() -> str:
    """The JSONL trace of a bundled scenario with heartbeats, providers and zaps."""
    if "trace" not in _TRACE_CACHE:
        from player_sim.scenario import load_scenario, run_scenario

        text = ""
        for name in ("background_short_resumes.scenario.yaml", "zap_race_at_limit.scenario.yaml"):
            result = run_scenario(load_scenario(SCENARIOS / name))
            text = text or result.trace.to_jsonl()
            if name != "background_short_resumes.scenario.yaml":
                text += "".join(line + "\n" for line in result.trace.to_jsonl().splitlines()[1:]
                                if json.loads(line)["t"] >= 400)
        _TRACE_CACHE["trace"] = text
    return _TRACE_CACHE["trace"]


@st.composite
def trace_cases(draw: st.DrawFn) -> Case:
    """A real trace with mutated records, checked by ``player-sim check``."""
    lines = base_trace().splitlines()
    records = [json.loads(line) for line in lines]
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(1, len(records) - 1))
        record = records[i]
        action = draw(st.sampled_from(["data", "data", "t", "kind", "drop", "extra",
                                       "swap"]))
        if action == "data" and isinstance(record, dict) and isinstance(record.get("data"),
                                                                         dict):
            keys = list(record["data"]) or ["x"]
            record["data"][draw(st.sampled_from(keys))] = draw(HOSTILE)
        elif action == "t" and isinstance(record, dict):
            record["t"] = draw(st.one_of(st.sampled_from([-1, 1e308, 0, "1", None]),
                                         st.floats(allow_nan=True), HOSTILE))
        elif action == "kind" and isinstance(record, dict):
            record["kind"] = draw(st.one_of(st.sampled_from([
                "heartbeat", "setup_sent", "zzz", "", "ssm_session_expired"]), HOSTILE))
        elif action == "drop" and isinstance(record, dict) and record:
            record.pop(draw(st.sampled_from(sorted(record))))
        elif action == "extra" and isinstance(record, dict):
            record[draw(st.sampled_from(["zz", "data", "device", "app"]))] = draw(HOSTILE)
        else:
            j = draw(st.integers(1, len(records) - 1))
            records[i], records[j] = records[j], records[i]
    out = [json.dumps(r) for r in records]
    action = draw(st.sampled_from(["none", "none", "deep", "bigint", "header", "cut"]))
    i = draw(st.integers(1, len(out)))
    if action == "deep":
        out.insert(i, "[" * draw(st.integers(100, 100_000)))
    elif action == "bigint":
        out.insert(i, '{"t": ' + "9" * draw(st.integers(300, 10_000)) + ', "kind": "zap"}')
    elif action == "header":
        out = out[1:]
    elif action == "cut":
        out = out[:i]
    options = draw(st.lists(st.sampled_from([
        ("--limit", "1"), ("--limit", "0"), ("--session-timeout", "70"),
        ("--session-timeout", "nan"), ("--session-timeout", "70s"), ("--no-heartbeats",),
        ("--rule", "ssm.setup.limit-refuses"), ("--rule", "no.such-rule"),
        ("--reaction-window", "inf"), ("--heartbeat-slack", "-1")]), max_size=3))
    args = ("check", "trace.jsonl", *(part for option in options for part in option))
    return Case({"trace.jsonl": "\n".join(out) + "\n"}, args, "trace")


def _keyword(depth: int) -> str:
    return "(" * depth + "zap" + ")" * depth


@st.composite
def cli_cases(draw: st.DrawFn) -> Case:
    """Command lines with hostile options over a few bundled scenarios."""
    picked = draw(st.lists(st.sampled_from(_BUNDLED), min_size=1, max_size=2, unique=True))
    files: dict[str, str | bytes] = {f"scenarios/{p.name}": p.read_text(encoding="utf-8")
                                     for p in picked}
    files.update({f"scenarios/{name}": text for name, text in _FRAGMENTS.items()})
    files["notadir"] = "x\n"
    options = draw(st.lists(st.one_of(
        st.sampled_from([("--json", ""), ("--json", "out.json"), ("--json", "scenarios"),
                         ("--json", "nowhere/deeper/out.json"), ("--json", "notadir/x.json"),
                         ("--junit-xml", ""), ("--junit-xml", "out.xml"),
                         ("--trace-dir", "traces"), ("--trace-dir", "notadir"),
                         ("--seed", str(2**70)), ("--seed", "-1"), ("--seed", "x"),
                         ("--max-events", "0"), ("--max-events", "1"),
                         ("--max-events", "50"), ("-q",), ("--no-rules",), ("--zzz",),
                         ("-k", ""), ("-k", "not"), ("-k", "zap and"), ("-k", "((")]),
        st.integers(1, 5000).map(lambda n: ("-k", _keyword(n))),
        st.text(max_size=30).map(lambda t: ("-k", t))), max_size=4))
    command = draw(st.sampled_from(["run", "run", "validate"]))
    if command == "validate":
        options = []
    paths = draw(st.sampled_from([("scenarios",), (), ("nowhere",), ("notadir",),
                                  ("scenarios", "scenarios")]))
    args = (command, *(part for option in options for part in option), *paths)
    return Case(files, args, "cli")


# --- running and judging ------------------------------------------------------------------

class Harness:
    """Runs cases in a worker subprocess with a capped address space and a timeout."""

    def __init__(self, *, timeout: float = 60.0, memory: int = 2 << 30,
                 recycle: int = 100) -> None:
        self.timeout = timeout
        self.memory = memory
        self.recycle = recycle
        self.base = Path(tempfile.mkdtemp(prefix="player-sim-fuzz-"))
        (self.base / "secret.yaml").write_text(
            f"world: {{ssm: {{heartbeat_period: {SECRET}}}}}\n", encoding="utf-8")
        self.worker: subprocess.Popen[str] | None = None
        self.served = 0
        self.counts: Counter[str] = Counter()
        self.number = 0

    def close(self) -> None:
        self._stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def _start(self) -> subprocess.Popen[str]:
        if self.worker is None or self.worker.poll() is not None or self.served >= self.recycle:
            self._stop()
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            env.pop("PLAYER_SIM_INCLUDE_ROOT", None)
            self.worker = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("fuzz_worker.py")),
                 "--memory", str(self.memory)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True, env=env)
            self.served = 0
        return self.worker

    def _stop(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker.wait()
            for stream in (self.worker.stdin, self.worker.stdout):
                if stream is not None:
                    stream.close()
            self.worker = None

    def run(self, case: Case) -> Outcome:
        self.number += 1
        folder = self.base / f"case{self.number}"
        folder.mkdir()
        (folder / "link.yaml").symlink_to(self.base / "secret.yaml")
        for name, content in case.files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        try:
            outcome = self._ask(folder, case)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.counts[outcome.kind] += 1
        return outcome

    def _ask(self, folder: Path, case: Case) -> Outcome:
        worker = self._start()
        assert worker.stdin is not None and worker.stdout is not None
        self.served += 1
        worker.stdin.write(json.dumps({"cwd": str(folder), "args": list(case.args)}) + "\n")
        worker.stdin.flush()
        answer = _readline(worker, self.timeout)
        if answer is None:
            self._stop()
            return Outcome("hang", None, f"no answer within {self.timeout:g}s")
        if not answer:  # the worker died: the address-space cap (or a signal)
            self._stop()
            return Outcome("memory", None, "the worker died")
        outcome = judge(json.loads(answer))
        if outcome.kind == "memory":
            self._stop()  # it exits after a MemoryError: start afresh
        return outcome


def _readline(worker: subprocess.Popen[str], timeout: float) -> str | None:
    """The worker's next answer line; None if none came within ``timeout``."""
    import selectors

    assert worker.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(worker.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    return worker.stdout.readline()  # '' at the end of file: the worker died


def judge(answer: dict[str, Any]) -> Outcome:
    """Sort one worker answer into an outcome kind (see the module docstring)."""
    code = answer["code"]
    text = answer["out"] + answer["err"]
    if answer["memory"]:
        return Outcome("memory", None, "MemoryError")
    if code is None or "Traceback (most recent call last)" in text:
        return Outcome("crash", code, answer["traceback"] or text[-4000:])
    if SECRET in text:
        return Outcome("leak", code, text[-2000:])
    if code not in (0, 1, 2, 5):
        return Outcome("crash", code, f"exit code {code}: {text[-2000:]}")
    return Outcome({0: "valid", 1: "failed", 2: "clean-error", 5: "clean-error"}[code], code,
                   text[-300:])


def campaign(strategy: st.SearchStrategy[Case], harness: Harness, examples: int,
             seed: int | None, on_outcome: Callable[[Case, Outcome], None]) -> None:
    """Draw ``examples`` cases of ``strategy`` and run each, without stopping at a defect."""
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=examples, deadline=None, database=None,
              derandomize=seed is None, phases=["generate"],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case: Case) -> None:
        on_outcome(case, harness.run(case))

    if seed is not None:
        from hypothesis import seed as seeded

        seeded(seed)(run)()
    else:
        run()
