"""The parts extraction is fast with: pages read ahead by a thread, pages landed many to a
transaction (landing beside the reading), and progress logged every few seconds rather
than per page."""

import logging
import threading
from contextlib import nullcontext

import pytest

from crosswalk.entities import combine, validate
from crosswalk.progress import Progress
from crosswalk.sources import Page, prefetched
from schemas import connectwise


def pages(count, fail_at=None, read=None):
    for n in range(count):
        if n == fail_at:
            raise ConnectionError(f"page {n} could not be read")
        if read is not None:
            read.append(n)
        yield Page([{"n": n}])


def test_pages_read_ahead_arrive_in_order_and_in_full():
    assert [p.records[0]["n"] for p in prefetched(pages(7))] == list(range(7))


def test_an_error_reading_ahead_is_raised_where_its_page_would_have_come():
    seen = []
    with pytest.raises(ConnectionError, match="page 3"):
        for page in prefetched(pages(7, fail_at=3)):
            seen.append(page.records[0]["n"])
    assert seen == [0, 1, 2]


def test_leaving_early_stops_the_reader_within_its_read_ahead():
    read = []
    for page in prefetched(pages(1000, read=read), depth=2):
        if page.records[0]["n"] == 1:
            break
    assert not [t for t in threading.enumerate() if t.name == "crosswalk-prefetch"]
    assert len(read) <= 5  # two waiting, one in hand, one being put: never the rest


def company(id_, name, stamp):
    return {"id": id_, "identifier": f"C{id_}", "name": name, "_info": {"lastUpdated": stamp}}


def test_pages_combined_keep_the_last_row_read_of_a_key_and_every_reject():
    first = validate(
        connectwise.companies,
        [company(1, "old", "2026-01-01T00:00:00Z"), company(2, "", "2026-01-01T00:00:00Z")],
    )
    second = validate(
        connectwise.companies,
        [company(1, "new", "2026-01-02T00:00:00Z"), company(3, "x", "2026-01-03T00:00:00Z")],
    )
    both = combine(connectwise.companies, [first, second])
    assert both.table.column("id").to_pylist() == [1, 3]
    assert both.table.column("name").to_pylist() == ["new", "x"]
    assert [r.key for r in both.rejected] == ["2"]
    assert both.cursor == "2026-01-03T00:00:00+00:00"


def test_progress_is_logged_every_few_seconds_not_per_page(caplog):
    now = [0.0]
    progress = Progress(
        "connectwise.tickets: read", logging.getLogger("t"), every=5, clock=lambda: now[0]
    )
    with caplog.at_level(logging.INFO, logger="t"):
        for _ in range(10):  # ten pages, one second apart
            now[0] += 1
            progress.advance(1000, total=20_000)
        progress.close()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "connectwise.tickets: read: 5,000 of 20,000 records, 1,000 records/s",
        "connectwise.tickets: read: 10,000 of 20,000 records, 1,000 records/s",
        "connectwise.tickets: read: 10,000 of 20,000 records, 1,000 records/s",
    ]


class FivePages:
    """A source of five pages of one company each, a day apart, in cursor order."""

    def pages(self, entity, since, parents=None):
        for n in range(1, 6):
            yield Page([company(n, f"company {n}", f"2026-01-0{n}T00:00:00Z")], ordered=True)


class ById:
    """Five pages as ConnectWise reads them, in id order: the first record changed last."""

    def pages(self, entity, since, parents=None):
        for n in range(1, 6):
            yield Page([company(n, f"company {n}", f"2026-01-0{6 - n}T00:00:00Z")])


def extract(source, fail_at, make_config, tmp_path, monkeypatch):
    """Companies read from ``source`` and landed in batches of two pages, the landing of
    batch ``fail_at`` failing (None: none fails). Returns, per landing attempt, its thread,
    the ids it held and its watermark, and the settings of the run's warehouse."""
    from prefect.logging import disable_run_logger

    from crosswalk import pipeline
    from crosswalk.config import load_settings
    from crosswalk.warehouse import Warehouse

    monkeypatch.setattr(pipeline, "LAND_ROWS", 2)  # batches of pages 1-2, 3-4 and 5
    landings = []
    land = Warehouse.land

    def landing(self, system, entity, key, batch, run_id, rejected=(), watermark=None):
        ids = batch.column("id").to_pylist()
        landings.append((threading.current_thread().name, ids, watermark))
        if len(landings) == fail_at:
            raise OSError("disk full")
        return land(self, system, entity, key, batch, run_id, rejected, watermark)

    monkeypatch.setattr(Warehouse, "land", landing)
    settings = load_settings(make_config(tmp_path))
    entity = connectwise.companies
    with (
        disable_run_logger(),
        pytest.raises(OSError, match="disk full") if fail_at else nullcontext(),
        pipeline.flow_run_recorded("customer-sync", settings, [entity], False, False) as run,
    ):
        run.landed.append(pipeline.extract_and_land.fn(run, source, entity))
    return landings, settings


