"""``player-sim run`` over valid scenarios does not import what only a mistake, a
report file or drawing needs (jsonschema, tempfile, html)."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CODE = """
import sys
from player_sim.cli import main
try:
    main(["run", "-q"], prog_name="player-sim")
except SystemExit as exit:
    assert exit.code == 0, exit.code
print(" ".join(sorted(name for name in ("jsonschema", "referencing", "tempfile", "html")
                     if name in sys.modules)))
"""


def test_a_passing_run_leaves_the_error_paths_unimported() -> None:
    done = subprocess.run([sys.executable, "-c", _CODE], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.splitlines()[-1] == ""


def test_a_broken_file_still_gets_jsonschemas_messages(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "bad.scenario.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("name: bad\ndevices:\n  phone: {account: alice}\nsteps:\n  - wiat: 5s\n")
    done = subprocess.run([sys.executable, "-m", "player_sim", "run", path], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "unknown step 'wiat'; did you mean 'wait'?" in done.stdout + done.stderr
