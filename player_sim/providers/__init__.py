"""Session providers and media providers (``seeds/004_0c9c6e939a18d3d9.txt``).

A :class:`SessionProvider` gives a base URL, a partner id and session tokens
(KS); :class:`OttSessionProvider` and :class:`OvpSessionProvider` are the
provided implementations, and any object with the same three members works
wherever they do; one that also has the :class:`SessionActions` (``login``,
``end_session``, ``forget``) can be logged in and out by a device. Media
providers load a media entry with a KS. Providers run inside a
:class:`~player_sim.World`'s event queue: every API call is a network round trip
in virtual time and completions are called from the queue.

Providers never see the world itself, only its :class:`BackendPort` (see
:mod:`._port`): the clock, API calls over the simulated network, the trace.
"""

from ._media import (
    REFERENCE_TYPES,
    AssetReferenceType,
    MediaCompletion,
    MediaSource,
    OvpMediaProvider,
    PhoenixMediaProvider,
)
from ._netkit import REQUEST_TIMEOUT, multirequest
from ._ott import OttSessionProvider, SavedSession
from ._ovp import OvpSessionProvider
from ._port import ApiLink, BackendHost, BackendPort, Binding
from ._protocol import (
    API_PATH,
    Attachable,
    KsCompletion,
    SessionActions,
    SessionProvider,
    check_base_url,
    check_session_provider,
)
from ._results import (
    BAD_REQUEST,
    CONNECTION_ERROR,
    GENERAL_ERROR,
    LOAD_ERROR,
    NETKIT_CODES,
    NOT_FOUND,
    REQUEST_CANCELLED,
    SERVICE_ERROR,
    SERVICE_UNAVAILABLE,
    SESSION_ERROR,
    ErrorElement,
    MediaEntry,
    MediaResult,
    PrimitiveResult,
)
from ._variants import (
    CONCURRENT_REFRESH,
    DURING_LOGOUT,
    FAILED_REFRESH,
    HTTP_RETRY_DELAYS,
    REFRESH_POLICY_NAMES,
    VARIANT_NAMES,
    ConcurrentRefresh,
    DuringLogout,
    FailedRefresh,
    ProviderVariants,
    RefreshPolicy,
)

__all__ = [
    "API_PATH",
    "BAD_REQUEST",
    "CONCURRENT_REFRESH",
    "CONNECTION_ERROR",
    "DURING_LOGOUT",
    "FAILED_REFRESH",
    "GENERAL_ERROR",
    "HTTP_RETRY_DELAYS",
    "LOAD_ERROR",
    "NETKIT_CODES",
    "NOT_FOUND",
    "REFERENCE_TYPES",
    "REFRESH_POLICY_NAMES",
    "REQUEST_CANCELLED",
    "REQUEST_TIMEOUT",
    "SERVICE_ERROR",
    "SERVICE_UNAVAILABLE",
    "SESSION_ERROR",
    "VARIANT_NAMES",
    "ApiLink",
    "AssetReferenceType",
    "Attachable",
    "BackendHost",
    "BackendPort",
    "Binding",
    "ConcurrentRefresh",
    "DuringLogout",
    "ErrorElement",
    "FailedRefresh",
    "KsCompletion",
    "MediaCompletion",
    "MediaEntry",
    "MediaResult",
    "MediaSource",
    "OttSessionProvider",
    "OvpMediaProvider",
    "OvpSessionProvider",
    "PhoenixMediaProvider",
    "PrimitiveResult",
    "ProviderVariants",
    "RefreshPolicy",
    "SavedSession",
    "SessionActions",
    "SessionProvider",
    "check_base_url",
    "check_session_provider",
    "multirequest",
]
