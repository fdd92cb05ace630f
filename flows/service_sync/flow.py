"""service-sync: PSA tickets with time -> ERP service calls, and calls back to tickets.

Reads ConnectWise service tickets (with time entries and members) and e-automate service
calls (with labor) and technicians changed since each watermark (less the configured
overlap), validates and lands them in ``raw_connectwise.*`` and ``raw_eautomate.*`` and
builds their models. A re-run is safe: rows merge by primary key and the watermark advances in the
same transaction as the rows it covers.
"""

from prefect import flow

from crosswalk.config import load_settings
from crosswalk.pipeline import Run, build_models, flow_run_recorded, land_entities, report
from schemas import connectwise, eautomate

ENTITIES = (
    connectwise.tickets,
    connectwise.time_entries,
    connectwise.members,
    eautomate.calls,
    eautomate.technicians,
)
MODELS = (
    "source:raw_connectwise.tickets+",
    "source:raw_connectwise.time_entries+",
    "source:raw_connectwise.members+",
    "+sync_health",
)


@flow(name="service-sync")
def service_sync(config: str | None = None, plan: bool = False, full_refresh: bool = False) -> Run:
    """Extract tickets, land them, build their models, report."""
    settings = load_settings(config)
    with flow_run_recorded("service-sync", settings, ENTITIES, plan, full_refresh) as run:
        land_entities(run, ENTITIES)
        run.models = build_models(run, MODELS)
    report(run)
    return run
