"""player_sim: simulate video-player SDKs' secure playback sessions in virtual time.

The public API is what this module exports; every submodule whose name starts
with an underscore is private and may change.
"""

from . import providers, signals
from ._errors import ConfigError, InvalidTransition, PlayerSimError, RunBudgetExceeded
from ._messages import ContentToken
from ._timeline import FailureMark, render_timeline, window_around
from .backends import (
    Fault,
    KsStatus,
    LicenseConfig,
    OttAsset,
    OttConfig,
    OttErrorCode,
    OvpConfig,
    OvpEntry,
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
    SdkModel,
    SsmVariants,
    events,
    mermaid_diagram,
    mermaid_diagrams,
)
from .providers import (
    ErrorElement,
    MediaEntry,
    MediaResult,
    OttSessionProvider,
    OvpMediaProvider,
    OvpSessionProvider,
    PhoenixMediaProvider,
    PrimitiveResult,
    RefreshPolicy,
    SessionProvider,
)
from .trace import Kind, Trace, TraceFormatError, TraceRecord, Vantage
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
    "ContentToken",
    "CoreConfig",
    "Device",
    "DeviceConfig",
    "DocumentedAppPolicy",
    "ErrorElement",
    "FailureMark",
    "Fault",
    "InvalidTransition",
    "Kind",
    "KsStatus",
    "LicenseConfig",
    "MediaEntry",
    "MediaResult",
    "NetworkConfig",
    "Notification",
    "OttAsset",
    "OttConfig",
    "OttErrorCode",
    "OttSessionProvider",
    "OvpConfig",
    "OvpEntry",
    "OvpMediaProvider",
    "OvpSessionProvider",
    "PhoenixMediaProvider",
    "PlaybackState",
    "PlayerCore",
    "PlayerSimError",
    "PlayerView",
    "PrimitiveResult",
    "RefreshPolicy",
    "RunBudgetExceeded",
    "SdkModel",
    "SessionProvider",
    "Simulation",
    "SsmConfig",
    "SsmErrorCode",
    "SsmSession",
    "SsmVariants",
    "Trace",
    "TraceFormatError",
    "TraceRecord",
    "Vantage",
    "World",
    "WorldConfig",
    "events",
    "mermaid_diagram",
    "mermaid_diagrams",
    "providers",
    "render_timeline",
    "signals",
    "window_around",
]

__version__ = "0.1.0"
