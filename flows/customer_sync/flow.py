"""customer-sync: ERP customers and locations <-> PSA companies and sites.

Reads ConnectWise companies and e-automate customers changed since each entity's
watermark (less the configured overlap) and e-automate's code lists whole, validates them,
lands them in ``raw_connectwise.companies``, ``raw_eautomate.customers`` and
``raw_eautomate.code_lists``, and builds the mapping models (``marts.mapped_customers``,
``marts.mapped_locations``), and reports every link that contradicts the data as a
failure for the ERP's owners. A re-run is safe: rows merge by primary key and a watermark
advances in the same transaction as the rows it covers; a finding that no longer occurs
is resolved.
"""

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from crosswalk.config import load_settings
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.errors import data_failure
from crosswalk.pipeline import Run, build_models, flow_run_recorded, land_entities, report
from flows.customer_sync.push import push_customers
from schemas import connectwise, eautomate

ENTITIES = (connectwise.companies, connectwise.sites, eautomate.customers, eautomate.code_lists)
MODELS = (
    "source:raw_connectwise.companies+",
    "source:raw_connectwise.sites+",
    "source:raw_eautomate.customers+",
    "source:sync.links+",
    "source:sync.exclusions+",
    "source:sync.field_base+",
    "source:sync.conflicts+",
    "+customer_field_sync",
    "+customer_link_writes",
    "+customer_sync_findings",
    "+sync_health",
)


FINDINGS = (
    "link-unknown-company",
    "link-deleted-company",
    "link-names-another-customer",
    "company-claimed-twice",
    "number-match-name-differs",
    "link-unknown-site",
    "link-site-of-another-company",
)


@task(cache_policy=NO_CACHE)
def report_link_findings(run: Run) -> int:
    """Every customer and location whose link contradicts the data, as a failure on the
    ERP record (with both records and the fix); the mapping covers every record."""
    with run.warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT customer_number, customer_name, finding_code, finding, fix "
            "FROM marts.mapped_customers WHERE finding_code IS NOT NULL UNION ALL "
            "SELECT customer_number, customer_name, finding_code, finding, fix "
            "FROM marts.mapped_locations WHERE finding_code IS NOT NULL"
        ).fetchall()
    for number, name, code, finding, fix in rows:
        label = f'customer {number} "{name}"' if name else f"customer {number}"
        run.failures.add(data_failure("eautomate", "customers", number, code, finding, fix,
                                      label=label))  # fmt: skip
    run.failures.looked_at("eautomate", "customers", FINDINGS)
    return len(rows)


def open_apis(run: Run) -> tuple[ConnectWise | None, EAutomate | None]:
    """The APIs the pushes write to (None: not configured, or read from exports)."""
    systems = run.settings.systems
    names = [n for n in ("connectwise", "eautomate")
             if getattr(systems, n) is not None and not getattr(systems, n).fixtures]  # fmt: skip
    secrets = run.settings.resolve_secrets(names)
    return (
        ConnectWise.from_settings(systems.connectwise, secrets["connectwise"])
        if "connectwise" in names else None,
        EAutomate.from_settings(systems.eautomate, secrets["eautomate"])
        if "eautomate" in names else None,
    )  # fmt: skip


@flow(name="customer-sync")
def customer_sync(
    config: str | None = None,
    plan: bool = False,
    full_refresh: bool = False,
    customer: str | None = None,
) -> Run:
    """Extract companies and customers, land them, build the mapping, push what changed
    (only ``customer`` and its locations, when given), report."""
    settings = load_settings(config)
    with flow_run_recorded("customer-sync", settings, ENTITIES, plan, full_refresh) as run:
        land_entities(run, ENTITIES)
        run.models = build_models(run, MODELS)
        report_link_findings(run)
        push_customers(run, *open_apis(run), customer)
    report(run)
    return run
