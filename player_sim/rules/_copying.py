"""Copying a monitor's own state, for a copy of the checker running it.

:func:`copy_state` copies the containers and the :mod:`player_sim.rules` objects a
monitor holds (its sessions, its per-device dicts), keeping aliasing within one copy
(through ``memo``), and shares what is only read: records, rules, the
configuration, numbers and strings, frozen values (deadlines, once made, are never
changed) and counters that hand out keys. Anything else raises ``TypeError``
rather than be shared by mistake. Far cheaper than ``copy.deepcopy``, which would
copy every record and rule too.

A copy's ``__dict__`` is ``dict(obj.__dict__)``, here and in every ``_fork`` /
``_copy`` of the checker and its views, never ``obj.__dict__.copy()``: for an object
whose attributes CPython 3.11 kept inline (a "split" dict, its keys shared with its
class), that copy is split too, and an object given a split ``__dict__`` never
specialises its attribute loads (each a generic lookup for the rest of its life;
-2 % of the core explorer's instructions at depth 6).
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any, Final

import attrs

from ..trace import TraceRecord

__all__ = ["SHARED", "copy_state"]

#: Types whose values a checker only reads (frozen attrs classes are added as met).
SHARED: Final[set[type]] = {str, int, float, bool, type(None), frozenset, TraceRecord}

#: How each class met is copied: "share", "attrs" (slotted fields) or "dict".
_PLANS: dict[type, str] = {}
#: The field names of each attrs class met.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _plan(cls: type) -> str:
    plan = _PLANS.get(cls)
    if plan is None:
        if (attrs.has(cls) and getattr(cls.__setattr__, "__name__", "") == "_frozen_setattrs") \
                or cls.__module__ in ("itertools", "enum"):
            plan = "share"  # immutable values: rules, deadlines; counters hand out keys
            SHARED.add(cls)
        elif cls.__module__.startswith("player_sim.rules"):
            plan = "dict" if "__dict__" in dir(cls) and not attrs.has(cls) else "attrs"
        else:
            raise TypeError(f"a checker copy can't tell whether a {cls.__module__}."
                            f"{cls.__qualname__} held by a monitor is safe to share; "
                            "teach player_sim/rules/_copying.py")
        _PLANS[cls] = plan
    return plan


def copy_state(obj: Any, memo: dict[int, Any]) -> Any:
    """A copy of ``obj`` (see the module's docstring); ``memo`` maps the id of each
    object copied already to its copy."""
    cls = type(obj)
    shared = SHARED
    if cls in shared:
        return obj
    found = memo.get(id(obj))
    if found is not None:
        return found
    if cls is dict:
        for value in obj.values():
            if type(value) not in shared:
                break
        else:  # (of numbers, strings, records: the most met)
            new_plain = memo[id(obj)] = obj.copy()
            return new_plain
        new_dict: dict[Any, Any] = {}
        memo[id(obj)] = new_dict
        for key, value in obj.items():
            new_dict[key] = value if type(value) in shared else copy_state(value, memo)
        return new_dict
    if cls is list or cls is deque:
        new_seq: Any = [] if cls is list else deque(maxlen=obj.maxlen)
        memo[id(obj)] = new_seq
        new_seq.extend([v if type(v) in shared else copy_state(v, memo) for v in obj])
        return new_seq
    if cls is tuple:
        if all(type(v) in shared for v in obj):
            return obj
        return tuple([v if type(v) in shared else copy_state(v, memo) for v in obj])
    if cls is Counter:
        new_counter: Counter[Any] = Counter(obj)  # of counts: numbers
        memo[id(obj)] = new_counter
        return new_counter
    if cls is set:
        new_set = set(obj)  # of keys: hashable values
        memo[id(obj)] = new_set
        return new_set
    plan = _plan(cls)
    if plan == "share":
        return obj
    new = object.__new__(cls)
    memo[id(obj)] = new
    if plan == "dict":
        state = dict(obj.__dict__)  # (not .copy(): see the module's docstring)
        for k, v in state.items():
            if type(v) not in shared:
                state[k] = copy_state(v, memo)
        new.__dict__ = state
    else:
        names = _FIELDS.get(cls)
        if names is None:
            names = _FIELDS[cls] = tuple(f.name for f in attrs.fields(cls))
        for name in names:
            value = getattr(obj, name)
            object.__setattr__(new, name, value if type(value) in shared
                               else copy_state(value, memo))
    return new
