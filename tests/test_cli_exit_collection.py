"""`player-sim run` has the interpreter skip its last full collection at exit (the
results are alive until then; walking them finds nothing): one ``atexit`` handler per
process, which freezes what is alive; the command's output and exit status are whole."""

from __future__ import annotations

import atexit
import gc
import os
import subprocess
import sys

from click.testing import CliRunner

from player_sim import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE = os.path.join(ROOT, "scenarios", "heartbeat_period_from_setup.scenario.yaml")


def test_the_exit_handler_is_registered_once_per_process() -> None:
    before = atexit._ncallbacks()
    for _ in range(2):
        result = CliRunner().invoke(cli.main, ["run", "-q", ONE])
        assert result.exit_code == 0, result.output
    assert atexit._ncallbacks() - before <= 1
    assert cli._EXIT_FREEZE == [True]
    assert gc.get_freeze_count() == 0  # only at exit: the caller's collector is as it was


def test_a_run_exits_with_its_whole_output_and_what_is_alive_frozen() -> None:
    probe = (
        "import gc, sys\n"
        "from player_sim.cli import main\n"
        "import atexit\n"
        "atexit.register(lambda: print('handlers run', gc.get_freeze_count() > 10000,"
        " file=sys.stderr))\n"
        f"main(['run', '-q', {ONE!r}])\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, cwd=ROOT)
    assert done.returncode == 0
    assert done.stdout == "1 scenario: 1 passed, 0 failed, 0 errors\n"
    # the freeze ran first (registered last), then the earlier handler saw it
    assert "handlers run True" in done.stderr
