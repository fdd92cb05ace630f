"""customer-sync: ERP customers and locations <-> PSA companies and sites.

Reads ConnectWise companies and e-automate customers changed since each entity's
watermark (less the configured overlap), validates them, lands them in
``raw_connectwise.companies`` and ``raw_eautomate.customers``, and builds the mapping
models (``marts.mapped_customers``). A re-run is safe: rows merge by primary key and a
watermark advances in the same transaction as the rows it covers.
"""

from prefect import flow

from crosswalk.config import load_settings
from crosswalk.pipeline import Run, build_models, flow_run_recorded, land_entities, report
from schemas import connectwise, eautomate

ENTITIES = (connectwise.companies, connectwise.sites, eautomate.customers)
MODELS = (
    "source:raw_connectwise.companies+",
    "source:raw_connectwise.sites+",
    "source:raw_eautomate.customers+",
    "source:sync.links+",
    "source:sync.exclusions+",
    "+sync_health",
)


@flow(name="customer-sync")
def customer_sync(config: str | None = None, plan: bool = False, full_refresh: bool = False) -> Run:
    """Extract companies and customers, land them, build the mapping, report."""
    settings = load_settings(config)
    with flow_run_recorded("customer-sync", settings, ENTITIES, plan, full_refresh) as run:
        land_entities(run, ENTITIES)
        run.models = build_models(run, MODELS)
    report(run)
    return run
