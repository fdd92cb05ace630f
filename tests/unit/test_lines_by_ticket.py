"""service-sync's push reads the labor lines of every ticket in one query and hands them
out one ticket at a time, a chunk in memory at a time (``flows.service_sync.push.ByTicket``)."""

import duckdb
import pytest

from flows.service_sync.push import ByTicket

# (ticket, entry, started): tickets 1, 2, 4 and 7 have lines; 2 has three.
LINES = [(7, 70, 1), (2, 22, 2), (1, 10, 1), (2, 21, 1), (4, 40, 1), (2, 23, 3), (9, 90, 1)]


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE TABLE lines (ticket_id INT, entry INT, started INT, kept BOOLEAN)")
    con.executemany("INSERT INTO lines VALUES (?, ?, ?, ?)", [(*r, r[0] != 9) for r in LINES])
    yield con
    con.close()


def entries(lines):
    return [line["entry"] for line in lines]


@pytest.mark.parametrize("chunk", [1, 2, 10_000])
def test_each_ticket_gets_its_lines_in_order_whatever_the_chunk(con, chunk, monkeypatch):
    monkeypatch.setattr(ByTicket, "CHUNK", chunk)
    by_ticket = ByTicket(con, "SELECT ticket_id, entry FROM lines WHERE kept", "started")
    got = {ticket: entries(by_ticket.get(ticket)) for ticket in (1, 2, 3, 4, 7, 9)}
    assert got == {1: [10], 2: [21, 22, 23], 3: [], 4: [40], 7: [70], 9: []}
    assert by_ticket.lines is None  # read to the end: its copy let go


def test_a_ticket_asked_again_or_behind_is_read_on_its_own(con, monkeypatch):
    monkeypatch.setattr(ByTicket, "CHUNK", 1)
    by_ticket = ByTicket(con, "SELECT ticket_id, entry FROM lines WHERE kept", "started")
    assert entries(by_ticket.get(4)) == [40]  # tickets 1 and 2 passed unasked
    assert entries(by_ticket.get(4)) == [40]
    assert entries(by_ticket.get(2)) == [21, 22, 23]
    assert entries(by_ticket.get(7)) == [70]
    by_ticket.close()
    assert by_ticket.lines is None
