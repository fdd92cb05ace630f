"""sales-order-sync: PSA sales orders -> ERP sales orders through item templates (ID966).

Reads ConnectWise sales-order statuses and product types (whole), the catalog, sales
orders and their lines (procurement products) changed since each watermark less the
configured overlap, and e-automate items and sales orders; validates and lands them,
checks ``[flows.sales_order_sync]`` against what the systems serve (status and product
type names, the error item, the on-hold codes), and builds ``marts.sales_order_sync``:
per order, its ERP customers, the ERP order its key names and the lines it asks for. The
push makes the items the ERP lacks from their templates, makes or updates each order that
differs (never one that shipped), reads it back to prove the money agrees, and writes the
ERP order number back to the PSA order (``push.py``).

A re-run is safe: rows merge by primary key and a watermark advances in the same
transaction as the rows it covers; an order is found by its ``[CW SO #<id>]`` key (an
item by its number) before it is made and after a lost answer; an unchanged order costs
no call.
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
from flows.customer_sync.flow import MAPPING
from flows.sales_order_sync.push import push_sales_orders
from schemas import connectwise, eautomate

ENTITIES = (
    connectwise.order_statuses,
    connectwise.product_types,
    connectwise.catalog_items,
    connectwise.sales_orders,
    connectwise.products,
    eautomate.items,
    eautomate.sales_orders,
)
MODELS = (
    "+sales_order_sync",
    "+mapped_sales_orders",
    "+sales_order_findings",
    "+sync_health",
    "failure_codes",  # the registry its codes are tested against
)


def _served(con, sql: str, params=()) -> list:
    return [row[0] for row in con.execute(sql, list(params)).fetchall()]


def problems_of(
    config,
    statuses: list[str],
    kinds: list[str],
    items: dict[str, tuple],
    hold_codes: list[str],
    codes: dict[str, list[str]],
) -> list[str]:
    """What in ``[flows.sales_order_sync]`` names something the systems do not serve (an
    empty list of what is served is not checked: nothing landed yet)."""
    key = "flows.sales_order_sync"
    problems = []
    unknown = [name for name in config.statuses if name not in statuses]
    if statuses and unknown:
        problems.append(
            f"{key}.statuses: "
            + ", ".join(repr(n) for n in unknown)
            + f" {'is not a' if len(unknown) == 1 else 'are not'} sales-order "
            f"status ConnectWise serves (it serves: {', '.join(statuses)})"
        )
    unknown = [name for name in config.item_templates if name not in kinds]
    if kinds and unknown:
        problems.append(
            f"{key}.item_templates: "
            + ", ".join(repr(n) for n in unknown)
            + f" {'is not a' if len(unknown) == 1 else 'are not'} product type or "
            f"class ConnectWise serves (it serves: {', '.join(kinds)})"
        )
    if items:
        found = items.get(config.error_item.upper())
        if found is None:
            problems.append(f"{key}.error_item: e-automate has no item {config.error_item!r}")
        else:
            sales, stock, expense = found
            listed = (
                sales in codes.get("SalesCode", [sales])
                and (not stock or stock in codes.get("InventoryCode", [stock]))
                and (not expense or expense in codes.get("ExpenseCode", [expense]))
            )
            if not sales or not (stock or expense) or not listed:
                problems.append(
                    f"{key}.error_item: item {config.error_item!r} needs an inventory or "
                    "expense code and a sales code e-automate's code lists hold (seed 004)"
                )
    for name in ("hold_code", "customer_hold_code"):
        code = getattr(config, name)
        if hold_codes and code not in hold_codes:
            problems.append(
                f"{key}.{name}: {code!r} is not an on-hold code e-automate serves "
                f"(it serves: {', '.join(hold_codes)})"
            )
    return problems


@task(cache_policy=NO_CACHE)
def check_config(run: Run) -> None:
    """Every status and product type named is one ConnectWise serves; the error item and
    the on-hold codes exist in e-automate, the error item with its codes: a typo is a
    configuration failure naming the key and the value, not orders refused one by one."""
    config = run.settings.flows.sales_order_sync
    with run.warehouse.connect(read_only=True) as con:
        statuses = _served(con, "SELECT name FROM raw_connectwise.order_statuses ORDER BY 1")
        kinds = _served(con, "SELECT name FROM raw_connectwise.product_types ORDER BY 1")
        if kinds:
            kinds += list(connectwise.PRODUCT_CLASSES)
        items = {
            item.upper(): (sales, stock, expense)
            for item, sales, stock, expense in con.execute(
                "SELECT item, sales_code, inventory_code, expense_code FROM raw_eautomate.items"
            ).fetchall()
        }
        codes: dict[str, list[str]] = {}
        for list_type, code in con.execute(
            "SELECT list_type, code FROM raw_eautomate.code_lists ORDER BY 1, 2"
        ).fetchall():
            codes.setdefault(list_type, []).append(code)
    problems = problems_of(config, statuses, kinds, items, codes.get("OnHoldCode", []), codes)
    if problems:
        raise ConfigError("; ".join(problems))


@flow(name="sales-order-sync")
@one_run_per_warehouse
def sales_order_sync(
    config: str | None = None, plan: bool = False, full_refresh: bool = False
) -> Run:
    """Extract orders, lines, the catalog and ERP orders, land them, check the configured
    names and codes, build the plan, push items, orders and links, report."""
    settings = load_settings(config)
    # The customer mapping, which customer-sync lands, decides every order's customers:
    # before any customer-sync, every order waits for its mapping.
    with flow_run_recorded(
        "sales-order-sync", settings, ENTITIES, plan, full_refresh, reads=MAPPING
    ) as run:
        land_entities(run, ENTITIES)
        check_config(run)
        run.models = build_models(run, MODELS)
        note_rebuilt(
            run,
            "PSA sales orders linked to ERP sales orders (the PSA order's key)",
            "SELECT count(*) FROM marts.mapped_sales_orders WHERE so_number IS NOT NULL",
        )
        if settings.flows.sales_order_sync.push:
            apis = open_apis(run, {"connectwise": ConnectWise, "eautomate": EAutomate})
            if apis["connectwise"] is not None and apis["eautomate"] is not None:
                push_sales_orders(run, apis["connectwise"], apis["eautomate"])
    report(run)
    return run
