"""The emulator framework as an operator meets it: `crosswalk emulators serve`, the
configuration it writes, state that survives a restart, and fault settings."""

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import requests

from crosswalk.config import load_settings
from crosswalk.connectwise import ConnectWise
from emulators import framework, serve
from emulators.framework import Faults, Store, documents, parse_faults

from ..conftest import CW_HEADERS


def test_the_written_configuration_loads_and_points_at_the_emulators(emulated, credentials):
    settings = load_settings(emulated.config)
    assert settings.systems.connectwise.base_url == emulated.url("connectwise")
    assert settings.warehouse.path == emulated.data / "warehouse.duckdb"
    secrets = settings.resolve_secrets(["connectwise", "eautomate", "operate", "connect"])
    assert secrets["connectwise"]["private_key"].get_secret_value() == "demo-private"
    assert "demo-private" not in emulated.config.read_text()


def test_state_survives_a_restart(tmp_path):
    with serve.start(tmp_path, seed=5, scale="small", port_base=0) as first:
        client = ConnectWise(first.url("connectwise"), "dealer", "demo-public", "demo-private",
                             CW_HEADERS["clientId"])  # fmt: skip
        created = client.create("company/companies", {"identifier": "KEEPME", "name": "Kept"})
    with serve.start(tmp_path, seed=5, scale="small", port_base=0) as second:
        client = ConnectWise(second.url("connectwise"), "dealer", "demo-public", "demo-private",
                             CW_HEADERS["clientId"])  # fmt: skip
        assert client.get("company/companies", created["id"])["name"] == "Kept"
    with pytest.raises(ValueError, match="seed 5 at scale small"):
        serve.start(tmp_path, seed=6, scale="small", port_base=0)


def test_what_a_store_keeps_is_made_again_after_each_write_and_only_then(tmp_path):
    """``Store.kept`` answers what it made until the store changes: a committed write
    (its generation moves on while the commit lands and again after) or a restore; a
    write that fails changes nothing and leaves it."""
    store = Store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    made = []

    def count(cur):
        made.append(cur.execute("SELECT count(*) FROM t").fetchone()[0])
        return made[-1]

    first = store.kept("t", count)
    assert store.kept("t", count) == first and made == [0]
    with store.write() as cur:
        cur.execute("INSERT INTO t VALUES (1)")
        assert store.generation == first[0]  # nothing committed yet
    second = store.kept("t", count)
    assert second[1] == 1 and second[0] == first[0] + 2 and made == [0, 1]
    with pytest.raises(duckdb.ConstraintException), store.write() as cur:
        cur.execute("INSERT INTO t VALUES (2)")
        cur.execute("INSERT INTO t VALUES (NULL)")  # x is NOT NULL
    assert store.kept("t", count) == second and made == [0, 1]
    store.save(tmp_path / "saved.duckdb")
    store.restore(tmp_path / "saved.duckdb")
    assert store.kept("t", count)[1] == 1 and made == [0, 1, 1]
    store.close()


