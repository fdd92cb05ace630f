"""The DuckDB warehouse: raw landing tables and the ``sync`` bookkeeping schema.

DuckDB allows one writing process per file, and an in-process dbt run shares the
instance only with connections of the same configuration. Every operation opens a
connection, works inside one transaction, and closes it. Opening the file costs 40 to
60 ms and closing its last connection a checkpoint, so a run keeps its warehouse open
(``Warehouse.kept_open``, under the run lock): its connections then open on the database
already open, in under a millisecond.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from crosswalk import runlock

if TYPE_CHECKING:  # annotations only: the warehouse loads without pandas and pandera
    from crosswalk.entities import Rejected

LOADED_AT = "_loaded_at"
RUN_ID = "_run_id"

# Applied in order, each once; a later issue appends, never edits, so an existing
# warehouse upgrades in place.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sync.watermarks (
        system VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        cursor_value VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL,
        advanced_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (system, entity)
    );
    CREATE TABLE sync.quarantine (
        run_id VARCHAR NOT NULL,
        system VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        record_key VARCHAR,
        source VARCHAR,
        reason VARCHAR NOT NULL,
        record JSON NOT NULL,
        quarantined_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE sync.runs (
        run_id VARCHAR PRIMARY KEY,
        flow VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL,
        is_plan BOOLEAN NOT NULL,
        is_full_refresh BOOLEAN NOT NULL,
        message VARCHAR
    );
    CREATE TABLE sync.run_entities (
        run_id VARCHAR NOT NULL,
        system VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        rows_read BIGINT NOT NULL,
        rows_landed BIGINT NOT NULL,
        rows_inserted BIGINT NOT NULL,
        rows_updated BIGINT NOT NULL,
        rows_quarantined BIGINT NOT NULL,
        PRIMARY KEY (run_id, system, entity)
    );
    """,
    # Failures (crosswalk/errors.py): one row per failure identity, the outage state of
    # each flow while its runs cannot complete, and every report sent or written.
    """
    CREATE TABLE sync.errors (
        error_id VARCHAR PRIMARY KEY,
        flow VARCHAR NOT NULL,
        error_class VARCHAR NOT NULL,
        owner VARCHAR NOT NULL,
        code VARCHAR NOT NULL,
        system VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        record_id VARCHAR NOT NULL,
        label VARCHAR,
        url VARCHAR,
        message VARCHAR NOT NULL,
        fix VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        first_seen_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        times_seen INTEGER NOT NULL,
        times_reported INTEGER NOT NULL,
        last_reported_at TIMESTAMPTZ,
        resolved_at TIMESTAMPTZ,
        is_resolution_announced BOOLEAN NOT NULL,
        first_run_id VARCHAR NOT NULL,
        last_run_id VARCHAR NOT NULL,
        resolved_run_id VARCHAR
    );
    CREATE TABLE sync.outages (
        flow VARCHAR PRIMARY KEY,
        started_at TIMESTAMPTZ NOT NULL,
        started_run_id VARCHAR NOT NULL,
        last_failed_at TIMESTAMPTZ NOT NULL,
        failed_runs INTEGER NOT NULL,
        error_id VARCHAR NOT NULL,
        is_announced BOOLEAN NOT NULL,
        recovered_at TIMESTAMPTZ,
        recovered_run_id VARCHAR
    );
    CREATE TABLE sync.reports (
        run_id VARCHAR NOT NULL,
        flow VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        subject VARCHAR NOT NULL,
        recipients VARCHAR NOT NULL,
        delivery VARCHAR NOT NULL,
        destination VARCHAR NOT NULL,
        note VARCHAR,
        failures_new INTEGER NOT NULL,
        failures_open INTEGER NOT NULL,
        failures_resolved INTEGER NOT NULL,
        reported_at TIMESTAMPTZ NOT NULL
    );
    """,
    # Links between records of two systems (DESIGN.md section 5), and the records an
    # operator excluded from a flow. A link's kind names both sides: ``customer`` is an ERP
    # parent customer (source) and a PSA company (target), ``location`` an ERP location and
    # a PSA site.
    """
    CREATE TABLE sync.links (
        kind VARCHAR NOT NULL,
        source_system VARCHAR NOT NULL,
        source_key VARCHAR NOT NULL,
        target_system VARCHAR NOT NULL,
        target_key VARCHAR NOT NULL,
        made_by VARCHAR NOT NULL,
        note VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR,
        PRIMARY KEY (kind, source_key)
    );
    CREATE TABLE sync.exclusions (
        flow VARCHAR NOT NULL,
        system VARCHAR NOT NULL,
        record_key VARCHAR NOT NULL,
        reason VARCHAR,
        excluded_by VARCHAR NOT NULL,
        excluded_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (flow, system, record_key)
    );
    """,
    # Pushes (crosswalk/pushlog.py): each write's intent before the call, its outcome
    # after; the charge import's record of what Operate holds and of what a run read.
    """
    CREATE TABLE sync.push_log (
        push_id VARCHAR PRIMARY KEY,
        run_id VARCHAR NOT NULL,
        flow VARCHAR NOT NULL,
        system VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        target_key VARCHAR NOT NULL,
        payload JSON,
        intended_at TIMESTAMPTZ NOT NULL,
        outcome VARCHAR,
        target_id VARCHAR,
        detail VARCHAR,
        finished_at TIMESTAMPTZ
    );
    CREATE TABLE sync.charged_lines (
        line_hash VARCHAR PRIMARY KEY,
        location_id BIGINT NOT NULL,
        product_group_id BIGINT NOT NULL,
        batch_sheet_id BIGINT NOT NULL,
        batch_date DATE NOT NULL,
        account_id BIGINT,
        amount DECIMAL(14, 2),
        run_id VARCHAR NOT NULL,
        charged_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE sync.calls_read (
        run_id VARCHAR NOT NULL,
        line_hash VARCHAR NOT NULL
    );
    """,
    # The customer sync's memory of each linked pair (DESIGN.md section 5): per link and
    # field, the value both sides last agreed on (normalised), and the fields both sides
    # changed since, waiting for an operator's choice.
    """
    CREATE TABLE sync.field_base (
        kind VARCHAR NOT NULL,
        source_key VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        target_key VARCHAR NOT NULL,
        value VARCHAR NOT NULL,
        synced_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR,
        PRIMARY KEY (kind, source_key, field)
    );
    CREATE SEQUENCE sync.conflict_ids START 1;
    CREATE TABLE sync.conflicts (
        conflict_id BIGINT PRIMARY KEY DEFAULT nextval('sync.conflict_ids'),
        kind VARCHAR NOT NULL,
        source_key VARCHAR NOT NULL,
        target_key VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        base_value VARCHAR,
        erp_value VARCHAR,
        psa_value VARCHAR,
        raised_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR,
        resolution VARCHAR,
        resolved_value VARCHAR,
        resolved_by VARCHAR,
        resolved_at TIMESTAMPTZ,
        settled_at TIMESTAMPTZ,
        settled_by_run VARCHAR
    );
    """,
    # A link whose target is gone (deleted, merged away, purged) is marked broken with
    # the reason, not dropped: it no longer decides a match, and an operator settles it.
    """
    ALTER TABLE sync.links ADD COLUMN broken_at TIMESTAMPTZ;
    ALTER TABLE sync.links ADD COLUMN broken_reason VARCHAR;
    """,
    # When the customer sync first found each pair linked (by any rule): "since when".
    """
    CREATE TABLE sync.pairs_seen (
        kind VARCHAR NOT NULL,
        source_key VARCHAR NOT NULL,
        target_key VARCHAR NOT NULL,
        first_seen_at TIMESTAMPTZ NOT NULL,
        run_id VARCHAR,
        PRIMARY KEY (kind, source_key, target_key)
    );
    """,
    # Operators' decisions from the inbox: who made a link (``made_by`` says operator or
    # crosswalk), and the suggested pairs an operator rejected, never suggested again.
    """
    ALTER TABLE sync.links ADD COLUMN decided_by VARCHAR;
    CREATE TABLE sync.rejected_suggestions (
        customer_number VARCHAR NOT NULL,
        company_id VARCHAR NOT NULL,
        rejected_by VARCHAR NOT NULL,
        note VARCHAR,
        rejected_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (customer_number, company_id)
    );
    """,
    # What each dbt build built from (crosswalk/dbt.py): the graph of a flow's selection,
    # and per relation the key of the inputs it was last built from, so that a build whose
    # inputs did not change since is not made again.
    """
    CREATE TABLE sync.model_selections (
        selection VARCHAR PRIMARY KEY,
        project VARCHAR NOT NULL,
        graph JSON NOT NULL,
        run_id VARCHAR,
        built_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE sync.model_relations (
        relation VARCHAR PRIMARY KEY,
        input_key VARCHAR NOT NULL,
        is_tested BOOLEAN NOT NULL,
        run_id VARCHAR,
        built_at TIMESTAMPTZ NOT NULL
    );
    """,
    # A field's direction for good, decided by an operator (the inbox, `crosswalk conflicts
    # own`): for one customer and its locations, or for every customer (customer_number
    # '*'); it wins over [flows.customer_sync] field_owners of the same scope.
    """
    CREATE TABLE sync.field_owners (
        customer_number VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        owner VARCHAR NOT NULL,
        decided_by VARCHAR NOT NULL,
        note VARCHAR,
        decided_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (customer_number, field)
    );
    """,
    # Records a push's writes returned, kept with their outcomes until they land in their
    # raw tables in a batch (crosswalk/pushing.py); a run that stopped leaves them for
    # the next run's start. ``entity`` is 'system.name', ``records`` a JSON list.
    """
    CREATE SEQUENCE sync.unlanded_seq;
    CREATE TABLE sync.unlanded (
        seq BIGINT PRIMARY KEY DEFAULT nextval('sync.unlanded_seq'),
        run_id VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        records JSON NOT NULL
    );
    """,
)


