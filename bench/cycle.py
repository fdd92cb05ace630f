"""Cycles of every flow: what a run costs when nothing changed, and when 1% of the records did.

    .venv/bin/python bench/cycle.py [--scale medium] [--seed 1] [--percent 1] [--keep DIR]

Serves a seeded world in this process (``served.world``) and runs every flow in order, as
``crosswalk run all`` does: a first cycle (skipped when ``--keep`` names a folder whose
warehouse a cycle already built), a cycle with nothing changed, then ``--percent`` of the
PSA's tickets, time entries and companies and of the ERP's customers changed through their
APIs, a cycle over that, and one more with nothing changed (``--unchanged-only``: two
cycles with nothing changed). Per flow it prints the requests
each system answered (reads and writes apart, and reads per entity), the writes the flow
made, the models dbt built, and the seconds by phase: extraction (``extract_and_land``),
dbt (``crosswalk.dbt.build``) and the rest (checks, pushes, the report, Prefect's own).
"""

import argparse
import functools
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import served

print = functools.partial(print, flush=True)  # progress shows while it runs

# What changes in a cycle "with 1% changed": (system, path or operation, field).
PSA_CHANGES = (
    ("service/tickets", "tickets", "summary", "true"),
    # The emulator checks a time entry's ticket as a service ticket.
    ("time/entries", "time_entries", "notes", "doc->>'chargeToType' = 'ServiceTicket'"),
    ("company/companies", "companies", "addressLine2", "true"),
)


class Phases:
    """Seconds spent in extraction and in dbt, and what dbt built, while a flow runs."""

    def __init__(self) -> None:
        self.seconds: Counter = Counter()
        self.built: Counter = Counter()
        self.kept = 0

    def install(self) -> None:
        from crosswalk import dbt, pipeline

        extract, build = pipeline.extract_and_land.fn, dbt.build

        @functools.wraps(extract)
        def timed_extract(*args, **kwargs):
            began = time.perf_counter()
            try:
                return extract(*args, **kwargs)
            finally:
                self.seconds["extract"] += time.perf_counter() - began

        @functools.wraps(build)
        def timed_build(*args, **kwargs):
            began = time.perf_counter()
            try:
                outcome = build(*args, **kwargs)
            finally:
                self.seconds["dbt"] += time.perf_counter() - began
            self.built.update(outcome.statuses)
            self.kept += getattr(outcome, "kept", 0)
            return outcome

        pipeline.extract_and_land.fn = timed_extract
        dbt.build = timed_build

    def take(self) -> tuple[Counter, Counter, int]:
        taken = self.seconds, self.built, self.kept
        self.seconds, self.built, self.kept = Counter(), Counter(), 0
        return taken


def requests_by_kind(running) -> tuple[Counter, Counter]:
    """Reads and writes per system since the last call, and reads per entity; forgets them."""
    totals, reads = Counter(), Counter()
    for name, server in running.servers.items():
        for request in server.requests:
            if name == "eautomate":
                operation = request.path.rstrip("/").rsplit("/")[-1]
                write = not operation.startswith("get")
                entity = operation
            else:
                write = request.method != "GET"
                entity = "/".join(request.path.split("?")[0].rstrip("/").split("/")[-2:])
            totals[(name, "writes" if write else "reads")] += 1
            if not write:
                reads[f"{name} {entity}"] += 1
        server.requests.clear()
    return totals, reads


