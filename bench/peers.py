"""crosswalk's extraction beside the bare limit and the tools users would pick instead.

    .tools/bin/uv sync --frozen --group bench     # dlt and pyconnectwise, for this script only
    .venv/bin/python bench/peers.py --scale medium [--rounds 3] [--data data/bench-medium]

Generates the world once into ``--data`` (reused afterwards), serves it from a separate
process (``crosswalk emulators serve``, so the emulators do not share this process's GIL)
and reads every ConnectWise ticket and time entry with each reader in turn, ``--rounds``
times interleaved, into a fresh DuckDB file each time:

- bare: a ``requests`` loop over the same forward-only pages of 1,000 and ``json.loads``,
  nothing kept (the limit);
- crosswalk: ``extract_and_land`` as a flow runs it (read, validate, land, quarantine),
  the warehouse kept open as a run keeps it; the run's own bookkeeping (opening and
  closing its record, once per flow run) is not timed;
- dlt: the ``rest_api`` source (header-link paging, pages of 1,000) and its parquet
  loader into DuckDB;
- pyconnectwise: its ``paginated(page, 1000)`` loop, each record's model as JSON into
  DuckDB through Arrow, not flattened (pyconnectwise hard-codes https: its URL is pointed
  at the same http server).

Then the other entities goal 1 of issue 18 names, bare loop and crosswalk only: ConnectWise
companies, and e-automate customers and calls (the bare loop: the server's stamp, the
skinny list, bulk detail calls of 500 keys, ``json.loads``).

Modules are imported before the clock starts. Prints records/s (median of the rounds),
each reader's share of the bare loop, how many times its rate the emulator could serve (the
reader's seconds over the emulator's own time answering its requests, from the emulator's
request log), and the machine's load average before and after (the figures are only
comparable within a run).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import requests
import served

from crosswalk.demo import CLIENT_ID, CREDENTIALS
from emulators import serve

print = functools.partial(print, flush=True)  # progress shows while it runs

COLLECTIONS = {"tickets": "service/tickets", "time_entries": "time/entries"}
API = "v4_6_release/apis/3.0"
PAGE = 1000


def bare(url: str, folder: Path, collections: dict[str, str] = COLLECTIONS) -> int:
    session = requests.Session()
    session.auth = ("dealer+demo-public", "demo-private")
    session.headers.update({"clientId": CLIENT_ID, "pagination-type": "forward-only"})
    count = 0
    for path in collections.values():
        after = 0
        while True:
            params = {"pageSize": PAGE, **({"pageId": after} if after else {})}
            response = session.get(f"{url}/{API}/{path}", params=params, timeout=60)
            response.raise_for_status()
            records = json.loads(response.content)
            count += len(records)
            if len(records) < PAGE:
                break
            after = records[-1]["id"]
    return count


def eautomate_answers(url: str, entity: str) -> Iterator[bytes]:
    """The server's stamp, the skinny list of everything, then each bulk answer of up to
    500 full records, as sent."""
    from crosswalk.eautomate import DETAILS, EVERYTHING, MAX_KEYS, AuthInfo

    spec = DETAILS[entity]
    session = requests.Session()
    auth = AuthInfo(
        user="api", password=CREDENTIALS["CROSSWALK_EA_PASSWORD"], company_id="dealer"
    ).as_json()

    def call(operation: str, **params: object) -> bytes:
        response = session.post(
            f"{url}/PublicAPI/{operation}", json={"AuthInfo": auth, **params}, timeout=60
        )
        response.raise_for_status()
        return response.content

    call("getCurrentTimeStamp")
    listed = json.loads(call(spec.list_operation, TimeStamp=EVERYTHING))["Details"]
    keys = [row[spec.key] for row in listed]
    for start in range(0, len(keys), MAX_KEYS):
        yield call(spec.bulk, **{spec.bulk_parameter: keys[start : start + MAX_KEYS]})


def bare_eautomate(url: str, entity: str, folder: Path) -> int:
    """The e-automate limit: ``eautomate_answers``, each answer parsed by ``json.loads``."""
    return sum(len(json.loads(body)["Details"]) for body in eautomate_answers(url, entity))


def crosswalk(config: Path, folder: Path, entities: list | None = None) -> tuple[int, float]:
    from prefect.logging import disable_run_logger

    from crosswalk.config import load_settings
    from crosswalk.pipeline import extract_and_land, flow_run_recorded
    from crosswalk.sources import open_source
    from crosswalk.warehouse import Warehouse
    from schemas import connectwise

    own = folder / "crosswalk.toml"
    own.write_text(
        config.read_text(encoding="utf-8").replace(
            'path = "warehouse.duckdb"', f'path = "{folder / "warehouse.duckdb"}"'
        ),
        encoding="utf-8",
    )
    settings = load_settings(own)
    entities = entities or [connectwise.tickets, connectwise.time_entries]
    with (
        disable_run_logger(),
        Warehouse(settings.warehouse.path).kept_open(),  # as a flow run keeps it
        flow_run_recorded("service-sync", settings, entities, False, True) as run,
    ):
        began = time.perf_counter()  # the run's own bookkeeping, once per flow, apart
        source = open_source(settings, entities[0].system, "service-sync")
        for entity in entities:
            run.landed.append(extract_and_land.fn(run, source, entity))
        seconds = time.perf_counter() - began
    total = run.totals()
    assert total.read == total.landed + total.quarantined
    return total.read, seconds


def timed(read: Callable[[Path], int | tuple[int, float]], folder: Path) -> tuple[int, float]:
    """Records a reader read and its seconds: its own figure when it gives one (crosswalk
    leaves the run's bookkeeping out), else the call's."""
    began = time.perf_counter()
    result = read(folder)
    return result if isinstance(result, tuple) else (result, time.perf_counter() - began)


def dlt_rest_api(url: str, folder: Path) -> int:
    import dlt
    from dlt.sources.rest_api import rest_api_source

    source = rest_api_source(
        {
            "client": {
                "base_url": f"{url}/{API}/",
                "auth": {
                    "type": "http_basic",
                    "username": "dealer+demo-public",
                    "password": "demo-private",
                },
                "headers": {"clientId": CLIENT_ID, "pagination-type": "forward-only"},
                "paginator": {"type": "header_link"},
            },
            "resource_defaults": {"endpoint": {"params": {"pageSize": PAGE}}},
            "resources": [
                {"name": name, "endpoint": {"path": path}} for name, path in COLLECTIONS.items()
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="peers",
        destination=dlt.destinations.duckdb(str(folder / "dlt.duckdb")),
        dataset_name="connectwise",
        pipelines_dir=str(folder / "dlt"),
    )
    pipeline.run(source, loader_file_format="parquet")
    with pipeline.sql_client() as client:
        return sum(client.execute_sql(f"SELECT count(*) FROM {name}")[0][0] for name in COLLECTIONS)


def pyconnectwise(url: str, folder: Path) -> int:
    import duckdb
    import pyarrow as pa

    warnings.filterwarnings("ignore", module="pyconnectwise")
    from pyconnectwise import ConnectWiseManageAPIClient

    host = url.removeprefix("http://")
    client = ConnectWiseManageAPIClient(
        "dealer", host, CLIENT_ID, "demo-public", "demo-private", codebase="v4_6_release/"
    )
    client.codebase = "v4_6_release/"  # the constructor forgets it (ENVIRONMENT.md section 7)
    client._get_url = lambda: f"{url}/{API}"  # its https, pointed at the same http server
    count = 0
    with duckdb.connect(str(folder / "pyconnectwise.duckdb")) as con:
        for name, endpoint in (
            ("tickets", client.service.tickets),
            ("time_entries", client.time.entries),
        ):
            con.execute(f"CREATE TABLE {name} (id BIGINT, record JSON)")
            pages = endpoint.paginated(1, PAGE, {"orderBy": "id asc"})
            while pages.has_data:
                page = pa.table(
                    {
                        "id": [record.id for record in pages.data],
                        "record": [record.model_dump_json() for record in pages.data],
                    }
                )
                con.execute(f"INSERT INTO {name} SELECT * FROM page")
                count += page.num_rows
                pages.get_next_page()
    return count


def warm(readers: list[str]) -> None:
    """Import what the chosen readers use before any is timed: imports are a fixed cost of
    a process (bench/fixed_costs.py), not of reading. What they made is then frozen out
    of the garbage collector's passes, as ``crosswalk run`` does (``imports_kept``), for
    every reader alike."""
    import duckdb  # noqa: F401

    from crosswalk.cli import freeze_kept

    if "crosswalk" in readers:
        import pyarrow as pa

        import crosswalk.pipeline  # noqa: F401
        import schemas  # noqa: F401

        pa.array([False])  # imports pandas (pyarrow looks for it): 0.1 to 0.7 s, once
    if "dlt" in readers:
        import dlt.sources.rest_api  # noqa: F401
    if "pyconnectwise" in readers:
        warnings.filterwarnings("ignore", module="pyconnectwise")
        import pyconnectwise  # noqa: F401
    freeze_kept()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=8870)
    parser.add_argument(
        "--readers",
        default="bare,crosswalk,dlt,pyconnectwise",
        help='comma-separated; "" compares only the other entities',
    )
    args = parser.parse_args()
    data = (args.data or Path(f"data/bench-{args.scale}")).resolve()
    started = time.perf_counter()
    serve.open_world(data, args.seed, args.scale)
    print(f"world ready in {time.perf_counter() - started:.1f} s ({data})")
    os.environ.update(CREDENTIALS)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    chosen = [name for name in args.readers.split(",") if name]  # "": the entities only
    warm(chosen)
    rates: dict[str, list[float]] = {name: [] for name in chosen}
    headroom: dict[str, list[float]] = {name: [] for name in chosen}
    with served.apart(data, args.seed, args.scale, args.port_base) as url:
        busy = served.Busy(data, "connectwise")
        readers: dict[str, Callable[[Path], int]] = {
            "bare": functools.partial(bare, url),
            "crosswalk": functools.partial(crosswalk, data / "crosswalk.toml"),
            "dlt": functools.partial(dlt_rest_api, url),
            "pyconnectwise": functools.partial(pyconnectwise, url),
        }
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        for round_ in range(1, args.rounds + 1):
            for name in chosen:
                busy.since()
                with tempfile.TemporaryDirectory(prefix=f"peers-{name}-") as folder:
                    records, seconds = timed(readers[name], Path(folder))
                rates[name].append(records / seconds)
                headroom[name].append(seconds / busy.since())
                print(f"round {round_} {name}: {records:,} records in {seconds:.1f} s, "
                      f"{records / seconds:,.0f} records/s; the emulator could serve "
                      f"{headroom[name][-1]:.1f} times that")  # fmt: skip
        alone = per_entity(url, args.port_base, data, args.rounds)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    limit = statistics.median(rates["bare"]) if "bare" in rates else None
    if rates:
        print("\n| reader | records/s | share of the limit | the emulator could serve |")
        print("| --- | --- | --- | --- |")
        for name in sorted(rates, key=lambda n: -statistics.median(rates[n])):
            rate = statistics.median(rates[name])
            share = f"{rate / limit:.2f}" if limit else ""
            print(f"| {name} | {rate:,.0f} | {share} | "
                  f"{statistics.median(headroom[name]):.1f} times |")  # fmt: skip
    print("\n| entity | bare records/s | crosswalk records/s | share of the limit | "
          "the emulator could serve |\n| --- | --- | --- | --- | --- |")  # fmt: skip
    for name, (limit, ours, served_x) in alone.items():
        print(f"| {name} | {limit:,.0f} | {ours:,.0f} | {ours / limit:.2f} | "
              f"{served_x:.1f} times crosswalk's |")  # fmt: skip


def per_entity(
    url: str, port: int, data: Path, rounds: int
) -> dict[str, tuple[float, float, float]]:
    """Each other entity goal 1 names, read by the bare loop and by crosswalk alone,
    ``rounds`` times interleaved: the median records/s of each, and how many times
    crosswalk's rate its emulator could serve."""
    config = data / "crosswalk.toml"
    from schemas import connectwise, eautomate

    erp = f"http://127.0.0.1:{port + 1}"
    readers = {
        "connectwise companies": (
            functools.partial(bare, url, collections={"companies": "company/companies"}),
            connectwise.companies,
        ),
        "e-automate customers": (
            functools.partial(bare_eautomate, erp, "customers"),
            eautomate.customers,
        ),
        "e-automate calls": (functools.partial(bare_eautomate, erp, "calls"), eautomate.calls),
    }
    medians = {}
    for name, (limit, entity) in readers.items():
        rates: dict[str, list[float]] = {"bare": [], "crosswalk": []}
        headroom: list[float] = []
        busy = served.Busy(data, entity.system)
        for round_ in range(1, rounds + 1):
            for reader, read in (
                ("bare", limit),
                ("crosswalk", functools.partial(crosswalk, config, entities=[entity])),
            ):
                busy.since()
                with tempfile.TemporaryDirectory(prefix=f"peers-{reader}-") as folder:
                    records, seconds = timed(read, Path(folder))
                rates[reader].append(records / seconds)
                if reader == "crosswalk":
                    headroom.append(seconds / busy.since())
                print(f"round {round_} {name}, {reader}: {records:,} records in "
                      f"{seconds:.1f} s, {records / seconds:,.0f} records/s")  # fmt: skip
        medians[name] = (
            statistics.median(rates["bare"]),
            statistics.median(rates["crosswalk"]),
            statistics.median(headroom),
        )
    return medians


if __name__ == "__main__":
    main()
