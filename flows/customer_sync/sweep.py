"""customer-sync's sweep for deleted and merged companies, and the links it breaks.

Companies land by ``lastUpdated``, which a deletion by merge leaves alone and a purge
takes away with the record. So every ``flows.customer_sync.sweep_hours`` (0: every run;
the first run and a full refresh always) the flow reads every company id, cheaply
(``connectwise.company_ids``: id, deletedFlag, identifier), and the models count a company
the sweep saw deleted as deleted and one it did not return as purged
(``int_companies_swept``). A link in ``sync.links`` whose company is gone is then marked
broken with the reason (``int_links_checked``): it no longer decides a match, it is
reported, and it stays until an operator sets it again or resets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk import decisions
from crosswalk.entities import Entity, utc_stamp
from crosswalk.pipeline import Run
from schemas import connectwise

SWEEP = connectwise.company_ids


def sweep_due(last_sweep: str | None, hours: int, now: datetime) -> bool:
    """Whether the company ids are read again: never read, every run (0), or the last
    sweep began ``hours`` or more ago."""
    began = utc_stamp(last_sweep)
    return began is None or hours == 0 or now - began >= timedelta(hours=hours)


def due(run: Run, entities: Sequence[Entity], sweep: Entity, hours: int) -> list[Entity]:
    """``entities`` to land in this run: the ``sweep`` among them only when it is due, every
    ``hours`` (customer-sync's of the company ids, service-sync's of the time entry ids)."""
    last = run.warehouse.watermark(sweep.system, sweep.name)
    if sweep_due(last, hours, datetime.now(UTC)):
        return list(entities)
    get_run_logger().info("%s sweep: last began %s, next after %d hours", sweep.name, last, hours)
    return [entity for entity in entities if entity != sweep]


@task(cache_policy=NO_CACHE)
def mark_broken_links(run: Run) -> int:
    """Mark each link to a company found gone as broken, with the reason; a link already
    broken keeps its first reason. A plan run changes no link."""
    if run.plan:
        return 0
    with run.warehouse.transaction() as con:
        rows = decisions.mark_broken_links(con)
    logger = get_run_logger()
    for kind, number, target, reason in rows:
        logger.warning("link %s %s -> %s marked broken: %s", kind, number, target, reason)
    return len(rows)
