"""The steps every flow shares: extract -> validate -> land, dbt build, record, report.

Each is a Prefect task that works on a whole entity or the whole project, never on a
single record. Landing a batch of pages and advancing its watermark is one transaction, so
a crash or retry resumes after the last batch that landed and repeats nothing.

Every run ends with a failure report (``report``): the rows it quarantined and the
failures the flow added (``run.failures.add(...)``, see ``crosswalk.errors``) are kept
in ``sync.errors``, the report is a Prefect artifact on the flow run, and it is e-mailed
to the flow's recipients when there is something to say. A run that cannot complete
reports on its way out.
"""

from __future__ import annotations

import atexit
import functools
import inspect
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow_engine, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from crosswalk import dbt, mail, records, runlock
from crosswalk import report as render
from crosswalk.config import Settings, load_settings
from crosswalk.entities import Entity, Validated, combine, utc_stamp, validate
from crosswalk.errors import (
    INVALID_RECORD,
    Checked,
    ErrorBook,
    Failures,
    quarantined,
    redact,
    run_failure,
)
from crosswalk.progress import Progress
from crosswalk.pushing import Writes, land_left
from crosswalk.sources import Source, open_source, prefetched
from crosswalk.warehouse import LandResult, Warehouse


def _heartbeats_left_to_stop() -> None:
    """Prefect's flow-run heartbeat thread sleeps in steps of one second, and the sync
    engine joins it as a flow run ends, so every run waited up to a second (half of one on
    average) after its work was done. The thread is a daemon that sends nothing more once
    told to stop and ends at its next step, as Prefect's async engine leaves it
    (``join_on_exit=False``); the process waits for the ones still ending as it exits, so
    that none is cut off holding the run's objects. Heartbeats themselves are unchanged."""
    sending = getattr(flow_engine, "_send_heartbeats", None)
    if sending is None or "join_on_exit" not in inspect.signature(sending).parameters:
        return  # another Prefect: leave it as it is
    ending: list[threading.Thread] = []

    @contextmanager
    def left_to_stop(engine: Any, join_on_exit: bool = True) -> Iterator[None]:
        before = set(threading.enumerate())
        with sending(engine, join_on_exit=False):
            ending[:] = [t for t in ending if t.is_alive()]
            ending.extend(t for t in threading.enumerate() if t not in before)
            yield

    def join_ending() -> None:
        for thread in ending:
            thread.join(timeout=2)

    flow_engine._send_heartbeats = left_to_stop
    atexit.register(join_ending)


_heartbeats_left_to_stop()


class Run:
    """One flow run as the warehouse records it in ``sync.runs``.

    Deliberately not a dataclass: every task of a flow takes the run, and Prefect walks a
    dataclass argument (and the lists, dicts and sets in it) value by value on each task
    call, looking for futures to wait for; with a run's findings, keys and writes that cost
    seconds a flow run. A plain object is passed as it is."""

    def __init__(
        self,
        id: str,
        flow: str,
        settings: Settings,
        plan: bool = False,
        full_refresh: bool = False,
    ):
        self.id = id
        self.flow = flow
        self.settings = settings
        self.plan = plan
        self.full_refresh = full_refresh
        self.landed: list[LandResult] = []
        self.models: dbt.DbtOutcome | None = None
        self.status = "running"
        self.message: str | None = None
        self.error: Exception | None = None
        self.failures = Failures()
        # The writes a push step made, or in a plan run would make, in order.
        self.planned = Writes()
        # What a push step sums up for people, such as the money it moves (the CLI prints it).
        self.notes: list[str] = []
        # What the run took back from the systems that the warehouse had lost (links, keys,
        # what was charged): said in the report, and printed.
        self.rebuilt: list[str] = []
        # The warehouse holds no earlier run of this flow: new, or lost and made again.
        self.first = False

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse.path)

    def totals(self) -> LandResult:
        total = LandResult("all", "all")
        for result in self.landed:
            total.add(result)
        return total


def one_run_per_warehouse(body: Callable[..., Run]) -> Callable[..., Run]:
    """A flow body run holding its warehouse's run lock, from before its first write to
    after its report (crosswalk/runlock.py): a second run waits for it or refuses, by
    ``[warehouse] when_busy``, naming it in one line. The run keeps the warehouse open
    (``Warehouse.kept_open``); as it ends, whatever its outcome, it closes it and
    publishes the read copy. Put it under ``@flow``."""

    @functools.wraps(body)
    def alone(*args: Any, **kwargs: Any) -> Run:
        config = inspect.signature(body).bind(*args, **kwargs).arguments.get("config")
        place = load_settings(config).warehouse
        name = flow_run.flow_name or body.__name__

        def waiting(line: str) -> None:
            get_run_logger().warning(line)

        with runlock.one_run(place.path, name, place.minutes_to_wait, waiting):
            try:
                with Warehouse(place.path).kept_open(place.memory_limit):
                    return body(*args, **kwargs)
            finally:
                _publish_read_copy(place.path)

    return alone


