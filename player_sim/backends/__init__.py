"""Simulated backends: the SSM server and the SSP license server."""

from ._faults import Fault, ForcedFaults
from ._license import LicenseConfig, LicenseServer, LicenseVerdict
from ._ssm import DEFAULT_HTTP_STATUS, SsmConfig, SsmErrorCode, SsmServer, SsmSession

__all__ = [
    "DEFAULT_HTTP_STATUS",
    "Fault",
    "ForcedFaults",
    "LicenseConfig",
    "LicenseServer",
    "LicenseVerdict",
    "SsmConfig",
    "SsmErrorCode",
    "SsmServer",
    "SsmSession",
]
