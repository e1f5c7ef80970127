"""Rules: the catalogue of documented behaviours and the monitors that check traces.

Inside, one way down: :mod:`._checker` (TraceChecker, check_trace, check_world)
runs the monitors of :mod:`._monitors`, :mod:`._provider_monitors` and (on wire
records: captures, served labs) :mod:`._wire_monitors`, all built
on :mod:`._base`; :mod:`._catalogue` is the data they all quote.
"""

from ._base import (
    CheckConfig,
    Checking,
    DeviceFacts,
    DeviceView,
    Monitor,
    ProviderView,
    Violation,
    WorldFacts,
)
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
from ._checker import (
    CheckedWorld,
    TraceChecker,
    Verdict,
    check_trace,
    check_world,
    judge_trace,
    judge_world,
)
from ._coverage import false_labels, rule_coverage, uncovered
from ._monitors import MONITORS
from ._provider_monitors import PROVIDER_MONITORS
from ._wire_monitors import WIRE_MONITORS

__all__ = [
    "CATALOGUE",
    "DOMAIN",
    "MONITORS",
    "PROVIDERS_DOC",
    "PROVIDER_MONITORS",
    "SSM_DOC",
    "WIRE_MONITORS",
    "CheckConfig",
    "CheckedWorld",
    "Checking",
    "DeviceFacts",
    "DeviceView",
    "Monitor",
    "ProviderView",
    "Rule",
    "RuleKind",
    "TraceChecker",
    "Verdict",
    "Violation",
    "WorldFacts",
    "check_trace",
    "check_world",
    "false_labels",
    "judge_trace",
    "judge_world",
    "rule",
    "rule_coverage",
    "uncovered",
    "verify_quotes",
]
