"""agreement-sync: PSA agreements (and their invoices) -> ERP contracts from templates.

Reads ConnectWise agreements (with additions and invoices) and e-automate contracts (with
their lines, templates included) and items changed since each watermark (less the
configured overlap), validates and lands them in ``raw_connectwise.*`` and
``raw_eautomate.*`` and builds their models.
A re-run is safe: rows merge by primary key and the watermark advances in the same
transaction as the rows it covers.
"""

from prefect import flow

from crosswalk.config import load_settings
from crosswalk.pipeline import Run, build_models, flow_run_recorded, land_entities, report
from schemas import connectwise, eautomate

ENTITIES = (
    connectwise.agreement_types,
    connectwise.billing_statuses,
    connectwise.agreements,
    connectwise.invoices,
    connectwise.additions,
    eautomate.contracts,
    eautomate.items,
)
MODELS = (
    "+agreement_contract_sync",
    "+sync_health",
)


@flow(name="agreement-sync")
def agreement_sync(
    config: str | None = None, plan: bool = False, full_refresh: bool = False
) -> Run:
    """Extract agreements, land them, build their models, report."""
    settings = load_settings(config)
    with flow_run_recorded("agreement-sync", settings, ENTITIES, plan, full_refresh) as run:
        land_entities(run, ENTITIES)
        run.models = build_models(run, MODELS)
    report(run)
    return run
