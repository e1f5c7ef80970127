"""``player-sim fleet``: files written, sweeps compared, bad input refused with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_fleet import small

from player_sim.cli import main
from player_sim.fleet import fleet_from_text, run_fleet


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.fleet.yaml"
    path.write_text(small(), encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["fleet", *args])
    return result.exit_code, result.stdout, result.stderr


def invoke_apart(*args: str) -> tuple[int, str, str]:
    """``player-sim fleet`` in its own process: for the runs that draw charts.

    Drawing in the test process shifts later tests' memory layout, and one
    derandomized Hypothesis test elsewhere in the suite
    (``test_stateful_core.py::test_a_mutant_core_fails_the_machine``) then stops
    finding its bug: its outcome depends on the process's history.
    """
    done = subprocess.run([sys.executable, "-c", "from player_sim.cli import main; main()",
                           "fleet", *args], capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_a_run_writes_its_summary_series_and_charts(fleet_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = invoke_apart(str(fleet_file), "--accounts", "12", "--hours", "0.25",
                                   "--seed", "5", "--out", str(out), "--trace-accounts", "2")
    assert code == 0, stdout
    summary = json.loads((out / "summary.json").read_text())["summary"]
    expected = run_fleet(fleet_from_text(small(), str(fleet_file), {
        "accounts.count": 12, "duration": "0.25h", "seed": 5}), keep_accounts=2)
    assert summary["fingerprint"] == expected.fingerprint()
    assert summary["accounts"] == 12 and summary["seed"] == 5
    assert len((out / "per_minute.csv").read_text().splitlines()) == 16
    assert (out / "fleet.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in (out / "fleet.svg").read_text()
    assert (out / "trace.jsonl").read_text() == expected.trace_jsonl()
    assert stdout.startswith("small: ") and "plays" in stdout


def test_a_sweep_compares_runs_on_one_page(fleet_file: Path, tmp_path: Path) -> None:
    out, page = tmp_path / "out", tmp_path / "sweep.html"
    code, stdout, _ = invoke_apart(str(fleet_file), "--accounts", "10", "--hours", "0.2",
                                   "--sweep", "ssm.session_timeout=50s,90s", "--out", str(out),
                                   "--html", str(page), "--no-charts", "--workers", "2")
    assert code == 0, stdout
    rows = (out / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("ssm.session_timeout,plays,refused %")
    assert [r.split(",")[0] for r in rows[1:]] == ["50s", "90s"]
    text = page.read_text()
    assert text.count("<svg") == 3 and "<table>" in text and "<script" not in text
    assert (out / "ssm.session_timeout=50s" / "summary.json").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--sweep", "ssm.timeout=1s"], "can't sweep 'ssm.timeout'"),
    (["--html", "x.html"], "--html compares the runs of a sweep"),
    (["--executor", "tcp://h:1"], "dask://HOST:PORT"),
    (["--accounts", "0"], "0 is not in the range x>=1"),
])
def test_bad_options_exit_2_with_the_rule(fleet_file: Path, args: list[str],
                                          message: str) -> None:
    code, _, stderr = invoke(str(fleet_file), "--no-charts", *args)
    assert code == 2
    assert message in stderr


def test_a_bad_fleet_file_exits_2_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.fleet.yaml"
    path.write_text(small().replace("sessions_per_day: 12", "sessions_per_day: many"))
    code, stdout, stderr = invoke(str(path))
    assert code == 2
    assert f"{path}:13:21: viewing.sessions_per_day: must be a number, not 'many'" in stderr
    assert "nothing was run" in stderr
    assert stdout == ""


# --- the same seam for exploration -------------------------------------------------------------

def test_explore_seeds_give_the_same_counterexamples_on_any_number_of_workers(
        tmp_path: Path) -> None:
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = CliRunner().invoke(main, ["explore", "--seeds", "0:2", "--examples", "3",
                                           "--workers", workers, "--out", str(out)])
        assert result.exit_code in (0, 1), result.output
        assert result.stdout.startswith("seeds 0:2, 2 searches\n")
        outputs.append({p.name: p.read_text() for p in out.glob("*.yaml")})
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--seeds", "5:5"], "write A:B with A < B"),
    (["--seeds", "0:2", "--seed", "3"], "--seed and --seeds exclude each other"),
    (["--workers", "2"], "add --seeds"),
    (["--exhaustive", "--workers", "2"], "not --exhaustive"),
])
def test_explore_refuses_mixed_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["explore", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_run_on_two_workers_reports_what_one_process_reports(tmp_path: Path) -> None:
    scenarios = Path(__file__).resolve().parent.parent / "scenarios"
    files = sorted(str(p) for p in scenarios.glob("[!_]*.scenario.yaml"))[:4]
    reports = []
    for workers in ("1", "2"):
        target = tmp_path / f"w{workers}.json"
        result = CliRunner().invoke(main, ["run", *files, "-q", "--json", str(target),
                                           "--workers", workers])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(target.read_text()))
    assert reports[0] == reports[1]
    assert reports[0]["summary"]["passed"] == 4
