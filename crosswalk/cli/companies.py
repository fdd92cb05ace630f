"""``crosswalk companies show``: a PSA company as crosswalk landed it, its sites, and the
ERP customers and locations the last customer-sync mapped to it (what `links set
--location` needs: the site ids)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from crosswalk.cli import ConfigOption, _settings, console
from crosswalk.cli.decisions import _mart
from crosswalk.cli.records import known

app = typer.Typer(help="PSA companies: their fields, sites and ERP partners.", no_args_is_help=True)

FIELDS = ("identifier", "name", "status__name", "types", "territory__name", "address_line1",
          "address_line2", "city", "state", "zip", "phone_number", "website", "deleted_flag",
          "info__last_updated")  # fmt: skip


def _text(value) -> Text:
    return Text("" if value is None else str(value))


@app.command("show")
def companies_show(
    company: Annotated[int, typer.Argument(help="The PSA company id.")],
    config: ConfigOption = None,
) -> None:
    """One PSA company: its fields, its sites, and which ERP customers and locations map
    to it (from the warehouse)."""
    settings = _settings(config)
    known(settings, "company", company, forceable=False)
    ((*values,),) = _mart(
        settings,
        f"SELECT {', '.join(FIELDS)} FROM raw_connectwise.companies WHERE id = ?",
        [company],
    )
    fields = Table(show_header=False, title=f"PSA company {company}")
    fields.add_column("field", style="bold")
    fields.add_column("value", overflow="fold")
    for name, value in zip(FIELDS, values, strict=True):
        fields.add_row(name, _text(value))
    console.print(fields)

    sites = _mart(
        settings,
        "SELECT id, name, address_line1, city, zip, primary_address_flag, inactive_flag "
        "FROM raw_connectwise.sites WHERE company__id = ? ORDER BY id",
        [company],
    )
    table = Table(title=f"sites: {len(sites)}")
    for column in ("site", "name", "address", "city", "zip", "primary", "inactive"):
        table.add_column(column, overflow="fold")
    for row in sites:
        table.add_row(*(_text(v) for v in row))
    console.print(table)

    mapped = _mart(
        settings,
        "SELECT 'customer', customer_number, customer_name, NULL, match_rule "
        "FROM marts.mapped_customers WHERE company_id = ? UNION ALL "
        "SELECT 'location', customer_number, customer_name, site_id, match_rule "
        "FROM marts.mapped_locations WHERE company_id = ? ORDER BY 1, 2",
        [company, company],
    )
    table = Table(title=f"ERP records mapped to it: {len(mapped)}")
    for column in ("kind", "number", "name", "site", "rule"):
        table.add_column(column, overflow="fold")
    for row in mapped:
        table.add_row(*(_text(v) for v in row))
    console.print(table)
