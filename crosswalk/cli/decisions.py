"""``crosswalk links``, ``crosswalk exclude`` and ``crosswalk conflicts``: an operator's
decisions about the customer sync. They are read from the marts the last customer-sync
built and written through crosswalk.decisions, one transaction per command.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crosswalk import decisions
from crosswalk.cli import ConfigOption, _busy, _settings, _show_listing, _when, console
from crosswalk.cli.records import ForceOption, known

if TYPE_CHECKING:
    import duckdb

    from crosswalk.config import Settings

links_app = typer.Typer(
    help="Which ERP customer is which PSA company: see, confirm and break links.",
    no_args_is_help=True,
)
conflicts_app = typer.Typer(
    help="Fields both systems changed: see them, and pick the value that wins.",
    no_args_is_help=True,
)
exclude_app = typer.Typer(
    help="Leave an ERP customer out of the customer sync, or take it back.",
    no_args_is_help=True,
)

LocationOption = Annotated[
    bool, typer.Option("--location", help="An ERP location and a PSA site, not a parent.")
]


def _mart(
    settings: Settings, sql: str, params: list | None = None, flow: str = "customer-sync"
) -> list[tuple]:
    """Rows of a mart the last run of ``flow`` built, or exit saying why there are none."""
    from crosswalk.warehouse import Warehouse

    warehouse = Warehouse(settings.warehouse.path)
    if not warehouse.path.exists():
        console.print(f"no runs yet: {warehouse.path} does not exist")
        raise typer.Exit(0)
    try:
        with warehouse.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
    except Exception as exc:  # no mart before the first customer-sync; or the file is busy
        console.print(f"[red]cannot read the {flow} marts:[/red] {escape(str(exc))}")
        console.print(f"run `crosswalk run {flow}` first")
        raise typer.Exit(1) from None


@contextmanager
def _deciding(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction on the warehouse for an operator's decision (crosswalk.decisions),
    inside the run lock; while a run still holds it after a short wait, exit with the one
    line naming the run."""
    from crosswalk.runlock import WarehouseBusy
    from crosswalk.warehouse import Warehouse

    place = settings.warehouse
    try:
        with Warehouse(place.path).deciding("decision", place.minutes_to_wait_for_decision) as con:
            yield con
    except WarehouseBusy as exc:
        raise _busy(exc) from None


@links_app.command("list")
def links_list(
    config: ConfigOption = None,
    location: LocationOption = False,
    unlinked: Annotated[
        bool, typer.Option("--unlinked", help="Only records without a link.")
    ] = False,
    findings: Annotated[
        bool, typer.Option("--findings", help="Only links that contradict the data.")
    ] = False,
) -> None:
    """Each ERP customer (or location) with its PSA partner, the rule and the reason; a
    link in sync.links shows who made it and whether it is broken."""
    settings = _settings(config)
    kind = "location" if location else "customer"
    mart, partner = (
        ("marts.mapped_locations", "site_id")
        if location
        else ("marts.mapped_customers", "company_id")
    )
    where = []
    if unlinked:
        where.append("NOT m.is_mapped")
    if findings:
        where.append("m.finding_code IS NOT NULL")
    rows = _mart(
        settings,
        f"SELECT m.customer_number, m.customer_name, m.{partner}, "
        "coalesce(m.match_rule, ''), coalesce(m.finding, m.match_reason), coalesce(m.fix, ''), "
        "l.made_by, l.broken_at "
        f"FROM {mart} AS m LEFT JOIN sync.links AS l "
        "ON l.kind = ? AND l.source_key = m.customer_number "
        + (f"WHERE {' AND '.join(where)} " if where else "")
        + "ORDER BY m.customer_number",
        [kind],
    )
    table = Table(title=f"{'locations' if location else 'customers'}: {len(rows)}")
    columns = ("customer", "name", "site" if location else "company", "rule", "why", "fix", "link")
    for column in columns:
        table.add_column(column, overflow="fold")
    for number, name, target, rule, why, fix, made_by, broken_at in rows:
        link = f"{made_by}, broken {broken_at:%Y-%m-%d}" if broken_at else made_by
        table.add_row(
            *(
                Text(str(v if v is not None else ""))
                for v in (number, name, target, rule, why, fix, link)
            )
        )
    console.print(table)


