"""The SessionProvider protocol, and where a provider meets the simulated world.

"The SessionProvider provides the following: 1. A Base url ... 2. A Session
Token ... 3. PartnerId" (``seeds/004_0c9c6e939a18d3d9.txt``). Any object with
those three members is a session provider; "You can create your own
SessionProvider implementation or use the provided SDK implementations".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import attrs

from .._errors import ConfigError, PlayerSimError
from ..backends import ApiAnswer

if TYPE_CHECKING:
    from ..world import World

from ._results import PrimitiveResult

__all__ = ["KsCompletion", "SessionProvider", "check_base_url", "check_session_provider"]

#: What a session-token request calls back with, exactly once.
KsCompletion = Callable[[PrimitiveResult], None]


@runtime_checkable
class SessionProvider(Protocol):
    """Gives the player's components access to a backend.

    * ``base_url``: the backend's host, no path ("should only contain the host
      domain name and should not include a path to the services within");
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


def check_base_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL of a host only; raise ConfigError if not."""
    if not isinstance(url, str):
        raise ConfigError(f"a base URL must be a string, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base URL {url!r} must be an http(s) URL of the backend's host, "
                          "e.g. 'https://cdnapisec.kaltura.com/'")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"base URL {url!r} must be the host only, without a path to the "
                          f"services: use '{parts.scheme}://{parts.netloc}/'")
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


@attrs.frozen
class Binding:
    """A provider attached to a world, acting for one device (``None``: no device)."""

    world: World
    device: str | None

    def call(self, link: str, endpoint: str, serve: Callable[[], ApiAnswer],
             deliver: Callable[[ApiAnswer], None], *, ks: str | None = None) -> None:
        """Send one API call on ``link`` ("ott" or "ovp"); ``deliver`` gets the answer.

        A call carrying ``ks`` records a ``ks_used`` trace event as it leaves.
        """
        world = self.world
        backend = world.ott if link == "ott" else world.ovp
        if ks is not None:
            backend.ledger.note_use(self.device, ks, endpoint)
        device = self.device
        world.network.request(link, serve, lambda: backend.unavailable(device, endpoint),
                              deliver, sender=device)

    def record(self, kind: str, data: dict[str, Any]) -> None:
        self.world.record(self.device, kind, data)


class _Attachable:
    """A built-in provider: it reaches its backend through a world it is attached to."""

    _binding: Binding | None

    def attach(self, world: World, device: str | None = None) -> None:
        """Reach the backends of ``world``, acting for ``device`` (done by the device)."""
        if self._binding is not None and (self._binding.world is not world
                                          or self._binding.device != device):
            raise ConfigError(f"a {type(self).__name__} serves one device only and this one "
                              f"serves {self._binding.device!r}; give each device its own")
        self._binding = Binding(world, device)

    @property
    def binding(self) -> Binding:
        if self._binding is None:
            raise PlayerSimError(f"this {type(self).__name__} is not attached to a world: "
                                 "pass it in a DeviceConfig, or call attach(world, device)")
        return self._binding

    @property
    def now(self) -> float:
        return self.binding.world.now
