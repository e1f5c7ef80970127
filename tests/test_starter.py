"""A newcomer's first hour: player-sim init, commands that work from any folder, rule
sources that mean something, and what the wheel and sdist ship."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from player_sim.cli import main
from player_sim.rules import CATALOGUE, SOURCES, describe_source

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def _clean_env() -> dict[str, str]:
    """The environment of a user's shell: no pytest options or plugins of this run.

    ``CI`` and ``BUILD_NUMBER`` go too: under them pytest writes its short summary
    unabridged, while the README shows what a user's terminal prints.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "PY_COLORS", "FORCE_COLOR", "COV_"))
           and k not in ("CI", "BUILD_NUMBER")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _command(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_clean_env(), capture_output=True, text=True,
                          timeout=600, check=False)


def test_init_then_run_and_pytest_are_green_in_a_fresh_folder(tmp_path: Path) -> None:
    """The installed console script writes the starter project; both runners pass there."""
    player_sim = shutil.which("player-sim", path=str(BIN))
    assert player_sim is not None, "player-sim is not installed in this environment"
    init = _command([player_sim, "init", "qa"], tmp_path)
    assert init.returncode == 0, init.stderr
    project = tmp_path / "qa"
    assert {str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()} == {
        ".vscode/settings.json", "player_sim.schema.json", "pytest.ini",
        "scenarios/_world.yaml", "scenarios/heartbeat_error_zap.scenario.yaml",
        "scenarios/heartbeat_keeps_session.scenario.yaml", "tests/test_harness.py"}
    run = _command([player_sim, "run"], project)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 scenarios: 2 passed, 0 failed, 0 errors" in run.stdout
    tests = _command([sys.executable, "-m", "pytest", "-p", "no:cacheprovider"], project)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert re.search(r"\b3 passed\b", tests.stdout), tests.stdout  # 2 scenarios + harness


def test_init_refuses_to_overwrite_and_force_does(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    mine = tmp_path / "pytest.ini"
    mine.write_text("[pytest]\n", encoding="utf-8")
    again = CliRunner().invoke(main, ["init"])
    assert again.exit_code == 2
    assert "already exist; nothing was written (add --force to overwrite)" in again.output
    assert mine.read_text(encoding="utf-8") == "[pytest]\n"
    assert CliRunner().invoke(main, ["init", "--force"]).exit_code == 0
    assert "trio_mode = true" in mine.read_text(encoding="utf-8")


def test_the_starter_schema_is_the_loader_schema_and_the_editor_maps_it(
        tmp_path: Path) -> None:
    import json

    assert CliRunner().invoke(main, ["init", str(tmp_path)]).exit_code == 0
    printed = CliRunner().invoke(main, ["schema"]).output
    assert (tmp_path / "player_sim.schema.json").read_text(encoding="utf-8") == printed
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text())
    assert "*.scenario.yaml" in settings["yaml.schemas"]["./player_sim.schema.json"]


def test_the_readme_harness_example_is_the_starter_test() -> None:
    """The README's pytest example is the file init writes, which the test above runs."""
    section = README[README.index("\n## pytest plugin\n"):]
    example = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert example is not None
    starter = (REPO / "player_sim" / "starter" / "tests" / "test_harness.py.template"
               ).read_text(encoding="utf-8")
    assert starter.endswith(example.group(1))


def test_rules_and_diagram_work_in_an_empty_folder(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rules = CliRunner().invoke(main, ["rules"])
    assert rules.exit_code == 0, rules.output
    assert f"{len(CATALOGUE)} rules; coverage not measured: no ./scenarios folder" in \
        rules.output
    assert rules.output.count("  ?  ") == len(CATALOGUE)
    diagram = CliRunner().invoke(main, ["diagram"])
    assert diagram.exit_code == 0 and diagram.output.startswith("stateDiagram")
    run = CliRunner().invoke(main, ["run"])
    assert run.exit_code == 2
    assert "player-sim init writes a starter project" in run.output


def test_rules_show_prints_the_rule_its_quote_and_its_source() -> None:
    r = CATALOGUE["ssm.teardown.on-stop"]
    shown = CliRunner().invoke(main, ["rules", "--show", r.id])
    assert shown.exit_code == 0
    assert shown.output.splitlines() == [
        f"{r.id}  ({r.kind})", f"statement: {r.statement}", f"quote:     \"{r.quote}\"",
        f"source:    {r.where}: {describe_source(r.where)}"]
    unknown = CliRunner().invoke(main, ["rules", "--show", "ssm.teardown.onstop"])
    assert unknown.exit_code == 2 and "did you mean ssm.teardown.on-stop" in unknown.output


def test_every_cited_source_is_described_in_code_and_in_the_readme() -> None:
    cited = {r.where.split(":", 1)[0] for r in CATALOGUE.values()}
    assert cited == set(SOURCES)
    start = README.index("\n### Rule sources\n")
    section = README[start:README.index("\n## ", start)]
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", section, re.MULTILINE)
    assert dict(rows) == SOURCES  # the table is generated from SOURCES, word for word


def test_the_first_readme_command_needs_no_extra(tmp_path: Path) -> None:
    """player-sim run works with neither pytest nor Hypothesis importable: they are
    extras, so installing player_sim does not drag them into other environments."""
    blocked = ("import sys\n"
               "for name in ('pytest', '_pytest', 'pytest_trio', 'hypothesis'):\n"
               "    sys.modules[name] = None\n"
               "from player_sim.cli import main\n"
               "sys.exit(main(['run', '-q']))\n")
    result = _command([sys.executable, "-c", blocked], REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed, 0 failed, 0 errors" in result.stdout


def _build(kind: str, tmp_path: Path) -> Path:
    """Build the wheel or sdist from a copy of the repository (no build artefacts here)."""
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "build", "dist", "__pycache__", ".*_cache",
        ".hypothesis"))
    out = tmp_path / "dist"
    code = (f"from setuptools import build_meta as b; "
            f"print(b.build_{kind}({str(out)!r}))")
    result = _command([sys.executable, "-c", code], source)
    assert result.returncode == 0, result.stderr[-2000:]
    return out / result.stdout.strip().splitlines()[-1]


