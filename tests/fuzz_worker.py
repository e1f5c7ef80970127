"""Runs ``player-sim`` command lines in-process for the fuzz harness (tests/fuzzing.py).

Started as a subprocess whose address space is capped (``--memory`` bytes,
``resource.setrlimit``), so a memory blowup kills or fails only this worker. It
reads one JSON task per stdin line (``{"cwd": ..., "args": [...]}``) and answers
one JSON line on stdout: the exit code (``None`` when an exception escaped the
command line, i.e. a user would have seen a traceback), the output, and the
traceback if any.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
import traceback


def _self_test(args: list[str]) -> None:
    """Misbehave on purpose, so a test can prove the harness sees hangs and blowups."""
    if args[:1] == ["--hang-for-test"]:
        time.sleep(3600)
    if args[:1] == ["--blow-up-for-test"]:
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))


def main() -> None:
    memory = int(sys.argv[sys.argv.index("--memory") + 1])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from player_sim.cli import main as cli

    answers = os.fdopen(os.dup(1), "w")  # our protocol; the command's stdout is captured
    for line in sys.stdin:
        task = json.loads(line)
        os.chdir(task["cwd"])
        out, err = io.StringIO(), io.StringIO()
        code: int | None
        problem = ""
        memory_error = False
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                _self_test(task["args"])
                cli.main(args=task["args"], prog_name="player-sim", standalone_mode=True)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None
                                                                    else 1)
        except MemoryError:
            code, memory_error = None, True
            problem = "MemoryError"
        except BaseException:  # anything else is what the fuzzer hunts
            code = None
            problem = traceback.format_exc()[-4000:]
        answers.write(json.dumps({"code": code, "out": out.getvalue()[-20000:],
                                  "err": err.getvalue()[-20000:], "traceback": problem,
                                  "memory": memory_error}) + "\n")
        answers.flush()
        if memory_error:
            return  # the heap may be unusable: the harness starts a fresh worker


if __name__ == "__main__":
    main()
