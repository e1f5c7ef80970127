"""Scenario files: the YAML language, its loader and schema, the runner and reports.

The public API, for the CLI, the pytest plugin and harnesses::

    scenario = load_scenario("scenarios/zombie_after_kill.scenario.yaml")  # or ScenarioError
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
* :func:`discover` expands files and folders into scenario files: in a folder only
  files named ``NAME.scenario.yaml`` (:func:`is_scenario_file`), never ``broken/``
  unless named; :func:`keyword_matches` implements ``-k`` over
  :func:`selection_words`, the same for ``player-sim run`` and pytest.
* :func:`format_failure`, :func:`junit_xml`, :func:`json_report` and
  :func:`write_atomic` render results; :data:`SCHEMA` / :func:`schema_json` give
  the JSON Schema of the language; :func:`html_report` writes a self-contained
  HTML page (verdicts, failures, scenario excerpts, trace windows, timelines) and
  :func:`result_timeline` draws one run with its failures marked.

The drawing names (:func:`html_report`, :func:`result_timeline`,
:func:`failure_marks`) are imported on first use (a module ``__getattr__``, PEP 562),
as for ``player_sim``'s own: a run that draws nothing does not pay for them.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names
from ._discover import (
    SCENARIO_SUFFIXES,
    discover,
    is_scenario_file,
    keyword_matches,
    scenario_stem,
    selection_words,
)
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
    REPORT_SCHEMA,
    REPORT_VERSION,
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

if TYPE_CHECKING:
    from ._html import failure_marks, html_report, result_timeline

__all__ = [
    "REPORT_SCHEMA",
    "REPORT_VERSION",
    "SCENARIO_SUFFIXES",
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
    "is_scenario_file",
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
    "scenario_stem",
    "schema_json",
    "selection_words",
    "summary_line",
    "summary_table",
    "trace_file_names",
    "write_atomic",
]

#: The public names imported on first use: the HTML report and the timeline of a run,
#: which only drawing needs (``player-sim run`` without ``--html`` or ``--timeline``).
_DRAWING_NAMES = frozenset({"failure_marks", "html_report", "result_timeline"})


__getattr__, __dir__ = lazy_names(__name__, "._html", _DRAWING_NAMES, globals())
