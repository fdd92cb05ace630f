"""``crosswalk agreements``: the agreement sync's self-service, what the incumbent's users
e-mail support for: see which contract each agreement goes to and why, link an agreement
to a contract by hand, or unlink it so that its next invoice makes a new contract. Read
from the marts the last agreement-sync built; written through crosswalk.decisions.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from crosswalk import decisions
from crosswalk.cli import ConfigOption, _settings, _show_listing, _when, console
from crosswalk.cli.decisions import _deciding, _mart
from crosswalk.cli.records import ForceOption, known

app = typer.Typer(
    help="Which ERP contract each PSA agreement bills through: see, link and unlink.",
    no_args_is_help=True,
)
AgreementArgument = Annotated[int, typer.Argument(help="The PSA agreement id.")]


@app.command("list")
def agreements_list(
    config: ConfigOption = None,
    waiting: Annotated[
        bool, typer.Option("--waiting", help="Only agreements whose invoice waits.")
    ] = False,
) -> None:
    """Each agreement with an invoice to sync: its contract, how it was linked, whether the
    money agrees, and what the next run does."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT agreement_id, agreement_name, customer_number, contract_number, match_rule, "
        "psa_amount, erp_amount, next_action, coalesce(waiting_reason, '') "
        "FROM marts.mapped_agreements "
        + ("WHERE next_action = 'waiting' " if waiting else "")
        + "ORDER BY agreement_id",
        flow="agreement-sync",
    )
    _show_listing(
        f"agreements: {len(rows)}",
        ("agreement", "name", "customer", "contract", "linked by", "PSA", "ERP", "next",
         "why it waits"),
        rows,
    )  # fmt: skip


@app.command("show")
def agreements_show(agreement: AgreementArgument, config: ConfigOption = None) -> None:
    """One agreement in full: its invoice, contract, link, the lines its period asks for
    beside the contract's, and anything that needs a person."""
    settings = _settings(config)
    known(settings, "agreement", agreement, forceable=False)
    found = _mart(
        settings,
        "SELECT agreement_name, agreement_type, agreement_status, company_identifier, "
        "customer_number, bill_to_number, invoice_number, invoice_date, contract_number, "
        "contract_status, match_rule, linked_by, linked_at, contract_number_field, "
        "psa_amount, current_total, planned_lines_text, current_lines_text, action, "
        "waiting_reason FROM marts.agreement_contract_sync WHERE agreement_id = ?",
        [agreement],
        flow="agreement-sync",
    )
    if not found:
        console.print(f"no agreement {agreement} with an invoice in the last agreement-sync")
        raise typer.Exit(1)
    (
        (name, kind, status, company, customer, bill_to, invoice, invoice_date, contract,
         contract_status, rule, linked_by, linked_at, field, psa, erp, planned, current,
         action, reason),
    ) = found  # fmt: skip
    findings = _mart(
        settings,
        "SELECT code, finding FROM marts.agreement_sync_findings WHERE agreement_id = ? "
        "ORDER BY code",
        [agreement],
        flow="agreement-sync",
    )
    table = Table(show_header=False, title=f"agreement {agreement}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = [
        ("name", f"{name} ({kind}, {status})"),
        ("company", f"{company} -> ERP customer {customer or 'none'}"),
        ("bill-to", f"ERP customer {bill_to or 'none'}"),
        ("invoice", f"{invoice} of {invoice_date}"),
        ("contract", f"{contract} ({contract_status or 'to be made'})"),
        ("linked by", rule + (f", {linked_by} {_when(linked_at)}" if linked_by else "")),
        ("ZCJ_ContractNumber", field or ""),
        ("PSA amount", str(psa)),
        ("ERP amount", str(erp)),
        ("lines (PSA)", planned or ""),
        ("lines (ERP)", current or ""),
        ("next run", action + (f": {reason}" if reason else "")),
        *((f"finding {code}", finding) for code, finding in findings),
    ]
    for field_name, value in fields:
        table.add_row(field_name, Text(str(value)))
    console.print(table)


@app.command("link")
def agreements_link(
    agreement: AgreementArgument,
    contract: Annotated[str, typer.Argument(help="The ERP contract number, with revision.")],
    config: ConfigOption = None,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
    force: ForceOption = False,
) -> None:
    """Link an agreement to a contract by hand; it wins over every rule, and the next
    agreement-sync updates that contract and writes the link into both systems."""
    settings = _settings(config)
    known(settings, "agreement", agreement, force)
    known(settings, "contract", contract.strip(), force)
    with _deciding(settings) as con:
        decisions.link_agreement(con, agreement, contract.strip(), made_by="operator",
                                 note=note or None)  # fmt: skip
    console.print(
        f"linked agreement {agreement} -> contract {contract.strip()}; the next "
        "`crosswalk run agreement-sync` applies it",
        highlight=False,
    )


@app.command("unlink")
def agreements_unlink(
    agreement: AgreementArgument,
    config: ConfigOption = None,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
) -> None:
    """Break an agreement's link to its contract (a wrong one, one to start over): no rule
    links it to that contract again, and its next invoice goes to another one or makes the
    next contract revision."""
    settings = _settings(config)
    known(settings, "agreement", agreement, forceable=False)
    found = _mart(
        settings,
        "SELECT contract_number FROM marts.agreement_contract_sync WHERE agreement_id = ? "
        "AND contract_id IS NOT NULL",
        [agreement],
        flow="agreement-sync",
    )
    if not found:
        console.print(f"agreement {agreement} is linked to no contract (crosswalk agreements "
                      "list)")  # fmt: skip
        raise typer.Exit(1)
    ((contract,),) = found
    reason = "unlinked by an operator" + (f": {note}" if note else "")
    with _deciding(settings) as con:
        decisions.break_agreement_link(con, agreement, contract, reason)
    console.print(
        f"unlinked agreement {agreement} from contract {contract}; the next `crosswalk run "
        "agreement-sync` links it to another contract or makes the next revision",
        highlight=False,
    )
