"""Configuration of a world and of its devices: frozen, validated where they are built."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from operator import attrgetter
from typing import Any, Final, Literal, get_args
from urllib.parse import urlsplit

import attrs

from .._errors import ConfigError
from .._messages import ContentToken
from .._validators import non_negative, typed
from ..backends import LicenseConfig, OttConfig, OvpConfig, SsmConfig
from ..player import AppPolicy, CoreConfig, DocumentedAppPolicy, SdkModel
from ..player._core import ZapOrder, _check_zap_order
from ..player._variants import PROFILES, Profile, SsmVariants
from ..providers import MediaSource, OvpMediaProvider, PhoenixMediaProvider, SessionProvider
from ..providers import check_session_provider as _check_session_provider

__all__ = ["LINKS", "TIMED_CALLS", "ZAP_ORDERS", "DeviceConfig", "Link", "NetworkConfig",
           "WorldConfig"]

#: The app of every DeviceConfig not given one: frozen, so one serves them all.
_DOCUMENTED_POLICY: Final = DocumentedAppPolicy()


class _NoEntries(dict):  # type: ignore[type-arg]
    """The empty mapping every DeviceConfig not given ``request_timeouts`` or ``variants``
    holds: one shared instance (:data:`_NO_ENTRIES`), so a fleet of 100,000 configs does
    not hold 200,000 empty dicts (64 B each). A ``dict`` to its readers (``== {}``,
    ``repr`` ``{}``, JSON, ``attrs.asdict``, ``isinstance(..., dict)``), it refuses every
    change, since every config shares it; it pickles and copies as itself."""

    __slots__ = ()

    def _refuse(self, *_: object, **__: object) -> Any:
        raise TypeError("this is the empty mapping every DeviceConfig shares by default: "
                        "give the config a dict of its own instead")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> str:
        return "_NO_ENTRIES"  # the module's shared instance, by name


#: See :class:`_NoEntries`.
_NO_ENTRIES: Final[Mapping[str, Any]] = _NoEntries()

#: The network links a device uses, one per backend.
Link = Literal["ssm", "license", "ott", "ovp"]
LINKS: Final[tuple[str, ...]] = get_args(Link)
#: The orders an asynchronous zap may send its requests in (see ``CoreConfig``).
ZAP_ORDERS: Final[tuple[ZapOrder, ...]] = get_args(ZapOrder)


def _check_links(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, float]) -> None:
    for link, latency in value.items():
        if link not in LINKS:
            raise ConfigError(f"{attribute.name}: no link {link!r}; links are {', '.join(LINKS)}")
        if latency < 0:
            raise ConfigError(f"{attribute.name}[{link!r}] can't be negative, not {latency!r}")


@attrs.frozen(field_transformer=typed)
class NetworkConfig:
    """One-way latency in seconds, the same for every link unless ``link_latency``
    names one; ``jitter`` adds a uniform ``[0, jitter)`` to each message, drawn from
    the sending device's own stream. One device's messages on one link keep their
    order whatever the jitter (the network model: see ``player_sim.world._network``)."""

    latency: float = attrs.field(default=0.02, validator=non_negative)
    link_latency: Mapping[str, float] = attrs.field(factory=dict, validator=_check_links)
    jitter: float = attrs.field(default=0.0, validator=non_negative)

    def latency_of(self, link: str) -> float:
        return self.link_latency.get(link, self.latency)


@attrs.frozen(field_transformer=typed)
class WorldConfig:
    """The backends and network every device of one world shares.

    ``trace_heartbeats`` records each heartbeat (sent, and handled by the
    server) in the trace; turn it off for very large fleets. ``compress_trace``
    keeps the trace compressed (a ``CompressedTrace``: a record held costs a
    few bytes rather than a few dozen, for about half a microsecond more per
    record written); turn it on for very large fleets too. ``ott`` and ``ovp``
    configure the Kaltura OTT (Phoenix) and OVP backends session providers use.
    """

    ssm: SsmConfig = attrs.field(factory=SsmConfig)  # each type checked by ``typed``
    license: LicenseConfig = attrs.field(factory=LicenseConfig)
    network: NetworkConfig = attrs.field(factory=NetworkConfig)
    trace_heartbeats: bool = True
    ott: OttConfig = attrs.field(factory=OttConfig)
    ovp: OvpConfig = attrs.field(factory=OvpConfig)
    compress_trace: bool = False


def _check_url(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is None:
        return
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. 'http://[::1'
        raise ConfigError(f"{attribute.name} is not a valid URL: {value[:60]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{attribute.name} must be an http(s) URL with a host, not {value!r}")


def _check_name(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value or not value.strip():
        raise ConfigError(f"{attribute.name} can't be empty")


def _check_provider(_: object, __: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _check_session_provider(value)


def _check_sdk(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, SdkModel):
        raise ConfigError(f"{attribute.name} must be an SdkModel (subclass it and override the "
                          f"hooks that differ), not {type(value).__name__}")


#: The SSM calls a client timeout can be set for.
TIMED_CALLS: Final = ("setup", "heartbeat", "teardown")


def _check_timeouts(_: object, attribute: attrs.Attribute[Any], value: Mapping[str, float]
                    ) -> None:
    for call, seconds in value.items():
        if call not in TIMED_CALLS:
            raise ConfigError(f"{attribute.name}: no call {call!r}; calls are "
                              f"{', '.join(TIMED_CALLS)}")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise ConfigError(f"{attribute.name}[{call!r}] must be a positive number of "
                              f"seconds, not {seconds!r}")


def _check_profile(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in PROFILES:
        raise ConfigError(f"{attribute.name} must be one of {', '.join(PROFILES)}, "
                          f"not {value!r}")


def _check_variants(instance: DeviceConfig, _: attrs.Attribute[Any],
                    value: Mapping[str, object]) -> None:
    SsmVariants.of(instance.profile, value)  # refuses an unknown variant or value


def _check_media(instance: DeviceConfig, _: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, PhoenixMediaProvider | OvpMediaProvider):
        raise ConfigError(f"media must be a PhoenixMediaProvider or an OvpMediaProvider, "
                          f"not {type(value).__name__}")
    if (value is None) != (instance.session_provider is None):
        raise ConfigError("session_provider and media go together: the media provider loads "
                          "the entry with the session provider's KS; set both or neither")


#: Every check of a DeviceConfig field, in field order: ``(field, check)``, as
#: :func:`~player_sim._validators.typed` composes its type check with the field's own
#: validator. Filled by :func:`_checks_after_init` when the class is built, and run by
#: :func:`_check_device_config`, not by attrs' ``__init__``.
_DEVICE_CHECKS: list[tuple[attrs.Attribute[Any], Any]] = []


def _checks_after_init(cls: type, fields: list[attrs.Attribute[Any]]
                       ) -> list[attrs.Attribute[Any]]:
    """DeviceConfig's ``field_transformer``: the checks ``typed`` gives each field are
    kept in :data:`_DEVICE_CHECKS` and the fields get none of their own, so that
    :meth:`DeviceConfig.__attrs_post_init__` runs them: each one, in the same order
    and after every field is set, as attrs would, but only once per shape of config
    (see :func:`_check_device_config`)."""
    out = []
    for field in typed(cls, fields):
        if field.validator is not None:
            _DEVICE_CHECKS.append((field, field.validator))
            field = field.evolve(validator=None)
        out.append(field)
    return out


@attrs.frozen(field_transformer=_checks_after_init)
class DeviceConfig:
    """One device: its account, its SDK's license delegate, its app.

    The license delegate is configured like the SDK's
    ``OTVSSPLicenseDelegate(certificateURL:licenseURL:ssmServerURL:syncSSMSetupTeardown:)``:
    with ``ssm_server_url`` "every playback will have an SSM session"; without
    it, no SSM traffic at all. ``sync_ssm_setup_teardown`` blocks the simulated
    main thread for each setup and teardown round trip; user and app actions
    issued meanwhile wait. See :class:`~player_sim.player.CoreConfig` for
    ``pip``, ``async_zap_order`` and ``release_item_on_stop``.

    ``app_reaction_delay`` is how long the app takes to act on a notification;
    ``policy`` is the app (default: :class:`~player_sim.DocumentedAppPolicy`).
    ``ip`` and ``device_group`` feed the SSM server's optional limits.

    ``session_provider`` (any :class:`~player_sim.providers.SessionProvider`)
    with ``media`` (a media provider template: the played stream is its asset
    or entry id) makes each playback start the way a Kaltura app's does: obtain
    a KS, load the media entry, then SSM setup and license. Without them the
    device plays streams directly. A built-in provider serves one device only.

    ``sdk`` (an instance of an :class:`~player_sim.SdkModel` subclass) models an
    SDK whose SSM client behaves otherwise than documented; ``None`` is the
    documented SDK.

    ``content_token`` is what its setups carry in ``nv-authorizations`` (its claims may
    name the account and the limit; an empty one fails setup); ``None``: a token
    without such claims. ``request_timeouts`` gives the client's timeout per SSM call (``setup``,
    ``heartbeat``, ``teardown``, in seconds): with none the device waits for the
    answer for ever (as before); when it runs out, the call fails with HTTP status 0
    ("timed out") and a later answer is dropped.

    ``content_token_delay``: how long after the SDK asks for a setup's content token the
    app hands it over (0: at once). A late one is sent without (variant
    ``content_token_wait: send-at-once``) or polled for (``poll``: 50 x 100 ms, then a
    ``content_token_error`` 5022).

    ``profile`` (``documented``, ``ios``, ``android``, ``web``) picks the value of
    every variant of :data:`~player_sim.player.VARIANTS` (where real clients
    differ); ``variants`` overrides single ones by name, e.g.
    ``variants={"after_heartbeat_error": "keep-heartbeating"}``. Not given,
    ``request_timeouts`` and ``variants`` are one empty mapping all configs share, which
    equals ``{}`` and refuses changes; a mapping given is kept as it is.

    Every field is checked where the config is built, in ``__attrs_post_init__``: a
    subclass that defines its own calls ``super().__attrs_post_init__()``. A fleet of
    configs alike but for their name and account has everything else checked once
    (see ``_check_device_config``).
    """

    name: str = attrs.field(validator=_check_name)
    account: str = attrs.field(validator=_check_name)
    ssm_server_url: str | None = attrs.field(default=None, validator=_check_url)
    sync_ssm_setup_teardown: bool = False
    certificate_url: str = attrs.field(default="https://ssp.example/certificate",
                                       validator=_check_url)
    license_url: str = attrs.field(default="https://ssp.example/license", validator=_check_url)
    pip: bool = False
    async_zap_order: ZapOrder = attrs.field(default="setup-first", validator=_check_zap_order)
    release_item_on_stop: bool = True
    app_reaction_delay: float = attrs.field(default=0.0, validator=non_negative)
    ip: str | None = None
    device_group: str | None = None
    policy: AppPolicy = attrs.field(default=_DOCUMENTED_POLICY, eq=False)
    session_provider: SessionProvider | None = attrs.field(default=None, eq=False,
                                                           validator=_check_provider)
    media: MediaSource | None = attrs.field(default=None, eq=False, validator=_check_media)
    sdk: SdkModel | None = attrs.field(default=None, eq=False, validator=_check_sdk)
    request_timeouts: Mapping[str, float] = attrs.field(default=_NO_ENTRIES,
                                                        validator=_check_timeouts)
    content_token: ContentToken | None = None
    content_token_delay: float = attrs.field(default=0.0, validator=non_negative)
    profile: Profile = attrs.field(default="documented", validator=_check_profile)
    variants: Mapping[str, object] = attrs.field(default=_NO_ENTRIES, validator=_check_variants)

    def __attrs_post_init__(self) -> None:
        _check_device_config(self)

    @property
    def ssm_variants(self) -> SsmVariants:
        """This device's value of every variant: its profile's, with ``variants`` applied."""
        return SsmVariants.of(self.profile, self.variants)

    def core_config(self, *, has_session_provider: bool | None = None) -> CoreConfig:
        if has_session_provider is None:
            has_session_provider = self.media is not None
        return CoreConfig(uses_ssm=self.ssm_server_url is not None,
                          sync_ssm_setup_teardown=self.sync_ssm_setup_teardown,
                          pip_enabled=self.pip, async_zap_order=self.async_zap_order,
                          release_item_on_stop=self.release_item_on_stop,
                          has_session_provider=has_session_provider, sdk=self.sdk,
                          variants=self.ssm_variants)


# --- checking a DeviceConfig once per shape ----------------------------------------------
#
# A fleet builds one DeviceConfig per device, nearly all alike but for their name and
# account: running every check of every field for each of them (type checks, URLs, the
# profile's variants) cost more than adding the device. So the checks of everything but
# the name and account run once per *shape* of config (see _shape).

#: The fields checked for every config (they differ from device to device): the first
#: two of _DEVICE_CHECKS.
_CHECKED_EACH_TIME: Final = ("name", "account")
#: The fields _shape reads by name; it takes every other field by class and value.
_SHAPED_BY_NAME: Final = ("policy", "session_provider", "media", "sdk", "request_timeouts",
                          "variants")
_by_value: Final = attrgetter(*(f.name for f in attrs.fields(DeviceConfig)
                                if f.name not in (*_CHECKED_EACH_TIME, *_SHAPED_BY_NAME)))
#: The shapes of the configs that passed every check, at most _CHECKED_SHAPES_MAX (a
#: config of any other shape is checked in full, as before).
_checked_shapes: set[tuple[Any, ...]] = set()
_CHECKED_SHAPES_MAX: Final = 1024
#: The mappings _shape keys by their items: a plain dict, and the shared empty default.
_PLAIN_MAPPINGS: Final = (dict, _NoEntries)


def _shape(config: DeviceConfig) -> tuple[Any, ...] | None:
    """What every check but the name's and the account's reads of ``config``, as a key:
    each field's class and value (``True == 1``, but one is not a ``float``), a mapping
    by its items and their classes, the app policy by its class alone (its check is an
    ``isinstance``). ``None`` when it can't stand for them: a session provider, media
    provider or SDK model set (objects of their own, checked every time), or a mapping
    that is not a plain dict (or the shared empty default)."""
    if config.session_provider is not None or config.media is not None \
            or config.sdk is not None:
        return None
    timeouts, variants = config.request_timeouts, config.variants
    if type(timeouts) not in _PLAIN_MAPPINGS or type(variants) not in _PLAIN_MAPPINGS:
        return None
    values = _by_value(config)
    timed, varied = tuple(timeouts.items()), tuple(variants.items())
    return (values, tuple(map(type, values)), timed, varied,
            tuple(map(type, chain.from_iterable(timed + varied))), type(config.policy))


def _check_device_config(config: DeviceConfig) -> None:
    """Run every field check of ``config`` (:data:`_DEVICE_CHECKS`), raising the first
    one's :class:`ConfigError`, as attrs' ``__init__`` would with them as validators
    (none while ``attrs.validators.get_disabled()``). A config of a shape that passed
    them all before (see :func:`_shape`) runs only its name's and account's checks:
    every other check would read the same classes and values, and pass again. A
    subclass of DeviceConfig is always checked in full."""
    if attrs.validators.get_disabled():
        return
    shape = _shape(config) if type(config) is DeviceConfig else None
    if shape is not None:
        try:
            known = shape in _checked_shapes
        except TypeError:  # a value that can't be hashed: checked in full
            shape = None
        else:
            if known:
                for field, check in _DEVICE_CHECKS[:len(_CHECKED_EACH_TIME)]:
                    check(config, field, getattr(config, field.name))
                return
    for field, check in _DEVICE_CHECKS:
        check(config, field, getattr(config, field.name))
    if shape is not None and len(_checked_shapes) < _CHECKED_SHAPES_MAX:
        _checked_shapes.add(shape)


def _shape_matches_the_class() -> None:
    """The names above are DeviceConfig's, and the name's and the account's checks come
    first (caught at import)."""
    first = tuple(field.name for field, _ in _DEVICE_CHECKS[:len(_CHECKED_EACH_TIME)])
    if first != _CHECKED_EACH_TIME:
        raise TypeError(f"DeviceConfig's first checked fields must be {_CHECKED_EACH_TIME}, "
                        f"not {first}")
    missing = set(_SHAPED_BY_NAME) - {f.name for f in attrs.fields(DeviceConfig)}
    if missing:
        raise TypeError(f"_shape reads fields DeviceConfig does not have: {sorted(missing)}")


_shape_matches_the_class()
