"""The world: virtual clock, event queue, network links, devices; and its trio shell."""

from ._config import LINKS, TIMED_CALLS, ZAP_ORDERS, DeviceConfig, NetworkConfig, WorldConfig
from ._device import Device
from ._device_app import Notification
from ._plugins import (
    PROVIDER_BASES,
    is_reference,
    load_reference,
    resolve_class,
    resolve_policy,
    resolve_provider_class,
    resolve_sdk,
)
from ._simulation import Simulation
from ._world import World

__all__ = [
    "LINKS",
    "PROVIDER_BASES",
    "TIMED_CALLS",
    "ZAP_ORDERS",
    "Device",
    "DeviceConfig",
    "NetworkConfig",
    "Notification",
    "Simulation",
    "World",
    "WorldConfig",
    "is_reference",
    "load_reference",
    "resolve_class",
    "resolve_policy",
    "resolve_provider_class",
    "resolve_sdk",
]
