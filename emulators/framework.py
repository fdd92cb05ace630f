"""What every emulated system shares: the HTTP server, requests and answers, errors,
paging links, fault injection, request logging and the state store.

A system is a class with a ``name`` and a ``handle(request) -> Response`` method that
raises ``ApiError`` for anything the real system answers with an error. The server does
everything else, once for all systems:

- one ``ThreadingHTTPServer`` per system on 127.0.0.1 (HTTP/1.1 keep-alive, optional TLS);
- query parameter names are case-insensitive and decoded with form semantics (``+`` is a
  space), as ASP.NET and the real clients expect;
- faults drawn from a seeded generator before the system sees the request: throttling
  (429 with ``Retry-After``), server errors, slow answers, dropped connections (``drop``:
  before the system acts) and lost answers (``lost``: the system acts, then the
  connection drops, so the client cannot know), at rates that can be changed while the
  server runs (``server.faults.configure(...)`` or ``POST /_emulator/faults``); the
  system decides what its fault bodies look like;
- every request is logged (method, path, status, milliseconds) to the ``emulators.<name>``
  logger, to ``<data>/logs/<name>.log`` when the server has a log folder, and to a short
  in-memory list that tests read (``server.requests``).

State lives in one DuckDB file (``Store``) shared by the systems of one process, so a
stopped demo resumes where it was. What answers read often between two writes is kept in
memory for as long as nothing is written (``Store.kept``; a table's documents,
``documents``), so that a read costs DuckDB little more than choosing its rows.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import shutil
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

import duckdb
import pyarrow as pa

CONTROL_PATH = "/_emulator/faults"


class ApiError(Exception):
    """An answer other than success, with the body the real system would send."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None):
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str
    raw_query: str = ""

    @property
    def segments(self) -> list[str]:
        """Path segments, lower-cased (paths are case-insensitive), no empty ones."""
        return [part.lower() for part in self.path.split("/") if part]

    def param(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name.lower(), default)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self, invalid: ApiError, decimals: bool = False) -> Any:
        """The body as JSON; ``invalid`` is raised when it is not JSON. With ``decimals``,
        numbers with a fraction are Decimals, exactly as written."""
        try:
            return json.loads(self.body or b"null", parse_float=Decimal if decimals else None)
        except ValueError:
            raise invalid from None

    def url(self, query: str) -> str:
        return f"{self.base_url}{self.path}" + (f"?{query}" if query else "")


@dataclass
class Response:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None):
    """A JSON answer; ``body`` may be ready JSON text (``str`` or UTF-8 ``bytes``) to avoid
    re-encoding."""
    return Response(
        status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def page_link(request: Request, drop: set[str], tail: Mapping[str, Any]) -> str:
    """The request's URL with ``drop`` parameters removed and ``tail`` appended last, in
    order: clients read the page number with a regex anchored at the end of the URL."""
    kept = [
        f"{quote(key, safe='')}={quote(value, safe='')}"
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True)
        if key.lower() not in drop
    ]
    kept += [f"{key}={value}" for key, value in tail.items()]
    return request.url("&".join(kept))


class System(Protocol):
    name: str

    def handle(self, request: Request) -> Response: ...

    def fault(self, kind: str, retry_after: int) -> Response:
        """The system's own answer for an injected ``throttle`` or ``error`` fault."""
        ...


FAULT_KINDS = ("throttle", "error", "slow", "drop", "lost")


