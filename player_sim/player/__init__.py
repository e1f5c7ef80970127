"""The player: lifecycle tables, the pure core with its SDK model, app policies."""

from . import _events as events
from ._core import CoreConfig, PlayerCore
from ._diagram import mermaid_diagram
from ._policy import AppPolicy, DocumentedAppPolicy, PlayerView
from ._sdk import SdkModel
from ._states import (
    APP_MACHINE,
    APP_TRANSITIONS,
    PLAYBACK_MACHINE,
    PLAYBACK_TRANSITIONS,
    AppState,
    PlaybackState,
)

__all__ = [
    "APP_MACHINE",
    "APP_TRANSITIONS",
    "PLAYBACK_MACHINE",
    "PLAYBACK_TRANSITIONS",
    "AppPolicy",
    "AppState",
    "CoreConfig",
    "DocumentedAppPolicy",
    "PlaybackState",
    "PlayerCore",
    "PlayerView",
    "SdkModel",
    "events",
    "mermaid_diagram",
]