def test_a_tables_documents_are_kept_once_asked_for_between_two_writes(tmp_path, monkeypatch):
    """``Store.kept_once_asked`` makes what it keeps only on the ``times``-th asking in
    one generation (reads between writes never make it) and lets an older one go;
    ``documents`` holds each row's document by row id, none for a table over the bound."""
    store = Store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.execute("CREATE TABLE t (id INTEGER, doc VARCHAR)")
        cur.execute("""INSERT INTO t VALUES (1, '{"n":"Zoë"}'), (2, '{}'), (3, '[]')""")
    with store.write() as cur:
        cur.execute("DELETE FROM t WHERE id = 2")
    made = []

    def by_rowid(encoded: bool) -> list:
        found = dict(store.query("SELECT rowid, doc FROM t"))
        return [
            (d.encode() if encoded else d) if (d := found.get(r)) else None
            for r in range(max(found) + 1)
        ]

    def make(cur):
        made.append(store.generation)
        return documents(cur, "t", encoded=True)

    assert [store.kept_once_asked("t", make, 3) for _ in range(2)] == [None, None]
    generation, docs = store.kept_once_asked("t", make, 3)
    assert docs == by_rowid(encoded=True) and made == [generation]
    assert [d for d in docs if d] == ['{"n":"Zoë"}'.encode(), b"[]"]
    assert store.kept_once_asked("t", make, 3) == (generation, docs) and len(made) == 1
    with store.write() as cur:
        cur.execute("""INSERT INTO t VALUES (4, '{"n":4}')""")
    assert store.kept_once_asked("t", make, 3) is None
    assert store.kept("t", lambda cur: None)[1] is None  # the older one let go
    with store.write() as cur:  # asked once in each generation: never made
        cur.execute("""INSERT INTO t VALUES (5, '{"n":5}')""")
    assert store.kept_once_asked("t", make, 3) is None and len(made) == 1
    with store.write() as cur:
        assert documents(cur, "t", encoded=False) == by_rowid(encoded=False)
        monkeypatch.setattr(framework, "KEEP_DOCUMENTS_ROWS", 3)
        assert documents(cur, "t", encoded=False) is None
    store.close()


def _staging_store(path: Path) -> Store:
    store = Store(path)
    with store.write() as cur:
        cur.execute("CREATE SCHEMA s")
        cur.execute("CREATE TABLE s.t (id INTEGER NOT NULL, n INTEGER, doc VARCHAR)")
        cur.execute("CREATE TABLE s.log (id INTEGER, text VARCHAR)")
        cur.execute("INSERT INTO s.t VALUES (1, 10, 'one'), (2, 20, 'two')")
    return store