class Faults:
    """Seeded fault injection; rates are probabilities per request, 0 to 1."""

    def __init__(self, seed: int = 0, retry_after: int = 1, slow_seconds: float = 2.0, **rates):
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.rates = dict.fromkeys(FAULT_KINDS, 0.0)
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.configure(**rates)

    def configure(
        self,
        seed: int | None = None,
        retry_after: int | None = None,
        slow_seconds: float | None = None,
        **rates: float,
    ) -> None:
        """Change rates (and optionally reseed) while the server runs."""
        unknown = set(rates) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; use {FAULT_KINDS}")
        for kind, rate in rates.items():
            if not 0 <= float(rate) <= 1:
                raise ValueError(f"fault rate {kind}={rate} must be between 0 and 1")
        with self._lock:
            self.rates.update({kind: float(rate) for kind, rate in rates.items()})
            if seed is not None:
                self._random.seed(seed)
            if retry_after is not None:
                self.retry_after = int(retry_after)
            if slow_seconds is not None:
                self.slow_seconds = float(slow_seconds)

    def clear(self) -> None:
        self.configure(**dict.fromkeys(FAULT_KINDS, 0.0))

    def draw(self) -> str | None:
        """The fault for the next request, if any: one uniform draw against the rates."""
        with self._lock:
            if not any(self.rates.values()):
                return None
            roll, edge = self._random.random(), 0.0
            for kind in FAULT_KINDS:
                edge += self.rates[kind]
                if roll < edge:
                    self.injected[kind] += 1
                    return kind
            return None

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"rates": dict(self.rates), "injected": dict(self.injected)}


