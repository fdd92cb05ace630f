"""Landing throughput: records -> validate (pandera) -> land (DuckDB MERGE) in pages of 1,000.

    .venv/bin/python bench/land_throughput.py [--records 200000]

Prints records per second for validation, first landing (all inserts), re-landing the same
pages (all unchanged: no row is written) and landing with every row changed, plus peak RSS.
"""

import argparse
import resource
import tempfile
import time
from pathlib import Path

from crosswalk.entities import validate
from crosswalk.warehouse import Warehouse
from schemas import connectwise

PAGE = 1000


def companies(start: int, count: int, suffix: str = "") -> list[dict]:
    return [
        {
            "id": i,
            "identifier": f"C{i:08d}",
            "name": f"Company {i} & Sons{suffix}",
            "status": {"id": 1, "name": "Active"},
            "addressLine1": f"{i} Main Street",
            "city": "Tampa",
            "state": "FL",
            "zip": "33601",
            "phoneNumber": "813-555-0100",
            "types": [{"id": 1, "name": "Client"}],
            "_info": {"lastUpdated": f"2026-11-{1 + i % 28:02d}T10:00:00Z"},
        }
        for i in range(start, start + count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    entity = connectwise.companies
    warehouse = Warehouse(Path(tempfile.mkdtemp()) / "bench.duckdb")
    warehouse.migrate()

    def run(label: str, suffix: str) -> None:
        validating = landing = 0.0
        actions = {"inserted": 0, "updated": 0}
        for start in range(1, args.records + 1, PAGE):
            records = companies(start, min(PAGE, args.records + 1 - start), suffix)
            t0 = time.perf_counter()
            checked = validate(entity, records)
            t1 = time.perf_counter()
            result = warehouse.land(
                entity.system,
                entity.name,
                entity.primary_key,
                checked.table,
                "bench",
                checked.rejected,
                checked.cursor,
            )
            landing += time.perf_counter() - t1
            validating += t1 - t0
            actions["inserted"] += result.inserted
            actions["updated"] += result.updated
        print(
            f"{label:<22} validate {args.records / validating:>9,.0f} rec/s   "
            f"land {args.records / landing:>9,.0f} rec/s   "
            f"({actions['inserted']:,} inserted, {actions['updated']:,} updated)"
        )

    run("first landing", "")
    run("re-landing unchanged", "")
    run("every row changed", " Ltd")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB; warehouse {warehouse.path.stat().st_size / 2**20:,.1f} MiB")


if __name__ == "__main__":
    main()
