"""agreement-sync: PSA agreement invoices -> ERP contracts from templates (ID964).

Reads ConnectWise agreement types and billing statuses (whole), agreements, invoices and
additions (changed since each watermark less the configured overlap; additions for every
agreement changed or named by a changed invoice) and e-automate contracts and items,
validates and lands them, checks the names in ``[flows.agreement_sync]`` against what the
PSA serves, and builds ``marts.agreement_contract_sync``: per agreement, its latest
invoice, the contract it goes to and the lines its period asks for. The push makes or
updates each contract that differs, reads it back to prove the money agrees, and writes
the link back to both systems (``push.py``).

A re-run is safe: rows merge by primary key and a watermark advances in the same
transaction as the rows it covers; a contract is found by its number before it is made;
an unchanged contract costs no call.
"""

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from crosswalk.config import ConfigError, load_settings
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.pipeline import (
    Run,
    build_models,
    flow_run_recorded,
    land_entities,
    note_rebuilt,
    one_run_per_warehouse,
    open_apis,
    report,
)
from flows.agreement_sync.push import push_agreements
from flows.customer_sync.flow import MAPPING
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
    "+mapped_agreements",
    "+agreement_sync_findings",
    "+sync_health",
    "failure_codes",  # the registry its codes are tested against
)
# Each name the configuration filters by, and the landed list it must be in.
NAMED = {
    "agreement_types": ("agreement_types", "an agreement type"),
    "invoice_statuses": ("billing_statuses", "a billing status"),
}


@task(cache_policy=NO_CACHE)
def check_names(run: Run) -> None:
    """Every name in ``agreement_types`` and ``invoice_statuses`` is one the PSA serves: a
    typo is a configuration failure naming the key and the value, not a filter that
    silently matches nothing."""
    config = run.settings.flows.agreement_sync
    with run.warehouse.connect(read_only=True) as con:
        for key, (table, noun) in NAMED.items():
            wanted = getattr(config, key)
            if not wanted:
                continue
            served = [n for (n,) in con.execute(
                f"SELECT name FROM raw_connectwise.{table} ORDER BY name").fetchall()]  # fmt: skip
            unknown = [name for name in wanted if name not in served]
            if served and unknown:
                raise ConfigError(
                    f"flows.agreement_sync.{key}: "
                    + ", ".join(repr(name) for name in unknown)
                    + f" {'is not' if len(unknown) == 1 else 'are not'} {noun} ConnectWise "
                    f"serves (it serves: {', '.join(served)})"
                )


@flow(name="agreement-sync")
@one_run_per_warehouse
def agreement_sync(
    config: str | None = None, plan: bool = False, full_refresh: bool = False
) -> Run:
    """Extract agreements, invoices and contracts, land them, check the configured names,
    build the plan, push contracts and links, report."""
    settings = load_settings(config)
    # The customer mapping, which customer-sync lands, decides every agreement's customers:
    # before any customer-sync, every agreement waits for its mapping.
    with flow_run_recorded(
        "agreement-sync", settings, ENTITIES, plan, full_refresh, reads=MAPPING
    ) as run:
        land_entities(run, ENTITIES)
        check_names(run)
        run.models = build_models(run, MODELS)
        note_rebuilt(
            run,
            "PSA agreements linked to ERP contracts (ZCJ_CW_AgreementID, "
            "ZCJ_ContractNumber or the contract's number)",
            "SELECT count(*) FROM marts.mapped_agreements WHERE contract_number IS NOT NULL",
        )
        if settings.flows.agreement_sync.push:
            apis = open_apis(run, {"connectwise": ConnectWise, "eautomate": EAutomate})
            if apis["connectwise"] is not None and apis["eautomate"] is not None:
                push_agreements(run, apis["connectwise"], apis["eautomate"])
    report(run)
    return run