@dataclass
class LandResult:
    """Counts for one entity; ``read == landed + quarantined`` always."""

    system: str
    entity: str
    read: int = 0
    landed: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    watermark: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)
    # What the read looked at, so that failures it no longer finds can be resolved:
    # every record of the entity (``complete``), else the record ids in ``keys``.
    complete: bool = False
    keys: set[str] = field(default_factory=set, repr=False)

    def add(self, other: LandResult) -> None:
        self.read += other.read
        self.landed += other.landed
        self.inserted += other.inserted
        self.updated += other.updated
        self.quarantined += other.quarantined
        self.watermark = other.watermark or self.watermark
        self.reasons.update(other.reasons)
        self.keys |= other.keys


# How long a connection waits for another process to let go of the file (DuckDB: one
# writing process, or readers only): a reader's moment, or a write step of a run.
LOCK_WAIT_SECONDS = 10.0


class Warehouse:
    """One DuckDB file; ``connect()`` opens a short-lived connection."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file; a read-only one from a process that is not the run
        holding the warehouse reads its read copy while a run holds it (or holds the file
        for longer than ``LOCK_WAIT_SECONDS``), since DuckDB lets no other process read a
        file one is writing (crosswalk/runlock.py)."""
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _open(self.path, read_only=False) as con:
                yield con
            return
        with self.open_reading() as con:
            yield con

    def open_reading(self) -> duckdb.DuckDBPyConnection:
        """The read-only connection ``connect(read_only=True)`` yields (the read copy
        while another process's run holds the warehouse), for a caller that keeps it
        for several reads and closes it."""
        copy = runlock.read_copy(self.path)
        running = runlock.holder(self.path)
        path = copy if running is not None and copy.exists() else self.path
        try:
            return _open(path, read_only=True)
        except duckdb.IOException as exc:
            if path == copy or not _is_lock_conflict(exc) or not copy.exists():
                raise
            return _open(copy, read_only=True)

    @contextmanager
    def kept_open(self, memory_limit: str = "") -> Iterator[None]:
        """Keep the file open in this process while in the block, from its first
        connection on: every connection opens read-write on that one database (DuckDB
        lets one process's connections to a file differ in nothing), dbt's included, all
        within DuckDB's ``memory_limit`` when one is given. Only for a process that holds
        the run lock, since no other process can open the file meanwhile; the last block
        of the file closes it, with a checkpoint. Blocks nest."""
        key = self.path.resolve()
        with _keeping:
            kept = _kept.setdefault(key, _Kept())
            kept.depth += 1
            kept.memory_limit = kept.memory_limit or memory_limit
        try:
            yield
        finally:
            with _keeping:
                kept.depth -= 1
                if kept.depth == 0:
                    del _kept[key]
                    if kept.anchor is not None:
                        kept.anchor.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside BEGIN ... COMMIT; any exception rolls everything back."""
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextmanager
    def deciding(self, who: str, wait_minutes: float) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction for an operator's decision (crosswalk.decisions) inside the run
        lock (crosswalk/runlock.py), so that no run reads half of it, or pushes what it
        built before it: waits at most ``wait_minutes`` for a run holding the warehouse,
        else raises runlock.WarehouseBusy, whose message is the one line naming the run."""
        with runlock.one_run(self.path, who, wait_minutes, refused="not saved"):
            self.migrate()
            with self.transaction() as con:
                yield con

    def migrate(self) -> int:
        """Create or upgrade the ``sync`` schema; returns the schema version."""
        with self.transaction() as con:
            con.execute("CREATE SCHEMA IF NOT EXISTS sync")
            con.execute(
                "CREATE TABLE IF NOT EXISTS sync.schema_version "
                "(version INTEGER NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            (current,) = con.execute(
                "SELECT coalesce(max(version), 0) FROM sync.schema_version"
            ).fetchone()
            for version, ddl in enumerate(MIGRATIONS[current:], start=current + 1):
                con.execute(ddl)
                con.execute("INSERT INTO sync.schema_version VALUES (?, now())", [version])
        return len(MIGRATIONS)

    def ensure_table(self, system: str, entity: str, schema: pa.Schema) -> None:
        """Create ``raw_<system>.<entity>`` with the declared columns if it is missing."""
        self.ensure_tables([(system, entity, schema)])

    def ensure_tables(self, tables: Sequence[tuple[str, str, pa.Schema]]) -> None:
        """:meth:`ensure_table` for each ``(system, entity, schema)``, the catalog read
        once for them all (a read of it costs as much for one table as for every one)."""
        made: set[str] = set()
        with self.transaction() as con:
            held = columns_held(con)
            for system, entity, schema in tables:
                table = raw_table(system, entity)
                existing = dict(held.get(tuple(table.split(".")), []))
                _ensure_table(con, table, schema, existing)
                if not existing:
                    made.add(table)
        kept = _kept_now(self.path)
        if kept is not None:  # committed: each holds its schema's every column now
            kept.complete.update(
                (raw_table(system, entity), schema) for system, entity, schema in tables
            )
            kept.made |= made

    def land(
        self,
        system: str,
        entity: str,
        primary_key: Sequence[str],
        batch: pa.Table,
        run_id: str,
        rejected: Sequence[Rejected] = (),
        watermark: str | None = None,
    ) -> LandResult:
        """Merge one batch by primary key, quarantine its rejects, and advance the watermark.

        All three happen in one transaction: a failure anywhere leaves none of them.
        Rows whose columns equal the stored ones are not touched, so re-landing a
        batch changes nothing, not even ``_loaded_at``.
        """
        kept = _kept_now(self.path)
        with self.transaction() as con:
            return land_into(
                con, system, entity, primary_key, batch, run_id, rejected, watermark,
                complete=kept.complete if kept else None, made=kept.made if kept else None,
            )  # fmt: skip

    def mirror(
        self,
        system: str,
        entity: str,
        key: str,
        keys_read: Collection[str],
        read_at: str,
        run_id: str,
    ) -> int:
        """After a whole read of a mirrored entity: delete the rows whose ``key`` it did
        not return and record ``read_at`` as its watermark, in one transaction; returns
        the rows deleted."""
        with self.transaction() as con:
            with registered(
                con, "keys_read", pa.table({"key": pa.array(sorted(keys_read), pa.string())})
            ):
                (deleted,) = con.execute(
                    f"DELETE FROM {raw_table(system, entity)} "
                    f"WHERE CAST({_quote(key)} AS VARCHAR) NOT IN (SELECT key FROM keys_read)"
                ).fetchone()
            _set_watermark(con, system, entity, read_at, run_id)
        return deleted

    def checkpoint(self) -> None:
        """What was written goes into the file (DuckDB's ``CHECKPOINT``)."""
        with self.connect() as con:
            con.execute("CHECKPOINT")

    def watermark(self, system: str, entity: str) -> str | None:
        if not self.path.exists():
            return None
        with self.connect() as con:
            row = con.execute(
                "SELECT cursor_value FROM sync.watermarks WHERE system = ? AND entity = ?",
                [system, entity],
            ).fetchone()
        return row[0] if row else None

    def set_watermark(self, system: str, entity: str, value: str, run_id: str) -> None:
        """Advance a cursor that is not a landed column (a call logger's last day read)."""
        with self.transaction() as con:
            _set_watermark(con, system, entity, value, run_id)

    def keys_landed(
        self, system: str, entity: str, key: str, run_id: str | None = None
    ) -> list[Any]:
        """``key`` of every row of ``raw_<system>.<entity>``, or only of the rows that run
        ``run_id`` inserted or changed (unchanged rows keep the run that last changed them)."""
        with self.connect() as con:
            sql = f'SELECT "{key}" FROM raw_{system}."{entity}"'
            if run_id is None:
                return [row[0] for row in con.execute(f"{sql} ORDER BY 1").fetchall()]
            sql += f" WHERE {RUN_ID} = ? ORDER BY 1"
            return [row[0] for row in con.execute(sql, [run_id]).fetchall()]

    def reset_watermarks(self, keys: Sequence[tuple[str, str]]) -> None:
        with self.transaction() as con:
            for system, entity in keys:
                con.execute(
                    "DELETE FROM sync.watermarks WHERE system = ? AND entity = ?",
                    [system, entity],
                )

    def first_run_of(self, flow: str) -> bool:
        """Whether no run of ``flow`` (but plan runs) is recorded: a new warehouse, or one
        lost and made again."""
        with self.connect(read_only=True) as con:
            (runs,) = con.execute(
                "SELECT count(*) FROM sync.runs WHERE flow = ? AND NOT is_plan", [flow]
            ).fetchone()
        return runs == 0

    def start_run(self, run_id: str, flow: str, plan: bool, full_refresh: bool) -> None:
        with self.transaction() as con:
            con.execute(
                "INSERT INTO sync.runs VALUES (?, ?, ?, NULL, 'running', ?, ?, NULL)",
                [run_id, flow, _now(), plan, full_refresh],
            )

    def finish_run(
        self, run_id: str, status: str, results: Sequence[LandResult], message: str | None = None
    ) -> None:
        with self.transaction() as con:
            con.execute(
                "UPDATE sync.runs SET finished_at = ?, status = ?, message = ? WHERE run_id = ?",
                [_now(), status, message, run_id],
            )
            if not results:
                return
            con.executemany(
                "INSERT OR REPLACE INTO sync.run_entities VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        run_id,
                        r.system,
                        r.entity,
                        r.read,
                        r.landed,
                        r.inserted,
                        r.updated,
                        r.quarantined,
                    ]
                    for r in results
                ],
            )


