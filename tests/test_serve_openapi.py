"""The served API's OpenAPI description, and Schemathesis fuzzing every operation of it
(issue 12: "Fuzz the served API from its OpenAPI description with Schemathesis in the
test suite (bounded examples), zero 5xx answers")."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from player_sim.scenario import load_lab  # noqa: E402
from player_sim.serve import CONTROL_PREFIX, Lab, build_app  # noqa: E402
from player_sim.serve._openapi import CONTROL_OPERATIONS  # noqa: E402
from player_sim.traffic import SSM_CALLS  # noqa: E402

LAB = """
world:
  ssm: {heartbeat_period: 30s, max_sessions_per_account: 2}
  ott: {users: {alice: secret}}
  ovp: {users: {a@b.c: pw}}
"""
APP = build_app(Lab(load_lab("lab.yaml", LAB)))
SCHEMA = schemathesis.openapi.from_asgi(f"{CONTROL_PREFIX}openapi.json", APP)


def test_the_description_covers_every_ssm_call_and_control_operation() -> None:
    paths = SCHEMA.raw_schema["paths"]
    for call in SSM_CALLS.values():
        assert call.method.lower() in paths[f"/{{tenant}}/ssm/v1/sessions/{call.segment}"]
    for name, op in CONTROL_OPERATIONS.items():
        assert set(paths[f"{CONTROL_PREFIX}{name}"]) == {m.lower() for m in op.methods}


@SCHEMA.exclude(path_regex="wait-for").parametrize()  # wait-for waits up to its timeout
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500 or response.status_code == 503, response.text
