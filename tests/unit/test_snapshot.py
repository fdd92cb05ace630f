"""The fault cycle's comparison (emulators/snapshot.py) on a tiny store: records crosswalk
makes are told apart by the key it writes into them, not by the number the system hands
out, and the moments a write is stamped with are not what it wrote."""

import json

from emulators import snapshot
from emulators.framework import Store

TABLES = (
    "CREATE SCHEMA eautomate",
    "CREATE SCHEMA connect",
    "CREATE TABLE eautomate.sales_orders (so_number VARCHAR, customer_number VARCHAR, "
    "status VARCHAR, last_update TIMESTAMP, doc VARCHAR)",
    "CREATE TABLE eautomate.items (item_id BIGINT, item VARCHAR, active BOOLEAN, "
    "last_update TIMESTAMP, doc VARCHAR)",
    "CREATE TABLE connect.clients (id BIGINT, name VARCHAR, start_date TIMESTAMP, "
    "end_date TIMESTAMP, billing_reference VARCHAR, site_id BIGINT)",
)


def held(path, orders, items, clients):
    """What a store holding these records reads as: orders (number, description, made at),
    items (id, number, made at), clients (id, billing reference, start)."""
    store = Store(path)
    with store.write() as cur:
        for sql in TABLES:
            cur.execute(sql)
        for number, description, made in orders:
            doc = {"SONumber": number, "Description": description, "CreateDate": made}
            cur.execute(
                "INSERT INTO eautomate.sales_orders VALUES (?, 'C1', 'Open', ?, ?)",
                [number, made, json.dumps(doc)],
            )
        for item_id, item, made in items:
            doc = {"Item": item, "CreateDate": made, "LastUpdate": made}
            cur.execute(
                "INSERT INTO eautomate.items VALUES (?, ?, true, ?, ?)",
                [item_id, item, made, json.dumps(doc)],
            )
        for client_id, reference, start in clients:
            cur.execute(
                "INSERT INTO connect.clients VALUES (?, 'Client', ?, ?::TIMESTAMP + "
                "INTERVAL 1 YEAR, ?, 9001)",
                [client_id, start, start, reference],
            )
    found = snapshot.state(store)
    store.close()
    return found


def test_a_faulty_cycle_that_made_the_same_records_later_is_the_clean_one(tmp_path):
    clean = held(
        tmp_path / "clean.duckdb",
        [("SO1", "Incumbent order", "2025-01-01T00:00:00"),
         ("SO2", "[CW SO #8037] Order", "2026-12-03T06:14:55")],
        [(45, "USW-24P", "2026-12-03T06:14:55")],
        [(5029, "1015", "2026-12-03 11:15:31")],
    )  # fmt: skip
    later = held(
        tmp_path / "later.duckdb",
        [("SO1", "Incumbent order", "2025-01-01T00:00:00"),
         ("SO2", "[CW SO #8037] Order", "2026-12-03T06:20:31")],
        [(45, "USW-24P", "2026-12-03T06:20:31")],
        [(5029, "1015", "2026-12-03 11:21:12")],
    )  # fmt: skip
    assert snapshot.compare(clean, later).none


def test_an_order_and_an_item_made_twice_are_keys_held_twice(tmp_path):
    clean = held(
        tmp_path / "clean.duckdb",
        [("SO2", "[CW SO #8037] Order", "2026-12-03T06:14:55")],
        [(45, "USW-24P", "2026-12-03T06:14:55")],
        [],
    )
    twice = held(
        tmp_path / "twice.duckdb",
        [("SO2", "[CW SO #8037] Order", "2026-12-03T06:20:31"),
         ("SO3", "[CW SO #8037] Order", "2026-12-03T06:20:32")],
        [(45, "USW-24P", "2026-12-03T06:20:31"), (46, "USW-24P", "2026-12-03T06:20:32")],
        [],
    )  # fmt: skip
    difference = snapshot.compare(clean, twice)
    assert difference.duplicates == {
        "eautomate.items": ['["USW-24P"]'],
        "eautomate.sales_orders": ['["[CW SO #8037]"]'],
    }
    assert difference.counts() == {"duplicates": 2, "missing": 0, "extra": 0, "changed": 0}
