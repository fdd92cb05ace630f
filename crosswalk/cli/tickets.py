"""``crosswalk tickets``: the service sync's self-service, what the incumbent's users
e-mail support for: see each ticket's call and why it waits, send a ticket to another ERP
customer, and leave a ticket out or take it back. Read from the marts the last
service-sync built; written through crosswalk.decisions.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from crosswalk import decisions
from crosswalk.cli import ConfigOption, _settings, _show_listing, console
from crosswalk.cli.decisions import _deciding, _mart
from crosswalk.cli.records import ForceOption, known

app = typer.Typer(
    help="Which ERP service call each PSA ticket's time goes to: see, move, exclude.",
    no_args_is_help=True,
)
TicketArgument = Annotated[int, typer.Argument(help="The PSA ticket number.")]
NoteOption = Annotated[str, typer.Option(help="Why, for the next person.")]
FLOW = "service-sync"


@app.command("list")
def tickets_list(
    config: ConfigOption = None,
    waiting: Annotated[bool, typer.Option(help="Only tickets that wait.")] = False,
) -> None:
    """Each selected ticket: its customer, call, state and why, and its hours."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT ticket_id, summary, company_identifier, call_customer_number, call_number, "
        "state, coalesce(reason_code, ''), psa_hours, erp_hours FROM marts.mapped_tickets "
        + ("WHERE state = 'waiting' " if waiting else "")
        + "ORDER BY ticket_id",
        flow=FLOW,
    )
    _show_listing(
        f"tickets: {len(rows)}",
        ("ticket", "summary", "company", "customer", "call", "state", "why", "PSA hours",
         "ERP hours"),
        rows,
    )  # fmt: skip


@app.command("show")
def tickets_show(ticket: TicketArgument, config: ConfigOption = None) -> None:
    """One ticket in full: its customer, contract, calls, each time entry and where it is
    in the ERP, and anything that needs a person."""
    settings = _settings(config)
    known(settings, "ticket", ticket, forceable=False)
    found = _mart(
        settings,
        "SELECT summary, board, status, company_identifier, customer_number, "
        "call_customer_number, is_moved, contract_number, contract_rule, technician_number, "
        "call_numbers, action, CASE action WHEN 'waiting' THEN waiting_code WHEN 'skipped' THEN "
        "skip_code END FROM marts.service_call_sync "
        "WHERE ticket_id = ?",
        [ticket],
        flow=FLOW,
    )
    if not found:
        console.print(f"no ticket {ticket} in the last service-sync (crosswalk tickets list)")
        raise typer.Exit(1)
    ((summary, board, status, company, customer, call_customer, moved, contract, rule,
      technician, calls, action, reason),) = found  # fmt: skip
    entries = _mart(
        settings,
        "SELECT time_entry_id, member_identifier, technician_number, started_local, "
        "labor_hours, coalesce(erp_call_number, ''), coalesce(erp_matched_by, ''), "
        "coalesce(waiting_code, skip_code, '') FROM intermediate.int_service_time_planned "
        "WHERE ticket_id = ? ORDER BY started_at, time_entry_id",
        [ticket],
        flow=FLOW,
    )
    left = _mart(
        settings,
        "SELECT time_entry_id, erp_call_number, erp_hours, CASE WHEN is_entry_deleted THEN "
        "'deleted in the PSA' ELSE 'moved to ' || lower(moved_to_type) || ' ' || moved_to_id "
        "END, CASE line_change WHEN 'remove' THEN 'comes off' ELSE 'invoiced: stays' END "
        "FROM intermediate.int_service_lines_left WHERE ticket_id = ? "
        "ORDER BY erp_call_number, time_entry_id",
        [ticket],
        flow=FLOW,
    )
    findings = _mart(
        settings,
        "SELECT code, finding FROM marts.service_sync_findings WHERE ticket_id = ? ORDER BY 1",
        [ticket],
        flow=FLOW,
    )
    table = Table(show_header=False, title=f'ticket {ticket} "{summary}"')
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = [
        ("board", f"{board}: {status}"),
        ("company", f"{company} -> ERP customer {customer or 'none'}"),
        ("call for", (call_customer or "none") + (" (moved by an operator)" if moved else "")),
        ("contract", f"{contract} ({rule})" if contract else "none"),
        ("technician", technician or "none"),
        ("calls", ", ".join(calls or []) or "none yet"),
        ("next run", action + (f": {reason}" if reason else "")),
        *((f"finding {code}", finding) for code, finding in findings),
    ]
    for name, value in fields:
        table.add_row(name, Text(str(value)))
    console.print(table)
    lines = Table(title="time entries")
    for column in ("entry", "member", "technician", "start", "hours", "call", "matched by",
                   "why not"):  # fmt: skip
        lines.add_column(column, overflow="fold")
    for row in entries:
        lines.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(lines)
    if left:
        gone = Table(title="lines on its calls whose time entry is no longer the ticket's")
        for column in ("entry", "call", "hours", "why", "next run"):
            gone.add_column(column, overflow="fold")
        for row in left:
            gone.add_row(*(Text(str(v)) for v in row))
        console.print(gone)


@app.command("move")
def tickets_move(
    ticket: TicketArgument,
    customer: Annotated[str, typer.Option(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    note: NoteOption = "",
    force: ForceOption = False,
) -> None:
    """Send a ticket's call to another ERP customer. A waiting ticket goes there on the next
    run; for a ticket already in the ERP, the run names the call to cancel."""
    settings = _settings(config)
    known(settings, "ticket", ticket, force)
    number = customer.strip()
    # e-automate takes customer numbers in any case: the number as the ERP spells it.
    spelled = _mart(
        settings,
        "SELECT customer_number FROM raw_eautomate.customers "
        "WHERE upper(customer_number) = upper(?)",
        [number],
        flow=FLOW,
    )
    if spelled:
        ((number,),) = spelled
    known(settings, "customer or location", number, force)
    with _deciding(settings) as con:
        decisions.move_ticket(con, ticket, number, made_by="operator", note=note or None)
    console.print(
        f"moved ticket {ticket} -> customer {number}; the next `crosswalk run service-sync` "
        "applies it",
        highlight=False,
    )


@app.command("exclude")
def tickets_exclude(
    ticket: TicketArgument,
    config: ConfigOption = None,
    note: NoteOption = "",
    force: ForceOption = False,
) -> None:
    """Leave a ticket out of the service sync (listed as skipped, with the reason)."""
    settings = _settings(config)
    known(settings, "ticket", ticket, force)
    with _deciding(settings) as con:
        decisions.exclude(con, FLOW, "connectwise", str(ticket), note or "excluded by an operator")
    console.print(f"excluded ticket {ticket} from service-sync", highlight=False)


@app.command("include")
def tickets_include(ticket: TicketArgument, config: ConfigOption = None) -> None:
    """Take an excluded ticket back into the service sync."""
    with _deciding(_settings(config)) as con:
        decisions.include(con, FLOW, str(ticket))
    console.print(f"included ticket {ticket} in service-sync again", highlight=False)
