"""attrs validators every configuration shares, each with one meaning.

* :func:`positive`: a number greater than 0.
* :func:`positive_or_none`: ``None``, or a number greater than 0 (a duration,
  a period: ``0.5`` is fine, ``0`` is not).
* :func:`limit_or_none`: ``None`` (no limit), or a whole number of at least 1
  (a count of sessions, devices, IPs: ``0.5`` and ``True`` are not counts).
* :func:`non_negative`: a number of at least 0.
* :func:`one_of`: one of a declared vocabulary (a ``Literal``'s values).

Each raises :class:`~player_sim.ConfigError` with a sentence stating the rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._errors import ConfigError

__all__ = ["limit_or_none", "non_negative", "one_of", "positive", "positive_or_none"]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """``value`` is a number greater than 0."""
    if value <= 0:
        raise ConfigError(f"{attribute.name} must be positive, not {value!r}")


def positive_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    """``value`` is ``None`` or a number greater than 0."""
    if value is not None and value <= 0:
        raise ConfigError(f"{attribute.name} must be positive (or None), not {value!r}")


def limit_or_none(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    """``value`` is ``None`` (no limit) or a whole number of at least 1."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{attribute.name} must be a whole number of at least 1 "
                          f"(or None: no limit), not {value!r}")


def non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """``value`` is a number of at least 0."""
    if value < 0:
        raise ConfigError(f"{attribute.name} can't be negative, not {value!r}")


def one_of(choices: Sequence[str]) -> Validator:
    """A validator accepting only the values of ``choices`` (e.g. ``get_args(ALiteral)``)."""
    quoted = [repr(c) for c in choices]
    listed = (" or ".join(quoted) if len(quoted) == 2
              else "one of " + ", ".join(quoted))

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in choices:
            raise ConfigError(f"{attribute.name} must be {listed}, not {value!r}")

    return check
