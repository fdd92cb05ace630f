"""Extraction from the e-automate emulator through the flows' landing steps (dbt only to
read a landed property through its staging model): a run lands what changed after the
server's stamp of the run before, once, and nothing else; an unchanged rerun lands
nothing; server faults and dropped connections do not change what lands."""

import uuid

import pytest

from crosswalk import dbt
from crosswalk.config import load_settings
from crosswalk.eautomate import AuthInfo, EAutomate, JsonTransport
from crosswalk.warehouse import Warehouse

from ..conftest import instant_retries, land


@pytest.fixture
def ea_server(emulated):
    server = emulated.servers["eautomate"]
    server.faults.clear()
    yield server
    server.faults.clear()


@pytest.fixture
def client(ea_server):
    transport = JsonTransport(ea_server.url, AuthInfo("api", "demo", "dealer"))
    return EAutomate(transport)


@pytest.fixture
def no_sleep():
    """Retries while landing back off without sleeping (the emulator's faults are instant),
    up to ten tries a request."""
    with instant_retries(attempts=10):
        yield


def config_in(folder, emulated, extra=""):
    folder.mkdir(exist_ok=True)
    text = emulated.config.read_text(encoding="utf-8")
    path = folder / "crosswalk.toml"
    path.write_text(text + "\n[extract]\noverlap_minutes = 0\n" + extra, encoding="utf-8")
    return path


def landed(run):
    return {
        r.entity: (r.read, r.inserted, r.updated, r.quarantined)
        for r in run.landed
        if r.system == "eautomate"
    }


def raw(config, table):
    with Warehouse(config.parent / "warehouse.duckdb").connect(read_only=True) as con:
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'raw_eautomate' AND table_name = ?"
                " AND column_name NOT IN ('_loaded_at', '_run_id') ORDER BY column_name",
                [table],
            ).fetchall()
        ]
        return con.execute(
            f"SELECT {', '.join(columns)} FROM raw_eautomate.{table} ORDER BY ALL"
        ).fetchall()


@pytest.mark.dbt
def test_customers_changed_after_the_stamp_land_once_and_nothing_else(
    emulated, tmp_path, credentials, client, ea_server
):
    # The records this test changes are its own: other tests read the world's as it is.
    moved, flagged = (
        client.add_customer({"CustomerNumber": unique(), "CustomerName": name})["CustomerNumber"]
        for name in ("To Move", "To Flag")
    )
    config = config_in(tmp_path / "wh", emulated)
    first = land(config, "customer-sync")
    total = len(client.changes("customers", None).rows)
    assert landed(first)["customers"] == (total, total, 0, 0)
    codes = landed(first)["code_lists"]
    assert codes[0] == codes[1] > 50

    before = len(ea_server.requests)
    second = land(config, "customer-sync")
    assert landed(second)["customers"] == (0, 0, 0, 0)
    assert landed(second)["code_lists"][1:3] == (0, 0)
    operations = [r.path.rsplit("/", 1)[-1] for r in list(ea_server.requests)[before:]]
    assert "getCustomerDataList" not in operations
    assert operations[:2] == ["getCurrentTimeStamp", "getCustomerList"]

    client.save_customer(moved, {"City": "Changed Incrementally"})
    client.set_custom_properties("Customer", flagged, {"ZCJ_SyncToCW": "No"})
    added = client.add_customer({"CustomerNumber": unique(), "CustomerName": "Brand New"})
    added = added["CustomerNumber"]
    third = land(config, "customer-sync")
    assert landed(third)["customers"] == (3, 1, 2, 0)
    rows = {row[0]: row for row in _customers(config)}
    assert rows[moved][1] == "Changed Incrementally"
    assert '"ZCJ_SyncToCW"' in rows[flagged][2] and '"No"' in rows[flagged][2]
    assert added in rows

    assert dbt.build(load_settings(config), ["stg_eautomate__customers"]).ok
    with Warehouse(config.parent / "warehouse.duckdb").connect(read_only=True) as con:
        (sync_off,) = con.execute(
            "SELECT count(*) FROM staging.stg_eautomate__customers WHERE sync_to_cw_property = 'No'"
        ).fetchone()
    assert sync_off >= 4


def unique():
    return f"N{uuid.uuid4().hex[:8].upper()}"


def _customers(config):
    with Warehouse(config.parent / "warehouse.duckdb").connect(read_only=True) as con:
        return con.execute(
            "SELECT customer_number, city, custom_properties FROM raw_eautomate.customers"
        ).fetchall()


def test_calls_and_technicians_land_incrementally(emulated, tmp_path, credentials, client):
    customer = client.add_customer({"CustomerNumber": unique(), "CustomerName": "Calls Co"})
    call = {"CustomerNumber": customer["CustomerNumber"], "UseUnknownEquipment": True}
    existing = client.add_call({**call, "Description": "Before"})["CallNumber"]
    config = config_in(tmp_path / "wh", emulated)
    first = land(config, "service-sync")
    calls = len(client.changes("calls", None).rows)
    assert landed(first)["calls"] == (calls, calls, 0, 0)
    assert landed(first)["technicians"][1] > 0
    made = client.add_call({**call, "Description": "After"})
    client.save_call(existing, {"HoldCode": "WP"})
    second = land(config, "service-sync")
    assert landed(second)["calls"] == (2, 1, 1, 0)
    assert landed(second)["technicians"] == (0, 0, 0, 0)
    with Warehouse(config.parent / "warehouse.duckdb").connect(read_only=True) as con:
        held, call_date = con.execute(
            "SELECT hold_code, (SELECT call_date FROM raw_eautomate.calls WHERE call_number = ?)"
            " FROM raw_eautomate.calls WHERE call_number = ?",
            [made["CallNumber"], existing],
        ).fetchone()
    assert held == "WP" and call_date.tzinfo is not None  # local time landed as UTC


def test_faults_and_dropped_connections_do_not_change_what_lands(
    emulated, tmp_path, credentials, ea_server, no_sleep
):
    # Small chunks, so that the runs make enough requests (about 50) for faults to bite.
    small = "\npage_size = 10\n"
    clean = config_in(tmp_path / "clean", emulated)
    faulty = config_in(tmp_path / "faulty", emulated)
    for path in (clean, faulty):
        path.write_text(
            path.read_text().replace('user = "api"', 'user = "api"' + small), encoding="utf-8"
        )
    # service-sync: the quickest flow that reads e-automate's delta lists and bulk details
    # (customer-sync and agreement-sync spend their time reading ConnectWise per parent).
    assert land(clean, "service-sync").status == "completed"
    before = dict(ea_server.faults.injected)
    ea_server.faults.configure(seed=11, error=0.1, drop=0.1, throttle=0.05, retry_after=0)
    try:
        run = land(faulty, "service-sync")
    finally:
        ea_server.faults.clear()
    assert run.status == "completed"
    injected = {k: v - before[k] for k, v in ea_server.faults.injected.items()}
    assert injected["error"] >= 2 and injected["drop"] >= 2 and injected["throttle"] >= 1
    for table in ("calls", "technicians"):
        rows = raw(faulty, table)
        assert rows and rows == raw(clean, table), table
