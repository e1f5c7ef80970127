"""Media providers: load a media entry (DRM scheme, license URL, SSM) with a KS.

"Components such as Media Providers ... work with the SessionProvider": a load
asks its session provider for a KS first; if that fails, the load completes
with that error and makes no backend call (DOMAIN.md). Otherwise one API call
on the backend's link answers the entry or an error.

A media provider is a frozen value: :class:`PhoenixMediaProvider` (asset id,
reference type, formats) on the OTT backend, :class:`OvpMediaProvider` (entry
id) on the OVP backend. In a :class:`~player_sim.DeviceConfig` it is the
template for every playback: the device loads the played stream as the asset
(entry) id, with its own session provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal, get_args

import attrs

from .._errors import PlayerSimError
from .._validators import one_of, positive_or_none
from ..backends import ApiAnswer
from ..backends._ott import WIRE_DRM_SCHEMES, OttErrorCode
from ._netkit import multirequest, send
from ._port import ApiLink, BackendHost, BackendPort, Binding
from ._protocol import SessionProvider, check_session_provider
from ._results import ErrorElement, MediaEntry, MediaResult, PrimitiveResult
from ._variants import ProviderVariants

__all__ = ["REFERENCE_TYPES", "AssetReferenceType", "MediaCompletion", "MediaSource",
           "OvpMediaProvider", "PhoenixMediaProvider"]

#: What a media load calls back with, exactly once.
MediaCompletion = Callable[[MediaResult], None]

#: What a Phoenix asset id refers to.
AssetReferenceType = Literal["media", "epg_internal", "epg_external", "npvr"]
REFERENCE_TYPES: Final[tuple[AssetReferenceType, ...]] = get_args(AssetReferenceType)
_check_reference_type: Final = one_of(REFERENCE_TYPES)
#: The Phoenix media load: one multirequest (WIRE.md), with ``ottUser/anonymousLogin``
#: first when the KS is empty.
_PHOENIX_LOAD: Final = multirequest("asset/getPlaybackContext", "asset/get")
#: The code a blocked playback context fails the load with: its message (WIRE.md:
#: ``messages[].code``, "ConcurrencyLimitation") is not an API error code, and the client
#: decides what the app gets (the Android ``PhoenixErrorHelper`` treats it as 4001 does,
#: a restriction error); here Phoenix's number, 4001, with the message's code as its name.
CONCURRENCY_LIMITATION: Final = int(OttErrorCode.CONCURRENCY_LIMITATION)
#: The OVP media load: one multirequest (WIRE.md), with ``session/startWidgetSession``
#: first when the KS is empty.
_OVP_LOAD: Final = multirequest("baseEntry/list", "baseEntry/getPlaybackContext",
                                "metadata/list")
#: A playback context's DRM scheme (as the backend writes it) as the player names it.
DRM_SCHEME_OF: Final = {wire: scheme for scheme, wire in WIRE_DRM_SCHEMES.items()} | {
    "WIDEVINE": "widevine"}
#: The network kit of a session provider that names no variant (a self-implemented one).
_DOCUMENTED: Final = ProviderVariants.documented()


def _formats(value: Iterable[str]) -> tuple[str, ...]:
    """The formats asked for, as a tuple. (A function rather than ``tuple`` itself:
    attrs reads a converter's signature, and a builtin's costs ~5 ms at import.)"""
    return tuple(value)


def _check_provider(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_session_provider(value)


def _ready(provider: PhoenixMediaProvider | OvpMediaProvider, what: str,
           value: str | None) -> tuple[SessionProvider, Binding, str]:
    name = type(provider).__name__
    if value is None:
        raise PlayerSimError(f"{name}.load() needs {what}")
    if provider.session_provider is None:
        raise PlayerSimError(f"{name}.load() needs a session_provider")
    if provider.binding is None:
        raise PlayerSimError(f"{name} is not attached to a world: call attach(world, device)")
    return provider.session_provider, provider.binding, value


def _load(session_provider: SessionProvider, binding: Binding, link: ApiLink, endpoint: str,
          call: Callable[[str], ApiAnswer],
          entry_of: Callable[[ApiAnswer], MediaEntry | ErrorElement],
          completion: MediaCompletion, cancelled: Callable[[], bool] | None) -> None:
    def got_ks(result: PrimitiveResult) -> None:
        if not result.ok or result.value is None:
            assert result.error is not None
            completion(MediaResult(error=result.error))  # no backend call
            return
        ks = result.value

        def answered(answer: ApiAnswer) -> None:
            if not answer.ok:
                completion(MediaResult(error=ErrorElement.from_answer(answer)))
                return
            entry = entry_of(answer)
            completion(MediaResult(entry) if isinstance(entry, MediaEntry)
                       else MediaResult(error=entry))

        variants = getattr(session_provider, "variants", None)
        send(binding, variants if isinstance(variants, ProviderVariants) else _DOCUMENTED,
             link, endpoint, lambda: call(ks), answered, ks=ks or None, cancelled=cancelled)

    session_provider.get_ks(got_ks)


@attrs.frozen
class PhoenixMediaProvider:
    """Loads an asset's playback context from the OTT (Phoenix) backend.

    ``bookmark_period``: with the Phoenix analytics plugin, seconds between the
    ``bookmark/add`` hits a device sends while playing (30: DOMAIN.md), which is
    what OTT concurrency counts; ``None``: no plugin.
    """

    asset_id: str | None = None
    reference_type: AssetReferenceType = attrs.field(default="media",
                                                     validator=_check_reference_type)
    formats: tuple[str, ...] = attrs.field(default=(), converter=_formats)
    session_provider: SessionProvider | None = attrs.field(default=None, eq=False,
                                                           validator=_check_provider)
    binding: Binding | None = attrs.field(default=None, eq=False, repr=False)
    bookmark_period: float | None = attrs.field(default=None, validator=positive_or_none)

    def attach(self, world: BackendHost, device: str | None = None) -> PhoenixMediaProvider:
        """A copy that reaches the backends of ``world``, acting for ``device``."""
        return attrs.evolve(self, binding=Binding(world.backend_port, device))

    def for_playback(self, asset_id: str, session_provider: SessionProvider,
                     port: BackendPort, device: str | None) -> PhoenixMediaProvider:
        """The provider a device uses to load ``asset_id``."""
        return attrs.evolve(self, asset_id=asset_id, session_provider=session_provider,
                            binding=Binding(port, device))

    def load(self, completion: MediaCompletion,
             cancelled: Callable[[], bool] | None = None) -> None:
        """Obtain a KS, then ONE multirequest: ``ottUser/anonymousLogin`` if the KS is
        empty, ``asset/getPlaybackContext`` and ``asset/get``; ``completion`` gets the
        entry. ``cancelled``: whether the load was cancelled since (superseded by a new
        one): the network kit then retries its call no more."""
        provider, b, asset_id = _ready(self, "an asset_id", self.asset_id)
        udid = getattr(provider, "udid", None) or b.device
        ref, formats, pid = self.reference_type, self.formats, provider.partner_id

        def entry_of(answer: ApiAnswer) -> MediaEntry | ErrorElement:
            v = answer.value
            if any(action.get("type") == "BLOCK" for action in v.get("actions", ())):
                # WIRE.md: a BLOCK action; its message says why (ConcurrencyLimitation)
                message: Mapping[str, Any] = next(iter(v.get("messages", ())), {})
                return ErrorElement(CONCURRENCY_LIMITATION,
                                    str(message.get("code", "ConcurrencyLimitation")),
                                    str(message.get("message", "")))
            drm = v["drm"][0]
            return MediaEntry(asset_id, DRM_SCHEME_OF[drm["scheme"]], drm["licenseURL"],
                              v["ssm"], tuple(v["formats"]))

        def serve(ks: str) -> ApiAnswer:
            if not ks:  # an empty KS is allowed: the load logs in anonymously first
                login = b.ott.anonymous_login(b.device, pid, udid)
                if not login.ok:
                    return login
                ks = login.value["ks"]
            context = b.ott.get_playback_context(b.device, ks, asset_id, ref, formats, udid)
            if not context.ok:
                return context
            asset = b.ott.asset_get(b.device, ks, asset_id)
            return ApiAnswer(value={**context.value, "asset": asset.value}) if asset.ok \
                else asset

        _load(provider, b, "ott", _PHOENIX_LOAD, serve, entry_of, completion, cancelled)


@attrs.frozen
class OvpMediaProvider:
    """Loads a media entry's playback context from the OVP backend."""

    entry_id: str | None = None
    session_provider: SessionProvider | None = attrs.field(default=None, eq=False,
                                                           validator=_check_provider)
    binding: Binding | None = attrs.field(default=None, eq=False, repr=False)

    def attach(self, world: BackendHost, device: str | None = None) -> OvpMediaProvider:
        """A copy that reaches the backends of ``world``, acting for ``device``."""
        return attrs.evolve(self, binding=Binding(world.backend_port, device))

    def for_playback(self, asset_id: str, session_provider: SessionProvider,
                     port: BackendPort, device: str | None) -> OvpMediaProvider:
        """The provider a device uses to load entry ``asset_id``."""
        return attrs.evolve(self, entry_id=asset_id, session_provider=session_provider,
                            binding=Binding(port, device))

    def load(self, completion: MediaCompletion,
             cancelled: Callable[[], bool] | None = None) -> None:
        """Obtain a KS, then ONE multirequest (WIRE.md): ``session/startWidgetSession`` if
        the KS is empty, ``baseEntry/list``, ``baseEntry/getPlaybackContext`` and
        ``metadata/list``; ``completion`` gets the entry. ``cancelled``: as in
        :meth:`PhoenixMediaProvider.load`."""
        provider, b, entry_id = _ready(self, "an entry_id", self.entry_id)
        widget_id = f"_{provider.partner_id}"

        def entry_of(answer: ApiAnswer) -> MediaEntry:
            v = answer.value
            return MediaEntry(entry_id, v["drm_scheme"], v["license_url"], v["ssm"])

        def serve(ks: str) -> ApiAnswer:
            ovp = b.ovp
            if not ks:  # an empty KS: a widget session first, in the same round trip
                widget = ovp.start_widget_session(b.device, widget_id)
                if not widget.ok:
                    return widget
                ks = widget.value["ks"]
            merged: dict[str, Any] = {}
            for call in (ovp.base_entry_list, ovp.get_playback_context, ovp.metadata_list):
                part = call(b.device, ks, entry_id)
                if not part.ok:
                    return part
                merged.update(part.value)
            return ApiAnswer(value=merged)

        _load(provider, b, "ovp", _OVP_LOAD, serve, entry_of, completion, cancelled)


#: A media provider a device can be configured with.
MediaSource = PhoenixMediaProvider | OvpMediaProvider
