"""What each document a rule cites is, so that a citation means something to a reader.

The cited documents are not shipped with player_sim (they are the vendors' pages and
the project's own notes); a rule's ``where`` (``seeds/FILE.txt:LINE`` or ``DOMAIN.md``)
names one of them, and :data:`SOURCES` says what it is.
"""

from __future__ import annotations

from typing import Final

from ._catalogue import DOMAIN, PROVIDERS_DOC, SSM_DOC

__all__ = ["SOURCES", "describe_source"]

#: Every document a rule may cite, and what it is.
SOURCES: Final[dict[str, str]] = {
    SSM_DOC: (
        "the vendor's \"Secure Session Management\" page of its iOS CONNECT Player SDK "
        "documentation: the SSM session token at encrypted-playback start, its use in "
        "the SSP license request, heartbeats, teardown on stop, setup refused when too "
        "many sessions exist, syncSSMSetupTeardown, the setup / heartbeat / teardown "
        "error notifications and the background and picture-in-picture rules"),
    PROVIDERS_DOC: (
        "Kaltura's \"Setting Up Session Providers for Android Devices\" page (Playkit "
        "Android 3.0): the SessionProvider (base URL, KS session token, partner id), "
        "the OTT (Phoenix) provider's anonymous and user login, refresh, renewal and "
        "logout, the OVP provider's widget session, login, 24 h validity, renewal and "
        "session end, and media providers loading an entry through a provider"),
    DOMAIN: (
        "player_sim's own notes of facts taken from the public documentation and source "
        "code of the real SSM servers and Kaltura clients, where the two documents are "
        "silent; each became a default or a named, configurable option"),
}


def describe_source(where: str) -> str:
    """What the document of a citation (``seeds/FILE.txt:LINE`` or ``DOMAIN.md``) is;
    ``KeyError`` for a document no rule may cite."""
    document = where.split(":", 1)[0]
    return SOURCES[document]
