"""The garbage collector's passes in each ``crosswalk run`` process, for A/B runs of the
benchmarks that start crosswalk as a command (``first_runs.py``):

    CROSSWALK_GC_PASSES=/tmp/gc.log PYTHONPATH=bench/gc_passes \\
        .venv/bin/python bench/first_runs.py --scale large

Python imports ``sitecustomize`` at start-up from ``PYTHONPATH``; with the variable set, a
``gc.callbacks`` hook times every pass, and at exit a ``crosswalk run`` process appends a
line to the file: the flow, then passes and seconds per generation (young, middle, full).
Other processes (the emulators' server, the benchmark itself) write nothing.
"""

import atexit
import gc
import os
import sys
import time

_LOG = os.environ.get("CROSSWALK_GC_PASSES")
_passes = [0, 0, 0]
_seconds = [0.0, 0.0, 0.0]
_began = [0.0]


def _timed(phase: str, info: dict) -> None:
    if phase == "start":
        _began[0] = time.perf_counter()
    else:
        _passes[info["generation"]] += 1
        _seconds[info["generation"]] += time.perf_counter() - _began[0]


def _report() -> None:
    if "run" in sys.argv[1:2]:
        with open(_LOG, "a", encoding="utf-8") as log:
            spent = ", ".join(f"{n} in {s:.2f} s" for n, s in zip(_passes, _seconds, strict=True))
            log.write(f"{' '.join(sys.argv[1:3])}: young, middle, full passes: {spent}\n")


if _LOG:
    gc.callbacks.append(_timed)
    atexit.register(_report)
