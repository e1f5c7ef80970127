"""The simulated backends over HTTP: real devices against player_sim (``player-sim serve``).

Needs the ``serve`` extra (``pip install 'player_sim[serve]'``): Starlette,
Hypercorn and httpx. :class:`Lab` is the synchronous core (one world, its
backends speaking the wire dialects of :mod:`player_sim.traffic`, live
judging); :func:`build_app` its ASGI shell; :func:`serve_lab` /
:class:`LabServer` run it; :class:`LabClient` drives the control API;
:func:`served_devices` runs a world's own devices against it over real sockets.
"""

from ._app import DEFAULT_MAX_BODY, build_app, build_bare_app
from ._client import Found, LabClient, LabVerdict
from ._lab import CONTROL_PREFIX, FAULT_ENDPOINTS, LINKS, SERVED_VANTAGES, Answer, Lab
from ._reference import served_devices
from ._run import LabServer, check_bind, har_document, is_loopback, serve_lab, write_outputs
from ._tls import Tls, local_ca

__all__ = [
    "CONTROL_PREFIX",
    "DEFAULT_MAX_BODY",
    "FAULT_ENDPOINTS",
    "LINKS",
    "SERVED_VANTAGES",
    "Answer",
    "Found",
    "Lab",
    "LabClient",
    "LabServer",
    "LabVerdict",
    "Tls",
    "build_app",
    "build_bare_app",
    "check_bind",
    "har_document",
    "is_loopback",
    "local_ca",
    "serve_lab",
    "served_devices",
    "write_outputs",
]
