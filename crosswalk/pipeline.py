"""The steps every flow shares: extract -> validate -> land, dbt build, record, report.

Each is a Prefect task that works on a whole entity or the whole project, never on a
single record. Landing a page and advancing its watermark is one transaction, so a
crash or retry resumes after the last page that landed and repeats nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from crosswalk import dbt
from crosswalk.config import Settings
from crosswalk.entities import Entity, utc_stamp, validate
from crosswalk.sources import Source, open_source
from crosswalk.warehouse import LandResult, Warehouse
from schemas import ENTITIES


@dataclass
class Run:
    """One flow run as the warehouse records it in ``sync.runs``."""

    id: str
    flow: str
    settings: Settings
    plan: bool = False
    full_refresh: bool = False
    landed: list[LandResult] = field(default_factory=list)
    models: dbt.DbtOutcome | None = None
    status: str = "running"
    message: str | None = None

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse.path)

    def totals(self) -> LandResult:
        total = LandResult("all", "all")
        for result in self.landed:
            total.add(result)
        return total


@contextmanager
def flow_run_recorded(
    flow: str, settings: Settings, entities: Sequence[Entity], plan: bool, full_refresh: bool
) -> Iterator[Run]:
    """Record the run in ``sync.runs``: started now, completed or failed with the reason.

    The raw tables of ``entities`` are created up front so that dbt's sources exist
    even before a system has returned a record.
    """
    run = Run(str(flow_run.id or uuid.uuid4()), flow, settings, plan, full_refresh)
    warehouse = run.warehouse
    warehouse.migrate()
    for entity in entities:
        warehouse.ensure_table(entity.system, entity.name, entity.arrow_schema)
    if full_refresh:
        warehouse.reset_watermarks([e.key for e in entities])
    warehouse.start_run(run.id, flow, plan, full_refresh)
    try:
        yield run
    except BaseException as exc:
        run.status, run.message = "failed", f"{type(exc).__name__}: {exc}"
        warehouse.finish_run(run.id, run.status, run.landed, run.message)
        raise
    run.status = "completed"
    warehouse.finish_run(run.id, run.status, run.landed)


def _transient(task, task_run, state) -> bool:
    """Retry only what may pass on a second try: network and I/O failures, not bad data."""
    return isinstance(state.result(raise_on_failure=False), (OSError, TimeoutError))


@task(
    task_run_name="land-{entity}",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def extract_and_land(run: Run, source: Source, entity: Entity) -> LandResult:
    """Read the entity's changes since its watermark (less the overlap) and land them page
    by page; repeats from the overlap merge away by primary key."""
    logger = get_run_logger()
    warehouse = run.warehouse
    stored = warehouse.watermark(entity.system, entity.name)
    since = _minus(stored, timedelta(minutes=run.settings.extract.overlap_minutes))
    total = LandResult(entity.system, entity.name, watermark=stored)
    parents = None
    if entity.parent:
        parent = ENTITIES[f"{entity.system}.{entity.parent}"]
        changed_in = None if run.full_refresh else run.id
        parents = warehouse.keys_landed(
            entity.system, parent.name, parent.primary_key[0], changed_in
        )
    for page in source.pages(entity, since, parents):
        checked = validate(entity, page.records, page.sources)
        watermark = _later(total.watermark, page.watermark or checked.cursor)
        landed = warehouse.land(
            entity.system,
            entity.name,
            entity.primary_key,
            checked.table,
            run.id,
            checked.rejected,
            watermark=watermark if watermark != total.watermark else None,
        )
        total.add(landed)
        logger.info(
            "%s: read %d, landed %d (%d new, %d changed), quarantined %d",
            entity, landed.read, landed.landed, landed.inserted, landed.updated,
            landed.quarantined,
        )  # fmt: skip
    return total


def land_entities(run: Run, entities: Sequence[Entity]) -> None:
    """Extract and land each entity in turn; one source per system, so a child entity
    (sites) is read for the parents (companies) read before it."""
    sources: dict[str, Source] = {}
    for entity in entities:
        if entity.system not in sources:
            sources[entity.system] = open_source(run.settings, entity.system, run.flow)
        run.landed.append(extract_and_land(run, sources[entity.system], entity))


@task(cache_policy=NO_CACHE)
def build_models(run: Run, select: Sequence[str]) -> dbt.DbtOutcome:
    """dbt build of the flow's models and their tests."""
    outcome = dbt.build(run.settings, select, full_refresh=run.full_refresh)
    get_run_logger().info("dbt build: %s", outcome)
    return outcome


@task(cache_policy=NO_CACHE)
def report(run: Run) -> str:
    """The run's summary as a Prefect artifact; returns the same markdown."""
    lines = [
        f"# {run.flow}: {run.status}" + (" (plan only)" if run.plan else ""),
        "",
        "| entity | read | landed | new | changed | quarantined |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in [*run.landed, run.totals()]:
        name = "**total**" if r.system == "all" else f"{r.system}.{r.entity}"
        lines.append(
            f"| {name} | {r.read} | {r.landed} | {r.inserted} | {r.updated} | {r.quarantined} |"
        )
    reasons = run.totals().reasons
    if reasons:
        lines += ["", "Quarantined rows (see `sync.quarantine`):", ""]
        lines += [f"- {count} x {reason}" for reason, count in reasons.most_common()]
    if run.models:
        lines += ["", f"dbt build: {run.models}"]
    markdown = "\n".join(lines)
    create_markdown_artifact(markdown=markdown, key=f"{run.flow}-report", description=run.flow)
    return markdown


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
