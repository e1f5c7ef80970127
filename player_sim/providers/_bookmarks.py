"""The Phoenix analytics plugin's bookmarks: the heartbeats OTT concurrency is enforced by.

DOMAIN.md: "Kaltura OTT concurrency is enforced by player heartbeats, not by the
KS: the analytics plugin sends `bookmark/add` hits every 30 s during playback
and a STOP on stop; an answer with 4001 / ConcurrencyLimitation raises the
player's concurrency event." A :class:`PhoenixBookmarks` is one device's plugin:
``started(asset_id, ks)`` sends PLAY and then a HIT every ``period`` seconds,
``stopped()`` sends STOP, ``killed()`` sends nothing (the app is gone: its hits
just stop). Hits due while the app is suspended are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ..backends import ApiAnswer, OttErrorCode
from ..backends._ott import phoenix_code
from ._netkit import send
from ._port import Binding
from ._results import ErrorElement
from ._variants import ProviderVariants

__all__ = ["BOOKMARK_PERIOD", "PhoenixBookmarks"]

#: Seconds between two ``bookmark/add`` hits while playing (DOMAIN.md).
BOOKMARK_PERIOD: Final = 30.0


class PhoenixBookmarks:
    """One device's bookmark heartbeats; a hit refused with 4001 calls
    ``on_concurrency(asset_id, error)``; ``suspended()`` says the app is suspended."""

    def __init__(self, binding: Binding, variants: ProviderVariants, period: float,
                 on_concurrency: Callable[[str, ErrorElement], None],
                 suspended: Callable[[], bool]) -> None:
        self._binding, self._variants, self._period = binding, variants, period
        self._on_concurrency, self._suspended = on_concurrency, suspended
        self._playing: tuple[str, str] | None = None  # asset id, KS
        self._round = 0

    def started(self, asset_id: str, ks: str) -> None:
        """Playback of ``asset_id`` started (with ``ks``): PLAY, then a HIT per period."""
        self._round += 1
        self._playing = (asset_id, ks)
        self._send("PLAY")
        self._next(self._round)

    def stopped(self) -> None:
        """Playback stopped: STOP frees the device's slot at once."""
        if self._playing is not None:
            self._send("STOP")
        self._round += 1
        self._playing = None

    def killed(self) -> None:
        """The app was killed: nothing more is sent."""
        self._round += 1
        self._playing = None

    def _next(self, round_: int) -> None:
        self._binding.after(self._period, lambda: self._hit(round_))

    def _hit(self, round_: int) -> None:
        if round_ != self._round or self._playing is None:
            return
        if not self._suspended():
            self._send("HIT")
        self._next(round_)

    def _send(self, action: str) -> None:
        assert self._playing is not None
        asset_id, ks = self._playing
        b = self._binding

        def answered(answer: ApiAnswer) -> None:
            if answer.code == phoenix_code(OttErrorCode.CONCURRENCY_LIMITATION):
                self._on_concurrency(asset_id, ErrorElement.from_answer(answer))

        send(b, self._variants, "ott", "bookmark/add",
             lambda: b.ott.bookmark_add(b.device, ks, asset_id, action, b.device), answered,
             ks=ks)
