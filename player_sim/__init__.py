"""player_sim: simulate video-player SDKs' secure playback sessions in virtual time.

The public API is what this module exports; every submodule whose name starts
with an underscore is private and may change.

A few names are imported on first use rather than with the package (a module
``__getattr__``, PEP 562): the timeline's (``render_timeline``, ``FailureMark``,
``window_around``), which only drawing needs. ``player_sim.render_timeline``,
``from player_sim import render_timeline`` and ``import *`` work as for any other
name; ``import player_sim`` and ``player-sim run`` just don't pay for them.
"""

from typing import TYPE_CHECKING

from ._collector import long_lived as _long_lived
from ._lazy import lazy_names

# Importing builds objects that live as long as the process: the collector keeps off
# them meanwhile (and they join its oldest generation), instead of walking them again
# and again as they are made.
with _long_lived():
    from . import providers, signals
    from ._errors import ConfigError, InvalidTransition, PlayerSimError, RunBudgetExceeded
    from ._messages import ContentToken
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

if TYPE_CHECKING:
    from ._timeline import FailureMark, render_timeline, window_around

#: The public names imported on first use (see the module's docstring).
_TIMELINE_NAMES = frozenset({"FailureMark", "render_timeline", "window_around"})


__getattr__, __dir__ = lazy_names(__name__, "._timeline", _TIMELINE_NAMES, globals())
