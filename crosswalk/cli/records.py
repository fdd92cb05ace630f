"""The records a command names, looked up among those the flows landed: a typo is refused
with the nearest matches, and ``--force`` takes an id not landed yet (saying so).

One lookup for every command that takes a record id (links, exclude, run --customer,
agreements, tickets, orders); each kind reads its raw table, so a record is known from the
run that first landed it, before any dbt build.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from crosswalk.cli import console

if TYPE_CHECKING:
    from crosswalk.config import Settings

ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Take the id even though no run has landed it (yet)."),
]


@dataclass(frozen=True)
class Kind:
    """Where the records of one kind are landed, and what users call them."""

    name: str  # what a message calls one: "ERP customer"
    table: str
    key: str
    label: str
    where: str = "true"
    flow: str = "customer-sync"  # the flow that lands them


_PARENT = "nullif(trim(parent_location_number), '') IS NULL"
KINDS = {
    "customer": Kind("ERP customer", "raw_eautomate.customers", "customer_number",
                     "customer_name", _PARENT),
    "location": Kind("ERP location", "raw_eautomate.customers", "customer_number",
                     "customer_name", f"NOT ({_PARENT})"),
    "customer or location": Kind("ERP customer or location", "raw_eautomate.customers",
                                 "customer_number", "customer_name"),
    "company": Kind("PSA company", "raw_connectwise.companies", "id",
                    "identifier || ' ' || name"),
    "site": Kind("PSA site", "raw_connectwise.sites", "id", "name"),
    "agreement": Kind("PSA agreement", "raw_connectwise.agreements", "id", "name",
                      flow="agreement-sync"),
    "contract": Kind("ERP contract", "raw_eautomate.contracts", "contract_number",
                     "customer_number", "NOT coalesce(is_template, false)",
                     flow="agreement-sync"),
    "ticket": Kind("PSA ticket", "raw_connectwise.tickets", "id", "summary",
                   flow="service-sync"),
    "sales order": Kind("PSA sales order", "raw_connectwise.sales_orders", "id",
                        "description", flow="sales-order-sync"),
}  # fmt: skip


def nearest(key: str, candidates: dict[str, str], n: int = 3) -> list[str]:
    """The ids in ``candidates`` (id -> label) closest to ``key``, by id or by label."""
    by_id = {k.casefold(): k for k in candidates}
    by_label = {(label or "").casefold(): k for k, label in candidates.items()}
    wanted = key.casefold()
    found = [by_id[m] for m in difflib.get_close_matches(wanted, by_id, n, 0.6)]
    found += [by_label[m] for m in difflib.get_close_matches(wanted, by_label, n, 0.6)]
    return list(dict.fromkeys(found))[:n]


def known(
    settings: Settings, kind: str, key: str | int, force: bool = False, *, forceable: bool = True
) -> None:
    """Go on when ``key`` is a landed record of ``kind``; else exit 1 naming it and the
    nearest matches. With ``force`` an id not landed is taken, and the command says so;
    a command without ``--force`` (``forceable=False``) does not offer it."""
    import duckdb

    from crosswalk.warehouse import Warehouse

    record = KINDS[kind]
    key = str(key)
    warehouse = Warehouse(settings.warehouse.path)
    candidates: dict[str, str] | None = None
    if warehouse.path.exists():
        try:
            with warehouse.connect(read_only=True) as con:
                candidates = dict(
                    con.execute(
                        f"SELECT CAST({record.key} AS VARCHAR), {record.label} "
                        f"FROM {record.table} WHERE {record.where}"
                    ).fetchall()
                )
        except duckdb.CatalogException:  # no such table: nothing of this kind landed yet
            candidates = None
        except duckdb.Error as exc:  # the file is busy (a flow writes) or unreadable
            console.print(f"[red]cannot read {warehouse.path}:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from None
    if candidates is not None and key in candidates:
        return
    if force:
        console.print(
            f"--force: {record.name} {escape(key)!r} is not in the warehouse "
            f"(no {record.flow} has landed it); taking it as given",
            highlight=False,
        )
        return
    if candidates is None:
        console.print(
            f"[red]no {record.name} {escape(key)!r}:[/red] no {record.flow} has landed any "
            f"yet: run `crosswalk run {record.flow}`"
            + (", or give --force to take the id as it is" if forceable else ""),
            highlight=False,
        )
        raise typer.Exit(1)
    close = nearest(key, candidates)
    hint = (
        "; nearest: " + ", ".join(f"{k} ({escape(str(candidates[k]))})" for k in close)
        if close
        else ""
    )
    console.print(
        f"[red]no {record.name} {escape(key)!r}[/red] among those landed{hint}"
        + (". An id not landed yet: give --force." if forceable else ""),
        highlight=False,
    )
    raise typer.Exit(1)
