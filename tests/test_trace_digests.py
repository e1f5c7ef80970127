"""The reference traces are byte-identical to the recorded ones (speed work changes no trace).

A change that means to alter a trace rewrites ``tests/data/trace_digests.json`` in the
same commit: ``python benchmarks/trace_digests.py --write``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_the_reference_traces_are_byte_identical_to_the_recorded_ones() -> None:
    check = subprocess.run([sys.executable, "benchmarks/trace_digests.py", "--check"],
                           cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    assert check.returncode == 0, check.stdout + check.stderr[-3000:]
