"""The README's "Bring your own SDK" worked example, run exactly as written there:
the QA team's model (examples/acme_sdk.py) through a scenario file, the random
search, the exhaustive explorer and the mutant runner, each catching its defect."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from player_sim.cli import main
from player_sim.scenario import load_scenario, run_scenario

ROOT = Path(__file__).resolve().parent.parent
RULE = "ssm.license.carries-token"


def _commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bring your own SDK", 1)[1].split("\n## ", 1)[0]
    block = section.split("runs it four ways", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.strip().splitlines():
        words = shlex.split(line)
        assert words[:2] == ["PYTHONPATH=examples", "player-sim"], line
        commands.append(words[2:])
    return commands


@pytest.fixture
def in_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory like the repository root (examples/, scenarios/), with
    PYTHONPATH=examples in effect for this process."""
    for name in ("examples", "scenarios"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    return tmp_path


def test_the_readme_runs_the_example_four_ways_and_each_catches_it(in_a_checkout: Path
                                                                   ) -> None:
    run, search, exhaustive, mutants = _commands()
    assert run[0] == "run" and search[0] == "explore" and "--exhaustive" in exhaustive
    assert mutants[0] == "mutants"
    runner = CliRunner()

    result = runner.invoke(main, run)
    assert result.exit_code == 1 and f"rule {RULE}" in result.output.replace("rule at", "")

    result = runner.invoke(main, search)
    assert result.exit_code == 1, result.output
    assert f"BROKEN {RULE}" in result.output
    written = in_a_checkout / "counterexamples" / f"{RULE}.scenario.yaml"
    assert 'sdk: acme_sdk:AcmeSdk' in written.read_text(encoding="utf-8").replace('"', "")
    replay = run_scenario(load_scenario(written))
    assert RULE in {f.text for f in replay.failures}  # replays against the same SDK

    result = runner.invoke(main, exhaustive)
    assert result.exit_code == 1
    assert f"{RULE} (core/default, 4 steps)" in result.output

    result = runner.invoke(main, mutants)
    assert result.exit_code == 0, result.output
    assert "CAUGHT   AcmeSdk" in result.output
    assert "acme_sdk.yaml" not in result.output  # only bundled scenarios that pass count
    assert f"rule {RULE}" in result.output


def test_the_example_model_in_the_readme_is_the_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Bring your own SDK", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```python\n", 1)[1].split("```", 1)[0]
    source = (ROOT / "examples" / "acme_sdk.py").read_text(encoding="utf-8")
    assert shown.strip().split("class AcmeSdk", 1)[1] in source


def test_cli_refuses_a_bad_reference_with_exit_2(in_a_checkout: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["mutants", "--mutant", "acme_sdk:Nope", "--examples", "0"])
    assert result.exit_code == 2 and "module 'acme_sdk' has no 'Nope'" in result.output
    result = runner.invoke(main, ["explore", "--sdk", "no_such_mod:X", "--examples", "1"])
    assert result.exit_code == 2 and "can't import module 'no_such_mod'" in result.output
    result = runner.invoke(main, ["explore", "--exhaustive", "--app", "acme_sdk:AcmeSdk"])
    assert result.exit_code == 2 and "--app is for the random search" in result.output


def test_cli_mutants_json_lists_what_caught_each(in_a_checkout: Path) -> None:
    import json

    result = CliRunner().invoke(main, ["mutants", "--json", "--examples", "0", "--only",
                                       "heartbeats-stop-in-pip"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)
    assert entry["verdict"] == "CAUGHT" and entry["seam"] == "sdk"
    assert entry["rule"] == "ssm.pip.runs-normally"
    assert {"file": "pip_runs_normally.scenario.yaml", "failed": "rule ssm.pip.runs-normally"} in \
        entry["scenarios"]