def _publish_read_copy(path: Path) -> None:
    """The read copy other processes read while the next run holds the warehouse; a copy
    that cannot be made leaves the last one and says why."""
    if not path.exists():
        return
    try:
        runlock.publish_read_copy(path)
    except (OSError, duckdb.Error) as exc:
        get_run_logger().warning("read copy of %s not updated: %s", path, exc)


@contextmanager
def flow_run_recorded(
    flow: str,
    settings: Settings,
    entities: Sequence[Entity],
    plan: bool,
    full_refresh: bool,
    reads: Sequence[Entity] = (),
) -> Iterator[Run]:
    """Record the run in ``sync.runs``: started now, completed or failed with the reason.

    The raw tables of ``entities`` (what the flow lands) and of ``reads`` (what another
    flow lands and this one's models read: agreement-sync reads the customer mapping) are
    created up front, so that dbt's sources exist even before a system has returned a
    record or the other flow has run. A run that fails is reported on its way out
    (``report``), so its recipients hear that it could not complete and why.
    """
    run = Run(str(flow_run.id or uuid.uuid4()), flow, settings, plan, full_refresh)
    files = settings.read_from_files()
    for system in sorted({e.system for e in entities} & set(files)):
        run.notes.append(f"{system} read from files in {files[system]}, not from its API")
    warehouse = run.warehouse
    warehouse.migrate()
    if left := land_left(warehouse, (*entities, *reads)):
        run.notes.append(f"{left} records that a stopped run's writes returned landed first")
    run.first = warehouse.first_run_of(flow)
    warehouse.ensure_tables([(e.system, e.name, e.arrow_schema) for e in (*entities, *reads)])
    if full_refresh:
        warehouse.reset_watermarks([e.key for e in entities])
    warehouse.start_run(run.id, flow, plan, full_refresh)
    try:
        yield run
    except BaseException as exc:
        run.status, run.message = "failed", redact(f"{type(exc).__name__}: {exc}", settings)
        warehouse.finish_run(run.id, run.status, run.landed, run.message)
        if isinstance(exc, Exception):  # not on cancellation or interrupt
            run.error = exc
            _report_on_the_way_out(run)
        raise
    run.status = "completed"
    warehouse.finish_run(run.id, run.status, run.landed)


def note_rebuilt(run: Run, what: str, sql: str) -> None:
    """On the first run of a flow on this warehouse (new, or lost and made again), say
    how many of its links it took back from what the systems hold: ``sql`` counts them,
    ``what`` says what they are and where they were read."""
    if not run.first or run.plan:
        return
    with run.warehouse.connect(read_only=True) as con:
        (count,) = con.execute(sql).fetchone()
    run.rebuilt.append(f"{count} {what}")


def _transient(task, task_run, state) -> bool:
    """Retry only what may pass on a second try: network and I/O failures, not bad data."""
    return isinstance(state.result(raise_on_failure=False), (OSError, TimeoutError))


# Rows landed in one transaction: pages are gathered up to this many before they land.
LAND_ROWS = 20_000