@links_app.command("show")
def links_show(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    location: LocationOption = False,
) -> None:
    """One customer (or location) in full: its link, how and when it was made and by whom,
    the matched company or site, findings, exclusion, and suggestions. A location number
    shows the location (and a customer number the customer) with or without --location."""
    settings = _settings(config)
    columns = "match_rule, match_reason, finding_code, finding, fix, is_excluded, exclusion_reason"
    queries = {
        "location": "SELECT customer_name, site_id, site_name, company_id, "
        f"{columns} FROM marts.mapped_locations WHERE customer_number = ?",
        "customer": "SELECT customer_name, company_id, company_name, company_identifier, "
        f"{columns} FROM marts.mapped_customers WHERE customer_number = ?",
    }
    for kind in ("location", "customer") if location else ("customer", "location"):
        if found := _mart(settings, queries[kind], [customer]):
            break
    else:
        console.print(f"no customer or location {escape(customer)!r} in the last customer-sync")
        raise typer.Exit(1)
    location = kind == "location"
    (
        (name, target, target_name, more, rule, reason, code, finding, fix, excluded, why_excluded),
    ) = found
    if target is None:
        partner = "none"
    elif location:
        partner = f'site {target} "{target_name}" of company {more}'
    else:
        partner = f'company {target} {more} "{target_name}"'
    links = _mart(
        settings,
        "SELECT target_key, made_by, note, created_at, broken_at, broken_reason "
        "FROM sync.links WHERE kind = ? AND source_key = ?",
        [kind, customer],
    )
    table = Table(show_header=False, title=f"{kind} {customer}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = [
        ("name", name),
        ("site" if location else "company", partner),
        ("rule", rule),
        ("why", reason),
    ]
    if links:
        ((linked_to, made_by, note, created_at, broken_at, broken_reason),) = links
        fields += [
            ("sync.links", f"-> {linked_to}" if linked_to else "unlinked (no rule links it)"),
            ("made by", f"{made_by}, {_when(created_at)}" + (f": {note}" if note else "")),
        ]
        if broken_at:
            fields.append(("broken", f"{_when(broken_at)}: {broken_reason}"))
    else:
        fields.append(("sync.links", "none: the rules decide"))
    if code:
        fields += [("finding", f"{code}: {finding}"), ("fix", fix)]
    fields.append(("excluded", why_excluded if excluded else "no"))
    if not location:
        suggestions = _mart(
            settings,
            "SELECT company_id, company_name, score, evidence FROM marts.customer_suggestions "
            "WHERE customer_number = ? ORDER BY suggestion_rank",
            [customer],
        )
        for n, (company, company_name, score, evidence) in enumerate(suggestions, 1):
            fields.append(
                (f"suggestion {n}", f'company {company} "{company_name}", {score}: {evidence}')
            )
    for field_name, value in fields:
        table.add_row(field_name, Text(str(value if value is not None else "")))
    console.print(table)


@links_app.command("suggestions")
def links_suggestions(config: ConfigOption = None) -> None:
    """Likely partners for unlinked customers, with the evidence; confirm with `links set`."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT customer_number, customer_name, company_id, company_name, score, evidence "
        "FROM marts.customer_suggestions ORDER BY customer_number, suggestion_rank",
    )
    table = Table(title=f"suggestions: {len(rows)}")
    for column in ("customer", "name", "company", "company name", "score", "evidence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))
    console.print(table)


@links_app.command("set")
def links_set(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    target: Annotated[int, typer.Argument(help="The PSA company (or site) id.")],
    config: ConfigOption = None,
    location: LocationOption = False,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
    force: ForceOption = False,
) -> None:
    """Link a customer to a company (or a location to a site) by hand; it wins over rules,
    and the next customer-sync writes it into the ERP's custom property."""
    settings = _settings(config)
    known(settings, "location" if location else "customer", customer, force)
    known(settings, "site" if location else "company", target, force)
    with _deciding(settings) as con:
        decisions.set_link(
            con,
            "location" if location else "customer",
            customer,
            str(target),
            made_by="operator",
            note=note or None,
        )
    console.print(
        f"linked {customer} -> {'site' if location else 'company'} {target}; "
        "the next `crosswalk run customer-sync` applies it",
        highlight=False,
    )


