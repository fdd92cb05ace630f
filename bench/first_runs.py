"""Each flow's first run at a scale, as a process of its own: peak memory and wall time
(issue 18 goal 5: every flow's first run within 2 GiB at large).

    .venv/bin/python bench/first_runs.py --scale large [--data data/bench-large]
        [--flows customer-sync,service-sync] [--push]

Generates the world once into ``--data`` (reused afterwards), serves it from a separate
process (``served.apart``, so the emulators' memory is not counted), deletes the warehouse
(a first run) and runs ``crosswalk run FLOW`` for each flow in order, each a new process:
by default with ``--plan`` (extraction, dbt and every write worked out, none sent: a large
first run's writes take hours against the emulators), with ``--push`` for real. Prints per
flow the exit code, the wall time and the peak RSS of the run's own process (its
``VmHWM``, read every 0.2 s while it runs; Prefect's temporary server, a process of its
own, is not counted); what the run printed (with
``--plan``, every write it would make) goes to ``<data>/first-run-<flow>.log``, its
resident memory once a second (clock time, MiB) to ``<data>/first-run-<flow>.rss``.
``--again`` keeps the warehouse: the runs after a first run (a plan run again does no
extraction and no dbt, so it measures the push step alone). With ``--push``, each run's push
step is timed from its log and set against the emulators' time answering meanwhile, from
their request logs (``pushed``: how many times the push's rate they could serve).
customer-sync runs first whatever ``--flows`` says, since every other flow reads its
customer mapping.
"""

import argparse
import functools
import os
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import served

from crosswalk.demo import CREDENTIALS

print = functools.partial(print, flush=True)  # progress shows while it runs
FLOWS = ("customer-sync", "agreement-sync", "service-sync", "sales-order-sync", "charge-import")


def memory(pid: int, field: str = "VmHWM") -> float:
    """A memory figure of the process, MiB (0 once it is gone): by default its peak resident
    memory so far (``VmHWM``), else ``field`` (``VmRSS``: resident now). Not ``wait4``'s
    ``ru_maxrss``: a child started by fork and exec carries its parent's high-water mark in
    it, and this process generated the world."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kib = next((line.split()[1] for line in status.splitlines() if line.startswith(field)), 0)
    return int(kib) / 1024


TASK = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| Task run '([\w.-]+)-\w+' - Finished")


def pushed(data: Path, flow: str) -> str:
    """How long the run's push took (its task, from the end of the task before it, by the
    run's log) and the emulators' time answering requests meanwhile (by their request
    logs, each line stamped to the millisecond): how many times the push's rate they could
    serve (issue 18 goal 5: at least five), for the writes alone and with the reads."""
    finished = [
        (m[1], m[2])
        for line in (data / f"first-run-{flow}.log").read_text(encoding="utf-8").splitlines()
        if (m := TASK.match(line))
    ]
    ends = [n for n, (_, task) in enumerate(finished) if task.startswith("push_")]
    if not ends or ends[0] == 0:
        return "  no push step in the run's log"
    start, end = finished[ends[0] - 1][0], finished[ends[-1]][0]
    clock = "%H:%M:%S.%f"
    seconds = (datetime.strptime(end, clock) - datetime.strptime(start, clock)).total_seconds()
    lines, writes, reads = [], 0.0, 0.0
    for log in sorted((data / "logs").glob("*.log")):
        counted = {True: [0, 0.0], False: [0, 0.0]}
        for line in log.read_text(encoding="utf-8").splitlines():
            when, method, path, *_, ms, unit = line.split(" ")
            if unit != "ms" or not start <= when[11:] <= end:  # the same clock, to the ms
                continue
            if log.stem == "eautomate":  # every operation is a POST: its name says
                write = not path.split("?")[0].rsplit("/", 1)[-1].lower().startswith("get")
            else:
                write = method != "GET"
            counted[write][0] += 1
            counted[write][1] += float(ms) / 1000
        (w, ws), (r, rs) = counted[True], counted[False]
        if w or r:
            lines.append(f"  {log.stem}: {w:,} writes {ws:.2f} s, {r:,} reads {rs:.2f} s")
            writes, reads = writes + ws, reads + rs
    times = f"{seconds / writes:.1f} times for the writes, " if writes else ""
    served = writes + reads
    return "\n".join(
        [f"  push {seconds:.2f} s ({start} to {end}); the emulators could serve {times}"
         f"{seconds / served:.1f} with the reads" if served else f"  push {seconds:.2f} s",
         *lines]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="large", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--flows", default=",".join(FLOWS), help="comma-separated")
    parser.add_argument("--push", action="store_true", help="send the writes (default: --plan)")
    parser.add_argument("--port-base", type=int, default=8870)
    parser.add_argument(
        "--again", action="store_true", help="keep the warehouse: runs after a first run"
    )
    args = parser.parse_args()
    data = (args.data or Path(f"data/bench-{args.scale}")).resolve()
    chosen = args.flows.split(",")
    flows = [f for f in FLOWS if f in chosen or f == "customer-sync"]
    began = time.perf_counter()
    with served.apart(data, args.seed, args.scale, args.port_base):
        print(f"world served in {time.perf_counter() - began:.1f} s ({data})")
        for stale in [] if args.again else data.glob("warehouse.duckdb*"):
            stale.unlink()
        crosswalk = str(Path(sys.executable).parent / "crosswalk")
        env = {**os.environ, **CREDENTIALS, "PREFECT_HOME": str(data / "prefect")}
        rows = []
        for flow in flows:
            # --verbose: Prefect's log, with its clock (which step the memory went to).
            config = str(data / "crosswalk.toml")
            command = [crosswalk, "run", flow, "--config", config, "--verbose"]
            command += [] if args.push else ["--plan"]
            log = data / f"first-run-{flow}.log"
            began = time.perf_counter()
            # Resident memory once a second, beside the log's clock: which step took it.
            trace = data / f"first-run-{flow}.rss"
            with log.open("w", encoding="utf-8") as out, trace.open("w") as rss:
                child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
                peak, sampled = 0.0, 0.0
                while child.poll() is None:
                    peak = max(peak, memory(child.pid))
                    if time.perf_counter() - sampled >= 1.0:
                        sampled = time.perf_counter()
                        now = memory(child.pid, "VmRSS")
                        rss.write(f"{time.strftime('%H:%M:%S')} {now:,.0f}\n")
                    time.sleep(0.2)
            seconds = time.perf_counter() - began
            code = child.returncode
            rows.append((flow, code, seconds, peak))
            print(f"{flow}: exit {code}, {seconds:.1f} s, peak RSS {peak:,.0f} MiB")
            if code:
                print(log.read_text(encoding="utf-8")[-3000:])
            elif args.push:
                print(pushed(data, flow))
    print(f"\n| flow ({'push' if args.push else 'plan'}) | exit | wall s | peak RSS MiB |")
    print("| --- | --- | --- | --- |")
    for flow, code, seconds, peak in rows:
        print(f"| {flow} | {code} | {seconds:.1f} | {peak:,.0f} |")


if __name__ == "__main__":
    main()
