"""Extraction from the ConnectWise emulator through the flows' landing steps (no dbt):
incremental reads land exactly the changed records, an unchanged rerun costs one request
per entity, and injected faults do not change what lands."""

import pytest

from crosswalk.connectwise import ConnectWise
from crosswalk.http import NotFound
from crosswalk.sources import ConnectWiseSource
from crosswalk.warehouse import Warehouse
from schemas.connectwise import companies, tickets

from ..conftest import CW_HEADERS, land


@pytest.fixture
def api_config(emulated, tmp_path, credentials):
    """The configuration ``emulators serve`` wrote, with a warehouse of this test's own."""
    path = tmp_path / "crosswalk.toml"
    text = emulated.config.read_text(encoding="utf-8")
    path.write_text(text + "\n[extract]\noverlap_minutes = 0\n", encoding="utf-8")
    return path


def landed(run):
    return {r.entity: (r.read, r.inserted, r.updated, r.quarantined) for r in run.landed}


def raw(config, table):
    with Warehouse(config.parent / "warehouse.duckdb").connect(read_only=True) as con:
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'raw_connectwise' AND table_name = ? "
                "AND column_name NOT IN ('_loaded_at', '_run_id')",
                [table],
            ).fetchall()
        ]
        return con.execute(
            f"SELECT {', '.join(columns)} FROM raw_connectwise.{table} ORDER BY id"
        ).fetchall()


def test_incremental_extraction_lands_exactly_the_changes(api_config, cw_server):
    client = ConnectWise(
        cw_server.url, "dealer", "demo-public", "demo-private", CW_HEADERS["clientId"]
    )
    first = land(api_config, "customer-sync")
    companies = client.count("company/companies")
    assert landed(first)["companies"][:2] == (companies, companies)
    assert landed(first)["sites"][1] == len(raw(api_config, "sites")) > 0

    before = len(cw_server.requests)
    second = land(api_config, "customer-sync")
    calls = [r for r in list(cw_server.requests)[before:] if "/apis/3.0/" in r.path]
    assert [r.path.rsplit("/", 1)[-1] for r in calls] == ["companies"]
    assert all(inserted == updated == 0 for _, inserted, updated, _ in landed(second).values())

    target = raw(api_config, "companies")[0][0]
    client.patch("company/companies", target, {"name": "Changed Incrementally"})
    third = land(api_config, "customer-sync")
    assert landed(third)["companies"][1:3] == (0, 1)
    assert landed(third)["sites"][1:3] == (0, 0) and landed(third)["sites"][0] > 0
    names = {row[0]: row for row in raw(api_config, "companies")}
    assert "Changed Incrementally" in names[target]


def test_a_whole_read_says_how_many_records_it_holds_and_a_read_of_changes_asks_nothing_more(
    cw_server,
):
    """The count a first run's progress shows, one request more once the first page is
    full (a short one is the whole read); none for changes."""
    client = ConnectWise(
        cw_server.url, "dealer", "demo-public", "demo-private", CW_HEADERS["clientId"],
        page_size=100,
    )  # fmt: skip
    source = ConnectWiseSource(client)
    assert client.api  # the codebase found once, before the requests counted
    before = len(cw_server.requests)
    pages = list(source.pages(tickets, None))
    assert len(pages) > 1
    assert {p.total for p in pages} == {sum(len(p.records) for p in pages)}
    assert len(cw_server.requests) == before + len(pages) + 1
    client.page_size = 1000
    before = len(cw_server.requests)
    (whole,) = source.pages(companies, None)  # fewer than a page
    assert whole.total == len(whole.records) and len(cw_server.requests) == before + 1
    before = len(cw_server.requests)
    changed = list(source.pages(tickets, "2100-01-01T00:00:00Z"))
    assert [p.total for p in changed] == [] and len(cw_server.requests) == before + 1
    client.page_size = 100

    def refused(path, conditions=None):
        raise NotFound("connectwise", "no count here", status=404)

    client.count = refused  # a count refused costs the total, not the read
    assert [p.records for p in source.pages(tickets, None)] == [p.records for p in pages]
    assert {p.total for p in source.pages(tickets, None)} == {None}


def test_faults_do_not_change_what_lands(emulated, tmp_path, credentials, no_sleep):
    server = emulated.servers["connectwise"]
    text = emulated.config.read_text(encoding="utf-8")
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    # Small pages, so that the run makes enough requests (about 80) for faults to bite.
    text = text.replace('company = "dealer"', 'company = "dealer"\npage_size = 50')
    for folder in (clean, faulty):
        folder.mkdir()
        (folder / "crosswalk.toml").write_text(text, encoding="utf-8")
    land(clean / "crosswalk.toml", "service-sync")
    before = dict(server.faults.injected)
    server.faults.configure(seed=2, throttle=0.2, error=0.05, retry_after=0)
    try:
        run = land(faulty / "crosswalk.toml", "service-sync")
    finally:
        server.faults.clear()
    assert run.status == "completed"
    injected = {k: v - before[k] for k, v in server.faults.injected.items()}
    assert injected["throttle"] >= 5 and injected["error"] >= 1
    for table in ("tickets", "time_entries", "members"):
        assert raw(faulty / "crosswalk.toml", table) == raw(clean / "crosswalk.toml", table)
