"""Rules: the catalogue of documented behaviours and the monitors that check traces."""

from ._catalogue import (
    CATALOGUE,
    DOMAIN,
    PROVIDERS_DOC,
    SSM_DOC,
    Rule,
    RuleKind,
    rule,
    verify_quotes,
)
from ._monitors import (
    MONITORS,
    CheckConfig,
    DeviceView,
    Monitor,
    TraceChecker,
    Violation,
    check_trace,
)

__all__ = [
    "CATALOGUE",
    "DOMAIN",
    "MONITORS",
    "PROVIDERS_DOC",
    "SSM_DOC",
    "CheckConfig",
    "DeviceView",
    "Monitor",
    "Rule",
    "RuleKind",
    "TraceChecker",
    "Violation",
    "check_trace",
    "rule",
    "verify_quotes",
]
