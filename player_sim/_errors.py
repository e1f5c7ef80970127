"""The exceptions player_sim raises.

One base class, so a harness can catch everything of ours in one place; each
subclass names a kind of mistake. Messages state the rule that was broken.
"""

from __future__ import annotations

__all__ = ["ConfigError", "InvalidTransition", "PlayerSimError", "RunBudgetExceeded"]


class PlayerSimError(Exception):
    """Base class of every error player_sim raises on purpose."""


class ConfigError(PlayerSimError, ValueError):
    """A configuration value is invalid: raised where the value enters."""


class RunBudgetExceeded(PlayerSimError):
    """A run processed more world events than its budget allows (``max_events``).

    Raised from the world's clock, so a runaway scenario (a heartbeat every
    millisecond for a year) ends with a clear error instead of filling memory.
    """


class InvalidTransition(PlayerSimError):
    """A trigger was fed to the player core in a state that does not accept it.

    ``machine`` is ``"playback"`` or ``"app"``; ``state`` and ``trigger`` name
    what was refused.
    """

    def __init__(self, machine: str, state: str, trigger: str) -> None:
        self.machine = machine
        self.state = state
        self.trigger = trigger
        super().__init__(f"can't {trigger!r} while {machine} is {state!r}")
