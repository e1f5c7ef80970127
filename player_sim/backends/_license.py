"""The simulated SSP license server.

"The session token is used as part of the license request": for content under
SSM, a license is granted only for the current token of a live SSM session;
without SSM, on the license request alone.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from .._validators import typed
from ._faults import Fault, ForcedFaults
from ._ssm import SsmServer, _Host

__all__ = ["LicenseConfig", "LicenseServer", "LicenseVerdict"]

ENDPOINTS: Final = ("license",)


@attrs.frozen(field_transformer=typed)
class LicenseConfig:
    """``require_ssm_token``: ``None`` (default) requires a token exactly for content
    under SSM (the request says so); ``True`` requires one always; ``False`` never."""

    require_ssm_token: bool | None = None


@attrs.frozen
class LicenseVerdict:
    granted: bool
    http_status: int
    code: int | None = None
    message: str = ""


class LicenseServer:
    def __init__(self, config: LicenseConfig, host: _Host, ssm: SsmServer) -> None:
        self.config = config
        self._host = host
        self._ssm = ssm
        self.faults = ForcedFaults(ENDPOINTS)

    def fail_next(self, count: int = 1, *, http_status: int, code: int | None = None,
                  message: str = "") -> None:
        """Deny the next ``count`` license requests with this answer."""
        self.faults.fail_next("license", count, Fault(http_status, code, message))

    def request(self, device: str, stream: str, ssm_token: str | None,
                ssm_required: bool) -> LicenseVerdict:
        fault = self.faults.take("license")
        if fault is not None:
            return self._answer(device, stream, LicenseVerdict(False, fault.http_status,
                                                               fault.code, fault.message),
                                forced=True)
        required = self.config.require_ssm_token
        if required is None:
            required = ssm_required
        if required and ssm_token is None:
            verdict = LicenseVerdict(False, 403, None, "license request carries no SSM token")
        elif required and not self._ssm.is_current(ssm_token):
            verdict = LicenseVerdict(False, 403, 1006,
                                     "SSM token is not the current token of a live session")
        else:
            verdict = LicenseVerdict(True, 200)
        return self._answer(device, stream, verdict)

    def unavailable(self, device: str, stream: str) -> LicenseVerdict:
        return self._answer(device, stream,
                            LicenseVerdict(False, 503, None, "license server not available"))

    def _answer(self, device: str, stream: str, verdict: LicenseVerdict, *,
                forced: bool = False) -> LicenseVerdict:
        data: dict[str, Any] = {"stream": stream, "granted": verdict.granted,
                                "http_status": verdict.http_status}
        if not verdict.granted:
            data["code"] = verdict.code
            data["message"] = verdict.message
        if forced:
            data["forced"] = True
        self._host.record(device, "license_granted" if verdict.granted else "license_denied",
                          data)
        return verdict

