"""What a native JSON reader could save on e-automate's bulk answers (issue 18 goal 1).

    .venv/bin/python bench/json_reader.py --data <a first_runs.py folder> [--rounds 3]

Serves the world from a process of its own, reads every call's full record once in bulk
answers of 500 (the bytes as the server sends them), then times on those bytes, ``--rounds``
times:

- crosswalk's path today: orjson's parse, the offsets walk (``EAutomate.with_offsets``, a
  fresh client each round as a run has) and validation (``entities.validate``);
- DuckDB's ``read_json`` of each answer with every field typed (the labor lines as a list of
  typed structs), into Arrow;
- the same with the four top-level date-times put in the dealer's zone and the labor lines
  rebuilt with theirs and written as JSON text (the offsets roughly spelt).

The DuckDB rows do no checks and give no reasons: a measure of the parse into columns for
the next step (bench/README.md, "Extraction beside the limit and the peers"), not a path.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

import duckdb
import orjson
import served
from peers import eautomate_answers

from crosswalk.demo import CREDENTIALS
from crosswalk.eautomate import EAutomate
from crosswalk.entities import validate
from emulators import serve
from schemas import eautomate

ZONE = "America/New_York"  # the emulated dealer's
# A labor line's fields and a call's, with the types DuckDB is given for them.
LABOR = {
    "ActivityCode": "VARCHAR", "ArrivalDate": "VARCHAR", "DepartureDate": "VARCHAR",
    "DispatchDate": "VARCHAR", "LaborHours": "DOUBLE", "LaborRate": "DOUBLE",
    "Remarks": "VARCHAR", "TechnicianNumber": "VARCHAR", "TravelHours": "DOUBLE",
}  # fmt: skip
TEXT = [
    "BillCode", "BillToNumber", "CallDate", "CallNumber", "CallType", "Caller", "CloseDate",
    "ContractNumber", "CreateDate", "CustomerNumber", "Description", "EquipmentNumber",
    "HoldCode", "LastUpdate", "PONumber", "StatusCode", "TechnicianNumber",
]  # fmt: skip


def listed(fields: dict[str, str]) -> str:
    """A list of structs of ``fields``, as DuckDB spells its type."""
    return "STRUCT(" + ", ".join(f"{name} {kind}" for name, kind in fields.items()) + ")[]"


CALL = {
    **dict.fromkeys(TEXT, "VARCHAR"),
    "UseUnknownEquipment": "BOOLEAN",
    "Labors": listed(LABOR),
    "MaterialsUsed": "JSON",
}


def today(bodies: list[bytes]) -> int:
    client = EAutomate(transport=None, time_zone=ZONE)
    rows = 0
    for body in bodies:
        page = client.with_offsets(orjson.loads(body)["Details"], in_place=True)
        rows += validate(eautomate.calls, page).table.num_rows
    return rows


def details(body: bytes) -> bytes:
    """The answer's ``Details`` array alone, as bytes: DuckDB reads an array of records
    many times faster than one object holding it (this emulator's answers hold nothing
    else; a real server's might)."""
    head, tail = b'{"Details":', b"}"
    assert body.startswith(head) and body.endswith(tail), body[:40]
    return body[len(head) : -len(tail)]


def duckdb_reader(bodies: list[bytes], whole: bool = False, converted: bool = False) -> int:
    """The calls through ``read_json``: the answers as sent (``whole``) or their arrays,
    every field typed, optionally with the date-times put in the dealer's zone."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")

    def zoned(field: str) -> str:
        return f"timezone('{ZONE}', {field}::TIMESTAMP)"

    def spelt(field: str) -> str:
        return f"strftime({zoned(field)}, '%Y-%m-%dT%H:%M:%S%z')"

    labor = ", ".join(
        f"{name} := {spelt('l.' + name) if name.endswith('Date') else 'l.' + name}"
        for name in LABOR
    )
    columns = "c.*"
    if converted:
        columns = ", ".join(
            zoned(f"c.{name}") if name.endswith("Date") or name == "LastUpdate" else f"c.{name}"
            for name in TEXT
        )
        columns += (
            ", c.UseUnknownEquipment, c.MaterialsUsed,"
            f" to_json(list_transform(c.Labors, lambda l: struct_pack({labor})))"
        )
    rows = 0
    for body in bodies:
        if whole:
            answer = con.read_json(io.BytesIO(body), columns={"Details": listed(CALL)})
            sql = f"SELECT {columns} FROM (SELECT unnest(Details) AS c FROM answer)"
        else:
            answer = con.read_json(  # noqa: F841 (the SQL reads it by name)
                io.BytesIO(details(body)), format="array", columns=CALL
            )
            sql = f"SELECT {columns} FROM (SELECT answer AS c FROM answer)"
        rows += con.sql(sql).to_arrow_table().num_rows
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--scale", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port-base", type=int, default=8970)
    args = parser.parse_args()
    data = args.data.resolve()
    serve.open_world(data, args.seed, args.scale)
    os.environ.update(CREDENTIALS)
    with served.apart(data, args.seed, args.scale, args.port_base):
        bodies = list(eautomate_answers(f"http://127.0.0.1:{args.port_base + 1}", "calls"))
    print(f"{len(bodies)} bulk answers, {sum(map(len, bodies)) / 1e6:.1f} MB")
    readers = {
        "today: orjson, offsets walk, validation": today,
        "DuckDB read_json of the answers as sent, every field typed": lambda b: duckdb_reader(
            b, whole=True
        ),
        "DuckDB read_json of their Details arrays, every field typed": duckdb_reader,
        "the same, offsets and labor lines as JSON text": lambda b: duckdb_reader(
            b, converted=True
        ),
    }
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    rows: dict[str, int] = {}
    for _ in range(args.rounds):
        for name, read in readers.items():
            began = time.perf_counter()
            rows[name] = read(bodies)
            seconds[name].append(time.perf_counter() - began)
    print("\n| reader | rows | seconds (median) | records/s |\n| --- | --- | --- | --- |")
    for name, taken in seconds.items():
        median = statistics.median(taken)
        print(f"| {name} | {rows[name]:,} | {median:.3f} | {rows[name] / median:,.0f} |")


if __name__ == "__main__":
    main()