def _stored(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_rows_a_write_stages_are_answered_at_once_and_land_together(tmp_path, monkeypatch):
    """A write may stage rows rather than write them: they are found by key at once (over
    what is stored), land in DuckDB before any statement that names their table (and only
    theirs), and what the same key had staged is merged in order."""
    monkeypatch.setattr(framework, "STAGE_SECONDS", 60)
    store = _staging_store(tmp_path / "state.duckdb")
    before = store.generation
    with store.write() as cur:
        cur.stage("s.t", {"id": 1, "doc": "one, changed"}, key="id")
        cur.stage("s.t", {"id": 3, "n": 30, "doc": "three"}, key="id", new=True)
        cur.stage("s.log", {"id": 1, "text": "changed"})
        assert cur.by_key("s.t", "id", 1, ("doc", "n")) == ("one, changed", 10)
        assert cur.execute("SELECT count(*) FROM s.t").fetchone() == (2,)  # not its own
    assert store.generation == before + 2
    with store.write() as cur:
        # A read of the store within a write is the write's: it lands what waits for s.t.
        assert store.one("SELECT doc FROM s.t WHERE id = 1") == ("one, changed",)
        assert cur.execute("SELECT count(*) FROM s.t").fetchone() == (3,)  # landed once
        cur.stage("s.t", {"id": 3, "doc": "three, changed"}, key="id")
        cur.stage("s.t", {"id": 1, "n": 11}, key="id")
        cur.stage("s.log", {"id": 3, "text": "changed"})
    assert store.by_key("s.t", "id", 1, ("n", "doc")) == (11, "one, changed")
    assert store.by_key("s.t", "id", 3, ("n", "doc")) == (30, "three, changed")
    assert store.by_key("s.t", "id", 2, ("doc",)) == ("two",)
    assert store.by_key("s.t", "id", 4, ("doc",)) is None
    assert _in_duckdb(store, "SELECT * FROM s.t ORDER BY id") == [
        (1, 10, "one, changed"),
        (2, 20, "two"),
        (3, 30, "three"),
    ]
    statements, write = [], framework.Staged.write

    def counted(staged, cur, table):
        statements.append(table)
        write(staged, cur, table)

    monkeypatch.setattr(framework.Staged, "write", counted)
    assert store.query("SELECT id, n, doc FROM s.t ORDER BY id") == [
        (1, 11, "one, changed"),
        (2, 20, "two"),
        (3, 30, "three, changed"),
    ]
    assert statements == ["s.t"] and list(store.staged) == ["s.log"]
    assert store.one("SELECT count(*) FROM s.t") == (3,) and statements == ["s.t"]
    assert store.column("SELECT text FROM s.log ORDER BY rowid") == ["changed", "changed"]
    assert store.query("SELECT id FROM s.log ORDER BY rowid") == [(1,), (3,)]
    assert store.staged == {} and statements == ["s.t", "s.log"]
    store.close()


def test_a_table_named_quoted_or_in_capitals_is_named(tmp_path, monkeypatch):
    """However a statement spells a table (the fault cycle's snapshot quotes each name),
    what waits for it lands first, and a write that names it lets go what was kept."""
    monkeypatch.setattr(framework, "STAGE_SECONDS", 60)
    store = _staging_store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.stage("s.log", {"id": 1, "text": "a"})
    assert store.query('SELECT text FROM "s"."log"') == [("a",)]
    with store.write() as cur:
        cur.stage("s.log", {"id": 2, "text": "b"})
    assert store.one("SELECT count(*) FROM S.LOG") == (2,)
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("one",)
    with store.write() as cur:
        cur.execute("""UPDATE "s"."t" SET doc = 'uno' WHERE id = 1""")
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("uno",)
    store.close()


def test_staged_rows_wait_for_a_write_that_failed_after_landing_them(tmp_path, monkeypatch):
    """A write whose statement landed other writes' staged rows in its transaction and
    then failed lets them wait again (none lost, none twice); its own staged rows go."""
    monkeypatch.setattr(framework, "STAGE_SECONDS", 60)
    store = _staging_store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.stage("s.log", {"id": 1, "text": "kept"})
        cur.stage("s.t", {"id": 2, "doc": "two, changed"}, key="id")
    with pytest.raises(duckdb.ConstraintException), store.write() as cur:
        cur.execute("INSERT INTO s.log SELECT id, doc FROM s.t")  # lands what both staged
        cur.stage("s.log", {"id": 9, "text": "never"})
        cur.execute("INSERT INTO s.t VALUES (NULL, 0, 'no')")  # id is NOT NULL
    assert sorted(store.staged) == ["s.log", "s.t"]
    assert store.by_key("s.t", "id", 2, ("doc",)) == ("two, changed",)
    store.close()  # lands what waits
    assert _stored(store.path, "SELECT text FROM s.log") == [("kept",)]
    assert _stored(store.path, "SELECT doc FROM s.t ORDER BY id") == [("one",), ("two, changed",)]


def test_staged_rows_land_on_their_own_after_a_while_or_once_many_wait(tmp_path, monkeypatch):
    monkeypatch.setattr(framework, "STAGE_SECONDS", 0.2)
    monkeypatch.setattr(framework, "STAGE_ROWS", 3)
    store = _staging_store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.stage("s.log", {"id": 1, "text": "a"})
    assert "s.log" in store.staged
    deadline = time.monotonic() + 10
    while store.staged and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.staged == {}
    assert store.query("SELECT text FROM s.log") == [("a",)]
    monkeypatch.setattr(framework, "STAGE_SECONDS", 60)
    for n in range(3):
        with store.write() as cur:
            cur.stage("s.log", {"id": n, "text": "b"})
    assert store.staged == {}  # the third made three: landed with it
    assert _in_duckdb(store, "SELECT count(*) FROM s.log") == [(4,)]
    with store.write() as cur:
        cur.stage("s.log", {"id": 9, "text": "c"})
    store.save(tmp_path / "saved.duckdb")  # a save lands them first
    assert store.staged == {} and _in_duckdb(store, "SELECT count(*) FROM s.log") == [(5,)]
    with store.write() as cur:
        cur.stage("s.log", {"id": 10, "text": "let go"})
    store.restore(tmp_path / "saved.duckdb")  # the state saved, without what came after
    assert store.staged == {} and store.one("SELECT count(*) FROM s.log") == (5,)
    store.close()


def test_a_row_found_by_key_is_kept_until_a_write_names_its_table_or_its_rows_land(tmp_path):
    store = _staging_store(tmp_path / "state.duckdb")
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("one",)
    with store._con.cursor() as cur:  # behind the store's back: what it kept answers
        cur.execute("UPDATE s.t SET doc = 'one, changed' WHERE id = 1")
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("one",)
    with store.write() as cur:  # names another table only
        cur.execute("SELECT count(*) FROM s.log").fetchone()
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("one",)
    with store.write() as cur:
        cur.execute("SELECT count(*) FROM s.t").fetchone()
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("one, changed",)
    with store.write() as cur:
        assert cur.by_key("s.t", "id", 2, ("n",)) == (20,)  # kept too: read before any change
        cur.execute("UPDATE s.t SET n = 21 WHERE id = 2")
        assert cur.by_key("s.t", "id", 2, ("n",)) == (21,)  # the write's own change
    assert store.by_key("s.t", "id", 2, ("n",)) == (21,)
    with store.write() as cur:
        cur.stage("s.t", {"id": 2, "n": 22}, key="id")
    # Read while staged: the stored row is read for the column not staged (and kept) ...
    assert store.by_key("s.t", "id", 2, ("n", "doc")) == (22, "two")
    with store._con.cursor() as cur:
        cur.execute("UPDATE s.t SET doc = 'two, changed' WHERE id = 2")
    with store.write() as cur:  # a write that stages a row keeps what was found ...
        cur.stage("s.t", {"id": 2, "n": 23}, key="id")
    assert store.by_key("s.t", "id", 2, ("n", "doc")) == (23, "two")
    store.flush()  # ... which is let go once the staged rows have landed
    assert store.by_key("s.t", "id", 2, ("n", "doc")) == (23, "two, changed")
    store.close()


def test_a_small_table_asked_for_rows_it_has_not_kept_is_read_whole(tmp_path, monkeypatch):
    """After ``FILL_AFTER`` rows asked for and not kept, and one in ``FILL_COST`` of its
    rows, a table of at most ``FOUND_ROWS`` rows is read whole for the columns asked:
    its other rows, and the absence of a row, are answered from memory until a write
    names the table; a larger table is read a row at a time. A write that reads by key
    and stages begins no DuckDB transaction of its own."""
    store = _staging_store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.execute("INSERT INTO s.t VALUES (3, 30, 'three'), (4, 40, 'four')")
    assert [store.by_key("s.t", "id", n, ("doc",)) for n in (1, 2)] == [("one",), ("two",)]
    with store._con.cursor() as cur:  # behind the store's back
        cur.execute("UPDATE s.t SET doc = 'changed' WHERE id IN (1, 4)")
    assert store.by_key("s.t", "id", 3, ("doc",)) == ("three",)  # the third: read whole
    with store._con.cursor() as cur:
        cur.execute("UPDATE s.t SET doc = 'after it' WHERE id = 4")
        cur.execute("INSERT INTO s.t VALUES (5, 50, 'came later')")
    assert store.by_key("s.t", "id", 4, ("doc",)) == ("changed",)  # as read whole
    assert store.by_key("s.t", "id", 5, ("doc",)) is None  # no such row when it was read
    assert store.by_key("s.t", "id", 1, ("doc",)) == ("changed",)  # the newer read
    assert store.by_key("s.t", "id", 1, ("n",)) == (10,)  # other columns: asked anew
    with store.write() as cur:
        assert cur.by_key("s.t", "id", 4, ("doc",)) == ("changed",)
        cur.stage("s.t", {"id": 4, "doc": "staged"}, key="id")
        assert cur._cur is None  # no statement, no transaction
    assert store.by_key("s.t", "id", 4, ("doc",)) == ("staged",)
    with store.write() as cur:
        cur.execute("DELETE FROM s.t WHERE id = 3")
    assert store.by_key("s.t", "id", 5, ("doc",)) == ("came later",)
    monkeypatch.setattr(framework, "FILL_COST", 1)  # whole once asked as often as it has rows
    with store.write() as cur:  # names the table: let go (six rows now)
        cur.execute("INSERT INTO s.t VALUES (6, 60, 'six'), (7, 70, 'seven')")
    for n in (1, 2, 4):
        store.by_key("s.t", "id", n, ("doc",))
    with store._con.cursor() as cur:
        cur.execute("INSERT INTO s.t VALUES (8, 80, 'eight')")
    assert store.by_key("s.t", "id", 8, ("doc",)) == ("eight",)  # four asks: by key
    assert store.by_key("s.t", "id", 9, ("doc",)) is None
    assert store.by_key("s.t", "id", 5, ("doc",)) == ("came later",)  # the sixth: whole
    with store._con.cursor() as cur:
        cur.execute("INSERT INTO s.t VALUES (10, 100, 'ten')")
    assert store.by_key("s.t", "id", 10, ("doc",)) is None
    monkeypatch.setattr(framework, "FOUND_ROWS", 2)
    with store.write() as cur:  # named: what was kept is let go
        cur.execute("SELECT count(*) FROM s.t").fetchone()
    for n in (1, 2, 4):
        store.by_key("s.t", "id", n, ("doc",))
    with store._con.cursor() as cur:
        cur.execute("UPDATE s.t SET doc = 'read by key' WHERE id = 5")
    assert store.by_key("s.t", "id", 5, ("doc",)) == ("read by key",)  # over 2 rows: by key
    store.close()


def test_rows_appended_as_arrow_land_together_and_then_follows_a_commit(tmp_path, monkeypatch):
    """Arrow tables a write appends wait with the table's other staged rows and land in
    one statement, in order; ``then`` runs once the write has committed, never for one
    that failed."""
    monkeypatch.setattr(framework, "STAGE_SECONDS", 60)
    store = _staging_store(tmp_path / "state.duckdb")
    done = []
    for first in (1, 3):
        with store.write() as cur:
            cur.append("s.log", pa.table({"id": [first, first + 1], "text": ["a", "b"]}))
            cur.then(lambda first=first: done.append((first, store.generation)))
            assert len(done) == first // 2  # not yet
        assert done[-1] == (first, store.generation)  # the commit's generation
    assert len(store.staged["s.log"]) == 4 and _in_duckdb(store, "SELECT * FROM s.log") == []
    with pytest.raises(duckdb.ConstraintException), store.write() as cur:
        cur.then(lambda: done.append("failed"))
        cur.append("s.log", pa.table({"id": [9], "text": ["never"]}))
        cur.execute("INSERT INTO s.t VALUES (NULL, 0, 'no')")  # id is NOT NULL
    assert len(done) == 2
    registered, register = [], framework._registered

    def counted(cur, rows):
        registered.append(rows.num_rows)
        return register(cur, rows)

    monkeypatch.setattr(framework, "_registered", counted)
    assert store.query("SELECT id, text FROM s.log ORDER BY rowid") == [
        (1, "a"), (2, "b"), (3, "a"), (4, "b"),
    ]  # fmt: skip
    assert registered == [4]  # both appends in one statement
    store.close()


def test_every_row_by_a_key_is_kept_until_a_write_names_its_table(tmp_path):
    """``all_by`` reads the rows a key names (a location's accounts) once, and again
    after a write that names their table; a table with staged rows is read by key."""
    store = _staging_store(tmp_path / "state.duckdb")
    with store.write() as cur:
        cur.execute("INSERT INTO s.t VALUES (3, 10, 'three')")
    assert sorted(store.all_by("s.t", "n", 10, ("id",))) == [(1,), (3,)]
    with store._con.cursor() as cur:  # behind the store's back: what it kept answers
        cur.execute("UPDATE s.t SET n = 10 WHERE id = 2")
    with store.write() as cur:
        assert sorted(cur.all_by("s.t", "n", 10, ("id",))) == [(1,), (3,)]
        cur.execute("SELECT count(*) FROM s.log").fetchone()  # names another table only
    assert sorted(store.all_by("s.t", "n", 10, ("id",))) == [(1,), (3,)]
    with store.write() as cur:
        cur.execute("UPDATE s.t SET doc = 'uno' WHERE id = 1")
    assert sorted(store.all_by("s.t", "n", 10, ("id",))) == [(1,), (2,), (3,)]
    assert store.all_by("s.t", "n", 99, ("id",)) == []
    with store.write() as cur:
        cur.stage("s.t", {"id": 1, "n": 11}, key="id")
        with pytest.raises(ValueError, match="staged rows"):
            cur.all_by("s.t", "n", 10, ("id",))
    store.close()


def _in_duckdb(store: Store, sql: str) -> list[tuple]:
    with store._con.cursor() as cur:  # what DuckDB holds, no staged rows landed first
        return cur.execute(sql).fetchall()


def test_fault_settings_are_parsed_and_checked():
    assert parse_faults("throttle=0.2, error=0.05") == {"throttle": 0.2, "error": 0.05}
    with pytest.raises(ValueError, match="KIND=RATE"):
        parse_faults("teapot=1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(error=2)


def test_serve_command_runs_until_terminated(tmp_path):
    data = tmp_path / "served"
    config = data / "crosswalk.toml"
    printed = tmp_path / "serve.out"
    crosswalk = str(Path(sys.executable).parent / "crosswalk")
    # --port-base 0: the server binds free ports itself; the configuration names them and
    # is written whole before any of them answers.
    with printed.open("w") as out:
        process = subprocess.Popen(
            [crosswalk, "emulators", "serve", "--data", str(data), "--seed", "2",
             "--port-base", "0", "--faults", "slow=0"],
            stdout=out, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
    deadline = time.monotonic() + 120

    def waiting(what: str) -> None:
        assert process.poll() is None, printed.read_text()
        assert time.monotonic() < deadline, f"{what} within 120 s:\n{printed.read_text()}"
        time.sleep(0.2)

    try:
        while not config.exists():
            waiting("no configuration written")
        url = tomllib.loads(config.read_text())["systems"]["connectwise"]["base_url"]
        while True:
            try:
                info = requests.get(f"{url}/login/companyinfo/dealer", timeout=5)
                break
            except requests.ConnectionError:  # bound, not yet listening
                waiting(f"{url} did not answer")
        assert info.json()["Codebase"] == "v4_6_release/"
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        while "stop with Ctrl-C" not in printed.read_text():  # all it prints, printed
            waiting("the command did not finish printing")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    output = printed.read_text()
    assert process.returncode == 0, output
    assert f"connectwise  {url}" in output
    assert str(config) in output.replace("\n", "")
    assert "export CROSSWALK_CW_PRIVATE_KEY=demo-private" in output
    assert "stopped; state kept in" in output
    assert (data / "logs" / "connectwise.log").read_text().count("/login/companyinfo/dealer") >= 1


def test_a_client_that_drops_its_connection_mid_request_prints_no_traceback(cw_server, capfd):
    """A killed client resets its connection while the emulator reads its request: the
    emulator goes on without a word, as a real server's log would."""
    import socket
    import struct

    capfd.readouterr()
    with socket.create_connection(("127.0.0.1", cw_server.port)) as client:
        client.sendall(b"POST /v4_6_release/apis/3.0/company/companies HTTP/1.1\r\n"
                       b"Host: x\r\nContent-Length: 1000\r\n\r\n{")  # fmt: skip
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.5)  # the emulator's thread reads, and meets the reset
    assert requests.get(f"{cw_server.url}/", timeout=5) is not None  # still serving
    assert "Traceback" not in capfd.readouterr().err
