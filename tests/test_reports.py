"""Reports of scenario runs: JUnit XML that CI tools accept, a versioned JSON report with
its shipped JSON Schema, unique classnames, rule failures that point at a step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from click.testing import CliRunner

from player_sim.cli import main
from player_sim.scenario import (
    REPORT_SCHEMA,
    REPORT_VERSION,
    json_report,
    junit_xml,
    load_scenario,
    run_scenario,
)

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
#: Jenkins' JUnit schema (jenkinsci/xunit-plugin, src/main/resources/org/jenkinsci/
#: plugins/xunit/types/model/xsd/junit-10.xsd, MIT licence), vendored as test data.
JUNIT_XSD = Path(__file__).resolve().parent / "data" / "junit-10.xsd"

#: What junit-10.xsd allows: attributes and children of each element.
JUNIT_10 = {
    "testsuites": ({"name", "time", "tests", "failures", "errors"}, {"testsuite"}),
    "testsuite": ({"name", "tests", "failures", "errors", "group", "time", "skipped",
                   "timestamp", "hostname", "id", "package", "file", "log", "url"},
                  {"testsuite", "properties", "testcase", "system-out", "system-err"}),
    "testcase": ({"name", "time", "classname", "group"},
                 {"skipped", "error", "failure", "system-out", "system-err"}),
    "failure": ({"type", "message"}, set()),
    "error": ({"type", "message"}, set()),
    "system-out": (set(), set()),
}
REQUIRED = {"testsuite": {"name", "tests", "failures", "errors"}, "testcase": {"name"}}


@pytest.fixture(scope="module")
def mixed_results() -> list[object]:
    """A passing, a failing (rule and expectation), an erroring scenario, and two files
    named alike in different folders."""
    paths = [SCENARIOS / "zombie_after_kill.scenario.yaml",
             *sorted((SCENARIOS / "broken").glob("*.scenario.yaml"))]
    return [run_scenario(load_scenario(str(p))) for p in paths]


def _check_junit_10(element: ElementTree.Element) -> list[str]:
    problems = []
    allowed, children = JUNIT_10[element.tag]
    for attribute in set(element.attrib) - allowed:
        problems.append(f"<{element.tag}> has attribute {attribute!r}")
    for attribute in REQUIRED.get(element.tag, set()) - set(element.attrib):
        problems.append(f"<{element.tag}> lacks attribute {attribute!r}")
    for child in element:
        if child.tag not in children:
            problems.append(f"<{child.tag}> inside <{element.tag}>")
        else:
            problems.extend(_check_junit_10(child))
    return problems


def test_junit_report_has_only_what_junit_10_allows(mixed_results: list[object]) -> None:
    root = ElementTree.fromstring(junit_xml(mixed_results))  # type: ignore[arg-type]
    assert _check_junit_10(root) == []
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 5 and all(c.get("time") == "0" for c in cases)
    assert [c.find("failure") is not None or c.find("error") is not None
            for c in cases] == [False, True, True, True, True]
    out = cases[0].findtext("system-out") or ""
    assert "file: " in out and "seed: 0" in out and "covers: ssm.kill.no-teardown" in out


def test_junit_report_validates_against_junit_10_xsd(mixed_results: list[object],
                                                     tmp_path: Path) -> None:
    if not JUNIT_XSD.exists():
        pytest.skip(f"{JUNIT_XSD.relative_to(REPO)} is not vendored: copy junit-10.xsd from "
                    "jenkinsci/xunit-plugin (MIT) there to validate against it")
    xmlschema = pytest.importorskip("xmlschema", reason="pip install -e '.[dev]'")
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    report = tmp_path / "junit.xml"
    report.write_text(junit_xml(mixed_results), encoding="utf-8")  # type: ignore[arg-type]
    errors = [str(e) for e in schema.iter_errors(str(report))]
    assert errors == []


def test_junit_classnames_are_unique_for_files_named_alike(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    source = SCENARIOS / "zombie_after_kill.scenario.yaml"
    for folder in ("android", "ios"):
        (tmp_path / folder).mkdir()
        shutil.copy(source, tmp_path / folder / "same.scenario.yaml")
    shutil.copy(SCENARIOS / "_world.yaml", tmp_path / "android" / "_world.yaml")
    shutil.copy(SCENARIOS / "_world.yaml", tmp_path / "ios" / "_world.yaml")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run", "-q", "android", "ios", "--junit-xml", "j.xml"])
    assert result.exit_code == 0, result.output
    root = ElementTree.parse(tmp_path / "j.xml").getroot()
    assert [c.get("classname") for c in root.iter("testcase")] == ["android.same", "ios.same"]


def test_json_report_is_versioned_and_valid_against_its_shipped_schema(
        mixed_results: list[object]) -> None:
    report = json.loads(json_report(mixed_results))  # type: ignore[arg-type]
    jsonschema.Draft202012Validator.check_schema(REPORT_SCHEMA)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["version"] == REPORT_VERSION == 1
    assert report["scenarios"][0]["records"] == len(mixed_results[0].trace)  # type: ignore[attr-defined]
    broken = dict(report)
    broken["scenarios"] = [{**report["scenarios"][0], "status": "green"}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, REPORT_SCHEMA)
    printed = CliRunner().invoke(main, ["schema", "--report"])
    assert printed.exit_code == 0 and json.loads(printed.output) == REPORT_SCHEMA


def test_a_rule_failure_points_at_the_step_that_caused_it(mixed_results: list[object]) -> None:
    report = json.loads(json_report(mixed_results))  # type: ignore[arg-type]
    rule_failures = [f for s in report["scenarios"] for f in s["failures"]
                     if f["kind"] == "rule"]
    assert rule_failures
    for failure in rule_failures:
        assert failure["line"] > 1, failure
        line = Path(failure["file"]).read_text(encoding="utf-8").splitlines()[
            failure["line"] - 1]
        assert line.lstrip().startswith("- "), line  # a step, not the file's header


def test_the_summary_counts_trace_records(mixed_results: list[object]) -> None:
    from player_sim.scenario import summary_table

    table = summary_table(mixed_results).splitlines()  # type: ignore[arg-type]
    assert table[0].split()[3] == "records"
    assert table[1].split()[3] == str(len(mixed_results[0].trace))  # type: ignore[attr-defined]


def test_write_atomic_writes_through_a_fifo_instead_of_replacing_it(tmp_path: Path) -> None:
    """Replacing a device or FIFO (e.g. ``-o /dev/null`` run as root) would destroy it."""
    import os
    import stat
    import threading

    from player_sim.scenario import write_atomic

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_atomic(fifo, "report\n")
    reader.join(timeout=60)
    assert received == ["report\n"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
