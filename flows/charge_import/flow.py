"""charge-import: call logs -> account codes -> Operate batch sheets; accounts -> Connect.

Reads Operate's locations, accounts, account codes, products and device import maps
(accounts and codes changed since their watermarks less the overlap, the rest whole),
then each Connect call-logger location's calls since its last import, overlapping it by
``flows.charge_import.overlap_days``, and any files dropped in the inbox; parses them by
the location's layout and lands them in ``raw_calllogs.calls`` by line hash, bad lines
in ``sync.quarantine`` with file and line. dbt matches each call to an account by its
account code within its location (``int_calls_matched``). The push puts matched calls on
one batch sheet per location, product group and batch date, and accounts waiting for
"Send to Connect" become Connect clients. Calls matching no account wait, are reported
with the fix, and go through on a later run once it is made.

A re-run is safe: calls merge by line hash; a line hash is charged once
(``sync.charged_lines``, and Operate refuses a hash twice on a sheet); every write is in
the push log before it is sent and looked up by its key after a crash or a lost answer;
a Connect client is found by its billing reference before one is created. With Operate
read from exports (``systems.operate.fixtures``) the flow lands and matches, and pushes
nothing.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from prefect import flow

from crosswalk.config import load_settings
from crosswalk.connect import Connect
from crosswalk.operate import Operate
from crosswalk.pipeline import (
    Run,
    build_models,
    flow_run_recorded,
    land_entities,
    one_run_per_warehouse,
    open_apis,
    report,
)
from flows.charge_import.calls import import_call_logs
from flows.charge_import.charges import push_charges, recover_charged_lines
from flows.charge_import.clients import send_accounts_to_connect
from flows.charge_import.waiting import report_waiting_calls
from schemas import calllogs, operate

ENTITIES = (
    operate.locations,
    operate.applications,
    operate.product_groups,
    operate.products,
    operate.device_import_maps,
    operate.accounts,
    operate.account_codes,
)
MODELS = (
    "source:raw_operate+",
    "source:raw_calllogs+",
    "+charge_lines",
    "+waiting_calls",
    "+connect_client_requests",
    "+sync_health",
    "failure_codes",  # the registry waiting_calls' reason codes are tested against
)


@dataclass(frozen=True)
class Apis:
    """The APIs this run writes to or downloads from (None: not configured, or read
    from exports)."""

    operate: Operate | None
    connect: Connect | None


@flow(name="charge-import")
@one_run_per_warehouse
def charge_import(
    config: str | None = None,
    plan: bool = False,
    full_refresh: bool = False,
    batch_date: date | None = None,
    until: date | None = None,
) -> Run:
    """Land Operate and the call logs, match them, push batch sheets and Connect clients,
    report what waits. ``batch_date`` (default today) dates the sheets; ``until``
    (default today) is the last day of calls downloaded."""
    settings = load_settings(config)
    today = datetime.now(UTC).date()
    entities = (*ENTITIES, calllogs.calls)
    with flow_run_recorded("charge-import", settings, entities, plan, full_refresh) as run:
        land_entities(run, ENTITIES)
        apis = Apis(**open_apis(run, {"operate": Operate, "connect": Connect}))
        run.landed.append(import_call_logs(run, apis.connect, until or today))
        if apis.operate is not None:
            recover_charged_lines(run, apis.operate)
        run.models = build_models(run, MODELS)
        if apis.operate is not None:
            push_charges(run, apis.operate, batch_date or today, until or today)
            if apis.connect is not None and settings.flows.charge_import.send_to_connect:
                send_accounts_to_connect(run, apis.operate, apis.connect)
        report_waiting_calls(run)
    report(run)
    return run
