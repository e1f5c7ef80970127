"""Simulated backends: the SSM server, the SSP license server, the OTT and OVP backends."""

from ._faults import Fault, ForcedFaults
from ._ks import ApiAnswer, KsLedger, KsRecord, KsStatus
from ._license import LicenseConfig, LicenseServer, LicenseVerdict
from ._ott import DRM_SCHEMES, DrmScheme, OttAsset, OttBackend, OttConfig, OttErrorCode
from ._ovp import OVP_ERROR_CODES, OvpBackend, OvpConfig, OvpEntry, OvpFault
from ._ssm import (
    DEFAULT_HTTP_STATUS,
    LIMIT_POLICIES,
    SSM_ERROR_CODES,
    LimitPolicy,
    SsmCode,
    SsmConfig,
    SsmErrorCode,
    SsmServer,
    SsmSession,
    ssm_codes_markdown,
)

__all__ = [
    "DEFAULT_HTTP_STATUS",
    "DRM_SCHEMES",
    "LIMIT_POLICIES",
    "OVP_ERROR_CODES",
    "SSM_ERROR_CODES",
    "ApiAnswer",
    "DrmScheme",
    "Fault",
    "ForcedFaults",
    "KsLedger",
    "KsRecord",
    "KsStatus",
    "LicenseConfig",
    "LicenseServer",
    "LicenseVerdict",
    "LimitPolicy",
    "OttAsset",
    "OttBackend",
    "OttConfig",
    "OttErrorCode",
    "OvpBackend",
    "OvpConfig",
    "OvpEntry",
    "OvpFault",
    "SsmCode",
    "SsmConfig",
    "SsmErrorCode",
    "SsmServer",
    "SsmSession",
    "ssm_codes_markdown",
]
