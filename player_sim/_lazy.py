"""Public names a package imports on first use (PEP 562), so that importing the package
does not pay for parts most runs never touch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, source: str, names: frozenset[str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` (whose globals are
    ``namespace``) that import each of ``names`` from its submodule ``source`` (say
    ``"._timeline"``) on first use, and keep it in ``namespace`` so that the next
    lookup does not come back here. Any other name raises ``AttributeError``."""

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
