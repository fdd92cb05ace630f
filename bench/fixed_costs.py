"""What a run costs before its first request: from ``crosswalk run`` to the first request
any system receives, with Prefect's temporary server timed apart.

    .venv/bin/python bench/fixed_costs.py [--scale small] [--runs 3] [--api-url URL]

Serves the world in this process, runs ``crosswalk run customer-sync --plan --verbose`` as
a new process ``--runs`` times, and prints per run: seconds to the first request, and
without Prefect's start (its import, and the wait for its temporary server after the
command's other imports), when that server answered (the command's ``--verbose`` line),
and the whole run. With ``--api-url`` the runs
use a running Prefect server instead (start one with ``prefect server start``), and pay no
start at all.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulators import serve
from emulators.framework import EmulatorServer

first: list[float] = []
_logged = EmulatorServer.log_request_line


def _log(self, request, status, started):
    if not first:
        first.append(time.time())
    _logged(self, request, status, started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="small", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--api-url", help="a running Prefect server's API")
    args = parser.parse_args()
    EmulatorServer.log_request_line = _log
    crosswalk = str(Path(sys.executable).parent / "crosswalk")
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as folder:
        data = Path(folder)
        with serve.start(data / "emulators", seed=args.seed, scale=args.scale, port_base=0) as up:
            env = {**os.environ, **serve.CREDENTIALS, "PREFECT_HOME": str(data / "prefect")}
            env.pop("PREFECT_API_URL", None)
            if args.api_url:
                env["PREFECT_API_URL"] = args.api_url
            print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            for n in range(1, args.runs + 1):
                first.clear()
                command = [crosswalk, "run", "customer-sync", "--plan", "--verbose",
                           "--config", str(up.config)]  # fmt: skip
                began = time.time()
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                ended = time.time()
                imported = re.search(r"Prefect: imported in ([\d.]+) s", done.stdout)
                found = re.search(
                    r"ready ([\d.]+) s after .*?, ([\d.]+) s of it waited", done.stdout
                )
                prefect = (
                    f"Prefect ready at {found[1]} s, waited {found[2]} s"
                    if found
                    else "no Prefect start"
                )
                to_first = f"{first[0] - began:.1f} s" if first else "none"
                if first and imported:
                    own = first[0] - began - float(imported[1]) - (float(found[2]) if found else 0)
                    to_first += f" (Prefect imported in {imported[1]} s; without it {own:.1f} s)"
                print(f"run {n}: exit {done.returncode}; first request after {to_first}; "
                      f"{prefect}; whole run {ended - began:.1f} s")  # fmt: skip
                if done.returncode:
                    print((done.stdout + done.stderr)[-2000:])


if __name__ == "__main__":
    main()
