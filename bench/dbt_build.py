"""dbt per flow run: what ``crosswalk.dbt.build`` costs, in one process, for a flow's models.

    .venv/bin/python bench/dbt_build.py [--flow customer-sync] [--warehouses 5] [--flows 0]

Lands the fixture exports (emulators/fixtures, every entity) into ``--warehouses`` fresh
warehouses in a temporary folder, then builds the flow's models into each in turn and
once more into the last one, printing wall and CPU seconds per build: the first build of
the process, a fresh warehouse after it (what each test and each warehouse pays), and a
second build of the same warehouse (what the next scheduled run pays). ``--flows N`` then
runs the whole flow N times on the fixture exports, each into a fresh warehouse, under a
temporary Prefect server, and prints wall seconds per run and its dbt share.

CPU seconds (``time.process_time``, every thread) move less than wall seconds when other
jobs share the machine.
"""

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

print = functools.partial(print, flush=True)  # progress shows while it runs

FLOWS = {
    "customer-sync": "flows.customer_sync.flow",
    "agreement-sync": "flows.agreement_sync.flow",
    "service-sync": "flows.service_sync.flow",
    "charge-import": "flows.charge_import.flow",
}


def land_fixtures(folder: Path):
    """A warehouse in ``folder`` holding every fixture entity, and its settings."""
    from crosswalk.config import load_settings
    from crosswalk.entities import validate
    from crosswalk.sources import ExportFolder
    from crosswalk.warehouse import Warehouse
    from emulators import serve
    from schemas import ENTITIES

    folder.mkdir(parents=True)
    (folder / "crosswalk.toml").write_text('[warehouse]\npath = "warehouse.duckdb"\n')
    settings = load_settings(folder / "crosswalk.toml")
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    source = ExportFolder(Path(serve.__file__).parent / "fixtures")
    for entity in ENTITIES.values():
        warehouse.ensure_table(entity.system, entity.name, entity.arrow_schema)
        for page in source.pages(entity, since=None):
            checked = validate(entity, page.records, page.sources)
            warehouse.land(entity.system, entity.name, entity.primary_key, checked.table,
                           "run-1", checked.rejected)  # fmt: skip
    warehouse.start_run("run-1", "bench", plan=False, full_refresh=False)
    return settings


def timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def builds(flow: str, count: int, root: Path) -> None:
    import importlib

    from crosswalk import dbt

    models = list(importlib.import_module(FLOWS[flow]).MODELS)
    _, seconds, _ = timed(lambda: __import__("dbt.cli.main"))
    print(f"import dbt: {seconds:.2f} s")
    settings = [land_fixtures(root / f"w{i}") for i in range(count)]
    rows = []
    for i, each in enumerate([*settings, settings[-1]]):
        outcome, wall, cpu = timed(lambda each=each: dbt.build(each, models))
        label = ("first build in the process" if i == 0
                 else "same warehouse again" if i == count else "fresh warehouse")  # fmt: skip
        rows.append((label, wall, cpu))
        print(f"{label:28} {wall:5.2f} s wall {cpu:5.2f} s CPU  ({outcome})")
    later = rows[1:-1]
    if later:
        wall = statistics.median(r[1] for r in later)
        cpu = statistics.median(r[2] for r in later)
        print(f"fresh warehouses after the first: median {wall:.2f} s wall, {cpu:.2f} s CPU")


def flow_runs(flow: str, count: int, root: Path) -> None:
    import importlib

    from prefect.testing.utilities import prefect_test_harness

    from crosswalk import dbt
    from crosswalk.demo import CREDENTIALS

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import write_config

    os.environ.update(CREDENTIALS)
    run_flow = getattr(importlib.import_module(FLOWS[flow]), flow.replace("-", "_"))
    spent = []
    build = dbt.build

    def measured(*args, **kwargs):
        outcome, wall, _ = timed(lambda: build(*args, **kwargs))
        spent.append(wall)
        return outcome

    dbt.build = measured
    with prefect_test_harness(server_startup_timeout=120):
        for i in range(count):
            folder = root / f"flow{i}"
            folder.mkdir()
            config = write_config(folder)
            run, wall, _ = timed(lambda config=config: run_flow(config=str(config)))
            print(f"{flow} run {i + 1}: {run.status} in {wall:.2f} s, dbt {spent[-1]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flow", choices=FLOWS, default="customer-sync")
    parser.add_argument("--warehouses", type=int, default=5)
    parser.add_argument("--flows", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as folder:
        os.environ["PREFECT_HOME"] = str(Path(folder) / "prefect")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        os.environ.pop("PREFECT_API_URL", None)
        if args.warehouses:
            builds(args.flow, args.warehouses, Path(folder))
        if args.flows:
            flow_runs(args.flow, args.flows, Path(folder))


if __name__ == "__main__":
    main()
