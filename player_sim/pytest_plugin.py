"""player_sim's pytest plugin (registered by entry point: installing player_sim enables it).

**Scenario files as tests.** ``pytest scenarios/`` collects each scenario file as
one test item and runs it with :func:`~player_sim.scenario.run_scenario`. A YAML
file is taken for a scenario only if it lies in a folder called ``scenarios``
(at any depth) or has a top-level ``steps:`` key, so other YAML files of a
project are left alone. As with ``player-sim run``, files whose name starts
with ``_`` are include fragments, and a ``broken/`` folder (scenarios that fail
on purpose) is collected only when named on the command line. A failing item
shows the runner's failure report (the expectation, its line, the trace around
the moment), an invalid file its ``file:line:column`` problems; never a
traceback. ``--player-sim-seed N`` runs every scenario with seed ``N``;
``--player-sim-timeline DIR`` draws each run as an SVG timeline; ``-k`` also
matches a scenario's name, tags and covered rule ids.

**Fixtures for harnesses** (with pytest-trio: ``trio_mode = true`` or
``@pytest.mark.trio``; request ``autojump_clock`` to make virtual time instant):

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

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
import trio

from . import signals
from .world import Device, Notification, Simulation, WorldConfig

__all__ = ["ScenarioFile", "ScenarioItem", "SignalRecorder", "SignalTimeout",
           "SimulationFactory"]

_SCENARIO_DIR: Final = "scenarios"
_BROKEN_DIR: Final = "broken"
_SUFFIXES: Final = (".yaml", ".yml")
_TOP_LEVEL_STEPS: Final = re.compile(r"^steps[ \t]*:", re.MULTILINE)


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
                       wake_interval: float = 1.0) -> Simulation:
        """A new, entered :class:`~player_sim.Simulation` (its virtual time starts now)."""
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
    """``await make_simulation(config=None, *, seed=0, wake_interval=1.0)``: an entered
    Simulation. Every one is closed when the test ends."""
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
async def player_sim_simulation(make_simulation: SimulationFactory,
                                player_sim_config: WorldConfig,
                                player_sim_seed: int) -> Simulation:
    """An entered Simulation of ``player_sim_config`` with ``player_sim_seed``."""
    return await make_simulation(player_sim_config, seed=player_sim_seed)


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


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.suffix not in _SUFFIXES or file_path.name.startswith("_"):
        return None
    if not _looks_like_scenario(file_path):
        return None
    if _BROKEN_DIR in file_path.parent.parts and not _named_explicitly(file_path, parent):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


def _looks_like_scenario(path: Path) -> bool:
    if _SCENARIO_DIR in path.parent.parts:
        return True
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return _TOP_LEVEL_STEPS.search(text) is not None


def _named_explicitly(path: Path, parent: pytest.Collector) -> bool:
    """Whether the command line named this file, or a folder within the ``broken`` one."""
    session = parent.session
    for candidate in (path, *path.parents):
        if session.isinitpath(candidate):
            return True
        if candidate.name == _BROKEN_DIR:
            return False
    return False


class ScenarioFile(pytest.File):
    """A scenario file: one :class:`ScenarioItem`."""

    def collect(self) -> Iterator[ScenarioItem]:
        yield ScenarioItem.from_parent(self, name=self.path.stem)


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
            self.scenario = load_scenario(self.path)
        except ScenarioError as err:
            self.load_error = str(err)
        else:
            # -k matches the scenario's name, tags and covered rule ids too.
            extra = [self.scenario.name, *self.scenario.tags, *self.scenario.covers]
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
        from ._timeline import render_timeline
        from .scenario import write_atomic

        folder = self.config.getoption("player_sim_timeline")
        if folder is None:
            return None
        used = self.config.stash.setdefault(_TIMELINE_NAMES, {})
        name = used.get(self.nodeid)
        if name is None:
            name, n = f"{self.path.stem}.svg", 2
            while name in used.values():
                name, n = f"{self.path.stem}-{n}.svg", n + 1
            used[self.nodeid] = name
        target = Path(folder) / name
        svg = render_timeline(result.trace, self.scenario.name, end=result.duration)
        write_atomic(target, svg)  # the same drawing as player-sim run --timeline
        return target

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        if isinstance(excinfo.value, _ScenarioFailed):
            return excinfo.value.report
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        name = self.scenario.name if self.scenario is not None else "invalid scenario"
        return self.path, None, f"{self.path.name}: {name}"
