"""The player: lifecycle tables, the pure core with its SDK model, app policies."""

from . import _events as events
from ._actions import ACTIONS, ActionSpec, action_name
from ._core import CoreConfig, PlayerCore
from ._diagram import CONCERNS, mermaid_diagram, mermaid_diagrams
from ._policy import AppPolicy, DocumentedAppPolicy, PlayerView
from ._sdk import SSM_CALLS, SdkModel, SsmCall
from ._states import (
    ACTIVE_PLAYBACK_STATES,
    APP_MACHINE,
    APP_TRANSITIONS,
    PLAYBACK_MACHINE,
    PLAYBACK_TRANSITIONS,
    AppState,
    PlaybackState,
)
from ._variants import (
    PLATFORM_ERROR_CODES,
    PROFILES,
    VARIANTS,
    Profile,
    SsmVariants,
    Variant,
    platform_fields,
    profiles_markdown,
)

__all__ = [
    "ACTIONS",
    "ACTIVE_PLAYBACK_STATES",
    "APP_MACHINE",
    "APP_TRANSITIONS",
    "CONCERNS",
    "PLATFORM_ERROR_CODES",
    "PLAYBACK_MACHINE",
    "PLAYBACK_TRANSITIONS",
    "PROFILES",
    "SSM_CALLS",
    "VARIANTS",
    "ActionSpec",
    "AppPolicy",
    "AppState",
    "CoreConfig",
    "DocumentedAppPolicy",
    "PlaybackState",
    "PlayerCore",
    "PlayerView",
    "Profile",
    "SdkModel",
    "SsmCall",
    "SsmVariants",
    "Variant",
    "action_name",
    "events",
    "mermaid_diagram",
    "mermaid_diagrams",
    "platform_fields",
    "profiles_markdown",
]
