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
    ProviderView,
    TraceChecker,
    Violation,
    check_trace,
)
from ._provider_monitors import PROVIDER_MONITORS

__all__ = [
    "CATALOGUE",
    "DOMAIN",
    "MONITORS",
    "PROVIDERS_DOC",
    "PROVIDER_MONITORS",
    "SSM_DOC",
    "CheckConfig",
    "DeviceView",
    "Monitor",
    "ProviderView",
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