@task(
    task_run_name="land-{entity}",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def extract_and_land(run: Run, source: Source, entity: Entity) -> LandResult:
    """Read the entity's changes since its watermark (less the overlap) and land them in
    batches of pages; repeats from the overlap merge away by primary key. A mirror is read
    whole and then loses the rows the read did not return."""
    logger = get_run_logger()
    warehouse = run.warehouse
    started = datetime.now(UTC)
    stored = warehouse.watermark(entity.system, entity.name)
    overlap = timedelta(minutes=run.settings.extract.overlap_minutes)
    since = None if entity.mirror else _minus(stored, overlap)
    parents, changed_in = None, None
    if (parent := entity.parent) is not None:
        changed_in = None if run.full_refresh else run.id
        parents = warehouse.keys_landed(
            parent.system, parent.name, parent.primary_key[0], changed_in
        )
        if changed_in is not None:
            named = {
                key
                for other, column in entity.parents_named_by
                for key in warehouse.keys_landed(other.system, other.name, column, changed_in)
                if key is not None
            }
            parents = sorted(set(parents) | named)
    # Complete: every record was read again, so failures not seen again are resolved.
    complete = since is None and (parents is None or changed_in is None)
    total = LandResult(entity.system, entity.name, watermark=stored, complete=complete)
    seen: set[str] = set()
    progress = Progress(f"{entity}: read", logger)
    pending: list[Validated] = []
    reached = stored  # the watermark of the pages read so far
    held = None  # the greatest cursor of pages in another order: safe once all are read
    landing: Future[LandResult] | None = None  # the batch landing while pages are read on

    def wait_for_landing() -> None:
        nonlocal landing
        if landing is not None:
            total.add(landing.result())
            landing = None

    def land(batches: list[Validated], watermark: str | None) -> LandResult:
        checked = combine(entity, batches)
        return warehouse.land(
            entity.system,
            entity.name,
            entity.primary_key,
            checked.table,
            run.id,
            checked.rejected,
            watermark=watermark,
        )

    def land_pending() -> None:
        nonlocal landing
        wait_for_landing()  # one batch in flight: batches and watermarks land in order
        watermark = reached if reached != total.watermark else None
        landing = lander.submit(land, list(pending), watermark)
        pending.clear()

    # The next page is read while this one is validated, and the last batch lands (DuckDB
    # works without the GIL) meanwhile; pages land together, many to a transaction, each
    # batch with the watermark of its last page (of the whole read, when the pages are not
    # in cursor order: Page.ordered). Leaving, the batch in flight ends first.
    with ThreadPoolExecutor(1, thread_name_prefix="crosswalk-land") as lander:
        for page in prefetched(source.pages(entity, since, parents)):
            checked = validate(entity, page.records, page.sources)
            if not total.complete:
                total.keys.update(_keys_read(entity, checked))
            if page.watermark is not None or page.ordered:
                reached = _later(reached, page.watermark or checked.cursor)
            else:
                held = _later(held, checked.cursor)
            pending.append(checked)
            if sum(b.table.num_rows + len(b.rejected) for b in pending) >= LAND_ROWS:
                land_pending()
            progress.advance(len(page.records), page.total)
            if entity.mirror:
                seen |= _keys_read(entity, checked)
        reached = _later(reached, held)  # every page is read
        if pending or held is not None:
            land_pending()
        wait_for_landing()
    progress.close(
        f"{entity}: read {total.read}, landed {total.landed} ({total.inserted} new, "
        f"{total.updated} changed), quarantined {total.quarantined}"
    )
    # An empty answer is far likelier a fault than a system without records: keep all.
    if entity.mirror and seen:
        gone = warehouse.mirror(
            entity.system, entity.name, entity.primary_key[0], seen, started.isoformat(), run.id
        )
        logger.info("%s: %d rows no longer in %s, deleted", entity, gone, entity.system)
    return total


def open_apis(run: Run, clients: Mapping[str, type]) -> dict[str, Any]:
    """A client (``ConnectWise``, ``Operate``...) per named system a push writes to, with
    its secrets checked first; None where the system is not configured or is read from
    exports."""
    systems = run.settings.systems
    names = [
        n for n in clients if getattr(systems, n) is not None and not getattr(systems, n).fixtures
    ]
    secrets = run.settings.resolve_secrets(names)
    return {
        name: client.from_settings(getattr(systems, name), secrets[name]) if name in names else None
        for name, client in clients.items()
    }


def land_entities(run: Run, entities: Sequence[Entity]) -> None:
    """Extract and land each entity in turn; one source per system, so a child entity
    (sites) is read for the parents (companies) read before it."""
    sources: dict[str, Source] = {}
    for entity in entities:
        if entity.system not in sources:
            sources[entity.system] = open_source(run.settings, entity.system, run.flow)
        run.landed.append(extract_and_land(run, sources[entity.system], entity))
    # A run checkpoints seldom (warehouse.CHECKPOINT_AFTER): what the reads landed goes
    # into the file now, leaving DuckDB's memory to the models' build.
    run.warehouse.checkpoint()


@task(cache_policy=NO_CACHE)
def build_models(run: Run, select: Sequence[str], tests: bool = True) -> dbt.DbtOutcome:
    """dbt build of the flow's models and their tests (``tests=False``: the models only);
    none when nothing they are built from changed since their last build."""
    progress = Progress("dbt build", get_run_logger(), unit="nodes")
    outcome = dbt.build(run.settings, select, run.full_refresh, tests, run.id, progress)
    progress.close(f"dbt build: {outcome}")
    return outcome


@task(cache_policy=NO_CACHE)
def report(run: Run) -> str:
    """Keep the run's failures in ``sync.errors``, publish the report as a Prefect
    artifact and e-mail it when there is something to say; returns the markdown."""
    logger = get_run_logger()
    result = file_report(run, logger)
    create_markdown_artifact(
        markdown=result.markdown, key=f"{run.flow}-report", description=run.flow
    )
    return result.markdown


@dataclass(frozen=True)
class Filed:
    """A report as rendered, and where its e-mail went (None: none was due)."""

    report: render.Report
    markdown: str
    message: EmailMessage | None = None
    delivery: mail.Delivery | None = None


def file_report(run: Run, logger: logging.Logger | logging.LoggerAdapter) -> Filed:
    """The report step without Prefect: record, render, deliver, then count it as sent.

    A plan run records what it found and sends nothing. When the SMTP server fails the
    e-mail goes to the outbox and the log says so; only when even the outbox cannot be
    written does this raise, and then the failures stay due for the next report.
    """
    settings = run.settings
    found = [
        # Every failure on a record with a web address links to it.
        f if f.url else replace(f, url=records.link(settings, f.system, f.entity, f.record_id))
        for f in (*quarantined(run.warehouse, settings, run.id), *run.failures.found.values())
    ]
    if run.error is not None and not run.plan:
        found.append(run_failure(run.error, settings))
    checked = [
        *run.failures.checked,
        *(
            Checked(r.system, r.entity, INVALID, None if r.complete else frozenset(r.keys))
            for r in run.landed
        ),
    ]
    book = ErrorBook(
        run.warehouse, run.flow, settings.report.max_times, settings.report.max_per_group
    )
    findings = book.record(run.id, found, checked, failed=run.status == "failed", plan=run.plan)
    # What the run's own writes settled, unless it was reported before: then it is resolved.
    announced = set(findings.resolved.ids)
    fixed = tuple(f for f in run.failures.fixed.values() if f.identity(run.flow) not in announced)
    report = render.Report(
        flow=run.flow,
        run_id=run.id,
        status=run.status,
        finished_at=datetime.now(UTC),
        findings=findings,
        plan=run.plan,
        entities=tuple(
            render.EntityCounts(
                f"{r.system}.{r.entity}", r.read, r.landed, r.inserted, r.updated, r.quarantined
            )
            for r in run.landed
        ),
        models=str(run.models) if run.models else None,
        group_limit=settings.report.max_per_group,
        fixed=fixed,
        rebuilt=tuple(run.rebuilt),
        inbox_url=settings.inbox.base_url,
    )
    if run.plan or not findings.newsworthy:
        why = (
            "a plan run sends no e-mail"
            if run.plan
            else "none sent: nothing new, nothing open within its "
            f"{findings.max_times} reports, nothing resolved"
        )
        logger.info("failure report: %s; e-mail %s", render.counts(report), why)
        return Filed(report, render.markdown(report, why))
    recipients = settings.recipients(run.flow)
    smtp = settings.report.smtp
    message = mail.compose(report, smtp.sender if smtp else DEFAULT_SENDER, recipients)
    name = f"{report.finished_at:%Y%m%dT%H%M%SZ}-{run.flow}-{run.id[:8]}"
    delivery = mail.deliver(message, settings.report, recipients, settings.smtp_password, name)
    (logger.warning if delivery.note else logger.info)(
        "failure report (%s): e-mail %s", render.counts(report), delivery
    )
    book.reported(
        findings,
        subject=render.subject(report),
        recipients=recipients,
        delivery=delivery.method,
        destination=delivery.destination,
        note=delivery.note,
    )
    return Filed(report, render.markdown(report, str(delivery)), message, delivery)


DEFAULT_SENDER = "crosswalk <crosswalk@localhost>"  # the outbox's From when no SMTP is set
INVALID = frozenset([INVALID_RECORD])


def _report_on_the_way_out(run: Run) -> None:
    """Report a run that could not complete; a failing report never hides why the run
    failed, so it is logged and the run's own exception goes on."""
    try:
        report(run)
    except Exception as exc:
        get_run_logger().error(
            "the failure report of this failed run could not be made: %s: %s",
            type(exc).__name__,
            exc,
        )


def _keys_read(entity: Entity, checked: Validated) -> set[str]:
    """The ids of every record in a page, landed or rejected, as failures name them."""
    columns = [checked.table[key].to_pylist() for key in entity.primary_key]
    keys = {
        "|".join("" if v is None else str(v) for v in values)
        for values in zip(*columns, strict=True)
    }
    keys.update(records.record_id(r.key, r.record) for r in checked.rejected)
    return keys


def _minus(watermark: str | None, overlap: timedelta) -> str | None:
    """The watermark moved back by the overlap, when it is a point in time."""
    stamp = utc_stamp(watermark)
    return (stamp - overlap).isoformat() if stamp is not None else watermark


def _later(current: str | None, candidate: str | None) -> str | None:
    """The later of two cursor values: a watermark never moves backwards."""
    if current is None or candidate is None:
        return candidate or current
    a, b = utc_stamp(current), utc_stamp(candidate)
    if a is not None and b is not None:
        return candidate if b > a else current
    return max(current, candidate)