# How much a run writes before DuckDB checkpoints it into the file (its default: 16 MB).
# Landing a large read passed 16 MB every batch or two, and each checkpoint cost more as the
# table grew (the large world's 410,294 calls: 7.8 to 8.3 s of landing, 4.6 to 4.9 s so, the
# checkpoint at the end 0.35 s); what a run wrote and did not checkpoint yet is held in
# DuckDB's memory, within its limit.
CHECKPOINT_AFTER = "128MB"


@dataclass
class _Kept:
    """A file kept open: by how many ``kept_open`` blocks, its first connection, and the
    raw tables found holding a batch schema's every column (``land_into``'s ``complete``:
    no other process can change the file meanwhile, so each is looked at once a run, not
    once a batch, a read of the whole catalog costing 2.5 to 10 ms), and the raw tables
    it made (``made``: most likely still empty, ``land_into`` tries a plain insert)."""

    depth: int = 0
    anchor: duckdb.DuckDBPyConnection | None = None
    memory_limit: str = ""
    complete: set[tuple[str, pa.Schema]] = field(default_factory=set)
    made: set[str] = field(default_factory=set)


_kept: dict[Path, _Kept] = {}
_keeping = threading.Lock()


def _kept_now(path: Path) -> _Kept | None:
    """What this process knows of ``path`` while it keeps it open, else None."""
    return _kept.get(path.resolve()) if _kept else None


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, trying again while another process holds the file, for at most
    ``LOCK_WAIT_SECONDS``; then DuckDB's own error, which names that process. A file kept
    open (``Warehouse.kept_open``) opens read-write on the database open already."""
    if _kept:
        key = path.resolve()
        with _keeping:
            kept = _kept.get(key)
            if kept is not None:
                if kept.anchor is None:
                    kept.anchor = _connect(key, read_only=False)
                    if kept.memory_limit:  # the database's, for every connection to it
                        kept.anchor.execute(f"SET memory_limit = '{kept.memory_limit}'")
                    kept.anchor.execute(f"SET checkpoint_threshold = '{CHECKPOINT_AFTER}'")
                return kept.anchor.cursor()
    return _connect(path, read_only)


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _is_lock_conflict(exc: duckdb.IOException) -> bool:
    return "Could not set lock" in str(exc)


def land_into(
    con: duckdb.DuckDBPyConnection,
    system: str,
    entity: str,
    primary_key: Sequence[str],
    batch: pa.Table,
    run_id: str,
    rejected: Sequence[Rejected] = (),
    watermark: str | None = None,
    complete: set[tuple[str, pa.Schema]] | None = None,
    made: set[str] | None = None,
) -> LandResult:
    """:meth:`Warehouse.land` inside a transaction the caller holds (a push's outcome
    and the record the system answered land together). ``complete``: the tables found
    holding a schema's every column on this connection, which are not looked at again
    (a push lands one record per write). ``made``: tables likely empty, whose first
    batch goes in by a plain insert if they are (1,594 companies 3.2 ms, merged 6.3)."""
    result = LandResult(system, entity, read=batch.num_rows + len(rejected))
    if batch.num_rows:
        table = raw_table(system, entity)
        known = complete is not None and (table, batch.schema) in complete
        if not known and _ensure_table(con, table, batch.schema) and complete is not None:
            complete.add((table, batch.schema))
        if made is not None and table in made:
            made.discard(table)
            result.inserted = _insert_into_empty(con, table, batch, run_id)
        if not result.inserted:
            actions = Counter(_merge(con, table, primary_key, batch, run_id))
            result.inserted, result.updated = actions["INSERT"], actions["UPDATE"]
    result.landed = batch.num_rows
    if rejected:
        _quarantine(con, system, entity, run_id, rejected)
        result.quarantined = len(rejected)
        result.reasons.update(r.reason for r in rejected)
    if watermark is not None:
        _set_watermark(con, system, entity, watermark, run_id)
        result.watermark = watermark
    return result


def rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
) -> list[dict]:
    """A query's rows as dicts by column name (``params`` by position, or by ``$name``)."""
    cursor = con.execute(sql, params if isinstance(params, Mapping) else list(params))
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


