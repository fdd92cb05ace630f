"""Call logs in: each Connect call-logger location's export for the days since its last
import, and files dropped in the inbox, parsed by their layout and landed in
``raw_calllogs.calls`` (merged by ``line_hash``), bad lines in ``sync.quarantine``.

A location's cursor is the last day its previous download covered; the next one starts
``overlap_days`` before it, so calls logged late are not missed, and the repeats merge
away (and are never charged twice: charging goes by line hash). The cursor advances only
once the file has landed.

Inbox files live in ``<inbox>/<Operate location id>/<layout>/`` and move to
``<inbox>/imported/`` once landed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk.calllogs import Layout, Parsed, parse
from crosswalk.config import ChargeImportConfig
from crosswalk.connect import Connect
from crosswalk.entities import Rejected
from crosswalk.errors import data_failure
from crosswalk.pipeline import Run
from crosswalk.warehouse import LandResult, Warehouse, registered
from schemas import calllogs

SYSTEM = "calllogs"
FIRST_IMPORT_DAYS = 31  # how far back a location's first import reads without first_date
DOWNLOAD_DAYS = 31  # one export file covers at most this many days
LAND_ROWS = 500_000  # calls landed in one merge


@dataclass(frozen=True)
class CallLog:
    """One file to import: where it is, whose calls, read by which layout."""

    path: Path
    location_id: int
    layout: str
    origin: str  # "Connect site 9001, 2025-11-01 to 2025-11-30" or "inbox"
    last_day: date | None = None  # the location's new cursor once landed (downloads)
    done: Path | None = None  # where an inbox file moves once landed


@dataclass(frozen=True)
class Location:
    """An Operate location; ``site_id`` is set when it has a Connect call logger."""

    id: int
    name: str
    site_id: int | None


def cursor_key(location_id: int) -> str:
    return f"location-{location_id}"


def import_window(
    last_day: str | None, settings: ChargeImportConfig, until: date, full_refresh: bool
) -> tuple[date, date] | None:
    """The days to download: from the cursor less the overlap (or the first date) to
    ``until``; None when there is nothing new."""
    if last_day and not full_refresh:
        first = date.fromisoformat(last_day) - timedelta(days=settings.overlap_days)
    else:
        first = settings.first_date or until - timedelta(days=FIRST_IMPORT_DAYS)
    return (first, until) if first <= until else None


def chunks(window: tuple[date, date] | None) -> list[tuple[date, date]]:
    """The window in downloads of at most ``DOWNLOAD_DAYS`` days, oldest first."""
    if window is None:
        return []
    first, last = window
    found = []
    while first <= last:
        end = min(last, first + timedelta(days=DOWNLOAD_DAYS - 1))
        found.append((first, end))
        first = end + timedelta(days=1)
    return found


def landed_setup(warehouse: Warehouse) -> tuple[dict[int, Location], dict[str, tuple[int, int]]]:
    """The Operate locations and, by device name, each device import map's header and
    footer rows, as landed this run."""
    with warehouse.connect(read_only=True) as con:
        locations = {
            id_: Location(id_, name, site if has_logger else None)
            for id_, name, site, has_logger in con.execute(
                "SELECT id, name, connect_site_id, coalesce(connect_call_logger, false) "
                "FROM raw_operate.locations ORDER BY id"
            ).fetchall()
        }
        maps = {
            name: (header, footer)
            for name, header, footer in con.execute(
                "SELECT device_name, header_rows, footer_rows FROM raw_operate.device_import_maps "
                "ORDER BY id DESC"
            ).fetchall()
        }
    return locations, maps


def inbox_files(inbox: Path | None, layouts: dict[str, Layout]) -> list[CallLog]:
    """Files in ``<inbox>/<location id>/<layout>/``, oldest name first."""
    if inbox is None or not inbox.is_dir():
        return []
    found = []
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir() and p.name.isdigit()):
        for layout in sorted(p for p in folder.iterdir() if p.is_dir() and p.name in layouts):
            for path in sorted(p for p in layout.iterdir() if p.is_file()):
                done = inbox / "imported" / folder.name / layout.name / path.name
                found.append(CallLog(path, int(folder.name), layout.name, "inbox", done=done))
    return found


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def download_call_log(
    connect: Connect, location: Location, layout_name: str, layout: Layout, window, folder: Path
) -> CallLog:
    """The location's Connect export for the window of days, saved in ``folder``."""
    first, last = window
    name = f"location-{location.id}-{first:%Y%m%d}-{last:%Y%m%d}-{layout_name}.csv"
    path = connect.download_call_log(
        location.site_id, first, last, layout.connect_format, folder / name
    )
    origin = f"Connect site {location.site_id}, {first} to {last}"
    return CallLog(path, location.id, layout_name, origin, last_day=last)


def parse_call_log(log: CallLog, layout: Layout, rows: tuple[int, int]) -> Parsed:
    """Parse one file (``rows``: its map's header and footer rows)."""
    return parse(
        log.path,
        layout,
        location_id=log.location_id,
        header_rows=rows[0],
        footer_rows=rows[1],
        name=log.path.name,
        layout_name=log.layout,
    )


