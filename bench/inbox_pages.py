"""How long the operators' inbox takes to render its pages with many waiting records.

Takes a warehouse a run built (``make demo`` leaves one in data/demo/), copies it, and,
when its flows hold back fewer than ``--records`` tickets, copies waiting tickets of
``marts.service_call_sync`` (new ticket ids, the same cause) until they are that many; then
renders each page through the WSGI application (what the server spends, no network, no
browser) ``--repeat`` times and prints the median and the slowest wall time, the median
CPU time of this process (DuckDB's own threads count too), and the page's size.

    .venv/bin/python bench/inbox_pages.py --warehouse data/demo/warehouse.duckdb --records 1000
"""

import argparse
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from crosswalk.config import parse_settings
from crosswalk.inbox import waiting
from crosswalk.inbox.web import Inbox
from crosswalk.warehouse import Warehouse, rows

PAGES = ("/", "/waiting", "/waiting?flow=service-sync", "/links", "/suggestions", "/errors",
         "/conflicts", "/exclusions")  # fmt: skip


def held_back(warehouse: Warehouse) -> dict[str, int]:
    """Waiting records per flow."""
    counts = {}
    with warehouse.connect(read_only=True) as con:
        for source in waiting.SOURCES:
            try:
                found = waiting.read(lambda sql, params: rows(con, sql, params), source)
            except Exception:  # the flow has not run on this warehouse
                continue
            held = len({r["record_id"] for r in found})
            counts[source.flow] = counts.get(source.flow, 0) + held  # service-sync has two
    return counts


def inflate(warehouse: Warehouse, records: int) -> None:
    """Waiting tickets copied under new ids until the flows hold back ``records``."""
    short = records - sum(held_back(warehouse).values())
    if short <= 0:
        return
    with warehouse.transaction() as con:
        (have,) = con.execute(
            "SELECT count(*) FROM marts.service_call_sync WHERE action = 'waiting'"
        ).fetchone()
        if not have:
            raise SystemExit("no waiting ticket to copy: run service-sync on this warehouse first")
        for copy in range(1, short // have + 2):
            con.execute(
                "INSERT INTO marts.service_call_sync SELECT * REPLACE "
                "(ticket_id + ? * 100000000 AS ticket_id) FROM marts.service_call_sync "
                "WHERE action = 'waiting' AND ticket_id < 100000000 LIMIT ?",
                [copy, short - (copy - 1) * have],
            )


def render(app: Inbox, path: str) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds (this process), status and bytes of one GET."""
    path, _, query = path.partition("?")
    answer = {}
    began, cpu = time.perf_counter(), time.process_time()
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
                         "wsgi.input": io.BytesIO()},
                        lambda status, headers: answer.setdefault("status", status)))  # fmt: skip
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return wall, cpu, int(answer["status"].split()[0]), len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=Path("data/demo/warehouse.duckdb"))
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as folder:
        copy = Path(folder) / "warehouse.duckdb"
        shutil.copy(args.warehouse, copy)
        warehouse = Warehouse(copy)
        inflate(warehouse, args.records)
        print("waiting records:", held_back(warehouse))
        settings = parse_settings({
            "warehouse": {"path": str(copy)},
            "systems": {"operate": {"base_url": "http://127.0.0.1:1/",
                                    "api_key": {"env": "UNUSED"}}},
        })  # fmt: skip
        app = Inbox(settings)
        print(f"{'page':30} {'wall median s':>13} {'wall max s':>10} {'CPU median s':>12} "
              f"{'status':>6} {'KiB':>5}")  # fmt: skip
        for page in PAGES:
            runs = [render(app, page) for _ in range(args.repeat)]
            wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
            status, size = runs[0][2], runs[0][3] / 1024
            print(f"{page:30} {statistics.median(wall):13.3f} {max(wall):10.3f} "
                  f"{statistics.median(cpu):12.3f} {status:6} {size:5.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