class Streamed:
    """A query's rows as dicts, read ``chunk`` at a time while the caller's connection goes
    on writing between rows: a push over a large first run's hundreds of thousands of rows
    never holds them together in Python (as ``rows`` would: service-sync's at large took
    3 GiB). The rows are copied at once, in order, into a temporary table of a connection
    of their own (DuckDB spills it to disk past the memory limit) and read from it a chunk
    to a query, so no read stays open while the caller writes: DuckDB keeps every version
    written since the oldest open read began, and each of the caller's writes then costs
    more than the last (service-sync's medium push slowed from 37 to 14 writes/s so).
    ``len`` is the count; iterate once or more; ``close`` lets the copy go."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        sql: str,
        params: Sequence[Any] = (),
        chunk: int = 10_000,
    ):
        self.chunk = chunk
        self.reader: duckdb.DuckDBPyConnection | None = con.cursor()
        (self.count,) = self.reader.execute(
            f"CREATE TEMP TABLE streamed AS {sql}", list(params)
        ).fetchone()
        described = self.reader.execute("SELECT * FROM streamed LIMIT 0").description
        self.columns = [d[0] for d in described]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, self.count, self.chunk):
            if self.reader is None:
                raise RuntimeError("rows read after the copy was let go")
            chunk = self.reader.execute(
                "SELECT * FROM streamed WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
                [start, start + self.chunk],
            ).fetchall()
            for row in chunk:
                yield dict(zip(self.columns, row, strict=True))

    def close(self) -> None:
        """Drop the copy (closing its connection drops its temporary table)."""
        if self.reader is not None:
            self.reader.close()
            self.reader = None


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> Iterator[None]:
    """``data`` (an Arrow table) queryable as ``name`` on ``con`` within the block."""
    con.register(name, data)
    try:
        yield
    finally:
        con.unregister(name)


def raw_table(system: str, entity: str) -> str:
    return f"raw_{system}.{entity}"


def _now() -> datetime:
    return datetime.now(UTC)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns_held(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Every table's and view's columns with their types, in order, by schema and name: one
    read of DuckDB's catalog, which costs as much for one table as for all of them."""
    held: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema_name, table_name, column, duck_type in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() "
        "ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        held.setdefault((schema_name, table_name), []).append((column, duck_type))
    return held


