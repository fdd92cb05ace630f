"""charge-import throughput: call records processed per second, at a scale's call volume.

    .venv/bin/python bench/charge_import.py [--scale large] [--seed 1] [--keep DIR]

Writes only the workspace operator's side of the world at the scale (Operate, Connect and
``connect.calls``: about 5M call records at large), serves Operate and Connect from it on
loopback from a process of their own (``served.workspace_apart``), and runs the
charge-import flow once (ephemeral Prefect): every call-logger location's exports
downloaded a month at a time, parsed and landed, matched by dbt, the matched calls pushed
onto batch sheets, accounts sent to Connect. Then runs it again unchanged (the overlap
re-read, nothing to push). Prints each stage's seconds, call records per second end to end
and per stage, how many times the push's rate Operate could serve (its time answering the
requests, from its request log over the push alone, and by the processor time its process
used meanwhile), and the peak RSS of this process (Python, DuckDB and dbt; the emulators
apart).
"""

import argparse
import os
import resource
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import served

from emulators.serve import CREDENTIALS
from emulators.world import store as world_store
from emulators.world import workspace

STAGES = ("land_entities", "import_call_logs", "build_models", "push_charges",
          "send_accounts_to_connect", "report_waiting_calls", "report")  # fmt: skip


def timed(name, function, seconds):
    def run(*args, **kwargs):
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - began

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=list(workspace.SIZES), default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="crosswalk-bench-charges-"))
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("PREFECT_HOME", str(folder / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    began = time.perf_counter()
    world = world_store.Store(folder / "workspace.duckdb")
    workspace.build(args.seed, args.scale, world)
    world.close()
    generated = time.perf_counter() - began
    with duckdb.connect(str(folder / "workspace.duckdb"), read_only=True) as con:
        (records,) = con.execute("SELECT count(*) FROM connect.calls").fetchone()
        (calls,) = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT site_id, call_id FROM connect.calls)"
        ).fetchone()
        layouts = con.execute(
            "SELECT location_id, format FROM world.call_loggers ORDER BY 1"
        ).fetchall()
    print(f"world: {records:,} call records ({calls:,} calls) in {generated:.1f} s")

    logs = folder / "logs"
    with served.workspace_apart(folder / "workspace.duckdb", logs) as (urls, pid):
        run_twice(folder, urls, pid, layouts, records)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS {peak:,.0f} MiB; work folder {folder}")


def served_for(function, operate: served.Busy, pid: int, serving: dict[str, float]):
    """``function``, with what Operate spent while it ran put in ``serving``: its requests'
    time (``answering``, ``requests``) and its process's processor time (``cpu``: the
    staged lines' landings too, whether or not a request waited for them)."""

    def run(*args, **kwargs):
        operate.since()
        cpu = served.cpu_seconds(pid)
        try:
            return function(*args, **kwargs)
        finally:
            serving["answering"], serving["requests"] = operate.since(), operate.answered
            serving["cpu"] = served.cpu_seconds(pid) - cpu

    return run


def run_twice(folder: Path, urls: dict, pid: int, layouts: list, records: int) -> None:
    """The flow's first run and its unchanged re-run, each stage timed and printed."""
    listed = ", ".join(f'"{loc}" = "{fmt}"' for loc, fmt in layouts)
    config = folder / "crosswalk.toml"
    config.write_text(
        f"""
[warehouse]
path = "warehouse.duckdb"
[report]
outbox = "outbox"
[systems.operate]
base_url = "{urls["operate"]}/"
api_key = {{ env = "CROSSWALK_OPERATE_KEY" }}
approver_key = {{ env = "CROSSWALK_OPERATE_APPROVER_KEY" }}
[systems.connect]
base_url = "{urls["connect"]}/"
api_key = {{ env = "CROSSWALK_CONNECT_KEY" }}
[flows.charge_import]
first_date = "{datetime.fromtimestamp(workspace.PERIOD_START_TS, UTC):%Y-%m-%d}"
location_layouts = {{ {listed} }}
""",
        encoding="utf-8",
    )
    from flows.charge_import import flow as module

    originals = {stage: getattr(module, stage) for stage in STAGES}
    operate = served.Busy(folder, "operate")
    try:
        for attempt in ("first run", "unchanged re-run"):
            seconds: dict[str, float] = {}
            for stage, function in originals.items():
                setattr(module, stage, timed(stage, function, seconds))
            serving: dict[str, float] = {}
            module.push_charges = served_for(module.push_charges, operate, pid, serving)
            began = time.perf_counter()
            run = module.charge_import(
                config=str(config), batch_date=date(2026, 1, 5), until=date(2025, 12, 31)
            )
            total = time.perf_counter() - began
            with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
                charged = con.execute(
                    "SELECT count(*) FROM sync.charged_lines WHERE run_id = ?", [run.id]
                ).fetchone()[0]
            print(f"\n{attempt}: {run.status} in {total:.1f} s, {charged:,} lines charged")
            for stage in STAGES:
                spent = seconds.get(stage, 0.0)
                rate = f"{records / spent:>12,.0f} records/s" if spent > 0.05 else ""
                print(f"  {stage:<26} {spent:>8.1f} s {rate}")
            print(f"  {'end to end':<26} {total:>8.1f} s {records / total:>12,.0f} records/s")
            pushed = seconds.get("push_charges", 0.0)
            if serving.get("answering") and pushed > 0.05:  # issue 18 goal 5: at least five
                answering, cpu = serving["answering"], serving["cpu"]
                print(f"  Operate answered the push's {serving['requests']:,} requests in"
                      f" {answering:.2f} s, its process used {cpu:.2f} s of processor time:"
                      f" it could serve {pushed / answering:.1f} times the push's rate"
                      f" ({pushed / cpu:.1f} by that time)")  # fmt: skip
    finally:
        for stage, function in originals.items():
            setattr(module, stage, function)


if __name__ == "__main__":
    main()
