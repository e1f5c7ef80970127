"""The simulated SSP license server.

"The session token is used as part of the license request": for content under
SSM, a license is granted only for the current token of a live SSM session;
without SSM, on the license request alone.

``enforced`` (WIRE.md, ``sessionDrmEnforced``): the license answer carries the
session token, and the client's keep-alive becomes a license renewal. SSM V2
(DOMAIN.md): the setup travels inside the license request
(:meth:`LicenseServer.request_with_setup`), which sets the session up and grants the
license in one answer.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from .._messages import ContentToken, SsmAnswer
from .._validators import typed
from ._faults import Fault, ForcedFaults
from ._ssm import SsmServer, _Host

__all__ = ["LicenseConfig", "LicenseServer", "LicenseVerdict"]

ENDPOINTS: Final = ("license",)


@attrs.frozen(field_transformer=typed)
class LicenseConfig:
    """``require_ssm_token``: ``None`` (default) requires a token exactly for content
    under SSM (the request says so); ``True`` requires one always; ``False`` never.
    ``enforced``: DRM-enforced sessions (``sessionDrmEnforced``): a license granted for a
    session token carries that token, so the client keeps the session alive with license
    renewals instead of heartbeats."""

    require_ssm_token: bool | None = None
    enforced: bool = False


@attrs.frozen
class LicenseVerdict:
    """``session_token``: in enforced mode, the token a granted answer carries."""

    granted: bool
    http_status: int
    code: int | None = None
    message: str = ""
    session_token: str | None = None


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
        elif self.config.enforced and ssm_token is not None and required:
            verdict = LicenseVerdict(True, 200, session_token=ssm_token)
        else:
            verdict = LicenseVerdict(True, 200)
        return self._answer(device, stream, verdict)

    def request_with_setup(self, account: str, device: str, stream: str, ip: str | None,
                           device_group: str | None, content_token: ContentToken | None
                           ) -> SsmAnswer:
        """SSM V2: a license request that carries the setup. The SSM server sets the
        session up (its answer, refusals included, is this call's answer); a license
        forced to fail denies it after the session was created (the session is left)."""
        answer = self._ssm.setup(account, device, stream, ip, device_group, content_token)
        if not answer.ok:
            return answer
        fault = self.faults.take("license")
        if fault is not None:
            self._answer(device, stream, LicenseVerdict(False, fault.http_status, fault.code,
                                                        fault.message), forced=True)
            return SsmAnswer(fault.http_status, fault.code, fault.message)
        self._answer(device, stream, LicenseVerdict(True, 200), ssm_setup=True)
        return answer

    def unavailable(self, device: str, stream: str) -> LicenseVerdict:
        return self._answer(device, stream,
                            LicenseVerdict(False, 503, None, "license server not available"))

    def _answer(self, device: str, stream: str, verdict: LicenseVerdict, *,
                forced: bool = False, ssm_setup: bool = False) -> LicenseVerdict:
        data: dict[str, Any] = {"stream": stream, "granted": verdict.granted,
                                "http_status": verdict.http_status}
        if verdict.session_token is not None:
            data["enforced"] = True
        if ssm_setup:
            data["ssm_setup"] = True
        if not verdict.granted:
            data["code"] = verdict.code
            data["message"] = verdict.message
        if forced:
            data["forced"] = True
        self._host.record(device, "license_granted" if verdict.granted else "license_denied",
                          data)
        return verdict

