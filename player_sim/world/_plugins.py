"""Variants named by reference: ``module:Name``, resolved with importlib.

A scenario file (``sdk: mypackage.sdks:MySdk``), the CLI (``--sdk``, ``--app``,
``--mutant``) and the explorer name a QA team's own SDK model, app policy or
session provider class this way. Resolving a reference IMPORTS the module, i.e.
runs its code: it happens only where a file or command line asks for it, never
for a scenario that names no variant.

Rules::

    a reference is "module.path:Name" (a dotted attribute path after the colon);
    the module must import, the name must exist in it;
    the object must be of the expected kind (a subclass of its base class);
    every refusal is a ConfigError stating which of these failed.
"""

from __future__ import annotations

import importlib
from typing import Any, Final, TypeVar

from .._errors import ConfigError
from ..player import AppPolicy, DocumentedAppPolicy, SdkModel
from ..providers import OttSessionProvider, OvpSessionProvider

__all__ = ["PROVIDER_BASES", "is_reference", "load_reference", "resolve_class", "resolve_policy",
           "resolve_provider_class", "resolve_sdk"]

T = TypeVar("T")

#: The session provider class a ``session_provider: {variant: module:Name}`` must
#: subclass, per backend.
PROVIDER_BASES: Final[dict[str, type[Any]]] = {"ott": OttSessionProvider,
                                               "ovp": OvpSessionProvider}


def is_reference(text: object) -> bool:
    """Whether ``text`` looks like a ``module:Name`` reference."""
    return isinstance(text, str) and ":" in text and not text.startswith(("http:", "https:"))


def load_reference(reference: str) -> Any:
    """The object ``reference`` (``module.path:Name``) names: imports the module.

    Raises :class:`~player_sim.ConfigError` when the reference is malformed, the
    module does not import or the name is not in it.
    """
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{reference!r} is not a reference: write module.path:Name")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"can't import module {module_name!r} ({err}); check the name "
                          "and that it is on the Python path (PYTHONPATH)") from None
    except Exception as err:  # the user's module raised while importing
        raise ConfigError(f"importing module {module_name!r} failed: "
                          f"{type(err).__name__}: {err}") from None
    found: Any = module
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(f"module {module_name!r} has no {attr!r}") from None
    return found


def resolve_class(reference: str, base: type[T], what: str) -> type[T]:
    """The class ``reference`` names, which must subclass ``base`` (``what`` names
    the kind in messages)."""
    found = load_reference(reference)
    if not isinstance(found, type) or not issubclass(found, base):
        raise ConfigError(f"{reference} is not {what}: it must be a subclass of "
                          f"{base.__module__.split('.')[0]}.{base.__name__}")
    return found


def resolve_sdk(reference: str) -> SdkModel:
    """An instance of the :class:`~player_sim.SdkModel` subclass ``reference`` names
    (built without arguments), or the instance it names."""
    found = load_reference(reference)
    if isinstance(found, SdkModel):
        return found
    cls = resolve_class(reference, SdkModel, "an SDK model")
    return _build(cls, reference)


def resolve_policy(reference: str, settings: dict[str, Any] | None = None) -> AppPolicy:
    """An instance of the :class:`~player_sim.AppPolicy` subclass ``reference`` names;
    ``settings`` (``zap_on_heartbeat_error``, ``resume_after_background``) are passed
    to a :class:`~player_sim.DocumentedAppPolicy` subclass."""
    found = load_reference(reference)
    if isinstance(found, AppPolicy):
        if settings:
            raise ConfigError(f"{reference} is an app policy instance: its settings can't "
                              "be changed; name its class instead")
        return found
    cls = resolve_class(reference, AppPolicy, "an app policy")
    if settings and not issubclass(cls, DocumentedAppPolicy):
        raise ConfigError(f"{reference} does not subclass DocumentedAppPolicy: it takes no "
                          f"settings ({', '.join(settings)})")
    return _build(cls, reference, **(settings or {}))


def resolve_provider_class(reference: str, backend: str) -> type[Any]:
    """The session provider class ``reference`` names, a subclass of the ``backend``'s
    built-in provider (:data:`PROVIDER_BASES`)."""
    base = PROVIDER_BASES[backend]
    return resolve_class(reference, base, f"an {backend} session provider")


def _build(cls: type[T], reference: str, **kwargs: Any) -> T:
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except Exception as err:  # the user's constructor
        raise ConfigError(f"{reference}() failed: {type(err).__name__}: {err}") from None