def parse_faults(text: str) -> dict[str, float]:
    """``"throttle=0.2,error=0.05"`` (the command line's spelling) as keyword rates."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, value = part.partition("=")
        if not sep or kind.strip() not in FAULT_KINDS:
            raise ValueError(f"fault {part!r}: expected KIND=RATE with KIND one of {FAULT_KINDS}")
        try:
            rates[kind.strip()] = float(value)
        except ValueError:
            raise ValueError(f"fault {part!r}: rate {value!r} is not a number") from None
    return rates


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; without this, delayed ACKs cost 40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the server logs each request itself, with status and time

    def _dispatch(self) -> None:
        started = time.perf_counter()
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path,
            raw_query=split.query,
            query={k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            base_url=self.server.url,
        )
        response = self.server.respond(request)
        if response is None:  # an injected dropped connection
            self.server.log_request_line(request, 0, started)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.payload() if self.command != "HEAD" else b""
        # Logged before it is sent: a client that has its answer finds it in the log.
        self.server.log_request_line(request, response.status, started)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    milliseconds: float


class EmulatorServer(ThreadingHTTPServer):
    """One system on one loopback port, served from a background thread.

    The port is bound when the server is made (port 0: a free one, read back from
    ``port``) but answers only from ``start()``: whoever starts several servers can
    write down where they listen before the first one answers.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        system: System,
        port: int = 0,
        faults: Faults | None = None,
        log_folder: Path | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        super().__init__(("127.0.0.1", port), _Handler, bind_and_activate=False)
        try:
            self.server_bind()
        except BaseException:
            self.server_close()
            raise
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.system = system
        self.faults = faults or Faults()
        self.scheme = "https" if tls else "http"
        self.requests: deque[LoggedRequest] = deque(maxlen=10_000)
        self.logger = logging.getLogger(f"emulators.{system.name}")
        self._log_file = None
        if log_folder is not None:
            log_folder.mkdir(parents=True, exist_ok=True)
            self._log_file = open(log_folder / f"{system.name}.log", "a", encoding="utf-8")  # noqa: SIM115
        self._log_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, or timed out and closed) is the
        client's business, as on a real server: no traceback. Anything else is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def start(self) -> EmulatorServer:
        self.server_activate()  # listen: from here on connections are accepted
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"emulator-{self.system.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for a serve_forever that ran
            self.shutdown()
            self._thread = None
        self.server_close()
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, request: Request) -> Response | None:
        """The answer to ``request``: a control call, an injected fault, or the system's."""
        if request.path.rstrip("/").lower() == CONTROL_PATH:
            return self._control(request)
        fault = self.faults.draw()
        if fault == "drop":
            return None
        if fault == "lost":
            with suppress(ApiError):
                self.system.handle(request)
            return None
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        elif fault in ("throttle", "error"):
            return self.system.fault(fault, self.faults.retry_after)
        try:
            return self.system.handle(request)
        except ApiError as exc:
            return json_response(exc.body, exc.status, exc.headers)
        except Exception as exc:  # an emulator bug: say so, never pass it off as a fault
            self.logger.exception("%s %s failed", request.method, request.path)
            body = {"code": "EmulatorError", "message": f"{type(exc).__name__}: {exc}"}
            return json_response(body, 500)

    def _control(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.faults.configure(**json.loads(request.body or b"{}"))
            except (ValueError, TypeError) as exc:
                return json_response({"error": str(exc)}, 400)
        return json_response(self.faults.state())

    def log_request_line(self, request: Request, status: int, started: float) -> None:
        ms = (time.perf_counter() - started) * 1000
        entry = LoggedRequest(request.method, request.path, request.raw_query, status, ms)
        self.requests.append(entry)
        line = f"{request.method} {request.path}{'?' if request.raw_query else ''}"
        line += f"{request.raw_query} -> {status or 'dropped'} {ms:.1f} ms"
        self.logger.debug(line)
        if self._log_file:
            with self._log_lock:
                when = datetime.now().isoformat(timespec="milliseconds")
                self._log_file.write(f"{when} {line}\n")
                self._log_file.flush()


KEEP_DOCUMENTS_ROWS = 500_000  # a table's documents are kept in memory up to so many rows
KEEP_DOCUMENTS_AFTER = 3  # ... once read by so many answers between two writes


def documents(cur: duckdb.DuckDBPyConnection, table: str, encoded: bool) -> list | None:
    """Each row's ``doc`` of ``table`` by row id (None where a row id has none), as UTF-8
    bytes when ``encoded``; None for a table of more than ``KEEP_DOCUMENTS_ROWS`` rows.
    Answers then take their documents from here: DuckDB's fixed cost per statement that
    joins them (1 to 5 ms) was most of a page's or a bulk read's time, twice that served
    beside crosswalk on two cores. Read 100,000 rows at a time, so that no more is held
    twice: the large world's 410,294 calls (456 MB of text) took 0.5 s and 700 MB more
    of the process (its 70,000 customers 0.04 s and 40 MB)."""
    [(count, last)] = cur.execute(
        f"SELECT count(*), coalesce(max(rowid), -1) FROM {table}"
    ).fetchall()
    if count > KEEP_DOCUMENTS_ROWS:
        return None
    kept: list = [None] * (last + 1)
    read = cur.sql(f"SELECT rowid, doc FROM {table}").to_arrow_reader(100_000)
    for batch in read:
        docs = batch.column(1).cast(pa.binary()) if encoded else batch.column(1)
        for rowid, doc in zip(batch.column(0).to_pylist(), docs.to_pylist(), strict=True):
            kept[rowid] = doc
    return kept


# The emulators' state is a world that can be made again: a commit need not wait for the
# disk (a killed process loses nothing the operating system was handed; a write's DuckDB
# statements took 2.2 ms at medium, fdatasync 0.2 of them). A checkpoint every 64 MB of
# log, not DuckDB's 16: a checkpoint's cost grows with more than the log it folds in, so
# Operate's landings of 10,000 lines cost 7.7 ms each with checkpoints every 16 MB and 5.9
# every 64 (2,000,000 lines landed; 256 MB no cheaper; a pause of 0.12 s at most; every
# 4 MB, 18.7 ms a landing over 400,000 lines).
STORE_CONFIG = {"fsync_mode": "NONE", "checkpoint_threshold": "64MB"}
# Rows writes staged go to DuckDB before a statement names their table, once so many wait,
# or once the first has waited so long (Operate stages an append's 500 lines: 10,000 went
# into DuckDB in 4 ms, 500 in 1.4).
STAGE_ROWS = 10_000
STAGE_SECONDS = 0.5
FOUND_ROWS = 10_000  # rows found by key kept per table (``Store._stored``)
# ... and a table of at most so many rows is read whole once asked for rows not kept at
# least so many times, and one time in so many of its rows: a row read by key cost DuckDB
# 0.3 ms, every row of a table read at once 1 to 4 microseconds a row (medium world).
FILL_AFTER = 3
FILL_COST = 100


@dataclass
class Found:
    """What ``Store._stored`` keeps of one table: rows by ``(key, value, columns, all)``,
    the (key, columns) it read every row of, how many asks it could not answer, and how
    many rows the table has (None: not counted yet)."""

    rows: dict[tuple, Any] = field(default_factory=dict)
    whole: set[tuple] = field(default_factory=set)
    misses: int = 0
    count: int | None = None


class Staged:
    """What writes already answered left for DuckDB in one table: rows by key (new ones
    and changed columns of stored ones) or, for a table without a key, rows to append
    (as dicts, or as Arrow tables of one schema)."""

    def __init__(self, key: str | None):
        self.key = key
        self.rows: dict[Any, tuple[bool, dict]] = {}  # key -> (new, columns)
        self.appended: list[dict] = []
        self.batches: list[pa.Table] = []  # rows appended as Arrow tables of one schema

    def __len__(self) -> int:
        return len(self.rows) + len(self.appended) + sum(b.num_rows for b in self.batches)

    def add(self, row: dict, new: bool) -> None:
        if self.key is None:
            self.appended.append(row)
        else:
            self._merge(row[self.key], new, row)

    def taken(self, other: Staged) -> None:
        """``other``'s rows after these (``other`` staged later)."""
        for key, (new, columns) in other.rows.items():
            self._merge(key, new, columns)
        self.appended += other.appended
        self.batches += other.batches

    def _merge(self, key: Any, new: bool, columns: dict) -> None:
        was_new, before = self.rows.get(key, (new, {}))
        self.rows[key] = (was_new, {**before, **columns})

    def write(self, cur: duckdb.DuckDBPyConnection, table: str) -> None:
        """The rows into ``table``: one statement per kind of row (DuckDB's cost per
        statement was most of a write's: 50 rows at once cost 0.17 ms a row, one at a
        time 1.3 ms)."""
        new_rows = [columns for new, columns in self.rows.values() if new] + self.appended
        inserted = [pa.Table.from_pylist(rows) for rows in _same_columns(new_rows)]
        if self.batches:
            inserted.append(pa.concat_tables(self.batches))
        for rows in inserted:
            names = ", ".join(rows.column_names)
            with _registered(cur, rows) as staged:
                cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged}")
        changed = [columns for new, columns in self.rows.values() if not new]
        for rows in _same_columns(changed):
            names = [n for n in rows[0] if n != self.key]
            if len(rows) == 1:  # one row (an Operate sheet): 0.3 ms, through Arrow 2.3
                settings = ", ".join(f"{n} = ?" for n in names)
                values = [rows[0][n] for n in (*names, self.key)]
                cur.execute(f"UPDATE {table} SET {settings} WHERE {self.key} = ?", values)
                continue
            settings = ", ".join(f"{n} = s.{n}" for n in names)
            with _registered(cur, pa.Table.from_pylist(rows)) as staged:
                cur.execute(
                    f"UPDATE {table} SET {settings} FROM {staged} s "
                    f"WHERE {table}.{self.key} = s.{self.key}"
                )


