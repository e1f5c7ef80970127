"""The world: virtual clock, event queue, network links, devices; and its trio shell."""

from ._config import LINKS, ZAP_ORDERS, DeviceConfig, NetworkConfig, WorldConfig
from ._simulation import Simulation
from ._world import Device, Notification, World

__all__ = [
    "LINKS",
    "ZAP_ORDERS",
    "Device",
    "DeviceConfig",
    "NetworkConfig",
    "Notification",
    "Simulation",
    "World",
    "WorldConfig",
]
