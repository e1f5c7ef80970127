"""player_sim: simulate video-player SDKs' secure playback sessions in virtual time.

The public API is what this module exports; every submodule whose name starts
with an underscore is private and may change.
"""

from . import signals
from ._errors import ConfigError, InvalidTransition, PlayerSimError
from ._timeline import render_timeline
from .backends import (
    Fault,
    LicenseConfig,
    SsmConfig,
    SsmErrorCode,
    SsmSession,
)
from .player import (
    AppPolicy,
    AppState,
    CoreConfig,
    DocumentedAppPolicy,
    PlaybackState,
    PlayerCore,
    PlayerView,
    events,
    mermaid_diagram,
)
from .trace import Trace, TraceFormatError, TraceRecord
from .world import (
    Device,
    DeviceConfig,
    NetworkConfig,
    Notification,
    Simulation,
    World,
    WorldConfig,
)

__all__ = [
    "AppPolicy",
    "AppState",
    "ConfigError",
    "CoreConfig",
    "Device",
    "DeviceConfig",
    "DocumentedAppPolicy",
    "Fault",
    "InvalidTransition",
    "LicenseConfig",
    "NetworkConfig",
    "Notification",
    "PlaybackState",
    "PlayerCore",
    "PlayerSimError",
    "PlayerView",
    "Simulation",
    "SsmConfig",
    "SsmErrorCode",
    "SsmSession",
    "Trace",
    "TraceFormatError",
    "TraceRecord",
    "World",
    "WorldConfig",
    "events",
    "mermaid_diagram",
    "render_timeline",
    "signals",
]

__version__ = "0.1.0"