@functools.cache
def naming(table: str) -> re.Pattern:
    """What finds ``table`` (``schema.table``) named in a statement: its own name as a word,
    in any case, however qualified or quoted (``"eautomate"."calls"`` too; a column or
    another word spelt the same lands its rows sooner, which only costs a statement)."""
    return re.compile(rf"\b{re.escape(table.rsplit('.', 1)[-1])}\b", re.IGNORECASE)


def _same_columns(rows: list[dict]) -> list[list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return list(groups.values())


@contextmanager
def _registered(cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> Iterator[str]:
    cur.complete()  # the statement before may have answered a row of several
    cur.register("staged_rows", rows)
    try:
        yield "staged_rows"
    finally:
        cur.unregister("staged_rows")


class Writing:
    """A write's transaction (``Store.write``): its statements, and rows it stages.

    A statement that names a table other writes staged rows for has them written first, in
    this transaction (they stay staged until it commits). ``stage`` leaves a row for DuckDB
    once the write has committed; ``by_key`` finds a row by key, staged or stored. The
    transaction begins with the write's first statement: a write that finds what it reads
    in memory and stages what it changes makes none (a cursor, its ``BEGIN`` and its
    ``COMMIT`` were 0.3 ms of an Operate append's 3)."""

    def __init__(self, store: Store, con: duckdb.DuckDBPyConnection):
        self.store = store
        self._con = con
        self._cur: duckdb.DuckDBPyConnection | None = None
        self.staged: dict[str, Staged] = {}
        self.written: set[str] = set()  # tables whose staged rows this transaction wrote
        self.statements: list[str] = []
        self.committed: list[Callable[[], None]] = []

    @property
    def cur(self) -> duckdb.DuckDBPyConnection:
        """The write's DuckDB cursor, its transaction begun."""
        if self._cur is None:
            self._cur = self._con.cursor()
            self._cur.begin()
        return self._cur

    def _end(self, commit: bool) -> None:
        """The transaction committed (or rolled back), if it began."""
        if self._cur is not None:
            try:
                if commit:
                    self._cur.commit()
                else:
                    self._cur.rollback()
            finally:
                self._cur.close()

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self._land(sql)
        return self.cur.execute(sql, params or [])

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        self._land(query)
        return self.cur.sql(query)

    def names(self, table: str) -> bool:
        """Whether a statement of this write named ``table``."""
        return any(naming(table).search(sql) for sql in self.statements)

    def _land(self, sql: str) -> None:
        self.statements.append(sql)
        for table in self.store.named(sql):
            if table not in self.written:
                self.store.staged[table].write(self.cur, table)
                self.written.add(table)

    def register(self, name: str, data: Any) -> None:
        self.cur.register(name, data)

    def unregister(self, name: str) -> None:
        self.cur.unregister(name)

    def stage(self, table: str, row: dict, key: str | None = None, new: bool = False) -> None:
        """``row`` (column values) into ``table`` once the write has committed: a new row,
        the columns given of the stored row ``row[key]`` names, or (no ``key``) a row
        appended. Statements of this write do not see it."""
        self.staged.setdefault(table, Staged(key)).add(row, new)

    def append(self, table: str, rows: pa.Table) -> None:
        """``rows`` (the same schema each time) appended to ``table`` once the write has
        committed: Operate's 500 lines of an append staged as dicts took 0.7 ms each time
        to turn into Arrow as they landed, as columns 0.2."""
        self.staged.setdefault(table, Staged(None)).batches.append(rows)

    def then(self, done: Callable[[], None]) -> None:
        """``done()`` once the write has committed, before the next write begins (what a
        system keeps in memory of its own writes changes only with what DuckDB holds)."""
        self.committed.append(done)

    def by_key(self, table: str, key: str, value: Any, columns: tuple[str, ...]) -> tuple | None:
        return self.store.by_key(table, key, value, columns, self)

    def all_by(self, table: str, key: str, value: Any, columns: tuple[str, ...]) -> list[tuple]:
        return self.store.all_by(table, key, value, columns, self)


class Store:
    """The emulators' state: one DuckDB file, a cursor per request, one writer at a time.

    ``generation`` counts changes: it moves on before a write commits and again after
    (odd while one lands), and by two at ``prepare`` and ``restore``. What a system keeps
    in memory to answer faster (``kept``) holds for one generation: a reader that finds
    the generation unchanged after its query read nothing written since.

    Rows a write stages (``Writing.stage``) are answered from memory and written to DuckDB
    together (``staged``): before any statement that names their table, once
    ``STAGE_ROWS`` wait or the first has waited ``STAGE_SECONDS``, and at ``close``. A row
    ``by_key`` read from DuckDB is kept until a write names or stages its table, or its
    table's staged rows land."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._con = duckdb.connect(str(self.path), config=STORE_CONFIG)
        self._write = threading.Lock()
        self._writing: tuple[int, Writing] | None = None  # (thread, write) while one runs
        self.generation = 0
        self._kept: dict[str, tuple[int, Any]] = {}
        self._asked: dict[str, tuple[int, int]] = {}  # (generation, times) by name
        self.staged: dict[str, Staged] = {}
        self._timer: threading.Timer | None = None
        self._found: dict[str, Found] = {}  # by table
        self.landings = 0  # times staged rows landed
        pa.array([])  # pyarrow imports pandas with its first array (0.16 s): here, not in a write

    def prepare(self, statements) -> None:
        """Run ``statements`` (indexes made if missing), then checkpoint: DuckDB uses an
        index made since the last checkpoint at a fraction of its speed."""
        with self._write:
            self._flush()
            for sql in statements:
                self._con.execute(sql)
            self._con.execute("CHECKPOINT")
            self._found.clear()
            self.generation += 2

    def named(self, sql: str) -> list[str]:
        """The tables with staged rows that ``sql`` names (:func:`naming`)."""
        return [t for t in list(self.staged) if naming(t).search(sql)] if self.staged else []

    @contextmanager
    def _reading(self, sql: str) -> Iterator[Any]:
        """A cursor for ``sql``, its tables' staged rows written first; within a write
        (the thread that makes it), the write's own."""
        writing = self._writing
        if writing is not None and writing[0] == threading.get_ident():
            yield writing[1]
            return
        if self.named(sql):
            with self._write:
                self._flush(self.named(sql))
        with self._con.cursor() as cur:
            yield cur

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        with self._reading(sql) as cur:
            return cur.execute(sql, params or []).fetchall()

    def column(self, sql: str, params: Any = None) -> list:
        """The first column of a query's rows, fetched as one array rather than a tuple a
        row: the large world's skinny list of 410,294 calls in 193 ms instead of 254."""
        with self._reading(sql) as cur:
            return next(iter(cur.execute(sql, params or []).fetchnumpy().values())).tolist()

    def one(self, sql: str, params: Any = None) -> tuple | None:
        with self._reading(sql) as cur:
            return cur.execute(sql, params or []).fetchone()

    def by_key(
        self,
        table: str,
        key: str,
        value: Any,
        columns: tuple[str, ...],
        writing: Writing | None = None,
    ) -> tuple | None:
        """``columns`` of the row of ``table`` whose ``key`` is ``value``: as staged, else
        as stored (no staged row need be written first to read one that is not staged)."""
        seen = (self.generation, self.landings)
        staged = [
            found.rows.get(value)
            for found in (writing and writing.staged.get(table), self.staged.get(table))
            if found is not None and found.key == key
        ]
        row = next((columns for new, columns in filter(None, staged)), None)
        if row is not None and all(name in row for name in columns):
            return tuple(row[name] for name in columns)
        stored = self._stored(table, (key, value, columns, False), writing, seen)
        if stored is None or row is None:
            return stored
        return tuple(row.get(name, was) for name, was in zip(columns, stored, strict=True))

    def all_by(
        self,
        table: str,
        key: str,
        value: Any,
        columns: tuple[str, ...],
        writing: Writing | None = None,
    ) -> list[tuple]:
        """``columns`` of every row of ``table`` whose ``key`` is ``value`` (a location's
        accounts), kept as :meth:`by_key`'s rows are; for a table no write stages rows of."""
        if table in self.staged or (writing is not None and table in writing.staged):
            raise ValueError(f"{table} has staged rows: read them by key")
        seen = (self.generation, self.landings)
        return self._stored(table, (key, value, columns, True), writing, seen)

    def _stored(
        self, table: str, ask: tuple, writing: Writing | None, seen: tuple[int, int]
    ) -> tuple | None:
        """The row ``ask`` (key, value, columns, all) names as DuckDB holds it (every
        such row when ``all``), kept once read while nothing was written or landed
        (``seen``: the generation and the landings before the staged rows were looked at;
        e-automate's ``addCall`` looks up its customer, bill-to and technicians: most of its
        time), until a statement of a write names the table or its staged rows land.

        A table of at most ``FOUND_ROWS`` rows, once asked for rows not kept as many times
        as reading it whole costs (``FILL_AFTER``, ``FILL_COST``), is read whole for those
        columns: a push PATCHes each agreement once, and DuckDB's fixed cost per statement
        was 0.5 ms of the PATCH's 1.0 (now 0.1). Within a write whose statements have not
        named the table, DuckDB is read outside the write's transaction (what was
        committed, as the write is the only one), so a write that only stages begins none."""
        key, value, columns, every = ask
        own = writing is not None and writing.names(table)  # the write's changes may show
        found = Found() if own else self._found.get(table, Found())
        if ask in found.rows:
            return found.rows[ask]
        if not every and (key, columns) in found.whole:
            return None  # every row was read: there is none
        found.misses += 1
        names, whole = ", ".join(columns), False
        read: dict[tuple, tuple] | None = None
        with nullcontext(writing.cur) if own else self._con.cursor() as cur:
            if not (own or every) and found.misses >= FILL_AFTER:
                if found.count is None:
                    found.count = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                whole = found.count <= FOUND_ROWS and found.misses * FILL_COST >= found.count
            if whole:
                rows = cur.execute(f"SELECT {key}, {names} FROM {table}").fetchall()
                read = {(key, k, columns, False): tuple(rest) for k, *rest in rows}
                stored = read.get(ask)
            else:
                result = cur.execute(f"SELECT {names} FROM {table} WHERE {key} = ?", [value])
                stored = result.fetchall() if every else result.fetchone()
        if own or seen != (self.generation, self.landings) or seen[0] % 2:
            return stored
        found = self._found.setdefault(table, found)
        if len(found.rows) >= FOUND_ROWS:
            found.rows.clear()
            found.whole.clear()
        if read is None:
            found.rows[ask] = stored
        else:
            found.rows.update(read)
            found.whole.add((key, columns))
        return stored

    @contextmanager
    def write(self) -> Iterator[Writing]:
        """A transaction; writes are serialised so read-modify-write is safe."""
        with self._write:
            writing = Writing(self, self._con)
            self._writing = (threading.get_ident(), writing)
            try:
                yield writing
            except BaseException:
                writing._end(commit=False)
                raise
            finally:
                self._writing = None
            self.generation += 1
            try:
                writing._end(commit=True)
                for table in list(self._found):  # staged rows are found before these
                    if writing.names(table):
                        del self._found[table]
            finally:
                self.generation += 1
            self._landed(writing.written)
            for table, staged in writing.staged.items():
                if table in self.staged:
                    self.staged[table].taken(staged)
                else:
                    self.staged[table] = staged
            for done in writing.committed:
                done()
            self._flush_when_due()

    def _landed(self, tables: set[str]) -> None:
        """``tables``' staged rows are in DuckDB now: what was kept of their stored rows
        (read beside a staged row, for the columns it did not change) is let go."""
        for table in tables:
            del self.staged[table]
            self._found.pop(table, None)
        self.landings += 1

    def _flush(self, tables: list[str] | None = None) -> None:
        """Staged rows of ``tables`` (all when None) into DuckDB, in one transaction (they
        stay staged until it commits); the caller holds the write lock."""
        tables = list(self.staged) if tables is None else tables
        if not tables:
            return
        with self._con.cursor() as cur:
            cur.begin()
            try:
                for table in tables:
                    self.staged[table].write(cur, table)
            except BaseException:
                cur.rollback()
                raise
            cur.commit()
        self._landed(set(tables))

    def _flush_when_due(self) -> None:
        """Staged rows written now when ``STAGE_ROWS`` wait, else in ``STAGE_SECONDS``
        (a timer, started when the first row waits); the caller holds the write lock."""
        if sum(map(len, self.staged.values())) >= STAGE_ROWS:
            self._flush()
        if self.staged and self._timer is None:
            self._timer = threading.Timer(STAGE_SECONDS, self.flush)
            self._timer.daemon = True
            self._timer.start()
        elif not self.staged and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def flush(self) -> None:
        """Every staged row into DuckDB."""
        with self._write:
            self._timer = None
            self._flush()

    def kept(self, name: str, make: Callable[[duckdb.DuckDBPyConnection], Any]) -> tuple[int, Any]:
        """``(generation, make(cursor))``: what ``make`` reads, made again only when the
        store has changed since (between writes, so it is what that generation holds, its
        staged rows written first)."""
        kept = self._kept.get(name)
        if kept is None or kept[0] != self.generation:
            with self._write, self._con.cursor() as cur:
                self._flush()
                kept = self._kept[name] = (self.generation, make(cur))
        return kept

    def kept_once_asked(
        self, name: str, make: Callable[[duckdb.DuckDBPyConnection], Any], times: int
    ) -> tuple[int, Any] | None:
        """:meth:`kept`, once asked for ``times`` times in one generation (None before):
        for what costs many answers' time to make (a table's documents), which reads
        between writes, each of a new generation, would make again and again. What an
        earlier generation kept is let go meanwhile."""
        kept = self._kept.get(name)
        if kept is not None and kept[0] == self.generation:
            return kept
        self._kept.pop(name, None)
        generation, times_asked = self._asked.get(name, (-1, 0))
        times_asked = times_asked + 1 if generation == self.generation else 1
        self._asked[name] = (self.generation, times_asked)
        return self.kept(name, make) if times_asked >= times else None

    def documents(self, table: str, encoded: bool) -> tuple[int, list] | None:
        """``(generation, documents by row id)`` of ``table`` once its answers have asked
        for them ``KEEP_DOCUMENTS_AFTER`` times in this generation (:func:`documents`);
        None before, and for a table over ``KEEP_DOCUMENTS_ROWS``."""
        held = self.kept_once_asked(
            f"documents of {table}",
            lambda cur: documents(cur, table, encoded=encoded),
            KEEP_DOCUMENTS_AFTER,
        )
        return None if held is None or held[1] is None else held

    @contextmanager
    def between_writes(self) -> Iterator[None]:
        """No write is under way meanwhile, and none is made (the generation stays)."""
        with self._write:
            yield

    def save(self, path: Path) -> None:
        """A copy of the state as it is now, for :meth:`restore` (no request may be
        answered meanwhile: the chaos bench and tests save between runs)."""
        with self._write:
            self._flush()
            self._con.execute("CHECKPOINT")
            shutil.copyfile(self.path, path)

    def restore(self, path: Path) -> None:
        """The state :meth:`save` copied to ``path``, in place of the current one (rows
        staged since are let go with the rest)."""
        with self._write:
            self.staged.clear()
            self._found.clear()
            self._con.close()
            Path(f"{self.path}.wal").unlink(missing_ok=True)
            shutil.copyfile(path, self.path)
            self._con = duckdb.connect(str(self.path), config=STORE_CONFIG)
            self.generation += 2

    def close(self) -> None:
        with self._write:
            if self._timer is not None:
                self._timer.cancel()
            self._flush()
            self._con.close()