@links_app.command("unlink")
def links_unlink(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    location: LocationOption = False,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
    force: ForceOption = False,
) -> None:
    """Break a wrong link: no rule links this record again until `links set` or `links reset`."""
    settings = _settings(config)
    known(settings, "location" if location else "customer", customer, force)
    with _deciding(settings) as con:
        decisions.unlink(con, "location" if location else "customer", customer, note=note or None)
    console.print(f"unlinked {customer}; no rule will link it again", highlight=False)


# The names before issue 5's set / unlink; they still work, unlisted.
links_app.command("add", hidden=True)(links_set)
links_app.command("break", hidden=True)(links_unlink)


@links_app.command("reset")
def links_reset(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    location: LocationOption = False,
) -> None:
    """Forget what an operator decided for this record: the rules decide again."""
    settings = _settings(config)
    kind = "location" if location else "customer"
    with _deciding(settings) as con:
        forgotten = decisions.reset_link(con, kind, customer)
    if not forgotten:
        known(settings, kind, customer, forceable=False)
        console.print(f"{customer}: no decision to forget; the rules decide", highlight=False)
        return
    console.print(f"{customer}: the rules decide again", highlight=False)


@exclude_app.command("add")
def exclude_add(
    customer: Annotated[str, typer.Argument(help="The ERP customer number.")],
    config: ConfigOption = None,
    reason: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
    force: ForceOption = False,
) -> None:
    """Leave a customer out of the customer sync; it is listed as excluded, never skipped
    silently."""
    settings = _settings(config)
    known(settings, "customer", customer, force)
    with _deciding(settings) as con:
        decisions.exclude(con, "customer-sync", "eautomate", customer, reason or None)
    console.print(f"{customer} is excluded from customer-sync", highlight=False)


@exclude_app.command("remove")
def exclude_remove(
    customer: Annotated[str, typer.Argument(help="The ERP customer number.")],
    config: ConfigOption = None,
) -> None:
    """Take a customer back into the customer sync."""
    settings = _settings(config)
    with _deciding(settings) as con:
        taken_back = decisions.include(con, "customer-sync", customer)
    if not taken_back:
        known(settings, "customer", customer, forceable=False)
        console.print(f"{customer} was not excluded by an operator", highlight=False)
        return
    console.print(f"{customer} is back in customer-sync", highlight=False)


