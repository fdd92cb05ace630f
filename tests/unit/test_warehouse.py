"""Landing: merge by key, quarantine, and watermarks that move with their rows."""

import json

import duckdb
import pyarrow as pa
import pytest

from crosswalk import warehouse as warehouse_module
from crosswalk.entities import Rejected, validate
from crosswalk.warehouse import Streamed, Warehouse
from schemas import connectwise


@pytest.fixture
def warehouse(tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    wh.migrate()
    return wh


def batch(*rows):
    return pa.table({"id": [r[0] for r in rows], "name": [r[1] for r in rows]})


def rows(wh, sql):
    with wh.connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def test_migrate_is_repeatable(warehouse):
    assert warehouse.migrate() == warehouse.migrate()
    tables = {
        t
        for (t,) in rows(
            warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'sync'"
        )
    }
    assert {"watermarks", "quarantine", "runs", "run_entities", "schema_version"} <= tables


def test_relanding_the_same_batch_changes_nothing(warehouse):
    first = warehouse.land("test", "things", ["id"], batch((1, "a"), (2, "b")), "run-1")
    before = rows(warehouse, "SELECT * FROM raw_test.things ORDER BY id")
    again = warehouse.land("test", "things", ["id"], batch((1, "a"), (2, "b")), "run-2")
    assert (first.inserted, first.updated) == (2, 0)
    assert (again.landed, again.inserted, again.updated) == (2, 0, 0)
    assert rows(warehouse, "SELECT * FROM raw_test.things ORDER BY id") == before


def test_a_changed_row_is_updated_in_place_and_stamped(warehouse):
    warehouse.land("test", "things", ["id"], batch((1, "a"), (2, "b")), "run-1")
    result = warehouse.land("test", "things", ["id"], batch((2, "B"), (3, "c")), "run-2")
    assert (result.inserted, result.updated) == (1, 1)
    assert rows(warehouse, "SELECT id, name, _run_id FROM raw_test.things ORDER BY id") == [
        (1, "a", "run-1"),
        (2, "B", "run-2"),
        (3, "c", "run-2"),
    ]


def test_a_new_column_is_added_not_dropped(warehouse):
    warehouse.land("test", "things", ["id"], batch((1, "a")), "run-1")
    wider = pa.table({"id": [1], "name": ["a"], "colour": ["red"]})
    result = warehouse.land("test", "things", ["id"], wider, "run-2")
    assert result.updated == 1
    assert rows(warehouse, "SELECT colour FROM raw_test.things") == [("red",)]


def test_a_table_is_looked_at_once_per_schema_and_a_rolled_back_create_is_not_kept(warehouse):
    """A push lands one answer per write: the table's columns are checked until they are
    found complete, then not again for that schema on that connection. A create that is
    rolled back is not taken as done."""
    complete: set = set()
    land = warehouse_module.land_into
    with pytest.raises(RuntimeError), warehouse.transaction() as con:
        land(con, "test", "things", ["id"], batch((1, "a")), "run-1", complete=complete)
        raise RuntimeError("the write's outcome failed to record")
    assert complete == set()
    with warehouse.transaction() as con:
        land(con, "test", "things", ["id"], batch((1, "a")), "run-1", complete=complete)
    assert complete == set()  # created here: kept only once found so
    with warehouse.transaction() as con:
        land(con, "test", "things", ["id"], batch((2, "b")), "run-1", complete=complete)
    assert complete == {("raw_test.things", batch((1, "a")).schema)}
    with warehouse.transaction() as con:
        land(con, "test", "things", ["id"], batch((3, "c")), "run-1", complete=complete)
        wider = pa.table({"id": [4], "name": ["d"], "colour": ["red"]})
        land(con, "test", "things", ["id"], wider, "run-1", complete=complete)
    assert rows(warehouse, "SELECT id, name, colour FROM raw_test.things ORDER BY id") == [
        (1, "a", None), (2, "b", None), (3, "c", None), (4, "d", "red")
    ]  # fmt: skip


def test_a_run_reads_the_catalog_for_its_tables_once_not_per_batch(warehouse, monkeypatch):
    """While a run keeps the file open (no other process can change it), the tables its
    start ensured and those a batch found complete are not looked at again; a wider
    batch still adds its column. Without the file kept open, every land looks."""
    looked = []
    columns_held = warehouse_module.columns_held
    monkeypatch.setattr(
        warehouse_module, "columns_held", lambda con: looked.append(1) or columns_held(con)
    )
    schema = batch((1, "a")).schema
    with warehouse.kept_open():
        warehouse.ensure_tables([("test", "things", schema)])
        assert len(looked) == 1
        warehouse.land("test", "things", ["id"], batch((1, "a")), "run-1")
        warehouse.land("test", "things", ["id"], batch((2, "b")), "run-1")
        assert len(looked) == 1
        wider = pa.table({"id": [3], "name": ["c"], "colour": ["red"]})
        for _ in range(3):
            warehouse.land("test", "things", ["id"], wider, "run-1")
        assert len(looked) == 3  # adding the column, then finding it there
    warehouse.land("test", "things", ["id"], batch((4, "d")), "run-2")
    assert len(looked) == 4
    assert rows(warehouse, "SELECT id, name, colour FROM raw_test.things ORDER BY id") == [
        (1, "a", None), (2, "b", None), (3, "c", "red"), (4, "d", None)
    ]  # fmt: skip


def test_a_table_the_run_made_takes_its_first_batch_by_insert_and_nothing_twice(
    warehouse, monkeypatch
):
    """A table the run made is empty until something lands in it: its first batch goes in
    by a plain insert, landed as the merge would land it. Rows that reached it another way
    (a push's landing, which does not know what the run made) leave that insert nothing to
    add, and the merge decides."""
    merged = []
    merge = warehouse_module._merge
    monkeypatch.setattr(warehouse_module, "_merge", lambda *a: merged.append(a[1]) or merge(*a))
    schema = batch((1, "a")).schema
    with warehouse.kept_open():
        warehouse.ensure_tables([("test", "things", schema), ("test", "others", schema)])
        first = warehouse.land("test", "things", ["id"], batch((1, "a"), (2, "b")), "run-1")
        assert merged == [] and (first.inserted, first.updated) == (2, 0)
        again = warehouse.land("test", "things", ["id"], batch((2, "B"), (3, "c")), "run-2")
        assert merged == ["raw_test.things"] and (again.inserted, again.updated) == (1, 1)
        with warehouse.transaction() as con:  # a push's landing
            warehouse_module.land_into(con, "test", "others", ["id"], batch((1, "a")), "run-1")
        other = warehouse.land("test", "others", ["id"], batch((1, "A"), (2, "b")), "run-2")
        assert (other.inserted, other.updated) == (1, 1)
    stamped = "SELECT id, name, _run_id, _loaded_at IS NOT NULL FROM raw_test.things ORDER BY id"
    assert rows(warehouse, stamped) == [
        (1, "a", "run-1", True), (2, "B", "run-2", True), (3, "c", "run-2", True)
    ]  # fmt: skip
    assert rows(warehouse, "SELECT id, name FROM raw_test.others ORDER BY id") == [
        (1, "A"), (2, "b")
    ]  # fmt: skip


def test_quarantined_rows_keep_record_and_reason_and_counts_add_up(warehouse):
    records = [
        {"id": 1, "identifier": "A", "name": "Acme", "_info": {"lastUpdated": "2026-01-01T00:00Z"}},
        {"id": 2, "identifier": "B", "name": "", "_info": {"lastUpdated": "2026-01-01T00:00Z"}},
        {"id": None, "identifier": "C", "name": "C", "_info": {"lastUpdated": "2026-01-01T00:00Z"}},
    ]
    checked = validate(connectwise.companies, records, ["companies.json#1", "#2", "#3"])
    result = warehouse.land(
        "connectwise", "companies", ["id"], checked.table, "run-1", checked.rejected
    )
    assert (result.read, result.landed, result.quarantined) == (3, 1, 2)
    assert result.read == result.landed + result.quarantined
    stored = rows(
        warehouse, "SELECT record_key, source, reason, record FROM sync.quarantine ORDER BY source"
    )
    assert [(key, source) for key, source, _, _ in stored] == [("2", "#2"), (None, "#3")]
    assert stored[0][2] == "name: required, got an empty value"
    assert json.loads(stored[1][3]) == records[2]
    assert rows(warehouse, "SELECT id FROM raw_connectwise.companies") == [(1,)]


def test_watermark_advances_with_its_rows(warehouse):
    warehouse.land("test", "things", ["id"], batch((1, "a")), "run-1", watermark="2026-01-01")
    assert warehouse.watermark("test", "things") == "2026-01-01"
    warehouse.land("test", "things", ["id"], batch((2, "b")), "run-2", watermark="2026-02-01")
    assert rows(warehouse, "SELECT cursor_value, run_id FROM sync.watermarks") == [
        ("2026-02-01", "run-2")
    ]
    warehouse.reset_watermarks([("test", "things")])
    assert warehouse.watermark("test", "things") is None


def test_failure_between_landing_and_watermark_leaves_neither(warehouse, monkeypatch):
    warehouse.land("test", "things", ["id"], batch((1, "a")), "run-1", watermark="2026-01-01")

    def crash(*args):
        raise RuntimeError("crash after landing, before the watermark")

    monkeypatch.setattr(warehouse_module, "_set_watermark", crash)
    rejected = [Rejected(record={"id": None}, reason="id: required, got null")]
    with pytest.raises(RuntimeError, match="crash after landing"):
        warehouse.land(
            "test",
            "things",
            ["id"],
            batch((1, "A"), (2, "b")),
            "run-2",
            rejected,
            watermark="2026-02-01",
        )
    assert rows(warehouse, "SELECT id, name FROM raw_test.things") == [(1, "a")]
    assert rows(warehouse, "SELECT count(*) FROM sync.quarantine") == [(0,)]
    assert warehouse.watermark("test", "things") == "2026-01-01"


def test_runs_are_recorded_with_their_counts(warehouse):
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    result = warehouse.land("test", "things", ["id"], batch((1, "a")), "run-1")
    warehouse.finish_run("run-1", "completed", [result])
    assert rows(warehouse, "SELECT flow, status, finished_at IS NOT NULL FROM sync.runs") == [
        ("customer-sync", "completed", True)
    ]
    assert rows(
        warehouse, "SELECT rows_read, rows_landed, rows_inserted FROM sync.run_entities"
    ) == [(1, 1, 1)]


def test_streamed_rows_come_a_chunk_at_a_time_while_the_caller_writes_between_them():
    """A push reads its rows through ``Streamed`` and writes its log on the same
    connection between them: every row comes, in order, counted before the first, as the
    query found them at the start (a copy, not a read held open across the writes)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE marts (id INT, action VARCHAR)")
    con.execute("CREATE TABLE log (id INT)")
    con.executemany("INSERT INTO marts VALUES (?, ?)", [(i, "write" if i % 3 else "skip")
                                                        for i in range(10, 0, -1)])  # fmt: skip
    found = Streamed(con, "SELECT * FROM marts WHERE action = ? ORDER BY id", ["write"], chunk=2)
    assert len(found) == 7
    seen = []
    con.execute("BEGIN")
    for row in found:
        con.execute("INSERT INTO log VALUES (?)", [row["id"]])  # the push's own writes
        con.execute("DELETE FROM marts WHERE id = ?", [row["id"] + 1])  # and changes ahead
        seen.append(row)
    con.execute("COMMIT")
    assert [r["id"] for r in seen] == [1, 2, 4, 5, 7, 8, 10] and seen[0] == {
        "id": 1,
        "action": "write",
    }
    assert con.execute("SELECT count(*) FROM log").fetchone() == (7,)
    assert [r["id"] for r in found] == [1, 2, 4, 5, 7, 8, 10]  # read again from the start
    found.close()
    with pytest.raises(RuntimeError, match="let go"):
        next(iter(found))
    assert len(list(Streamed(con, "SELECT * FROM marts WHERE id > 99"))) == 0


def test_a_run_keeps_duckdb_within_its_memory_limit_and_other_connections_keep_the_default(
    tmp_path,
):
    """``[warehouse] memory_limit`` holds for every connection of the kept-open file (a
    run's steps and dbt's), set once on the database; a reader outside a run has DuckDB's
    default."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    limit = "SELECT current_setting('memory_limit')"
    with warehouse.kept_open("123MB"), warehouse.connect() as con, warehouse.connect() as other:
        assert con.execute(limit).fetchone() == other.execute(limit).fetchone()
        assert con.execute(limit).fetchone()[0].startswith("117.3 MiB")
    with warehouse.connect() as con:
        assert not con.execute(limit).fetchone()[0].startswith("117.3 MiB")


def test_a_run_checkpoints_what_it_lands_seldom_and_all_of_it_when_it_closes(tmp_path):
    """A kept-open warehouse checkpoints after 128 MB written, not DuckDB's 16 MB (each
    checkpoint of a growing table costs more); what is not checkpointed yet is in the
    file once the run closes it."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    wal = tmp_path / "warehouse.duckdb.wal"
    with warehouse.kept_open(), warehouse.connect() as con:
        setting = con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
        assert setting.startswith("122.0 MiB")  # 128 MB
        con.execute("CREATE TABLE raw (id BIGINT, doc VARCHAR)")
        rows = "SELECT range + ?, repeat(md5(range::VARCHAR || ?), 30) FROM range(2000)"
        for batch in range(20):  # batches of a few thousand rows go through the log
            con.execute(f"INSERT INTO raw {rows}", [batch * 2000, batch])
        assert wal.stat().st_size > 32_000_000  # DuckDB alone would have checkpointed at 16
    assert not wal.exists()
    with warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw").fetchone() == (40000,)
