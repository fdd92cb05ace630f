"""One run at a time per warehouse: an OS file lock next to the warehouse file.

A run (``crosswalk run``, or a flow a Prefect deployment started) holds an exclusive
``flock`` on ``<warehouse>.lock`` from before its first write to after its report, so a
second run never lands pages between the first's, builds while it pushes, or pushes the
same writes again. The second run waits for the first (``warehouse.when_busy = "wait"``,
at most ``wait_minutes``) or refuses at once (``"refuse"``, ``crosswalk run --no-wait``),
with one line naming the running one: flow, process id and since when. The operating
system drops the lock when the holding process ends, however it ends (a crash, SIGKILL),
so a dead run never blocks the next. The lock is re-entrant within a process:
``crosswalk run all`` holds it across its flows and each flow takes it again inside.
An operator's decision (``Warehouse.deciding``: the CLI's and the inbox's) takes it too,
around its write, so that no run reads half of one or pushes what it built without it;
a decision waits only a moment, since a person waits for its answer.

DuckDB lets one process write a file, and no other process read it meanwhile (a
read-only connection fails with "Could not set lock"). So a run ends by publishing a
read copy (``read_copy``): readers in other processes (``crosswalk status``, ``errors
list``, the inbox, analysts) read it while a run holds the lock, and the live file
otherwise.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

# Readers probe the lock for a moment (``holder``): a run starting right then tries again
# for this long before it calls the warehouse busy.
GRACE_SECONDS = 2.0
POLL_SECONDS = 0.5


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse; the message is the one line to show."""


@dataclass(frozen=True)
class Holder:
    """The run holding a warehouse, as it wrote itself into the lock file."""

    flow: str
    pid: int | None
    since: datetime | None

    def __str__(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
        since = f", since {self.since:%Y-%m-%d %H:%M:%S} UTC" if self.since else ""
        return f"{self.flow} ({pid}{since})"


@dataclass
class _Held:
    """A lock this process holds: its descriptor, and the flows inside it, outermost
    first, each with when it began."""

    fd: int
    flows: list[tuple[str, datetime]]


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def read_copy(warehouse: Path) -> Path:
    """Where the read copy of ``warehouse`` is published: a folder beside it, under the
    same file name, because dbt's views name their database after the file's stem."""
    return warehouse.parent / "read-copy" / warehouse.name


def held_here(warehouse: Path) -> bool:
    """Whether this process holds the warehouse's run lock."""
    return warehouse.resolve() in _held


@contextmanager
def one_run(
    warehouse: Path,
    flow: str,
    wait_minutes: float = 0,
    on_wait: Callable[[str], None] | None = None,
    refused: str = "not started",
) -> Iterator[None]:
    """Hold the warehouse's run lock while in the block: wait at most ``wait_minutes``
    for a run holding it (telling ``on_wait`` once, in one line), else raise
    WarehouseBusy naming it (``flow`` ``refused``: the run "not started", a decision
    "not saved"). A block inside one of the same process re-enters."""
    key = warehouse.resolve()
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.flows.append((flow, datetime.now(UTC)))
            _describe(held.fd, *held.flows[-1])
    if held is None:
        held = _acquire(key, flow, wait_minutes, on_wait, refused)
    try:
        yield
    finally:
        with _guard:
            held.flows.pop()
            if held.flows:
                _describe(held.fd, *held.flows[-1])
            else:
                del _held[key]
                os.close(held.fd)  # the OS drops the flock with its last descriptor


def _acquire(
    key: Path,
    flow: str,
    wait_minutes: float,
    on_wait: Callable[[str], None] | None,
    refused: str,
) -> _Held:
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(wait_minutes * 60, GRACE_SECONDS)
    told = False
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read(fd)
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(_busy(flow, refused, holder, key, wait_minutes)) from None
                if holder is not None and not told and wait_minutes > 0 and on_wait:
                    on_wait(f"{flow}: waiting for {holder} to finish with {key}")
                    told = True
                time.sleep(POLL_SECONDS)
    except BaseException:
        os.close(fd)
        raise
    held = _Held(fd, [(flow, datetime.now(UTC))])
    _describe(fd, *held.flows[-1])
    with _guard:
        _held[key] = held
    return held


def _busy(flow: str, refused: str, holder: Holder | None, key: Path, wait_minutes: float) -> str:
    running = str(holder) if holder else "another run"
    if wait_minutes <= 0:
        waited = ""
    elif wait_minutes < 1:  # a decision's short wait
        waited = f" after waiting {wait_minutes * 60:g} s"
    else:
        waited = f" after waiting {wait_minutes:g} min"
    return f"{flow} {refused}{waited}: {running} is running on {key}"


def holder(warehouse: Path) -> Holder | None:
    """The run holding the warehouse in another process, or None when none does."""
    key = warehouse.resolve()
    if key in _held:
        return None
    path = lock_path(key)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(fd) or Holder("another run", None, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _describe(fd: int, flow: str, since: datetime) -> None:
    """Write who holds the lock into the lock file, for the runs and readers that find
    it held."""
    text = json.dumps({"flow": flow, "pid": os.getpid(), "since": since.isoformat()})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def _read(fd: int) -> Holder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(str(data["flow"]), int(data["pid"]), datetime.fromisoformat(data["since"]))
    except (ValueError, TypeError, KeyError):
        return None  # written a moment after the lock is taken


def publish_read_copy(warehouse: Path) -> Path:
    """Checkpoint the warehouse and copy it, whole, to its read copy; the copy replaces
    the last one at once, so a reader holding the old one keeps reading it. Call it
    holding the run lock, with no write under way."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CHECKPOINT")
    target = read_copy(warehouse)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.copyfile(warehouse, partial)
    os.replace(partial, target)
    return target
