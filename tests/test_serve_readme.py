"""The README's "Serving real devices" harness example runs as written, in a project of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _section() -> str:
    match = re.search(r"^## Serving real devices\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match is not None, "README has no '## Serving real devices' section"
    return match.group(1)


def test_the_serving_harness_example_passes(pytester: pytest.Pytester) -> None:
    example = re.search(r"^```python\n(.*?)^```$", _section(), re.M | re.S)
    assert example is not None, "the section has no python example"
    pytester.makepyprojecttoml("""
        [tool.pytest.ini_options]
        filterwarnings = ["error"]
        addopts = "-p no:cacheprovider"
        """)
    pytester.makepyfile(test_serving_example=example.group(1))
    # In a subprocess: an in-process run re-imports httpcore, whose exceptions httpx
    # would then no longer translate for the tests that run after it.
    pytester.runpytest_subprocess("test_serving_example.py").assert_outcomes(passed=1)


def test_the_section_names_every_control_call() -> None:
    from starlette.routing import Route

    from player_sim.scenario import LabWorld
    from player_sim.serve import CONTROL_PREFIX, Lab, build_app
    from player_sim.world import WorldConfig

    app = build_app(Lab(LabWorld(WorldConfig(), (), 0)))
    control = [r for r in app.routes if isinstance(r, Route)
               and r.path.startswith(CONTROL_PREFIX)]
    assert {"fail-next", "wait-for", "verdict", "reset"} <= {
        r.path.removeprefix(CONTROL_PREFIX) for r in control}
    section = _section()
    for route in control:
        name = route.path.removeprefix(CONTROL_PREFIX)
        methods = sorted((route.methods or set()) - {"HEAD"})
        assert any(f"`{m} {name}`" in section for m in methods), f"{methods} {name}"
