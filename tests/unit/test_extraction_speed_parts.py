"""The parts extraction is fast with: pages read ahead by a thread, pages landed many to a
transaction, and progress logged every few seconds rather than per page."""

import logging
import threading

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
