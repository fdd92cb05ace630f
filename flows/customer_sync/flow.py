"""customer-sync: ERP customers and locations <-> PSA companies and sites.

Reads ConnectWise companies and e-automate customers changed since each entity's
watermark (less the configured overlap) and e-automate's code lists whole, validates them,
lands them in ``raw_connectwise.companies``, ``raw_eautomate.customers`` and
``raw_eautomate.code_lists``, and builds the mapping models (``marts.mapped_customers``,
``marts.mapped_locations``), and reports every link that contradicts the data as a
failure for the ERP's owners. When the pushes wrote, the models are built again first,
so the report (and the marts) show the state after the writes: a wrong link the run
wrote right is listed as fixed by this run, not as a failure to fix. Every
``sweep_hours`` it also reads every company id, so that companies deleted or merged
without a ``lastUpdated`` change are found and the links to them marked broken
(``sweep.py``); with ``contract_types`` set it reads e-automate contracts too. A re-run
is safe: rows merge by primary key and a watermark advances in the same transaction as
the rows it covers; a finding that no longer occurs is resolved.
"""

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from crosswalk import codes, records
from crosswalk.config import Settings, load_settings
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.entities import Entity
from crosswalk.errors import Failure, data_failure
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
from flows.customer_sync.push import push_customers
from flows.customer_sync.sweep import SWEEP, due, mark_broken_links
from schemas import connectwise, eautomate

ENTITIES = (
    connectwise.companies,
    connectwise.sites,
    eautomate.customers,
    eautomate.code_lists,
    connectwise.company_ids,
)
# What the mapping's models read, for the flows that build on it: what this flow lands,
# and the ERP's contracts (read only when contract types filter customers, but in the
# models' graph always).
MAPPING = (*ENTITIES, eautomate.contracts)
# Every model the mapping and the pushes read, and what it builds from them; the other
# flows' models that read the same sources are theirs to build.
MODELS = (
    "+mapped_customers",
    "+mapped_locations",
    "+customer_suggestions",
    "+unmapped_customers",
    "+customer_field_sync",
    "+customer_link_writes",
    "+customer_sync_findings",
    "+int_links_checked",  # the links the sweep marks broken
    "+int_companies_swept",  # the companies create_customers may make customers of
    "+sync_health",
    "failure_codes",  # the registry its finding codes are tested against
)


# The link findings the models raise (finding_code), looked at on every customer each run.
FINDINGS = codes.raised_by("customer-sync", "mapping")


def link_findings(run: Run) -> list[Failure]:
    """Every customer and location whose link contradicts the data, as the models hold
    it now: a failure on the ERP record naming every record involved, with the fix and a
    link to the PSA company it is about; the mapping covers every record."""
    with run.warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT 'customer', customer_number, customer_name, finding_code, finding, fix, "
            "finding_company_id FROM marts.mapped_customers WHERE finding_code IS NOT NULL "
            "UNION ALL SELECT 'location', customer_number, customer_name, finding_code, "
            "finding, fix, finding_company_id FROM marts.mapped_locations "
            "WHERE finding_code IS NOT NULL"
        ).fetchall()
    found = []
    for noun, number, name, code, finding, fix, company in rows:
        label = f'{noun} {number} "{name}"' if name else f"{noun} {number}"
        url = records.link(run.settings, "connectwise", "companies", str(company or ""))
        found.append(data_failure("eautomate", f"{noun}s", number, code, finding, fix,
                                  label=label, url=url))  # fmt: skip
    return found


@task(cache_policy=NO_CACHE)
def report_link_findings(run: Run) -> list[Failure]:
    """Every link finding is a failure of the run (also when a later step stops it)."""
    found = link_findings(run)
    for failure in found:
        run.failures.add(failure)
    run.failures.looked_at("eautomate", "customers", FINDINGS)
    run.failures.looked_at("eautomate", "locations", FINDINGS)
    return found


@task(cache_policy=NO_CACHE)
def settle_link_findings(run: Run, before: list[Failure]) -> int:
    """The link findings as the run's own writes left them (the models built again): one
    found ``before`` the writes and gone since is fixed by this run, not a failure to
    fix; returns how many."""
    after = link_findings(run)
    for failure in after:
        run.failures.add(failure)
    still = {(f.entity, f.record_id, f.code) for f in after}
    fixed = [f for f in before if (f.entity, f.record_id, f.code) not in still]
    for failure in fixed:
        run.failures.fixed_by_run(failure)
    return len(fixed)


def reads(settings: Settings) -> tuple[tuple[Entity, ...], tuple[str, ...]]:
    """The entities the flow lands and the models it builds: e-automate contracts only
    when ``contract_types`` filters customers by them (a customers-only setup never
    reads them; when set, they come incrementally, shared with agreement-sync)."""
    if not settings.flows.customer_sync.contract_types:
        return ENTITIES, MODELS
    return (*ENTITIES, eautomate.contracts), (*MODELS, "stg_eautomate__contracts")


@task(cache_policy=NO_CACHE)
def remember_pairs(run: Run) -> None:
    """When each pair was first found linked (``sync.pairs_seen``): the mapping's "since
    when" for links no one made by hand. A plan run records nothing."""
    if run.plan:
        return
    with run.warehouse.transaction() as con:
        con.execute(
            "INSERT OR IGNORE INTO sync.pairs_seen "
            "SELECT 'customer', customer_number, CAST(company_id AS VARCHAR), now(), ? "
            "FROM marts.mapped_customers WHERE company_id IS NOT NULL UNION ALL "
            "SELECT 'location', customer_number, CAST(site_id AS VARCHAR), now(), ? "
            "FROM marts.mapped_locations WHERE site_id IS NOT NULL",
            [run.id, run.id],
        )


@flow(name="customer-sync")
@one_run_per_warehouse
def customer_sync(
    config: str | None = None,
    plan: bool = False,
    full_refresh: bool = False,
    customer: str | None = None,
) -> Run:
    """Extract companies and customers, land them, build the mapping, push what changed
    (only ``customer`` and its locations, when given), build it again when the pushes
    wrote, and report the findings as they stand after the writes."""
    settings = load_settings(config)
    entities, models = reads(settings)
    with flow_run_recorded(
        "customer-sync", settings, entities, plan, full_refresh, reads=MAPPING
    ) as run:
        land_entities(run, due(run, entities, SWEEP, settings.flows.customer_sync.sweep_hours))
        run.models = build_models(run, models)
        note_rebuilt(
            run,
            "ERP customers linked to PSA companies (ZCJ_CW_CompanyID, Company "
            "ID or account number)",
            "SELECT count(*) FROM marts.mapped_customers WHERE is_mapped",
        )
        note_rebuilt(
            run,
            "ERP locations linked to PSA sites (ZCJ_CW_SiteAddressRecID, name or number)",
            "SELECT count(*) FROM marts.mapped_locations WHERE is_mapped",
        )
        mark_broken_links(run)
        found = report_link_findings(run)
        remember_pairs(run)
        if settings.flows.customer_sync.push:
            apis = open_apis(run, {"connectwise": ConnectWise, "eautomate": EAutomate})
            pushed = push_customers(run, apis["connectwise"], apis["eautomate"], customer)
            if pushed.wrote and not plan:  # the findings as the run's own writes left them
                build_models(run, models, tests=False)
                settle_link_findings(run, found)
    report(run)
    return run