def _ensure_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: pa.Schema,
    existing: dict[str, str] | None = None,
) -> bool:
    """Create the table from an Arrow schema, or add the columns it lacks. Returns whether
    it already had them all (nothing done, so nothing a rollback could take back).
    ``existing``: its columns and types as already read (None: read here, {}: none).

    Money landed as DOUBLE before it was DECIMAL (issue 13) becomes DECIMAL in place: each
    double is the one nearest the decimal it was read as, so the cast gives that back."""
    schema_name, table_name = table.split(".")
    if existing is None:
        existing = dict(columns_held(con).get((schema_name, table_name), []))
    with registered(con, "empty_batch", schema.empty_table()):
        if not existing:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema_name}")
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {table} AS SELECT *, "
                f"NULL::TIMESTAMPTZ AS {LOADED_AT}, NULL::VARCHAR AS {RUN_ID} FROM empty_batch"
            )
            return False
        complete = True
        for column, duck_type, *_ in con.execute("DESCRIBE empty_batch").fetchall():
            if column not in existing:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {_quote(column)} {duck_type}")
                complete = False
            elif existing[column] == "DOUBLE" and duck_type.startswith("DECIMAL"):
                con.execute(f"ALTER TABLE {table} ALTER {_quote(column)} TYPE {duck_type}")
                complete = False
        return complete


