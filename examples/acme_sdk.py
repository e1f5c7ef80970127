"""A QA team's model of its own SDK, plugged into player_sim through the public seam.

Acme Player 4.2 caches the SSM session token of its first playback and puts it
in every later license request: the documents say "The session token is used as
part of the license request" (seeds/000_7011756516eda0b2.txt:3), the current
one. The team models exactly that difference and nothing else: every other
hook keeps the documented behaviour.

The model has state (the cached token): ``state()`` tells the exhaustive
explorer about it, and each player core works on its own copy (``copy()``).

Run it (README, "Bring your own SDK"), from the repository root::

    PYTHONPATH=examples player-sim run examples/acme_sdk.yaml
    PYTHONPATH=examples player-sim explore --sdk acme_sdk:AcmeSdk --rule ssm.license.carries-token
    PYTHONPATH=examples player-sim explore --exhaustive --depth 5 --sdk acme_sdk:AcmeSdk
    PYTHONPATH=examples player-sim mutants --mutant acme_sdk:AcmeSdk --examples 0
"""

from __future__ import annotations

from player_sim import SdkModel


class AcmeSdk(SdkModel):
    """Acme Player 4.2: the license request carries the first playback's token."""

    def __init__(self) -> None:
        self.cached_token: str | None = None

    def license_token(self, token: str | None) -> str | None:
        if self.cached_token is None:
            self.cached_token = token
        return self.cached_token

    def state(self) -> str | None:
        return self.cached_token
