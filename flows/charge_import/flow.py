"""charge-import: call logs -> account codes -> Operate batch sheets; accounts -> Connect.

Reads Operate accounts changed since the watermark (less the configured overlap),
validates and lands them in ``raw_operate.accounts`` and builds their models. A re-run
is safe: rows merge by primary key and the watermark advances in the same transaction
as the rows it covers.
"""

from prefect import flow

from crosswalk.config import load_settings
from crosswalk.pipeline import Run, build_models, flow_run_recorded, land_entities, report
from schemas import operate

ENTITIES = (operate.accounts,)
MODELS = ("source:raw_operate.accounts+", "+sync_health")


@flow(name="charge-import")
def charge_import(config: str | None = None, plan: bool = False, full_refresh: bool = False) -> Run:
    """Extract Operate accounts, land them, build their models, report."""
    settings = load_settings(config)
    with flow_run_recorded("charge-import", settings, ENTITIES, plan, full_refresh) as run:
        land_entities(run, ENTITIES)
        run.models = build_models(run, MODELS)
    report(run)
    return run