def _merge(
    con: duckdb.DuckDBPyConnection,
    table: str,
    primary_key: Sequence[str],
    batch: pa.Table,
    run_id: str,
) -> list[str]:
    """MERGE the batch by key; a matched row is updated only when a column differs."""
    columns = [_quote(c) for c in batch.column_names]
    keys = [_quote(k) for k in primary_key]
    values = [c for c in columns if c not in keys]
    loader = [LOADED_AT, RUN_ID]
    on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    changed = (
        f"({', '.join('t.' + c for c in values)}) IS DISTINCT FROM "
        f"({', '.join('s.' + c for c in values)})"
        if values
        else "false"
    )
    updates = ", ".join(f"{c} = s.{c}" for c in [*values, *loader])
    inserts = [*columns, *loader]
    with registered(con, "landing_batch", batch):
        rows = con.execute(
            f"""
            MERGE INTO {table} AS t
            USING (SELECT *, ?::TIMESTAMPTZ AS {LOADED_AT}, ?::VARCHAR AS {RUN_ID}
                   FROM landing_batch) AS s
            ON {on}
            WHEN MATCHED AND {changed} THEN UPDATE SET {updates}
            WHEN NOT MATCHED THEN INSERT ({", ".join(inserts)})
                VALUES ({", ".join("s." + c for c in inserts)})
            RETURNING merge_action
            """,
            [_now(), run_id],
        ).fetchall()
    return [action for (action,) in rows]


