"""The reference device over real sockets: a world's devices reach its backends by HTTP.

:func:`served_devices` serves a :class:`~player_sim.World`'s own SSM and license
backends (a :class:`~._lab.Lab` over that world, on its virtual clock) on a loopback
port, and routes every SSM and license call of the world's devices through real HTTP
in the wire dialects of WIRE.md: the device side encodes each call (content token
claims, ``nv-authorizations``, the JSON body), the lab routes it, attributes it
(content token claims, then the session token) and answers in the backend's own
shape, and the device side reads the answer back. Everything else stays the
world's: the network's latency, jitter, outages and lost answers, and the scenario
steps (forced faults, kills, metrics) act on the same backend objects. So a
scenario run this way gives the same rule verdicts as in memory; what differs in
its trace are the ``http_exchange`` records the lab adds, and answers' wording
where the wire carries less (an empty content token's message).

Rules::

    the lab binds 127.0.0.1 on a free port and lives as long as the block;
    only SSM setup, heartbeat, renewal (both kinds) and teardown, and the license
    request, cross the socket; an SSM V2 setup (inside the license request) is
    refused with ConfigError: the lab does not serve it yet;
    the world's own backends are back in place when the block ends.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from typing import Any, Final

import httpx

from .._errors import ConfigError
from .._messages import ContentToken, SsmAnswer
from ..backends import LicenseServer, LicenseVerdict, SsmServer
from ..scenario import LabWorld
from ..traffic import WireFormatError, load_json, mint_content_token, read_ssm_answer
from ..world import World
from ._lab import Lab
from ._run import LabServer

__all__ = ["served_devices"]

_TENANT: Final = "lab"
_CHALLENGE: Final = base64.b64encode(b"player_sim-challenge").decode("ascii")


def _unreadable(status: int, err: WireFormatError) -> SsmAnswer:
    return SsmAnswer(status, None, f"unreadable answer: {err.message}")


class _SsmOverHttp:
    """The SSM server as the world's devices reach it: the calls over HTTP, the rest
    (faults, lost answers, queries) the server itself."""

    def __init__(self, server: SsmServer, http: httpx.Client, world: World) -> None:
        self._server = server
        self._http = http
        self._world = world

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)

    def _post(self, url: str, token: str, body: dict[str, Any] | None = None,
              ip: str | None = None) -> httpx.Response:
        headers = {"nv-authorizations": token, "content-type": "application/json"}
        if ip is not None:
            headers["x-forwarded-for"] = ip
        return self._http.post(url, headers=headers, json=body if body is not None else {})

    def _answer(self, response: httpx.Response) -> SsmAnswer:
        try:
            return read_ssm_answer(response.status_code, response.content)
        except WireFormatError as err:
            return _unreadable(response.status_code, err)

    def setup(self, account: str, device: str, stream: str, ip: str | None,
              device_group: str | None, token: ContentToken | None = None, *,
              request_id: int | None = None) -> SsmAnswer:
        if device_group is not None:
            raise ConfigError("a device group does not travel on the wire: run device "
                              f"{device!r} in memory")
        content = "" if token is not None and token.empty else mint_content_token(
            (token.account_id if token is not None else None) or account, device,
            max_sessions=token.max_sessions if token is not None else None, content=stream)
        return self._answer(self._post(f"/{_TENANT}/ssm/v1/sessions/setup", content, ip=ip))

    def heartbeat(self, device: str, token: str, renewal: str | None = None, *,
                  request_id: int | None = None) -> SsmAnswer:
        if renewal is None:
            return self._answer(self._post(f"/{_TENANT}/ssm/v1/sessions/heartbeat", token))
        if renewal.startswith("ssm:"):
            return self._answer(self._post(f"/{_TENANT}/ssm/v1/sessions/renewal-license-wv",
                                           token, {"challenge": _CHALLENGE}))
        response = self._post(f"{_LICENSE}?renew=true", token, {"challenge": _CHALLENGE})
        return _license_renewal_answer(response)

    def rotate(self, device: str, token: str, renewal: str | None = None, *,
               request_id: int | None = None) -> SsmAnswer:
        """The simulated device's heartbeat fast path (:meth:`SsmServer.rotate`): over
        HTTP like any heartbeat, answered in full (a device takes either form)."""
        return self.heartbeat(device, token, renewal, request_id=request_id)

    def teardown(self, device: str, token: str, *, request_id: int | None = None
                 ) -> SsmAnswer:
        return self._answer(self._post(f"/{_TENANT}/ssm/v1/sessions/teardown", token))


_LICENSE: Final = f"/{_TENANT}/wvls/contentlicenseservice/v1/licenses"


def _license_renewal_answer(response: httpx.Response) -> SsmAnswer:
    """A ``?renew=true`` answer read as the heartbeat it stands for."""
    try:
        data = load_json(response.content, empty={})
    except WireFormatError as err:
        return _unreadable(response.status_code, err)
    if not isinstance(data, dict):
        return SsmAnswer(response.status_code, None, "unreadable answer: not an object")
    code = data.get("errorCode")
    if response.status_code >= 400 or code is not None:
        return SsmAnswer(response.status_code, code if isinstance(code, int) else None,
                         str(data.get("message", "")))
    token = data.get("sessionToken")
    return SsmAnswer(response.status_code, None, "", token if isinstance(token, str) else None)


class _LicenseOverHttp:
    """The license server as the world's devices reach it (the request over HTTP)."""

    def __init__(self, server: LicenseServer, http: httpx.Client, world: World) -> None:
        self._server = server
        self._http = http
        self._world = world

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)

    def request(self, device: str, stream: str, ssm_token: str | None,
                ssm_required: bool) -> LicenseVerdict:
        account = self._world.device(device).config.account
        tokens = mint_content_token(account, device, content=stream)
        if ssm_token is not None:
            tokens += f",{ssm_token}"
        response = self._http.post(_LICENSE, headers={"nv-authorizations": tokens},
                                   json={"challenge": _CHALLENGE})
        try:
            data = load_json(response.content, empty={})
        except WireFormatError as err:
            return LicenseVerdict(False, response.status_code, None,
                                  f"unreadable answer: {err.message}")
        if not isinstance(data, dict):
            return LicenseVerdict(False, response.status_code, None, "unreadable answer")
        if response.status_code != 200 or "errorCode" in data:
            code = data.get("errorCode")
            return LicenseVerdict(False, response.status_code,
                                  code if isinstance(code, int) else None,
                                  str(data.get("message", "")))
        session = data.get("sessionToken")
        return LicenseVerdict(True, 200, session_token=session if isinstance(session, str)
                              else None)

    def request_with_setup(self, *_: Any) -> SsmAnswer:
        raise ConfigError("an SSM V2 setup (inside the license request) is not served over "
                          "HTTP yet: run SSM V2 devices in memory")


@contextlib.contextmanager
def served_devices(world: World, *, timeout: float = 10.0) -> Iterator[LabServer]:
    """Serve ``world``'s SSM and license backends on a loopback port and route its
    devices' calls to them over HTTP until the block ends (see the module's rules).

    Use it before the world runs: devices added later are routed too. Yields the
    running :class:`LabServer` (its ``lab.exchanges`` hold every exchange, for a HAR).
    """
    lab = Lab(LabWorld(world.config, (), world.seed), world=world, trust_forwarded_for=True)
    ssm, license = world.ssm, world.license
    with LabServer(lab) as server, httpx.Client(base_url=server.url, timeout=timeout) as http:
        world.ssm = _SsmOverHttp(ssm, http, world)  # type: ignore[assignment]
        world.license = _LicenseOverHttp(license, http, world)  # type: ignore[assignment]
        try:
            yield server
        finally:
            world.ssm, world.license = ssm, license