class Lander:
    """Lands parsed files together, up to ``LAND_ROWS`` calls in one merge (a merge costs
    a pass over the landed calls, however few it adds); a file's cursor advances, and an
    inbox file moves, only once its calls have landed."""

    def __init__(self, run: Run):
        self.run = run
        self.total = LandResult(calllogs.calls.system, calllogs.calls.name)
        self._tables: list[pa.Table] = []
        self._rejected: list[Rejected] = []
        self._logs: list[CallLog] = []
        self._rows = 0

    def add(self, log: CallLog, parsed: Parsed) -> None:
        self._tables += [b.cast(calllogs.calls.arrow_schema) for b in parsed.batches]
        self._rejected += [
            Rejected(
                record={**bad.record, "source": f"{log.path.name}:{bad.line}"},
                reason=bad.reason,
                key=f"{log.path.name}:{bad.line}",
                source=f"{log.path.name}:{bad.line}",
            )
            for bad in parsed.bad
        ]
        self._logs.append(log)
        self._rows += parsed.calls
        if self._rows >= LAND_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._logs:
            return
        entity, warehouse = calllogs.calls, self.run.warehouse
        batch = first_of_each(
            pa.concat_tables(self._tables) if self._tables else entity.arrow_schema.empty_table()
        )
        landed = warehouse.land(
            entity.system, entity.name, entity.primary_key, batch, self.run.id, self._rejected
        )
        self.total.add(landed)
        _record_read(warehouse, self.run.id, batch)
        for log in self._logs:
            if log.last_day is not None:
                warehouse.set_watermark(
                    SYSTEM, cursor_key(log.location_id), log.last_day.isoformat(), self.run.id
                )
            if log.done is not None:
                log.done.parent.mkdir(parents=True, exist_ok=True)
                target = log.done
                if target.exists():
                    target = target.with_name(f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{target.name}")
                shutil.move(log.path, target)
        self._tables, self._rejected, self._logs, self._rows = [], [], [], 0


def first_of_each(table: pa.Table) -> pa.Table:
    """One row per line hash (a call in two files of one landing: the first read)."""
    if not table.num_rows:
        return table
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    first = numbered.group_by("line_hash").aggregate([("_row", "min")])["_row_min"]
    return table.take(pc.take(first, pc.sort_indices(first)))


def _record_read(warehouse: Warehouse, run_id: str, batch: pa.Table) -> None:
    """Which calls this run read (for its accounting: read = charged + skipped + ...)."""
    if not batch.num_rows:
        return
    hashes = pa.table({"line_hash": batch["line_hash"]})
    with warehouse.transaction() as con, registered(con, "read_batch", hashes):
        con.execute("INSERT INTO sync.calls_read SELECT ?, line_hash FROM read_batch", [run_id])


def forget_earlier_reads(warehouse: Warehouse, run_id: str) -> None:
    """``sync.calls_read`` holds the latest run's reads only."""
    with warehouse.transaction() as con:
        con.execute("DELETE FROM sync.calls_read WHERE run_id <> ?", [run_id])


@task(cache_policy=NO_CACHE)
def import_call_logs(run: Run, connect: Connect | None, until: date) -> LandResult:
    """Download each call-logger location's new calls, read the inbox, land them all."""
    log_ = get_run_logger()
    warehouse = run.warehouse
    settings = run.settings.flows.charge_import
    layouts = settings.all_layouts()
    forget_earlier_reads(warehouse, run.id)
    locations, maps = landed_setup(warehouse)
    folder = warehouse.path.parent / "calllogs" / "downloads"
    logs: list[CallLog] = []
    for location in locations.values():
        name = settings.layout_of(location.id)
        layout = layouts[name]
        if location.site_id is None:
            continue
        if layout.device not in maps:
            _no_map(run, location, name, layout)
        elif connect is None or layout.connect_format is None:
            log_.info("%s: not downloaded (no Connect API, or layout %s has no Connect "
                      "format)", location.name, name)  # fmt: skip
        else:
            cursor = warehouse.watermark(SYSTEM, cursor_key(location.id))
            window = import_window(cursor, settings, until, run.full_refresh)
            for days in chunks(window):
                logs.append(download_call_log(connect, location, name, layout, days, folder))
    for log in inbox_files(settings.inbox, layouts):
        layout = layouts[log.layout]
        if log.location_id not in locations:
            run.failures.add(
                data_failure(
                    "operate", "locations", log.location_id, "call-log-location-unknown",
                    f"{log.path} is in the inbox folder of location {log.location_id}, which "
                    "Operate does not have; it is not imported",
                    "Move the file to the folder named after the Operate location id the "
                    "calls were made at.",
                    label=f"inbox file {log.path.name}",
                )
            )  # fmt: skip
        elif layout.device not in maps:
            _no_map(run, locations[log.location_id], log.layout, layout)
        else:
            logs.append(log)
    lander = Lander(run)
    for log in logs:
        layout = layouts[log.layout]
        parsed = parse_call_log(log, layout, maps[layout.device])
        lander.add(log, parsed)
        log_.info(
            "%s (%s): %d calls, %d lines unreadable", log.path.name, log.origin,
            parsed.calls, len(parsed.bad),
        )  # fmt: skip
    lander.flush()
    return lander.total


def _no_map(run: Run, location: Location, name: str, layout: Layout) -> None:
    run.failures.add(
        data_failure(
            "operate", "device_import_maps", layout.device, "import-map-missing",
            f"Operate has no device import map named {layout.device!r}, which layout "
            f"{name!r} names: the call logs of {location.name} are not imported",
            f"Create the device import map {layout.device!r} in Operate (Charges > Device "
            "Import Maps), or name an existing one as this layout's device in crosswalk.toml.",
            label=f"device import map {layout.device!r}",
        )
    )  # fmt: skip
