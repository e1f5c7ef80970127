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

__all__ = ["CATALOGUE", "DOMAIN", "PROVIDERS_DOC", "SSM_DOC", "Rule", "RuleKind", "rule",
           "verify_quotes"]
