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
from ._coverage import rule_coverage, uncovered
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
    "rule_coverage",
    "uncovered",
    "verify_quotes",
]