def test_the_wheel_ships_the_starter_project_and_an_spdx_licence(tmp_path: Path) -> None:
    wheel = _build("wheel", tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith("METADATA"))
    for starter in ("pytest.ini", ".vscode/settings.json", "scenarios/_world.yaml",
                    "scenarios/heartbeat_error_zap.scenario.yaml",
                    "tests/test_harness.py.template"):
        assert f"player_sim/starter/{starter}" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in metadata
    requires = re.findall(r"^Requires-Dist: (.+)$", metadata, re.MULTILINE)
    hard = [r for r in requires if "extra ==" not in r]
    assert not [r for r in hard if r.startswith(("pytest", "hypothesis"))], hard


def test_the_sdist_carries_the_licence_and_no_repository_bound_tests(tmp_path: Path) -> None:
    sdist = _build("sdist", tmp_path)
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert "LICENSE" in names and "README.md" in names
    assert "player_sim/starter/pytest.ini" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]


def _sample(after: str) -> tuple[str, list[str]]:
    """The command and the lines of the README's text block that follows ``after``."""
    start = README.index(after)
    block = re.search(r"```text\n(.*?)```", README[start:], re.DOTALL)
    assert block is not None
    lines = block.group(1).splitlines()
    command = lines.pop(0).removeprefix("$ ") if lines[0].startswith("$ ") else ""
    return command, lines


def _assert_sample_in(sample: list[str], printed: str) -> None:
    """Every run of lines between '...' elisions appears, in order, in ``printed``."""
    out = printed.splitlines()
    position = 0
    chunk: list[str] = []
    for line in [*sample, "..."]:
        if line.strip() != "...":
            chunk.append(line)
            continue
        while chunk and out[position:position + len(chunk)] != chunk:
            position += 1
            assert position <= len(out), f"README sample drifted at: {chunk[0]!r}"
        position += len(chunk)
        chunk = []


def test_the_readme_failure_samples_are_what_the_commands_print() -> None:
    _, sample = _sample("`player-sim run scenarios/broken` shows a few")
    run = _command([str(BIN / "player-sim"), "run",
                    "scenarios/broken/app_ignores_heartbeat_error.scenario.yaml"], REPO)
    assert run.returncode == 1
    _assert_sample_in(sample, run.stdout)
    command, sample = _sample("**Scenario files as tests, opt-in by name.**")
    assert command.startswith("pytest ")
    env = {**_clean_env(), "COLUMNS": "80"}
    tests = subprocess.run([sys.executable, "-m", *command.split(), "-p", "no:cacheprovider"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                           check=False)
    assert tests.returncode == 1
    _assert_sample_in(sample, tests.stdout)


@pytest.mark.parametrize("expression", ["kill", "zombie or zap", "ssm.kill.no-teardown",
                                        "ott and not refresh"])
def test_k_selects_the_same_scenarios_in_player_sim_run_and_pytest(expression: str) -> None:
    ran = _command([str(BIN / "player-sim"), "run", "-q", "--no-rules", "-k", expression],
                   REPO)
    counted = re.search(r"^(\d+) scenarios?: ", ran.stdout, re.MULTILINE)
    assert counted is not None, ran.stdout + ran.stderr
    collected = _command([sys.executable, "-m", "pytest", "scenarios", "--collect-only", "-q",
                          "-p", "no:cacheprovider", "-k", expression], REPO)
    items = [line for line in collected.stdout.splitlines() if "::" in line]
    assert len(items) == int(counted.group(1)) > 0
