"""The world: virtual clock, event queue, network links, devices; and its trio shell."""

from ._config import LINKS, DeviceConfig, NetworkConfig, WorldConfig
from ._simulation import Simulation
from ._world import Device, Notification, World

__all__ = [
    "LINKS",
    "Device",
    "DeviceConfig",
    "NetworkConfig",
    "Notification",
    "Simulation",
    "World",
    "WorldConfig",
]