def cycle(label: str, running, config: Path, phases: Phases) -> None:
    from prefect.flows import load_flow_from_entrypoint

    from flows import FLOWS

    print(f"\n## {label}\n")
    print("| flow | status | reads | writes (requests) | writes made | models built | "
          "extract s | dbt s | rest s | wall s |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    requests_by_kind(running)
    phases.take()
    total = Counter()
    per_entity = {}
    for name, entrypoint in FLOWS.items():
        flow = load_flow_from_entrypoint(entrypoint)
        began = time.perf_counter()
        run = flow(config=str(config))
        wall = time.perf_counter() - began
        seconds, built, kept = phases.take()
        counts, reads = requests_by_kind(running)
        per_entity[name] = reads
        read = sum(n for (_, kind), n in counts.items() if kind == "reads")
        wrote = sum(n for (_, kind), n in counts.items() if kind == "writes")
        made = built.get("success", 0)
        rest = wall - seconds["extract"] - seconds["dbt"]
        total.update(wall=wall, extract=seconds["extract"], dbt=seconds["dbt"], rest=rest,
                     reads=read, wrote=wrote, writes=len(run.planned), models=made)  # fmt: skip
        models = f"{made} ({kept} kept)" if kept else str(made)
        print(f"| {name} | {run.status} | {read} | {wrote} | {len(run.planned)} | {models} "
              f"| {seconds['extract']:.1f} | {seconds['dbt']:.1f} | {rest:.1f} "
              f"| {wall:.1f} |")  # fmt: skip
    print(f"| all | | {total['reads']} | {total['wrote']} | {total['writes']} | {total['models']} "
          f"| {total['extract']:.1f} | {total['dbt']:.1f} | {total['rest']:.1f} "
          f"| {total['wall']:.1f} |")  # fmt: skip
    print("\nreads per entity:")
    for name, reads in per_entity.items():
        print(f"  {name}: " + ", ".join(f"{e} {n}" for e, n in sorted(reads.items())))


def change(running, config: Path, percent: float) -> None:
    """``percent`` of the PSA's tickets, time entries and companies and of the ERP's
    customers changed through the systems' APIs, as a person would; every n-th by id."""
    from crosswalk.config import load_settings
    from crosswalk.connectwise import ConnectWise
    from crosswalk.eautomate import EAutomate

    settings = load_settings(config)
    secrets = settings.resolve_secrets(["connectwise", "eautomate"])
    cw = ConnectWise.from_settings(settings.systems.connectwise, secrets["connectwise"])
    erp = EAutomate.from_settings(settings.systems.eautomate, secrets["eautomate"])
    step = max(1, round(100 / percent))
    stamp = time.strftime("%H%M%S")
    changed = defaultdict(int)
    began = time.perf_counter()
    for path, table, column, where in PSA_CHANGES:
        ids = [i for (i,) in running.store.query(
            f"SELECT id FROM connectwise.{table} WHERE {where} ORDER BY id")]  # fmt: skip
        for record_id in ids[::step]:
            cw.patch(path, record_id, {column: f"changed {stamp}"})
            changed[path] += 1
    numbers = [n for (n,) in running.store.query(
        "SELECT customer_number FROM eautomate.customers ORDER BY customer_number")]  # fmt: skip
    for number in numbers[::step]:
        erp.save_customer(number, {"Remarks": f"changed {stamp}"})
        changed["customers"] += 1
    requests_by_kind(running)
    print(f"\nchanged {dict(changed)} in {time.perf_counter() - began:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--percent", type=float, default=1.0)
    parser.add_argument("--keep", type=Path, help="a folder to keep the world and warehouse in")
    parser.add_argument(
        "--unchanged-only", action="store_true", help="only two cycles with nothing changed"
    )
    args = parser.parse_args()
    from crosswalk.cli import imports_kept

    with tempfile.TemporaryDirectory(prefix="bench-cycle-") as folder:
        data = (args.keep or Path(folder)).resolve()
        began = time.perf_counter()
        with served.world(data, args.scale, args.seed) as running:
            print(f"world ({args.scale}, seed {args.seed}): {time.perf_counter() - began:.1f} s")
            config = data / "crosswalk.toml"
            config.write_text(running.config.read_text(encoding="utf-8"), encoding="utf-8")
            phases = Phases()
            with imports_kept():  # as ``crosswalk run`` keeps them (the world's too)
                phases.install()
                import flows  # noqa: F401
            if not (data / "warehouse.duckdb").exists():
                cycle("first cycle", running, config, phases)
            cycle("no change", running, config, phases)
            if args.unchanged_only:
                cycle("no change again", running, config, phases)
                return
            change(running, config, args.percent)
            cycle(f"{args.percent:g}% changed", running, config, phases)
            cycle("no change after it", running, config, phases)


if __name__ == "__main__":
    main()