@exclude_app.command("list")
def exclude_list(config: ConfigOption = None) -> None:
    """Excluded customers and why: by an operator, or by ZCJ_SyncToCW = No."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT customer_number, customer_name, exclusion_reason FROM marts.mapped_customers "
        "WHERE is_excluded ORDER BY customer_number",
    )
    table = Table(title=f"excluded from customer-sync: {len(rows)}")
    for column in ("customer", "name", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))
    console.print(table)


@conflicts_app.command("list")
def conflicts_list(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Settled ones too.")] = False,
) -> None:
    """Fields changed in both e-automate and ConnectWise since they last agreed."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT conflict_id, kind, source_key, target_key, field, erp_value, psa_value, "
        "coalesce(resolution || coalesce(': ' || resolved_value, ''), '') || CASE "
        "WHEN settled_at IS NOT NULL THEN ' (settled)' WHEN resolved_at IS NOT NULL "
        "THEN ' (next run)' ELSE 'open' END FROM sync.conflicts "
        + ("" if all_ else "WHERE settled_at IS NULL ")
        + "ORDER BY conflict_id",
    )
    _show_listing(
        f"customer-sync conflicts: {len(rows)}",
        ("id", "kind", "ERP record", "PSA record", "field", "e-automate", "ConnectWise", "state"),
        rows,
    )  # fmt: skip
    if rows and not all_:
        console.print("settle one: crosswalk conflicts resolve ID --take erp|psa (or --value TEXT)")


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict: Annotated[int, typer.Argument(help="The conflict's id (conflicts list).")],
    config: ConfigOption = None,
    take: Annotated[
        str | None, typer.Option(help="erp: keep the e-automate value; psa: the ConnectWise one.")
    ] = None,
    value: Annotated[str | None, typer.Option(help="Neither: this value, on both sides.")] = None,
) -> None:
    """Pick the value a conflicting field gets; the next customer-sync writes it to the side
    that lacks it and remembers it, so the conflict does not come back."""
    if (take is None) == (value is None) or take not in (None, "erp", "psa"):
        console.print("[red]give --take erp, --take psa, or --value TEXT[/red]")
        raise typer.Exit(2)
    settings = _settings(config)
    found = _mart(
        settings,
        "SELECT source_key, field, settled_at FROM sync.conflicts WHERE conflict_id = ?",
        [conflict],
    )
    if not found or found[0][2] is not None:
        console.print(f"[red]no open conflict {conflict}[/red] (crosswalk conflicts list)")
        raise typer.Exit(1)
    with _deciding(settings) as con:
        decisions.resolve_conflict(con, conflict, take=take, value=value, by=getpass.getuser())
    chosen = f"the {take.upper()} value" if take else repr(value)
    console.print(
        f"conflict {conflict} ({found[0][0]} {found[0][1]}): {chosen}; the next "
        "`crosswalk run customer-sync` writes it",
        highlight=False,
    )


FIELD_HELP = ("The field: name, address (both lines), address_line1, address_line2, city, "
              "state, zip, phone, fax or website.")  # fmt: skip
OWNER_HELP = ("erp: its value always goes to the PSA; psa: the PSA's always goes into the "
              "ERP; config: forget the decision (crosswalk.toml decides).")  # fmt: skip
SCOPE_HELP = "For this ERP customer (and its locations) or location only; unset: every customer."


@conflicts_app.command("own")
def conflicts_own(
    field: Annotated[str, typer.Argument(help=FIELD_HELP)],
    owner: Annotated[str, typer.Argument(help=OWNER_HELP)],
    config: ConfigOption = None,
    customer: Annotated[str | None, typer.Option(help=SCOPE_HELP)] = None,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
    force: ForceOption = False,
) -> None:
    """Set a field's direction for good, as Connectworks' arrows do: never a conflict again.
    A decision for one customer wins over one for all, and a decision wins over
    crosswalk.toml's field_owners of the same scope; the next customer-sync applies it."""
    settings = _settings(config)
    if customer is not None:
        known(settings, "customer or location", customer, force)
    try:
        with _deciding(settings) as con:
            said = decisions.own_field(con, field, owner, customer=customer,
                                       by=getpass.getuser(), note=note or None)  # fmt: skip
    except ValueError as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(said, highlight=False, markup=False)


@conflicts_app.command("owners")
def conflicts_owners(config: ConfigOption = None) -> None:
    """Every field's direction set for good: the operators' decisions (who, when) and
    crosswalk.toml's field_owners."""
    settings = _settings(config)
    rows = [
        (customer, field, owner, f"{by}, {_when(at)}" + (f": {note}" if note else ""))
        for customer, field, owner, by, at, note in _mart(
            settings,
            "SELECT CASE customer_number WHEN ? THEN 'every customer' ELSE customer_number END, "
            "field, owner, decided_by, decided_at, note FROM sync.field_owners "
            "ORDER BY customer_number = ?, customer_number, field",
            [decisions.ALL_CUSTOMERS, decisions.ALL_CUSTOMERS],
        )
    ]
    rows += [
        (customer or "every customer", field, owner, "crosswalk.toml")
        for customer, field, owner in settings.flows.customer_sync.owners()
    ]
    _show_listing(
        f"fields owned for good: {len(rows)}", ("customer", "field", "owner", "decided by"), rows
    )
