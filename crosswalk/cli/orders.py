"""``crosswalk orders``: the sales-order sync's self-service, the incumbent's e-view of
why an order did not arrive: which ERP order each PSA sales order is, what the next run
does with it and why, and, for one order, each line beside the ERP item it gets. Read from
the marts the last sales-order-sync built.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from crosswalk.cli import ConfigOption, _settings, _show_listing, console
from crosswalk.cli.decisions import _mart
from crosswalk.cli.records import known

app = typer.Typer(
    help="Which ERP sales order each PSA sales order is, and why one did not arrive.",
    no_args_is_help=True,
)
FLOW = "sales-order-sync"
OrderArgument = Annotated[int, typer.Argument(help="The PSA sales order id.")]


@app.command("list")
def orders_list(
    config: ConfigOption = None,
    waiting: Annotated[
        bool,
        typer.Option("--waiting", help="Only orders that wait, or have a line on the error item."),
    ] = False,
) -> None:
    """Each sales order the sync looks at: its ERP order, both totals, and what the next
    run does and why."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT order_id, order_status, company_identifier, customer_number, so_number, "
        "erp_status, erp_hold_code, psa_total, erp_total, error_lines, action, reason "
        "FROM marts.mapped_sales_orders "
        + ("WHERE action = 'waiting' OR error_lines > 0 " if waiting else "")
        + "ORDER BY order_id",
        flow=FLOW,
    )
    _show_listing(
        f"sales orders: {len(rows)}",
        ("order", "status", "company", "customer", "ERP order", "ERP status", "hold", "PSA",
         "ERP", "error lines", "next", "why"),
        rows,
    )  # fmt: skip


@app.command("show")
def orders_show(order: OrderArgument, config: ConfigOption = None) -> None:
    """One order in full: its customers, ERP order, both totals, each line and the ERP item
    it gets, and anything that needs a person."""
    settings = _settings(config)
    known(settings, "sales order", order, forceable=False)
    found = _mart(
        settings,
        "SELECT order_status, order_date, company_identifier, company_name, customer_number, "
        "bill_to_number, ship_to_number, so_number, erp_status, erp_hold_code, "
        "planned_hold_code, psa_total, erp_total, action, reason "
        "FROM marts.mapped_sales_orders WHERE order_id = ?",
        [order],
        flow=FLOW,
    )
    if not found:
        console.print(
            f"sales order {order} is not one the last sales-order-sync looked at "
            "([flows.sales_order_sync] statuses)",
            highlight=False,
        )
        raise typer.Exit(1)
    (
        (status, date, company, name, customer, bill_to, ship_to, so_number, erp_status,
         erp_hold, planned_hold, psa, erp, action, reason),
    ) = found  # fmt: skip
    lines = _mart(
        settings,
        "SELECT line_id, item_identifier, coalesce(product_type, product_class), quantity, "
        "unit_price, line_action, erp_item, finding_code FROM "
        "intermediate.int_sales_order_lines_planned WHERE order_id = ? "
        "ORDER BY line_order NULLS LAST, line_id",
        [order],
        flow=FLOW,
    )
    findings = _mart(
        settings,
        "SELECT code, finding FROM marts.sales_order_findings WHERE order_id = ? "
        "ORDER BY line_id NULLS FIRST, code",
        [order],
        flow=FLOW,
    )
    table = Table(show_header=False, title=f"sales order {order}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = [
        ("status", f"{status}, ordered {date:%Y-%m-%d}" if date else status),
        ("company", f"{company} {name} -> ERP customer {customer or 'none'}"),
        ("bill-to, ship-to", f"{bill_to or 'none'}, {ship_to or 'none'}"),
        ("ERP order", f"{so_number} ({erp_status})" if so_number else "none yet"),
        ("hold", f"{erp_hold or 'none'} (the sync asks for {planned_hold or 'none'})"),
        ("PSA total", str(psa)),
        ("ERP total", "" if erp is None else str(erp)),
        ("next run", f"{action}: {reason}"),
        *((f"finding {code}", finding) for code, finding in findings),
    ]
    for field_name, value in fields:
        table.add_row(field_name, Text(str(value)))
    console.print(table)
    _show_listing(
        f"lines: {len(lines)}",
        ("line", "product", "type", "quantity", "price", "line gets", "ERP item", "finding"),
        lines,
    )  # fmt: skip
