"""A device's session-provider and media-provider glue.

Any session provider works for playback (``get_ks``); one with the
:class:`~player_sim.providers.SessionActions` (``login``, ``end_session``,
``forget``) can be logged in and out, the built-in ones and a user's own alike,
and one that is :class:`~player_sim.providers.Attachable` is attached to the
world's backend port when the device is added. The device never asks which
class a provider is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import signals
from .._errors import ConfigError, PlayerSimError
from ..player import _events as ev
from ..player._actions import action_name as _action_name
from ..providers import (
    Attachable,
    Binding,
    ErrorElement,
    KsCompletion,
    MediaResult,
    PhoenixMediaProvider,
    PrimitiveResult,
    ProviderVariants,
    SessionActions,
    SessionProvider,
)
from ..providers._bookmarks import PhoenixBookmarks
from ._device_app import Notification
from ._device_base import _DeviceBase

__all__: list[str] = []


class _ProviderGlue(_DeviceBase):
    """Obtains KSs and media entries for the core; runs login and end-session actions."""

    __slots__ = ()  # its state is in _DeviceBase: _media_load_cancel, _bookmarks, _loaded

    def _attach_provider(self) -> None:
        """When the device is added: a provider that reaches backends joins the world;
        with the Phoenix analytics plugin, its bookmarks start and stop with playback."""
        provider = self.session_provider
        if provider is None:  # most devices: skip the (slow) runtime Protocol check
            return
        if isinstance(provider, Attachable):
            provider.attach(self.world, self.name)
        media = self.config.media
        if isinstance(media, PhoenixMediaProvider) and media.bookmark_period is not None:
            variants = getattr(provider, "variants", None)
            self._bookmarks = PhoenixBookmarks(
                Binding(self.world.backend_port, self.name),
                variants if isinstance(variants, ProviderVariants)
                else ProviderVariants.documented(),
                media.bookmark_period, self._concurrency_event,
                lambda: self.core.app.value == "background")

    def _provider_notified(self, kind: str, payload: Mapping[str, Any]) -> None:
        """The core posted ``kind``: playback started or stopped for the bookmarks."""
        bookmarks = self._bookmarks
        if bookmarks is None:
            return
        if kind == "playback_started" and self._loaded is not None:
            bookmarks.started(*self._loaded)
        elif kind == "playback_stopped":
            bookmarks.stopped()

    def _concurrency_event(self, asset_id: str, error: ErrorElement) -> None:
        """A bookmark hit was refused with 4001: the player's concurrency event."""
        if self.killed:
            return
        payload = {"stream": asset_id, "code": error.code, "message": error.message}
        self._record("concurrency_limitation", payload)
        note = Notification(self.world.now, self.name, "concurrency_limitation", payload)
        signals.signal("concurrency_limitation").send(self, notification=note)

    def _forget_session(self) -> None:
        """The app was killed: its provider's in-memory session is gone; its KS is not."""
        provider = self.session_provider
        if isinstance(provider, SessionActions):
            provider.forget()
        if self._bookmarks is not None:
            self._bookmarks.killed()

    def _recover_session(self) -> None:
        """The app was relaunched: a provider that persists its session recovers it."""
        relaunched = getattr(self.session_provider, "relaunched", None)
        if callable(relaunched):
            relaunched()

    def _session_action(self, action: ev.Login | ev.Logout | ev.EndSession,
                        origin: str) -> None:
        provider = self.session_provider
        name = _action_name(action)
        if not isinstance(provider, SessionActions):
            what = "no session provider" if provider is None else \
                (f"a self-implemented session provider ({type(provider).__name__}) "
                     "without session actions")
            raise ConfigError(f"device {self.name!r} can't {name}: it has {what}; login, "
                              "logout and end_session need a session provider with "
                              "login(username, password, completion), end_session(completion) "
                              "and forget(), such as an OttSessionProvider or an "
                              "OvpSessionProvider")
        data: dict[str, Any] = {"name": name, "origin": origin}
        if isinstance(action, ev.Login):
            data["username"] = action.username  # never the password
        self._record("action", data)

        def done(result: PrimitiveResult) -> None:
            self.world.schedule_at(self.world.now, self._session_answered, (name, result))

        if isinstance(action, ev.Login):
            provider.login(action.username, action.password, done)
        else:
            provider.end_session(done)

    def _session_answered(self, packed: tuple[str, PrimitiveResult]) -> None:
        name, result = packed
        data: dict[str, Any] = {"action": name, "ok": result.ok}
        if result.error is not None:
            data.update(code=result.error.code, message=result.error.message)
        self._record("session_answered", data)

    def _fetch_ks(self, effect: ev.FetchKs) -> None:
        provider = self.session_provider
        if provider is None:
            raise PlayerSimError(f"device {self.name!r} can't obtain a KS: "
                                 "no session provider is configured")
        # partnerId() read where the SDK asks for a KS: a wrong one is visible in the trace
        self._record("ks_requested", {"partner_id": provider.partner_id})
        pid, world, launch = effect.playback_id, self.world, self._launch

        def done(result: PrimitiveResult) -> None:
            error = result.error
            answer = ev.KsAnswered(pid, result.value) if error is None else ev.KsAnswered(
                pid, None, error.code, error.message)
            world.schedule_at(world.now, self._answered_now, ("ks_answered", answer, launch))

        provider.get_ks(done)

    def _load_media(self, effect: ev.LoadMedia) -> None:
        media, provider = self.config.media, self.session_provider
        if media is None or provider is None:
            raise PlayerSimError(f"device {self.name!r} can't load media: "
                                 "no media provider is configured")
        self._record("media_load_started", {"stream": effect.stream})
        pid, world, launch = effect.playback_id, self.world, self._launch
        if self._media_load_cancel is not None:
            self._media_load_cancel()  # DOMAIN: a load superseded by a new one completes with 520
        finished = False

        def cancel() -> None:
            done(MediaResult(error=ErrorElement.request_cancelled(
                f"media load of {effect.stream!r} superseded by a new load")))

        def done(result: MediaResult) -> None:
            nonlocal finished
            if finished:
                return  # cancelled: the late answer is dropped
            finished = True
            if self._media_load_cancel is cancel:
                self._media_load_cancel = None
            entry, error = result.entry, result.error
            if entry is not None:
                answer = ev.MediaAnswered(pid, True, entry.drm_scheme, entry.license_url,
                                          entry.ssm)
            else:
                assert error is not None
                answer = ev.MediaAnswered(pid, False, error_code=error.code,
                                          message=error.message)
            world.schedule_at(world.now, self._answered_now,
                              ("media_answered", answer, launch))

        self._media_load_cancel = cancel
        self._loaded = (effect.stream, effect.ks)
        # the KS this playback obtained (traced once): the media provider's own token
        # request, not a second one (DOMAIN.md: "A media provider asks its session
        # provider for a token first")
        obtained = _Obtained(provider, effect.ks)
        media.for_playback(effect.stream, obtained, world.backend_port, self.name).load(
            done, lambda: finished)  # (once superseded, its call is retried no more)

    def _answered_now(self, packed: tuple[str, ev.Answer, int]) -> None:
        self._answered(packed[0], packed[1], False, packed[2])


class _Obtained:
    """A session provider as a playback's media load sees it: the KS the player
    obtained for that playback; everything else (base URL, partner id, variants,
    udid) is the provider's own."""

    __slots__ = ("_ks", "_provider")

    def __init__(self, provider: SessionProvider, ks: str) -> None:
        self._provider, self._ks = provider, ks

    @property
    def base_url(self) -> str:
        return self._provider.base_url

    @property
    def partner_id(self) -> int:
        return self._provider.partner_id

    def get_ks(self, completion: KsCompletion) -> None:
        completion(PrimitiveResult(self._ks))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)
