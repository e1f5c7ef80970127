"""attrs validators every configuration shares, each with one meaning.

* :func:`positive`: a number greater than 0.
* :func:`positive_or_none`: ``None``, or a number greater than 0 (a duration,
  a period: ``0.5`` is fine, ``0`` is not).
* :func:`limit_or_none`: ``None`` (no limit), or a whole number of at least 1
  (a count of sessions, devices, IPs: ``0.5`` and ``True`` are not counts).
* :func:`non_negative`: a number of at least 0.
* :func:`one_of`: one of a declared vocabulary (a ``Literal``'s values).
* :func:`typed`: an attrs ``field_transformer`` that checks every field annotated
  ``bool``, ``int``, ``float``, ``str`` (or one of them ``| None``), a
  ``Mapping``, ``tuple`` or ``frozenset`` of them: the type before any other
  validator, so ``'no'`` is not a boolean, ``True`` and ``1.5`` are not whole
  numbers, NaN is not a number, and a string never reaches a comparison.

Durations are finite seconds of at most 366 days, periods (``positive``) at
least 1ms (:mod:`player_sim._limits`). Each raises
:class:`~player_sim.ConfigError` with a sentence stating the rule.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._errors import ConfigError
from ._limits import MAX_DURATION, MIN_DURATION

__all__ = [
    "check_number",
    "limit_or_none",
    "non_negative",
    "one_of",
    "positive",
    "positive_or_none",
    "typed",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]



def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def check_number(name: str, value: object, *, low: float = 0.0,
                 high: float = MAX_DURATION) -> float:
    """``value`` as a float if it is a finite number of seconds in ``[low, high]``;
    else raise :class:`ConfigError` stating the rule (for a call's arguments too)."""
    if not _is_number(value):
        raise ConfigError(f"{name} must be a finite number of seconds, not {_show(value)}")
    number = float(value)  # type: ignore[arg-type]
    if number < low:
        rule = ("can't be negative" if low == 0 else "must be positive" if number <= 0
                else f"must be at least {low:g}s (1ms)")
        raise ConfigError(f"{name} {rule}, not {_show(value)}")
    if number > high:
        raise ConfigError(f"{name} must be at most {high:g}s (366d), not {_show(value)}")
    return number


def positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """``value`` is a period: a finite number of seconds from 1ms to 366 days."""
    check_number(attribute.name, value, low=MIN_DURATION)


def positive_or_none(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    """``value`` is ``None`` or a period (see :func:`positive`)."""
    if value is not None:
        check_number(attribute.name, value, low=MIN_DURATION)


def limit_or_none(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    """``value`` is ``None`` (no limit) or a whole number of at least 1."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{attribute.name} must be a whole number of at least 1 "
                          f"(or None: no limit), not {value!r}")


def non_negative(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    """``value`` is a delay: a finite number of seconds from 0 to 366 days."""
    check_number(attribute.name, value)


def one_of(choices: Sequence[str]) -> Validator:
    """A validator accepting only the values of ``choices`` (e.g. ``get_args(ALiteral)``)."""
    quoted = [repr(c) for c in choices]
    listed = (" or ".join(quoted) if len(quoted) == 2
              else "one of " + ", ".join(quoted))

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, str) or value not in choices:
            raise ConfigError(f"{attribute.name} must be {listed}, not {_show(value)}")

    return check


_WORDS: dict[str, tuple[tuple[type, ...], str]] = {
    "bool": ((bool,), "true or false"),
    "int": ((int,), "a whole number"),
    "float": ((int, float), "a finite number"),
    "str": ((str,), "text"),
}


def _a(name: str) -> str:
    return f"an instance of {name}"


def _class_named(name: str, namespace: Mapping[str, Any]) -> type | None:
    """The plain class (not a Protocol, alias or Literal) ``name`` means in ``namespace``."""
    found = namespace.get(name)
    if isinstance(found, type) and not getattr(found, "_is_protocol", False):
        return found
    return None


def _fits(simple: str, value: object, namespace: Mapping[str, Any] | None = None) -> bool:
    if simple not in _WORDS:
        cls = _class_named(simple, namespace or {})
        return cls is None or isinstance(value, cls)
    types, _ = _WORDS[simple]
    if simple != "bool" and isinstance(value, bool):
        return False
    if simple == "float":
        return _is_number(value)
    return isinstance(value, types)


def _type_check(annotation: str, namespace: Mapping[str, Any],
                *, validated: bool = False) -> Validator | None:
    """A validator for a field annotated ``annotation`` (a string, its names looked up
    in ``namespace``), or None. A field ``validated`` by its own validator keeps that
    validator's word on which class it takes."""
    text = annotation.replace(" ", "")
    optional = text.endswith("|None")
    base = text[:-len("|None")] if optional else text
    cls = _class_named(base, namespace)
    if cls is not None and validated:
        return None
    if cls is not None:
        noun = _a(cls.__name__) + (" (or None)" if optional else "")

        def check_class(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
            if not (optional and value is None) and not isinstance(value, cls):
                raise ConfigError(f"{attribute.name} must be {noun}, not {_show(value)}")
        return check_class
    if base in _WORDS:
        word = _WORDS[base][1] + (" (or None)" if optional else "")

        def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
            if not (optional and value is None) and not _fits(base, value):
                raise ConfigError(f"{attribute.name} must be {word}, not {_show(value)}")
        return check
    for outer, kind, noun in (("Mapping[", Mapping, "a mapping"),
                              ("frozenset[", frozenset, "a frozenset"),
                              ("tuple[", tuple, "a tuple")):
        if base.startswith(outer) and base.endswith("]"):
            inner = [t for t in base[len(outer):-1].split(",") if t != "..."]
            return _container_check(kind, noun, inner, optional, namespace)
    return None


def _container_check(kind: type, noun: str, inner: list[str], optional: bool,
                     namespace: Mapping[str, Any]) -> Validator:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if optional and value is None:
            return
        if not isinstance(value, kind):
            raise ConfigError(f"{attribute.name} must be {noun}, not {_show(value)}")
        if kind is Mapping:
            pairs: Iterable[tuple[str, object]] = (
                pair for k, v in value.items()  # type: ignore[attr-defined]
                for pair in ((inner[0], k), (inner[-1], v)))
        else:
            pairs = ((inner[0], item) for item in value)  # type: ignore[attr-defined]
        for simple, item in pairs:
            if not _fits(simple, item, namespace):
                what = _WORDS[simple][1] if simple in _WORDS else _a(simple)
                raise ConfigError(f"{attribute.name} holds {_show(item)}, which is not "
                                  f"{what}")
    return check


def typed(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """An attrs ``field_transformer``: check each simply annotated field's type first
    (a class named in an annotation is looked up in ``cls``'s module)."""
    namespace = vars(sys.modules[cls.__module__])
    out = []
    for field in fields:
        check = (_type_check(field.type, namespace, validated=field.validator is not None)
                 if isinstance(field.type, str) else None)
        if check is not None:
            validator = check if field.validator is None else \
                attrs.validators.and_(check, field.validator)
            field = field.evolve(validator=validator)
        out.append(field)
    return out
