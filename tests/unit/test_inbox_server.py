"""The inbox's server answers requests at once, each in its own thread: a connection a
browser opens ahead and leaves idle holds no other request, and a decision made while
another request reads waits for it instead of failing (DuckDB: one configuration per file
in a process)."""

import socket
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from crosswalk import decisions
from crosswalk.config import load_settings
from crosswalk.inbox import make_server
from crosswalk.inbox.web import Inbox, Request
from crosswalk.warehouse import Warehouse


@pytest.fixture
def settings(tmp_path, make_config):
    return load_settings(make_config(tmp_path))


def test_a_connection_left_idle_does_not_hold_the_next_request(settings):
    """Before (one request at a time): the GET waited for the idle connection to close."""
    server = make_server(settings, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)):
            url = f"http://127.0.0.1:{server.server_port}/"
            with urllib.request.urlopen(url, timeout=10) as answer:  # a hang guard only
                assert answer.status == 200
                assert "Nothing to show yet" in answer.read().decode()  # no run built it
    finally:
        server.shutdown()
        server.server_close()


def request(app: Inbox) -> Request:
    return Request(app, "GET", "/", {}, {}, app.sessions.new())


def test_a_decision_waits_for_a_request_reading_and_is_kept(settings):
    """Without waiting, DuckDB refuses the decision's read-write connection while the
    other request's read-only one is open."""
    app = Inbox(settings)
    app.warehouse.migrate()
    reading = request(app)
    assert reading.rows("SELECT count(*) AS n FROM sync.exclusions") == [{"n": 0}]

    def decide():
        with request(app).deciding() as con:
            decisions.exclude(con, "customer-sync", "eautomate", "C1", "test", by="me")

    with ThreadPoolExecutor(1) as pool:
        decided = pool.submit(decide)
        wait([decided], timeout=1)
        assert not decided.done()  # it waits while the other request reads
        reading.done_reading()
        decided.result(timeout=30)
    with Warehouse(settings.warehouse.path).connect(read_only=True) as con:
        kept = con.execute("SELECT record_key, excluded_by FROM sync.exclusions").fetchall()
    assert kept == [("C1", "me")]
