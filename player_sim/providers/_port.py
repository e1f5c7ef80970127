"""The port through which providers reach the backends: the only part of a world they see.

Providers sit below the world (ARCHITECTURE.md, principle 9): they never import
it. A world offers a :class:`BackendPort` (``World.backend_port``, an adapter
the world builds once); a provider attached to a world (``attach(world,
device)``, any :class:`BackendHost`) keeps a :class:`Binding` of that port and
the device it acts for, and sends every API call through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import attrs

from ..backends import ApiAnswer, OttBackend, OvpBackend

__all__ = ["ApiLink", "BackendHost", "BackendPort", "Binding"]

#: The network links a provider's API calls travel on.
ApiLink = Literal["ott", "ovp"]


class BackendPort(Protocol):
    """What a provider may use of the world it runs in.

    * ``now``: the virtual time, in seconds;
    * ``ott`` / ``ovp``: the backends, for the handler a call runs on arrival
      (call them only inside ``serve``, never directly: that would skip the wire);
    * ``call(link, device, endpoint, serve, deliver, ks)``: one API call on
      ``link``; ``serve()`` runs at the backend when the request arrives (or the
      backend answers "unavailable" during an outage) and ``deliver(answer)`` back
      at the device one latency later; a call carrying ``ks`` is noted as a use of
      that KS (``ks_used``) as it leaves;
    * ``after(delay, action)``: run ``action()`` ``delay`` seconds from now (a
      network kit's retry or timeout);
    * ``record(device, kind, data)``: append a provider record to the trace.
    """

    @property
    def now(self) -> float: ...

    @property
    def ott(self) -> OttBackend: ...

    @property
    def ovp(self) -> OvpBackend: ...

    def call(self, link: ApiLink, device: str | None, endpoint: str,
             serve: Callable[[], ApiAnswer], deliver: Callable[[ApiAnswer], None],
             ks: str | None) -> None: ...

    def after(self, delay: float, action: Callable[[], None]) -> None: ...

    def record(self, device: str | None, kind: str, data: Mapping[str, Any]) -> None: ...


class BackendHost(Protocol):
    """What a provider is attached to: anything offering a :class:`BackendPort`
    (a :class:`~player_sim.World` is one)."""

    @property
    def backend_port(self) -> BackendPort: ...


@attrs.frozen
class Binding:
    """A provider attached to a world's port, acting for one device (``None``: no device)."""

    port: BackendPort
    device: str | None

    @property
    def ott(self) -> OttBackend:
        return self.port.ott

    @property
    def ovp(self) -> OvpBackend:
        return self.port.ovp

    def call(self, link: ApiLink, endpoint: str, serve: Callable[[], ApiAnswer],
             deliver: Callable[[ApiAnswer], None], *, ks: str | None = None) -> None:
        """Send one API call on ``link`` ("ott" or "ovp"); ``deliver`` gets the answer.

        A call carrying ``ks`` records a ``ks_used`` trace event as it leaves.
        """
        self.port.call(link, self.device, endpoint, serve, deliver, ks)

    def after(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action()`` ``delay`` seconds from now."""
        self.port.after(delay, action)

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.port.record(self.device, kind, data)
