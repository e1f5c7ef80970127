"""player_sim's pytest plugin (registered by entry point when player_sim is installed
with its ``pytest`` extra, ``pip install 'player_sim[pytest]'``).

**Scenario files as tests, opt-in by name.** pytest collects a YAML file as a
scenario only when it is named ``NAME.scenario.yaml`` (or ``.scenario.yml``), or
when the command line names that file itself; a project's other YAML (CI,
compose, Kubernetes, fragments such as ``_world.yaml``) is never collected, so
installing player_sim changes nothing in a project without scenario files. Each
file is one test item run with :func:`~player_sim.scenario.run_scenario`. A
``broken/`` folder (scenarios that fail on purpose) is collected only when the
command line names it, a folder inside it, or one of its files. A failing item
shows the runner's failure report (the expectation, its line, the trace around
the moment), an invalid file its ``file:line:column`` problems; never a
traceback. ``--player-sim-seed N`` runs every scenario with seed ``N``;
``--player-sim-timeline DIR`` draws each run as an SVG timeline; ``-k`` matches
the same words as ``player-sim run -k``: the scenario's name, file, tags and
covered rule ids. Selecting nothing exits 5, as pytest always does.

**Fixtures for harnesses** (async: they need pytest-trio's ``trio_mode = true``
or ``@pytest.mark.trio``, and refuse to run a simulation on trio's real clock:
request ``autojump_clock`` to make virtual time instant, or pass
``real_time=True`` / override ``player_sim_real_time`` on purpose):

* ``player_sim_simulation``: an entered :class:`~player_sim.Simulation` built from
  the ``player_sim_config`` (a :class:`~player_sim.WorldConfig`) and
  ``player_sim_seed`` (an ``int``) fixtures, which a test module can override;
* ``make_simulation``: ``sim = await make_simulation(config, seed=1)`` enters
  as many simulations as a test needs; all are closed after the test;
* ``signal_recorder``: a :class:`SignalRecorder` connected to every player_sim
  signal for the duration of the test.

**A served lab for real devices** (needs ``pip install 'player_sim[serve]'``):

* ``player_sim_server``: the backends of ``player_sim_lab`` (a
  :class:`~player_sim.scenario.LabWorld`; override it, e.g. with
  ``load_lab("lab.yaml")``) served on a free loopback port for the test, as a
  :class:`~player_sim.serve.LabClient`: ``url("ssm")`` to configure the
  device, ``fail_next``, ``advance``, ``wait_for``, ``verdict`` ...; stopped
  (and so reset) after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
import trio
import trio.testing

from . import signals
from .scenario._discover import BROKEN_DIR, is_scenario_file, scenario_stem, selection_words
from .world import Device, Notification, Simulation, WorldConfig

__all__ = ["RealClockError", "ScenarioFile", "ScenarioItem", "SignalRecorder", "SignalTimeout",
           "SimulationFactory"]

_SUFFIXES: Final = (".yaml", ".yml")
#: The harness fixtures that are async (trio) fixtures.
_ASYNC_FIXTURES: Final = ("make_simulation", "player_sim_simulation")


# --- signal recording -----------------------------------------------------------------


class SignalTimeout(AssertionError, trio.TooSlowError):
    """:meth:`SignalRecorder.wait_for` saw no matching notification in time."""


class SignalRecorder:
    """Records every notification player_sim's signals send while connected.

    ``notifications`` lists them in the order they were sent; ``senders`` holds
    the :class:`~player_sim.Device` that sent each. Kinds are signal names (see
    :mod:`player_sim.signals`); an unknown kind raises ``KeyError`` naming the
    known ones, so a typo fails at once instead of waiting for a timeout.
    """

    def __init__(self, simulation: Simulation | None = None) -> None:
        self.notifications: list[Notification] = []
        self.senders: list[Device] = []
        self.simulation = simulation
        self._consumed: set[int] = set()
        self._changed = trio.Event()
        self._connected = False

    # --- connection -----------------------------------------------------------

    def connect(self) -> None:
        """Start recording (idempotent)."""
        if not self._connected:
            for name in signals.ALL_SIGNALS:
                signals.signal(name).connect(self._receive, weak=False)
            self._connected = True

    def disconnect(self) -> None:
        """Stop recording; what was recorded stays."""
        if self._connected:
            for name in signals.ALL_SIGNALS:
                signals.signal(name).disconnect(self._receive)
            self._connected = False

    def __enter__(self) -> SignalRecorder:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()

    def _receive(self, sender: Device, notification: Notification) -> None:
        self.notifications.append(notification)
        self.senders.append(sender)
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    # --- questions --------------------------------------------------------------

    def of_kind(self, kind: str, *, device: str | None = None,
                **payload: Any) -> list[Notification]:
        """The notifications of ``kind`` (from ``device``, with these payload values)."""
        _check_kind(kind)
        return [n for n in self.notifications if _matches(n, kind, device, payload)]

    def kinds(self, *, device: str | None = None) -> list[str]:
        """The kind of every notification, in order (of ``device`` only, when given)."""
        return [n.kind for n in self.notifications if device is None or n.device == device]

    def clear(self) -> None:
        """Forget everything recorded so far."""
        self.notifications.clear()
        self.senders.clear()
        self._consumed.clear()

    def __len__(self) -> int:
        return len(self.notifications)

    def __iter__(self) -> Iterator[Notification]:
        return iter(self.notifications)

    async def wait_for(self, kind: str, *, timeout: float, device: str | None = None,
                       simulation: Simulation | None = None, **payload: Any) -> Notification:
        """The earliest matching notification not yet returned by ``wait_for``,
        waiting up to ``timeout`` virtual seconds for one to be sent.

        Successive calls with the same arguments return successive notifications.
        With a simulation (``simulation=``, else the recorder's own) the world is
        advanced event by event, so on return ``simulation.now`` is the
        notification's time (to the microsecond); without one, the recorder
        waits on trio's clock and hears the notification when the simulation's
        runner next wakes (within its ``wake_interval``). Raises
        :class:`SignalTimeout` (an ``AssertionError`` and a ``trio.TooSlowError``)
        naming what was recorded instead.
        """
        _check_kind(kind)
        if timeout < 0:
            raise ValueError(f"timeout can't be negative, not {timeout!r}")
        sim = simulation if simulation is not None else self.simulation
        found: list[int] = []

        def matched() -> bool:
            for index, note in enumerate(self.notifications):
                if index not in self._consumed and _matches(note, kind, device, payload):
                    found.append(index)
                    return True
            return False

        start = len(self.notifications)
        if sim is not None:
            try:
                await sim.wait_until(matched, timeout=timeout)
            except trio.TooSlowError:
                raise self._timeout(kind, device, payload, timeout, start) from None
        else:
            with trio.move_on_after(timeout):
                while not matched():
                    await self._changed.wait()
            if not found:
                raise self._timeout(kind, device, payload, timeout, start)
        self._consumed.add(found[0])
        return self.notifications[found[0]]

    def _timeout(self, kind: str, device: str | None, payload: Mapping[str, Any],
                 timeout: float, start: int) -> SignalTimeout:
        what = kind + (f" from {device!r}" if device is not None else "")
        if payload:
            what += " with " + ", ".join(f"{k}={v!r}" for k, v in sorted(payload.items()))
        meanwhile = [f"{n.kind} from {n.device!r} at {n.time:g} s"
                     for n in self.notifications[start:]]
        return SignalTimeout(f"no {what} within {timeout:g} virtual seconds; "
                             f"sent meanwhile: {'; '.join(meanwhile) or 'nothing'}")


def _check_kind(kind: str) -> None:
    signals.signal(kind)  # KeyError naming the known signals


def _matches(note: Notification, kind: str, device: str | None,
             payload: Mapping[str, Any]) -> bool:
    return (note.kind == kind and (device is None or note.device == device)
            and all(k in note.payload and note.payload[k] == v for k, v in payload.items()))


# --- simulations ------------------------------------------------------------------------


class SimulationFactory:
    """Enters simulations in a nursery of the fixture's task; they close after the test."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self.created: list[Simulation] = []

    async def __call__(self, config: WorldConfig | None = None, *, seed: int = 0,
                       wake_interval: float = 1.0, real_time: bool = False) -> Simulation:
        """A new, entered :class:`~player_sim.Simulation` (its virtual time starts now).

        Refuses (fails the test, naming the fix) when trio runs on its real clock,
        where a virtual hour would take an hour, unless ``real_time=True``.
        """
        if not real_time:
            refuse_real_clock()
        sim = Simulation(config, seed=seed, wake_interval=wake_interval)
        await self._nursery.start(self._hold, sim)
        self.created.append(sim)
        return sim

    @staticmethod
    async def _hold(sim: Simulation, *,
                    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with sim:
            task_status.started()
            await trio.sleep_forever()


class RealClockError(RuntimeError):
    """A harness fixture was asked for a Simulation while trio runs on its real clock."""


def refuse_real_clock() -> None:
    """Raise :class:`RealClockError` unless trio runs on a :class:`trio.testing.MockClock`
    (pytest-trio's ``autojump_clock`` fixture, or one of the test's own). The test's
    report is then that message alone, without a traceback."""
    if not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
        raise RealClockError(
            "a player_sim Simulation would run on trio's real clock, so virtual time would "
            "pass at wall-clock speed (600 virtual seconds would take 10 minutes); request "
            "the autojump_clock fixture in the test (async def test_x(player_sim_simulation, "
            "autojump_clock)), or ask for real time on purpose: make_simulation(..., "
            "real_time=True) or override the player_sim_real_time fixture to return True")


def _real_clock_refusal(error: BaseException) -> RealClockError | None:
    """The :class:`RealClockError` ``error`` is, or is all a (nested) group holds."""
    if isinstance(error, RealClockError):
        return error
    if isinstance(error, BaseExceptionGroup):
        match, rest = error.split(RealClockError)
        if match is not None and rest is None:
            leaf: BaseException = match
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            return leaf if isinstance(leaf, RealClockError) else None
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
        item: pytest.Item,
        call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A refused real clock is reported as its message, not trio's exception groups."""
    report: pytest.TestReport = yield
    if call.excinfo is not None:
        refusal = _real_clock_refusal(call.excinfo.value)
        if refusal is not None:
            report.longrepr = f"RealClockError: {refusal}"
    return report


@attrs.define
class _Harness:
    """What the fixtures of one test share."""

    factory: SimulationFactory | None = None
    recorder: SignalRecorder | None = None


_HARNESS: Final = pytest.StashKey[_Harness]()
_TIMELINE_NAMES: Final = pytest.StashKey[dict[str, str]]()


def _harness(request: pytest.FixtureRequest) -> _Harness:
    stash: pytest.Stash = request.node.stash
    if _HARNESS not in stash:
        stash[_HARNESS] = _Harness()
    return stash[_HARNESS]


@pytest.fixture
async def make_simulation(request: pytest.FixtureRequest) -> AsyncIterator[SimulationFactory]:
    """``await make_simulation(config=None, *, seed=0, wake_interval=1.0,
    real_time=False)``: an entered Simulation. Every one is closed when the test ends.
    Without ``real_time=True`` it fails the test unless trio runs on a mock clock
    (request ``autojump_clock``)."""
    async with trio.open_nursery() as nursery:
        factory = SimulationFactory(nursery)
        harness = _harness(request)
        harness.factory = factory
        try:
            yield factory
        finally:
            harness.factory = None
            nursery.cancel_scope.cancel()


@pytest.fixture
def player_sim_config() -> WorldConfig:
    """The world ``player_sim_simulation`` runs (override it to change the world)."""
    return WorldConfig()


@pytest.fixture
def player_sim_seed() -> int:
    """The seed ``player_sim_simulation`` runs with (override it to change the seed)."""
    return 0


@pytest.fixture
def player_sim_real_time() -> bool:
    """Whether ``player_sim_simulation`` may run on trio's real clock (default ``False``:
    it fails the test unless ``autojump_clock`` or another mock clock is in use)."""
    return False


@pytest.fixture
async def player_sim_simulation(make_simulation: SimulationFactory,
                                player_sim_config: WorldConfig,
                                player_sim_seed: int,
                                player_sim_real_time: bool) -> Simulation:
    """An entered Simulation of ``player_sim_config`` with ``player_sim_seed`` (on a mock
    clock unless ``player_sim_real_time`` is true)."""
    return await make_simulation(player_sim_config, seed=player_sim_seed,
                                 real_time=player_sim_real_time)


@pytest.fixture
def signal_recorder(request: pytest.FixtureRequest) -> Iterator[SignalRecorder]:
    """A :class:`SignalRecorder` connected for the test. When the test made exactly
    one simulation with ``make_simulation`` / ``player_sim_simulation``,
    ``wait_for`` advances that one event by event."""
    recorder = _BoundRecorder(_harness(request))
    with recorder:
        yield recorder


class _BoundRecorder(SignalRecorder):
    """A recorder that finds its simulation among those the test's fixtures made."""

    def __init__(self, harness: _Harness) -> None:
        super().__init__()
        self._harness = harness

    async def wait_for(self, kind: str, *, timeout: float, device: str | None = None,
                       simulation: Simulation | None = None, **payload: Any) -> Notification:
        if simulation is None and self.simulation is None:
            factory = self._harness.factory
            if factory is not None and len(factory.created) == 1:
                simulation = factory.created[0]
        return await super().wait_for(kind, timeout=timeout, device=device,
                                      simulation=simulation, **payload)


# --- a served lab ---------------------------------------------------------------------


@pytest.fixture
def player_sim_lab() -> Any:
    """The lab ``player_sim_server`` serves (override it to change the world)."""
    from .scenario import LabWorld

    return LabWorld(WorldConfig(), (), 0)


@pytest.fixture
def player_sim_server(player_sim_lab: Any) -> Iterator[Any]:
    """A :class:`~player_sim.serve.LabClient` of ``player_sim_lab`` served on a free
    loopback port for this test only."""
    try:
        from .serve import Lab, LabClient, LabServer
    except ImportError as err:  # pragma: no cover - the extra is part of dev
        pytest.skip(f"player_sim_server needs pip install 'player_sim[serve]' ({err})")
    with LabServer(Lab(player_sim_lab)) as server, LabClient(server.url) as client:
        client.server = server
        yield client


# --- scenario files -----------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("player_sim", "player_sim scenario files")
    group.addoption("--player-sim-seed", type=int, default=None, metavar="N",
                    help="run every scenario file with this world seed "
                         "(default: each file's seed:, else 0)")
    group.addoption("--player-sim-timeline", default=None, metavar="DIR",
                    help="draw each scenario file's run as DIR/NAME.svg (a failure report "
                         "names its drawing)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that uses the async harness fixtures must be a trio test: say so plainly
    instead of letting pytest name a fixture the test never asked for."""
    used = [name for name in _ASYNC_FIXTURES if name in getattr(item, "fixturenames", ())]
    if used and item.get_closest_marker("trio") is None:
        pytest.fail(f"{item.name} uses {used[-1]}, an async player_sim fixture, so it must "
                    "be a trio test: make it 'async def' and set 'trio_mode = true' under "
                    "[pytest] in pytest.ini (player-sim init writes it), or mark it "
                    "@pytest.mark.trio", pytrace=False)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.suffix not in _SUFFIXES:
        return None
    named = _command_line_paths(parent.config)
    path = file_path.resolve()
    if path not in named and not is_scenario_file(path.name):
        return None
    if BROKEN_DIR in path.parent.parts and not _named_explicitly(path, named):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


_NAMED: Final = pytest.StashKey[frozenset[Path]]()


def _command_line_paths(config: pytest.Config) -> frozenset[Path]:
    """The paths the command line (or ``testpaths``) names, absolute. Not the session's
    initial paths: pytest drops an argument inside another one (``scenarios
    scenarios/broken``), and that would silently drop the broken files."""
    if _NAMED not in config.stash:
        base = config.invocation_params.dir
        config.stash[_NAMED] = frozenset(
            (base / str(arg).split("::", 1)[0]).resolve() for arg in config.args)
    return config.stash[_NAMED]


def _named_explicitly(path: Path, named: frozenset[Path]) -> bool:
    """Whether the command line named this file, its ``broken`` folder or a folder
    between them (naming ``scenarios`` alone does not reach into ``broken/``)."""
    for candidate in (path, *path.parents):
        if candidate in named:
            return True
        if candidate.name == BROKEN_DIR:
            return False
    return False


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when inside it (as ``player-sim run``
    shows it), else absolute: what failure reports print."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class ScenarioFile(pytest.File):
    """A scenario file: one :class:`ScenarioItem`."""

    def collect(self) -> Iterator[ScenarioItem]:
        yield ScenarioItem.from_parent(self, name=scenario_stem(str(self.path)))


class _ScenarioFailed(Exception):
    """Raised by :meth:`ScenarioItem.runtest` to carry the report to ``repr_failure``."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


class ScenarioItem(pytest.Item):
    """Loads and runs one scenario file; fails with the runner's report."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from .scenario import ScenarioError, load_scenario

        self.scenario: Any = None
        self.load_error: str | None = None
        try:
            self.scenario = load_scenario(_shown(self.path))
        except ScenarioError as err:
            self.load_error = str(err)
        else:
            # -k matches what player-sim run -k matches: name, file, tags, rule ids.
            extra = selection_words(self.scenario.name, str(self.path),
                                    self.scenario.tags, self.scenario.covers)
            self.extra_keyword_matches.update(str(word) for word in extra)

    @property
    def obj(self) -> Any:
        """The function this item runs (pytest-trio's ``trio_mode`` reads every item's
        ``obj`` to decide whether it is async; a scenario item is not)."""
        return self.runtest

    def runtest(self) -> None:
        from .scenario import format_result, run_scenario

        if self.load_error is not None:
            raise _ScenarioFailed(f"invalid scenario file:\n{self.load_error}")
        seed = self.config.getoption("player_sim_seed")
        result = run_scenario(self.scenario, seed=seed)
        drawing = self._draw(result)
        if not result.passed:
            word = "failed" if result.status == "failed" else "could not run"
            report = (f"scenario {self.scenario.name!r} {word} "
                      f"(seed {result.seed}):\n{format_result(result)}")
            if drawing is not None:
                report += f"\ntimeline: {drawing}"
            raise _ScenarioFailed(report)

    def _draw(self, result: Any) -> Path | None:
        """With ``--player-sim-timeline DIR``, the run as ``DIR/NAME.svg`` (numbered on
        clashes, in collection order)."""
        from .scenario import result_timeline, write_atomic

        folder = self.config.getoption("player_sim_timeline")
        if folder is None:
            return None
        used = self.config.stash.setdefault(_TIMELINE_NAMES, {})
        name = used.get(self.nodeid)
        if name is None:
            stem = scenario_stem(str(self.path))
            name, n = f"{stem}.svg", 2
            while name in used.values():
                name, n = f"{stem}-{n}.svg", n + 1
            used[self.nodeid] = name
        target = Path(folder) / name
        # The same drawing as player-sim run --timeline, its failures marked.
        write_atomic(target, result_timeline(result))
        return target

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, _ScenarioFailed):
            return excinfo.value.report
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        name = self.scenario.name if self.scenario is not None else "invalid scenario"
        return self.path, None, f"{self.path.name}: {name}"
