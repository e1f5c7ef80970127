"""Scenario files: the YAML language, its loader and schema, the runner and reports.

The public API, for the CLI, the pytest plugin and harnesses::

    scenario = load_scenario("scenarios/zombie_after_kill.yaml")  # or ScenarioError
    result = run_scenario(scenario, seed=7)                       # a ScenarioResult
    assert result.passed, format_result(result)

* :func:`load_scenario` / :func:`load_scenario_text` validate a file and return a
  frozen :class:`Scenario`; a bad file raises :class:`ScenarioError`, whose
  ``problems`` each carry ``file:line:column`` and a sentence (``str(error)`` is
  one line per problem).
* :func:`run_scenario` runs it in virtual time on a synchronous World and returns
  a :class:`ScenarioResult` (``status``, ``failures``, the whole ``trace``); each
  :class:`Failure` names the expectation, its location, what happened and the
  trace records around that moment. Same scenario and seed, same result.
* :func:`discover` expands files and folders into scenario files (folders skip
  ``broken/`` and files starting with ``_``, which are include fragments);
  :func:`keyword_matches` implements ``-k``.
* :func:`format_failure`, :func:`junit_xml`, :func:`json_report` and
  :func:`write_atomic` render results; :data:`SCHEMA` / :func:`schema_json` give
  the JSON Schema of the language; :func:`html_report` writes a self-contained
  HTML page (verdicts, failures, scenario excerpts, trace windows, timelines) and
  :func:`result_timeline` draws one run with its failures marked.
"""

from ._discover import discover, keyword_matches
from ._html import failure_marks, html_report, result_timeline
from ._loader import (
    LabWorld,
    known_rule_ids,
    load_lab,
    load_many,
    load_scenario,
    load_scenario_text,
)
from ._model import (
    Action,
    At,
    Condition,
    Expect,
    FailNext,
    Invariant,
    Latency,
    Location,
    LoseAnswers,
    OperatorKill,
    Outage,
    Problem,
    Scenario,
    ScenarioError,
    SignalMatch,
    Step,
    Wait,
    format_duration,
    parse_duration,
)
from ._report import (
    format_failure,
    format_record,
    format_result,
    json_report,
    junit_xml,
    summary_line,
    summary_table,
    trace_file_names,
    write_atomic,
)
from ._runner import Failure, ScenarioResult, format_time, run_scenario
from ._schema import SCHEMA, schema_json

__all__ = [
    "SCHEMA",
    "Action",
    "At",
    "Condition",
    "Expect",
    "FailNext",
    "Failure",
    "Invariant",
    "LabWorld",
    "Latency",
    "Location",
    "LoseAnswers",
    "OperatorKill",
    "Outage",
    "Problem",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "SignalMatch",
    "Step",
    "Wait",
    "discover",
    "failure_marks",
    "format_duration",
    "format_failure",
    "format_record",
    "format_result",
    "format_time",
    "html_report",
    "json_report",
    "junit_xml",
    "keyword_matches",
    "known_rule_ids",
    "load_lab",
    "load_many",
    "load_scenario",
    "load_scenario_text",
    "parse_duration",
    "result_timeline",
    "run_scenario",
    "schema_json",
    "summary_line",
    "summary_table",
    "trace_file_names",
    "write_atomic",
]
