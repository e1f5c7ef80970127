"""The SessionProvider protocol, the session actions a device uses, and attaching.

"The SessionProvider provides the following: 1. A Base url ... 2. A Session
Token ... 3. PartnerId" (``seeds/004_0c9c6e939a18d3d9.txt``). Any object with
those three members is a session provider; "You can create your own
SessionProvider implementation or use the provided SDK implementations".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .._errors import ConfigError, PlayerSimError
from ._port import BackendHost, Binding
from ._results import PrimitiveResult

__all__ = ["API_PATH", "Attachable", "KsCompletion", "SessionActions", "SessionProvider",
           "check_base_url", "check_session_provider"]

#: What a session-token request calls back with, exactly once.
KsCompletion = Callable[[PrimitiveResult], None]


@runtime_checkable
class SessionProvider(Protocol):
    """Gives the player's components access to a backend.

    * ``base_url``: the backend's URL: for OVP the host only ("should only
      contain the host domain name and should not include a path to the
      services within"); for OTT it includes the API path (``.../api_v3/``,
      DOMAIN.md: the seed's sentence holds for OVP);
    * ``partner_id``: the partner that was used to create the session token;
    * ``get_ks(completion)``: obtain a valid session token (KS) and call
      ``completion`` once with a :class:`PrimitiveResult` (the KS or an error),
      now or later in virtual time.
    """

    @property
    def base_url(self) -> str: ...

    @property
    def partner_id(self) -> int: ...

    def get_ks(self, completion: KsCompletion) -> None: ...


@runtime_checkable
class SessionActions(Protocol):
    """A session provider a device can start and end sessions with.

    ``Device.login``, ``logout`` and ``end_session`` need one; any session
    provider with these members works, the built-in ones and your own alike.

    * ``login(username, password, completion)``: start a user session with
      ``username`` and ``password``, or an anonymous one when ``username`` is
      ``None``; call ``completion`` (if given) once with the KS or an error;
    * ``end_session(completion)``: end the current session;
    * ``forget()``: the app was killed; its in-memory session is gone (no server
      call, no completion called).
    """

    def login(self, username: str | None, password: str | None,
              completion: KsCompletion | None = None) -> None: ...

    def end_session(self, completion: KsCompletion | None = None) -> None: ...

    def forget(self) -> None: ...


@runtime_checkable
class Attachable(Protocol):
    """A provider that reaches backends: the device attaches it to its world when the
    device is added (``attach(world, device_name)``), so its calls travel the world's
    network through the world's :class:`~player_sim.providers.BackendPort`."""

    def attach(self, world: BackendHost, device: str | None = None) -> None: ...


#: The API path an OTT (Phoenix) base URL ends with; the OVP SDK appends it to a host.
API_PATH: Final = "api_v3/"


def check_base_url(url: str, backend: str | None = None) -> str:
    """Return ``url`` if it is a base URL for ``backend``; raise ConfigError if not.

    OVP: the host only (the SDK appends ``api_v3/``). OTT: the URL includes its
    API path (``https://<host>/.../api_v3/``). ``None``: either form.
    """
    if not isinstance(url, str):
        raise ConfigError(f"a base URL must be a string, not {type(url).__name__}")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. 'http://[::1'
        raise ConfigError(f"base URL {url[:60]!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base URL {url!r} must be an http(s) URL of the backend, "
                          "e.g. 'https://cdnapisec.kaltura.com/'")
    host = f"{parts.scheme}://{parts.netloc}/"
    if parts.query or parts.fragment:
        raise ConfigError(f"base URL {url!r} can't carry a query or fragment: use {host!r}")
    host_only = parts.path in ("", "/")
    with_api = parts.path.endswith("/" + API_PATH)
    if backend == "ovp" and not host_only:
        raise ConfigError(f"OVP base URL {url!r} must be the host only, without a path to "
                          f"the services (the SDK appends {API_PATH!r}): use {host!r}")
    if backend == "ott" and not with_api:
        raise ConfigError(f"OTT base URL {url!r} must include the API path: use e.g. "
                          f"'{url.rstrip('/')}/{API_PATH}'" if host_only else
                          f"OTT base URL {url!r} must end with the API path {API_PATH!r}, "
                          f"e.g. '{host}{API_PATH}'")
    if backend is None and not (host_only or with_api):
        raise ConfigError(f"base URL {url!r} must be the host only ({host!r}, OVP) or end "
                          f"with the API path {API_PATH!r} (OTT)")
    return url


def check_session_provider(provider: object) -> None:
    """Check that ``provider`` satisfies :class:`SessionProvider` and its base URL."""
    missing = [name for name in ("base_url", "partner_id", "get_ks")
               if not hasattr(provider, name)]
    if missing or not callable(getattr(provider, "get_ks", None)):
        raise ConfigError(f"{type(provider).__name__} is not a session provider: it needs "
                          f"base_url, partner_id and get_ks(completion) (missing: "
                          f"{', '.join(missing) or 'a callable get_ks'})")
    check_base_url(provider.base_url)  # type: ignore[attr-defined]


class _Attachable:
    """A built-in provider: it reaches its backend through a world it is attached to."""

    _binding: Binding | None

    def attach(self, world: BackendHost, device: str | None = None) -> None:
        """Reach the backends of ``world``, acting for ``device`` (done by the device)."""
        port = world.backend_port
        if self._binding is not None and (self._binding.port is not port
                                          or self._binding.device != device):
            raise ConfigError(f"a {type(self).__name__} serves one device only and this one "
                              f"serves {self._binding.device!r}; give each device its own")
        self._binding = Binding(port, device)

    @property
    def binding(self) -> Binding:
        if self._binding is None:
            raise PlayerSimError(f"this {type(self).__name__} is not attached to a world: "
                                 "pass it in a DeviceConfig, or call attach(world, device)")
        return self._binding

    @property
    def now(self) -> float:
        return self.binding.port.now