def _insert_into_empty(
    con: duckdb.DuckDBPyConnection, table: str, batch: pa.Table, run_id: str
) -> int:
    """The batch (its keys distinct) inserted into ``table`` if it holds no row, as
    :func:`_merge` would; how many rows went in (none: the table had rows)."""
    columns = ", ".join([*map(_quote, batch.column_names), LOADED_AT, RUN_ID])
    with registered(con, "landing_batch", batch):
        [(inserted,)] = con.execute(
            f"INSERT INTO {table} ({columns}) SELECT *, ?::TIMESTAMPTZ, ?::VARCHAR "
            f"FROM landing_batch WHERE NOT EXISTS (SELECT 1 FROM {table})",
            [_now(), run_id],
        ).fetchall()
    return inserted


def _quarantine(
    con: duckdb.DuckDBPyConnection,
    system: str,
    entity: str,
    run_id: str,
    rejected: Sequence[Rejected],
) -> None:
    now = _now()
    table = pa.table(
        {
            "run_id": [run_id] * len(rejected),
            "system": [system] * len(rejected),
            "entity": [entity] * len(rejected),
            "record_key": [r.key for r in rejected],
            "source": [r.source for r in rejected],
            "reason": [r.reason for r in rejected],
            "record": [json.dumps(r.record, default=str, ensure_ascii=False) for r in rejected],
            "quarantined_at": pa.array([now] * len(rejected), pa.timestamp("us", tz="UTC")),
        }
    )
    with registered(con, "quarantine_batch", table):
        con.execute("INSERT INTO sync.quarantine BY NAME SELECT * FROM quarantine_batch")


def _set_watermark(
    con: duckdb.DuckDBPyConnection, system: str, entity: str, value: str, run_id: str
) -> None:
    """An ``UPDATE``, and an ``INSERT`` where there was no row (1.1 ms; ``INSERT OR
    REPLACE`` took 2.2)."""
    now = _now()
    [(updated,)] = con.execute(
        "UPDATE sync.watermarks SET cursor_value = ?, run_id = ?, advanced_at = ? "
        "WHERE system = ? AND entity = ?",
        [value, run_id, now, system, entity],
    ).fetchall()
    if not updated:
        con.execute(
            "INSERT INTO sync.watermarks VALUES (?, ?, ?, ?, ?)",
            [system, entity, value, run_id, now],
        )
