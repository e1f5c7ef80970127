"""Wire dialects: the real backends' formats as pure functions over bytes and JSON.

SSM (:mod:`._ssm`), the SSP license (:mod:`._ssp`), Phoenix (:mod:`._phoenix`)
and OVP (:mod:`._ovp`) with their shared request layer (:mod:`._kaltura`),
content tokens (:mod:`._jwt`) and HAR 1.2 (:mod:`._har` writes it, :mod:`._har_read`
reads captures of real exporters, untrusted). No I/O here: the
served backends (:mod:`player_sim.serve`) and a traffic check read and write
through these functions, so both speak the same dialect (WIRE.md).
"""

from ._common import WireFormatError, dump_json, load_json, load_json_object
from ._har import Exchange, har_entry, har_log
from ._har_read import MAX_BODY_BYTES, MAX_HAR_BYTES, CapturedEntry, HarError, read_har
from ._jwt import INVALID_AUTH_TOKEN, ContentToken, mint_content_token, read_content_token
from ._kaltura import (
    ApiCall,
    KalturaRequest,
    UnresolvedReference,
    parse_kaltura_path,
    parse_kaltura_request,
    resolve_references,
)
from ._ovp import ovp_body, ovp_error, ovp_object
from ._phoenix import (
    DRM_SCHEME_NAMES,
    phoenix_body,
    phoenix_error,
    phoenix_object,
    read_phoenix_results,
)
from ._ssm import (
    BAD_REQUEST,
    SSM_CALLS,
    SsmCall,
    SsmRequest,
    parse_ssm_request,
    read_ssm_answer,
    ssm_answer_body,
    ssm_call,
    ssm_error_body,
    ssm_kill_body,
)
from ._ssp import (
    LICENSE_PATH,
    LicenseRequest,
    license_body,
    license_error_body,
    make_license,
    parse_license_request,
)

__all__ = [
    "BAD_REQUEST",
    "DRM_SCHEME_NAMES",
    "INVALID_AUTH_TOKEN",
    "LICENSE_PATH",
    "MAX_BODY_BYTES",
    "MAX_HAR_BYTES",
    "SSM_CALLS",
    "ApiCall",
    "CapturedEntry",
    "ContentToken",
    "Exchange",
    "HarError",
    "KalturaRequest",
    "LicenseRequest",
    "SsmCall",
    "SsmRequest",
    "UnresolvedReference",
    "WireFormatError",
    "dump_json",
    "har_entry",
    "har_log",
    "license_body",
    "license_error_body",
    "load_json",
    "load_json_object",
    "make_license",
    "mint_content_token",
    "ovp_body",
    "ovp_error",
    "ovp_object",
    "parse_kaltura_path",
    "parse_kaltura_request",
    "parse_license_request",
    "parse_ssm_request",
    "phoenix_body",
    "phoenix_error",
    "phoenix_object",
    "read_content_token",
    "read_har",
    "read_phoenix_results",
    "read_ssm_answer",
    "resolve_references",
    "ssm_answer_body",
    "ssm_call",
    "ssm_error_body",
    "ssm_kill_body",
]