@pytest.mark.parametrize("fail_at", [None, 2])
def test_batches_land_in_order_beside_the_reading_and_a_failed_one_stops_the_read(
    make_config, credentials, tmp_path, monkeypatch, fail_at
):
    """A batch of pages lands in a thread of its own while the next pages are read and
    validated: batches land one at a time in the order read, each with the watermark of its
    last page; a batch that fails to land raises from the extraction and leaves the batches
    before it, with their watermark, and nothing after it."""
    from crosswalk.warehouse import Warehouse

    landings, settings = extract(FivePages(), fail_at, make_config, tmp_path, monkeypatch)
    batches = [[1, 2], [3, 4], [5]][: fail_at or 3]
    assert [ids for _, ids, _ in landings] == batches
    assert all(name.startswith("crosswalk-land") for name, _, _ in landings)
    kept = [1, 2] if fail_at else [1, 2, 3, 4, 5]
    warehouse = Warehouse(settings.warehouse.path)
    with warehouse.connect(read_only=True) as con:
        landed = [
            i
            for (i,) in con.execute(
                "SELECT id FROM raw_connectwise.companies ORDER BY id"
            ).fetchall()
        ]
    assert landed == kept
    assert warehouse.watermark("connectwise", "companies").startswith(f"2026-01-0{kept[-1]}")


@pytest.mark.parametrize("fail_at", [None, 2])
def test_pages_in_id_order_move_the_watermark_only_once_all_are_read(
    make_config, credentials, tmp_path, monkeypatch, fail_at
):
    """The first batch holds the latest change (company 1, changed on the 5th): had its
    cursor been the watermark, a run stopped after it would next read from the 5th and
    never read companies 3 to 5 (changed on the 1st to the 3rd). The watermark moves once
    every page is read, to the latest cursor of them all."""
    from crosswalk.warehouse import Warehouse

    landings, settings = extract(ById(), fail_at, make_config, tmp_path, monkeypatch)
    watermarks = [watermark for _, _, watermark in landings]
    stored = Warehouse(settings.warehouse.path).watermark("connectwise", "companies")
    if fail_at:
        assert watermarks == [None, None] and stored is None  # the next run reads it all again
    else:
        assert watermarks[:2] == [None, None] and watermarks[-1].startswith("2026-01-05")
        assert stored.startswith("2026-01-05")


def test_what_a_command_imports_is_frozen_out_of_the_collectors_passes():
    """The collector is off while the imports are made, on again afterwards (a failed
    import too), and what they made is frozen: later full passes look only at what a run
    makes. In a process that froze before (a command run again, as here: the tests'
    collection froze its imports), garbage left since is collected, not frozen."""
    import gc
    import weakref

    from crosswalk.cli import imports_kept

    class Left:
        pass

    gc.disable()  # no pass but the block's own collects what is left below
    try:
        left = Left()
        left.itself = left  # a cycle: only the collector frees it
        collected = []
        weakref.finalize(left, collected.append, "left")
        del left
        frozen = gc.get_freeze_count()
        assert frozen  # tests/conftest.py froze what collection imported
        with pytest.raises(ImportError), imports_kept():
            assert not gc.isenabled()
            made = [[] for _ in range(1000)]  # each list is tracked  # noqa: F841
            raise ImportError("a module that would not import")
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + 1000
        assert collected == ["left"]
    finally:
        gc.enable()


def test_what_a_run_holds_while_it_reads_brings_no_full_pass_every_few_pages():
    """Once a command has frozen its imports, objects that outlive the young passes (a
    run's pages while they are validated and landed) bring a full pass only after
    ``FULL_PASS_AFTER`` middle ones: none for 300,000 of them, where Python's default
    thresholds bring several."""
    import gc

    from crosswalk.cli import FULL_PASS_AFTER, freeze_kept

    full = []

    def counted(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(info)

    def full_passes_holding(count: int) -> int:
        full.clear()
        held = [[] for _ in range(count)]  # each list is tracked, and kept
        del held
        return len(full)

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # Python's default
        freeze_kept()
        assert gc.get_threshold() == (700, 10, FULL_PASS_AFTER)
        gc.callbacks.append(counted)
        assert full_passes_holding(300_000) == 0
        gc.set_threshold(700, 10, 10)
        assert full_passes_holding(300_000) >= 2
    finally:
        if counted in gc.callbacks:
            gc.callbacks.remove(counted)
        gc.set_threshold(*saved)


@pytest.fixture
def answering():
    """A local server answering each GET with the body its path names: ``/whole`` 3 MB of
    JSON, ``/cut`` a body that ends before its Content-Length."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    whole = json.dumps([{"id": n, "name": "x" * 100} for n in range(30_000)]).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(whole)))
            self.end_headers()
            self.wfile.write(whole if self.path == "/whole" else whole[:5000])
            self.wfile.flush()
            if self.path != "/whole":
                self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", whole
    server.shutdown()
    server.server_close()


def test_a_body_is_read_a_megabyte_at_a_time_and_a_cut_one_fails_as_requests_fails(
    answering, monkeypatch
):
    """Answers are read in reads of ``BODY_CHUNK`` (not requests' 10 kB), whole; a body
    that ends early fails with the error requests itself raises for it."""
    import requests

    from crosswalk.http import BODY_CHUNK, HttpClient, body

    url, whole = answering
    sizes = []
    iter_content = requests.Response.iter_content

    def counted(self, chunk_size=1, decode_unicode=False):
        for chunk in iter_content(self, chunk_size, decode_unicode):
            sizes.append(chunk_size)
            yield chunk

    monkeypatch.setattr(requests.Response, "iter_content", counted)
    client = HttpClient("test", url)
    response = client.request("GET", "whole")
    assert response.content == whole and len(body(response)) == 30_000
    assert set(sizes) == {BODY_CHUNK} and len(sizes) == -(-len(whole) // BODY_CHUNK)
    monkeypatch.undo()
    with pytest.raises(requests.RequestException) as by_requests:
        requests.get(f"{url}/cut", timeout=10)
    with pytest.raises(type(by_requests.value)):
        client.request("GET", "cut")
