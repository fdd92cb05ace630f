"""service-sync end to end on a small world of its own: PSA tickets with time become ERP
service calls with a labor line per time entry, every rule named by its test. The
module's world is mapped by customer-sync once, then one plan and one real run are made;
the tests read what they did, in order, and the later ones change the world and run
again."""

import json
import re
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import ConfigError
from crosswalk.eautomate import EAutomate
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync
from flows.service_sync.flow import service_sync

from ..conftest import instant_retries

pytestmark = pytest.mark.flow
WORLD, FOLDER = "service-world", "service-sync"  # conftest serves the world

TIME = "time/entries"
runner = CliRunner()


def configure(world, folder, extra: str = "") -> str:
    """The world's configuration on the module's warehouse; customers are mapped, not
    pushed (this module is about calls)."""
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    path = folder / "crosswalk.toml"
    path.write_text(f"{text}\n[flows.customer_sync]\npush = false\n{extra}", encoding="utf-8")
    return str(path)


def sync(world, folder, extra: str = "", **kwargs):
    run = service_sync(config=configure(world, folder, extra), **kwargs)
    assert run.status == "completed", run.message
    return run


def query(folder, sql, params=None):
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def synced(folder, ticket_id) -> dict:
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        cursor = con.execute(
            "SELECT * FROM marts.service_call_sync WHERE ticket_id = ?", [ticket_id]
        )
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def calls_of(world, ticket_id) -> list[dict]:
    """The ERP calls of a ticket, as the ERP holds them, by number."""
    return [
        json.loads(doc)
        for (doc,) in world.store.query(
            "SELECT doc FROM eautomate.calls WHERE json_extract_string(doc, '$.Description') "
            "LIKE ? ORDER BY TRY_CAST(call_number AS BIGINT)",
            [f"[CW #{ticket_id}]%"],
        )
    ]


def entries_of(world, ticket_id) -> dict[int, dict]:
    return {
        id_: json.loads(doc)
        for id_, doc in world.store.query(
            "SELECT id, doc FROM connectwise.time_entries "
            "WHERE json_extract(doc, '$.chargeToId')::BIGINT = ? ORDER BY id",
            [ticket_id],
        )
    }


def keyed(call: dict) -> dict[int, Decimal]:
    """A call's labor hours by the time entry its Remarks names."""
    out = {}
    for labor in call["Labors"]:
        remarks = labor.get("Remarks") or ""
        if remarks.startswith("[TE #"):
            out[int(remarks[5 : remarks.index("]")])] = Decimal(str(labor["LaborHours"]))
    return out


def cli(folder, *args):
    result = runner.invoke(app, [*args, "--config", str(folder / "crosswalk.toml")])
    assert result.exit_code == 0, result.output
    return result.output


def ticket_doc(world, ticket_id) -> dict:
    (doc,) = world.store.one("SELECT doc FROM connectwise.tickets WHERE id = ?", [ticket_id])
    return json.loads(doc)


def found(run, code) -> dict[str, object]:
    return {f.record_id: f for f in run.failures.found.values() if f.code == code}


def taken_off(world, run, ticket, call, entry) -> None:
    """``run`` took the line of time entry ``entry`` off ``call`` (of ``ticket``), and only
    it, in one update of the call."""
    (write,) = [w for w in run.planned if w.target == f"call {call['CallNumber']}"]
    assert write.action == "update-call" and f"TE #{entry} " in write.changes["labor removed"][0]
    (after,) = calls_of(world, ticket)
    assert keyed(after) == {e: h for e, h in keyed(call).items() if e != entry}


def left_as_billed(world, run, ticket, call, code, said_on=None):
    """``call`` (invoiced) untouched by ``run`` and unchanged, and the run's failure of
    ``code`` for ``said_on`` (by default the call's ticket), which names the call."""
    assert not [w for w in run.planned if w.target == f"call {call['CallNumber']}"]
    (after,) = calls_of(world, ticket)
    assert keyed(after) == keyed(call)  # an invoiced call never changes
    failure = found(run, code)[str(said_on or ticket)]
    assert call["CallNumber"] in failure.message and "by hand" in failure.fix
    return failure


def invoiced_in_sync(world, folder, tickets) -> list[int]:
    """Tickets whose only call is Invoiced and holds all their time."""
    return [
        t for t in sorted(tickets)
        if [c["StatusCode"] for c in calls_of(world, t)] == ["Invoiced"]
        and synced(folder, t)["action"] == "in-sync"
    ]  # fmt: skip


def add_time(cw, world, ticket, start: str, end: str, hours: float, **fields) -> dict:
    """A billable time entry on the ticket, by the member of its first one."""
    entry = next(iter(entries_of(world, ticket).values()))
    return cw.create(TIME, {
        "chargeToId": ticket, "chargeToType": "ServiceTicket",
        "member": {"id": entry["member"]["id"]}, "timeStart": start, "timeEnd": end,
        "actualHours": hours, "billableOption": "Billable", **fields,
    })  # fmt: skip


@pytest.fixture(scope="module")
def first(world, folder, apis):
    """customer-sync maps the customers; service-sync runs as a plan, then for real."""
    mapped = customer_sync(config=configure(world, folder))
    assert mapped.status == "completed", mapped.message
    incumbent = {
        ticket for (ticket,) in world.store.query(
            "SELECT DISTINCT regexp_extract(json_extract_string(doc, '$.Description'), "
            "'^\\[CW #(\\d+)\\]', 1)::BIGINT FROM eautomate.calls "
            "WHERE json_extract_string(doc, '$.Description') LIKE '[CW #%'"
        )
    }  # fmt: skip
    plan = sync(world, folder, plan=True)
    real = sync(world, folder)
    return {"plan": plan, "run": real, "incumbent": incumbent}


def test_a_plan_lists_exactly_what_the_run_then_writes(first):
    plan, real = first["plan"], first["run"]
    assert {w.action for w in real.planned} >= {"create-call", "set-ticket-xref"}

    def shown(run):  # a create's key holds when it looks from: the rest must agree
        return [(w.system, w.action, w.target, w.changes) for w in run.planned
                if w.action != "set-ticket-xref"]  # fmt: skip

    assert shown(plan) == shown(real)
    assert plan.notes[-1].replace("would go", "went") == real.notes[-1]


def service_calls_made(world, run) -> list[int]:
    """The service (not project) tickets a run made a call for, in order."""
    projects = {t for (t,) in world.store.query("SELECT id FROM connectwise.project_tickets")}
    made = [int(w.target.rsplit(" ", 1)[1]) for w in run.planned if w.action == "create-call"]
    return [t for t in made if t not in projects]


def test_a_call_is_made_with_a_labor_line_per_time_entry(world, folder, first):
    ticket = service_calls_made(world, first["run"])[0]
    (call,) = calls_of(world, ticket)
    entries = entries_of(world, ticket)
    billable = {i: e for i, e in entries.items() if e.get("billableOption") == "Billable"}
    assert keyed(call) == {i: Decimal(str(e["actualHours"])) for i, e in billable.items()}
    row = synced(folder, ticket)
    assert call["CustomerNumber"] == row["call_customer_number"]
    assert call["Description"].startswith(f"[CW #{ticket}] ")
    assert call["StatusCode"] == "OKToInvoice" and call["CloseDate"] is not None
    assert ticket_doc(world, ticket)["externalXRef"] == call["CallNumber"]
    technicians = {labor["TechnicianNumber"] for labor in call["Labors"]}
    assert None not in technicians and technicians <= {
        n for (n,) in world.store.query("SELECT technician_number FROM eautomate.technicians")
    }


def test_the_incumbents_calls_are_adopted_never_doubled(world, folder, first):
    incumbent = first["incumbent"]
    made = {int(w.target.rsplit(" ", 1)[1]) for w in first["run"].planned
            if w.action in ("create-call", "update-call")}  # fmt: skip
    assert incumbent and not incumbent & made
    for ticket in sorted(incumbent)[:20]:
        assert len(calls_of(world, ticket)) == 1
    adopted = query(
        folder,
        "SELECT count(*) FROM intermediate.int_service_time_planned "
        "WHERE erp_matched_by = 'technician, day and hours'",
    )[0][0]
    assert adopted > 0
    # The incumbent's tickets get their call number in externalXRef all the same.
    ticket = min(incumbent)
    assert ticket_doc(world, ticket)["externalXRef"] == calls_of(world, ticket)[0]["CallNumber"]


def case(world, name) -> list[int]:
    return [
        r[0]
        for r in world.store.query(
            "SELECT id FROM world.cases WHERE case_name = ? ORDER BY 1", [name]
        )
    ]


def ticket_of_entry(world, entry_id) -> int:
    (ticket,) = world.store.one(
        "SELECT json_extract(doc, '$.chargeToId')::BIGINT FROM connectwise.time_entries "
        "WHERE id = ?",
        [entry_id],
    )
    return ticket


def test_time_booked_after_the_incumbents_call_goes_on_it_or_on_a_follow_up(world, first):
    actions = {(w.action, w.record.split('"')[0].strip()) for w in first["run"].planned}
    for name, action in (("time_entry_after_call", "update-call"),
                         ("time_entry_after_invoiced_call", "follow-up-call")):  # fmt: skip
        entries = case(world, name)
        assert entries, name
        for entry in entries:
            ticket = ticket_of_entry(world, entry)
            if (action, f"ticket {ticket}") not in actions:
                continue  # it also waits (a member without technician): reported instead
            on_erp = [keyed(call) for call in calls_of(world, ticket)]
            assert sum(entry in held for held in on_erp) == 1, (name, ticket, entry)
        assert any((action, f"ticket {ticket_of_entry(world, e)}") in actions for e in entries)


def test_a_ticket_whose_company_changed_after_its_call_names_the_call_to_cancel(world, first):
    changed = found(first["run"], "ticket-customer-changed")
    for ticket in case(world, "ticket_moved_after_sync"):
        (call,) = calls_of(world, ticket)
        if call["StatusCode"] == "Invoiced":
            assert call["CallNumber"] not in changed  # final: nothing to cancel
        else:
            assert f"Cancel call {call['CallNumber']}" in changed[call["CallNumber"]].fix


def test_the_contract_is_the_agreements_else_the_only_active_one_else_none(folder, first):
    rules = dict(
        query(
            folder,
            "SELECT coalesce(contract_rule, 'none'), count(*) FROM marts.service_call_sync "
            "WHERE action <> 'skipped' GROUP BY 1",
        )
    )
    assert rules.keys() >= {"agreement", "only-contract", "none"}
    wrong = query(
        folder,
        "SELECT s.ticket_id FROM marts.service_call_sync s "
        "JOIN staging.stg_eautomate__contracts c ON c.contract_number = s.contract_number "
        "WHERE c.status <> 'Active' OR c.expiration_date < current_date",
    )
    assert wrong == []


def test_the_tickets_commands_refuse_an_unknown_ticket_or_customer(folder, first):
    config = ["--config", str(folder / "crosswalk.toml")]
    refused = runner.invoke(app, ["tickets", "exclude", "999999", *config])
    assert refused.exit_code == 1 and "no PSA ticket '999999'" in refused.output
    ticket = min(first["incumbent"])
    moved = runner.invoke(app, ["tickets", "move", str(ticket), "--customer", "NOSUCH99", *config])
    assert moved.exit_code == 1 and "no ERP customer or location 'NOSUCH99'" in moved.output
    assert query(folder, "SELECT count(*) FROM sync.links WHERE kind = 'ticket'") == [(0,)]


def test_the_second_run_writes_nothing(world, folder, first):
    server = world.servers["connectwise"]
    before = len(server.requests)
    assert sync(world, folder).planned == []
    # The first run swept every time entry id; this one, within sweep_hours, does not.
    sweeps = [r for r in list(server.requests)[before:] if "chargeToType" in r.query]
    assert sweeps == [] and query(
        folder, "SELECT count(*) FROM raw_connectwise.time_entry_ids"
    ) == query(folder, "SELECT count(*) FROM raw_connectwise.time_entries")


def test_hours_are_reconciled_with_no_unexplained_difference(folder, first):
    reasons = dict(
        query(
            folder,
            "SELECT coalesce(difference_reason, 'none'), count(*) FROM marts.ticket_hours "
            "GROUP BY 1",
        )
    )
    assert "unexplained" not in reasons
    assert reasons["none"] > 0
    assert any(reason.startswith("waiting: ") for reason in reasons)


def project_invoices(folder, where="true") -> list[dict]:
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM marts.project_invoice_sync WHERE {where} ORDER BY 1")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def calls_for_invoice(world, number: str) -> list[dict]:
    """The ERP calls carrying a PSA invoice: its number is their PONumber."""
    return [
        json.loads(doc) for (doc,) in world.store.query(
            "SELECT doc FROM eautomate.calls WHERE doc->>'$.PONumber' = ? "
            "ORDER BY TRY_CAST(call_number AS BIGINT)", [number])
    ]  # fmt: skip


def billed_by(world, invoice_id: int) -> dict[int, Decimal]:
    """The time entries a PSA invoice bills, with their actual hours."""
    return {
        id_: Decimal(str(hours)) for id_, hours in world.store.query(
            "SELECT id, (doc->>'$.actualHours')::DOUBLE FROM connectwise.time_entries "
            "WHERE json_extract(doc, '$.invoice.id')::BIGINT = ?", [invoice_id])
    }  # fmt: skip


def fees(call: dict) -> Decimal:
    return sum(
        (Decimal(str(m["Quantity"])) * Decimal(str(m["Price"]))
         for m in call.get("MaterialsUsed") or [] if m["Item"] == "CW-FIXEDFEE"),
        Decimal(0),
    )  # fmt: skip


def test_project_time_goes_as_a_call_per_invoice_with_a_labor_line_per_billed_entry(
    world, folder, first
):
    synced_invoices = project_invoices(folder, "state = 'in-sync' AND call_numbers IS NOT NULL")
    assert {r["is_fixed_fee"] for r in synced_invoices} == {True, False}
    for invoice in synced_invoices:
        calls = calls_for_invoice(world, invoice["invoice_number"])
        assert [c["CallNumber"] for c in calls] == invoice["call_numbers"]
        held = {entry: hours for call in calls for entry, hours in keyed(call).items()}
        assert held == billed_by(world, invoice["invoice_id"]), invoice["invoice_number"]
        assert all(c["StatusCode"] == "OKToInvoice" and not c["ContractNumber"] for c in calls)
        rates = {labor.get("LaborRate") for call in calls for labor in call["Labors"]}
        if invoice["is_fixed_fee"]:
            assert rates == {0}  # the fee bills the time
        else:
            assert 0 not in rates and all(fees(c) == 0 for c in calls)


def test_a_fixed_fee_is_a_line_of_the_fixed_fee_item_billed_by_phase_and_on_completion(
    world, folder, first
):
    fixed = project_invoices(folder, "is_fixed_fee AND invoice_type <> 'DownPayment'")
    by_phase = [r for r in fixed if r["phase_id"] is not None and r["state"] == "in-sync"]
    on_completion = [r for r in fixed if r["phase_id"] is None]
    assert by_phase and on_completion
    for invoice in by_phase + on_completion:
        ((amount,),) = world.store.query(
            "SELECT (doc->>'$.subtotal')::DECIMAL(18, 2) FROM connectwise.invoices WHERE id = ?",
            [invoice["invoice_id"]],
        )
        calls = calls_for_invoice(world, invoice["invoice_number"])
        assert [fees(c) for c in calls if fees(c)] == [amount], invoice  # once, to the cent
        assert invoice["erp_fee_amount"] == invoice["fee_amount"] == amount
    written = [w for w in first["run"].planned if "fixed fee" in w.changes]
    assert sum(w.money for w in written) == sum(r["fee_amount"] for r in by_phase + on_completion)


def test_down_payment_invoices_are_skipped_with_their_reason(world, folder, first):
    down = case(world, "invoice_down_payment")
    assert down
    rows = {r["invoice_id"]: r for r in project_invoices(folder, "invoice_type = 'DownPayment'")}
    assert sorted(rows) == down
    for row in rows.values():
        assert (row["state"], row["reason_code"]) == ("skipped", "invoice-down-payment")
        assert calls_for_invoice(world, row["invoice_number"]) == []
    (note,) = [n for n in first["run"].notes if "down payment" in n]
    assert all(row["invoice_number"] in note for row in rows.values())


def test_a_fixed_fee_invoice_billing_no_time_waits_with_the_fix(world, folder, first):
    waiting = project_invoices(folder, "reason_code = 'fixed-fee-invoice-without-time'")
    assert waiting  # seed 7: a phase invoiced before any time was booked on it
    reported = found(first["run"], "fixed-fee-invoice-without-time")
    assert sorted(reported) == sorted(str(r["invoice_id"]) for r in waiting)
    for row in waiting:
        assert calls_for_invoice(world, row["invoice_number"]) == []
        assert row["invoice_number"] in reported[str(row["invoice_id"])].fix


@pytest.fixture(scope="module")
def changed(world, folder, apis, first):
    """What happens in the systems between two runs, then one run under 20% throttling and
    10% server errors on both systems: a member without a technician number is mapped in
    the configuration, time is added to a ticket with an open call and to one whose call is
    Invoiced, and three tickets' externalXRef are edited by hand. A time entry already on
    an open call has its hours and notes corrected; one
    on a call since invoiced has its hours corrected; one more on an open call is made not
    billable. An operator excludes one
    of the member's waiting tickets, moves a ticket waiting for its unmapped company to an
    ERP customer, and moves a ticket whose call is open to another customer."""
    cw, _ = apis
    member = sorted(found(first["run"], "member-technician-missing"))[0]
    waiting = [
        t for (t,) in query(
            folder,
            "SELECT DISTINCT ticket_id FROM intermediate.int_service_time_planned "
            "WHERE member_identifier = ? AND waiting_code = 'member-technician-missing'",
            [member],
        )
    ]  # fmt: skip
    (number,) = world.store.one("SELECT min(technician_number) FROM eautomate.technicians")
    # Every run from here sweeps the time entry ids (deleted entries).
    mapped = (
        f"[flows.service_sync]\nsweep_hours = 0\n"
        f'[flows.service_sync.technicians]\n"{member}" = "{number}"\n'
    )

    open_ticket = service_calls_made(world, first["run"])[1]
    (open_call,) = calls_of(world, open_ticket)
    on_open = add_time(cw, world, open_ticket, "2026-11-30T14:00:00Z", "2026-11-30T15:30:00Z",
                       1.5, notes="Came back to finish.")  # fmt: skip
    invoiced_ticket = invoiced_in_sync(world, folder, first["incumbent"])[0]
    (invoiced_call,) = calls_of(world, invoiced_ticket)
    on_invoiced = add_time(cw, world, invoiced_ticket, "2026-11-30T09:00:00Z",
                           "2026-11-30T10:00:00Z", 1.0)  # fmt: skip
    # Corrections in the PSA after the sync: on an open call, and on an invoiced one.
    ea = apis[1]
    corrected_ticket, invoiced_later = service_calls_made(world, first["run"])[2:4]
    (corrected_call,) = calls_of(world, corrected_ticket)
    entry = min(keyed(corrected_call))
    cw.patch(TIME, entry, {"actualHours": float(keyed(corrected_call)[entry] + Decimal("0.75")),
                           "notes": "Corrected: replaced the fuser too."})  # fmt: skip
    unbilled_ticket = next(
        t
        for t in service_calls_made(world, first["run"])[4:]
        if len(keyed(calls_of(world, t)[0])) > 1
    )
    (unbilled_call,) = calls_of(world, unbilled_ticket)
    unbilled = max(keyed(unbilled_call))
    cw.patch(TIME, unbilled, {"billableOption": "DoNotBill"})
    (late_call,) = calls_of(world, invoiced_later)
    ea.save_call(late_call["CallNumber"], {"StatusCode": "Invoiced"})
    late_entry = min(keyed(late_call))
    cw.patch(TIME, late_entry, {"actualHours": float(keyed(late_call)[late_entry] + 1)})
    edited = [
        t for (t,) in query(
            folder,
            "SELECT ticket_id FROM marts.service_call_sync WHERE action = 'in-sync' "
            "AND ticket_id NOT IN (?, ?, ?, ?, ?) ORDER BY ticket_id LIMIT 3",
            [open_ticket, invoiced_ticket, corrected_ticket, invoiced_later, unbilled_ticket],
        )
    ]  # fmt: skip
    for ticket in edited:
        cw.patch("service/tickets", ticket, {"externalXRef": "HAND-EDIT"})

    excluded = waiting[0]
    cli(folder, "tickets", "exclude", str(excluded), "--note", "billed by hand")
    ((unmapped, customer),) = query(
        folder,
        "SELECT s.ticket_id, (SELECT min(customer_number) FROM marts.mapped_customers "
        "WHERE is_mapped) FROM marts.service_call_sync s "
        "WHERE s.action = 'waiting' AND s.waiting_code = 'ticket-company-unmapped' "
        "ORDER BY 1 LIMIT 1",
    )
    cli(folder, "tickets", "move", str(unmapped), "--customer", customer.lower())
    ((moved, moved_call, other),) = query(
        folder,
        "SELECT s.ticket_id, s.open_call_number, (SELECT max(customer_number) FROM "
        "marts.mapped_customers WHERE is_mapped) FROM marts.service_call_sync s "
        "WHERE s.action = 'in-sync' AND s.open_call_number IS NOT NULL AND s.ticket_id NOT IN "
        "(?, ?, ?, ?, ?) ORDER BY 1 DESC LIMIT 1",
        [open_ticket, invoiced_ticket, corrected_ticket, invoiced_later, unbilled_ticket],
    )
    cli(folder, "tickets", "move", str(moved), "--customer", other)

    # Time entries moved to another synced ticket (as a merge of tickets moves them): one
    # whose line is on an open call, one whose call has since been invoiced.
    source, billed_source, target, deleted_source, deleted_billed_source, merged, emptied, wiped = [
        t for t in service_calls_made(world, first["run"])[4:]
        if t not in (unbilled_ticket, moved, *edited) and len(calls_of(world, t)) == 1
        and len(keyed(calls_of(world, t)[0])) > 1
    ][:8]  # fmt: skip
    (from_call,) = calls_of(world, source)
    (billed_call,) = calls_of(world, billed_source)
    (to_call,) = calls_of(world, target)
    ea.save_call(billed_call["CallNumber"], {"StatusCode": "Invoiced"})
    moved_entry, billed_entry = max(keyed(from_call)), max(keyed(billed_call))
    for moving in (moved_entry, billed_entry):
        cw.patch(TIME, moving, {"chargeToId": target, "ticket": {"id": target}})
    # A ticket merged into the target: its time moves there and it goes to a status the
    # sync does not take.
    (merged_call,) = calls_of(world, merged)
    merged_doc = ticket_doc(world, merged)
    ((status,),) = world.store.query(
        "SELECT id FROM connectwise.refs WHERE kind = 'ticket_status' AND name = 'New' "
        "AND (doc->>'$.board.id')::BIGINT = ?",
        [merged_doc["board"]["id"]],
    )
    # One more whose time all moves there, its status left as it is.
    (emptied_call,) = calls_of(world, emptied)
    for moving in [*keyed(merged_call), *keyed(emptied_call)]:
        cw.patch(TIME, moving, {"chargeToId": target, "ticket": {"id": target}})
    cw.patch("service/tickets", merged, {"status": {"id": status}, "closedFlag": False})
    # Time entries deleted in the PSA: one whose line is on an open call, one on a call
    # since invoiced.
    (deleted_call,) = calls_of(world, deleted_source)
    (deleted_billed_call,) = calls_of(world, deleted_billed_source)
    ea.save_call(deleted_billed_call["CallNumber"], {"StatusCode": "Invoiced"})
    deleted, deleted_billed = max(keyed(deleted_call)), max(keyed(deleted_billed_call))
    # A ticket whose time was all deleted: no time left, so skipped, and nothing of it billed.
    (wiped_call,) = calls_of(world, wiped)
    for gone in (deleted, deleted_billed, *keyed(wiped_call)):
        cw.delete(TIME, gone)

    # Project time billed later: a new entry on a synced project ticket, on a new invoice.
    ((project_ticket, project, company),) = query(
        folder,
        "SELECT ticket_id, project_id, company_id FROM marts.service_call_sync "
        "WHERE is_project AND action = 'in-sync' AND project_id IN (SELECT project_id FROM "
        "staging.stg_connectwise__projects WHERE NOT is_fixed_fee) ORDER BY 1 LIMIT 1",
    )
    before = calls_of(world, project_ticket)
    worker = next(iter(entries_of(world, project_ticket).values()))["member"]["id"]
    later = cw.create(TIME, {
        "chargeToId": project_ticket, "chargeToType": "ProjectTicket", "member": {"id": worker},
        "timeStart": "2026-11-30T16:00:00Z", "timeEnd": "2026-11-30T18:00:00Z",
        "actualHours": 2.0, "billableOption": "Billable",
    })  # fmt: skip
    invoice = cw.create("finance/invoices", {
        "invoiceNumber": "P-LATER-1", "type": "Standard", "company": {"id": company},
        "applyToType": "Project",
        "applyToId": project, "date": "2026-12-01T00:00:00Z", "subtotal": 330.0,
    })  # fmt: skip
    cw.patch(TIME, later["id"], {"invoice": {"id": invoice["id"]}})

    servers = [world.servers["connectwise"], world.servers["eautomate"]]
    for server in servers:
        server.faults.configure(seed=5, throttle=0.2, error=0.1, retry_after=0)
    try:
        with instant_retries():
            run = sync(world, folder, mapped)
    finally:
        for server in servers:
            server.faults.clear()
    injected = sum(sum(s.faults.injected.values()) for s in servers)
    return {
        "run": run, "mapped": mapped, "member": member, "number": number, "waiting": waiting,
        "open": (open_ticket, open_call, on_open), "injected": injected,
        "invoiced": (invoiced_ticket, invoiced_call, on_invoiced), "edited": edited,
        "excluded": excluded, "unmapped": (unmapped, customer),
        "moved": (moved, moved_call, other),
        "billed_later": (project_ticket, before, later, invoice),
        "corrected": (corrected_ticket, corrected_call, entry),
        "invoiced_later": (invoiced_later, late_call, late_entry),
        "unbilled": (unbilled_ticket, unbilled_call, unbilled),
        "entry_moved": (source, from_call, moved_entry), "target": (target, to_call),
        "entry_moved_billed": (billed_source, billed_call, billed_entry),
        "entry_deleted": (deleted_source, deleted_call, deleted),
        "merged": (merged, merged_call), "emptied": (emptied, emptied_call),
        "wiped": (wiped, wiped_call),
        "entry_deleted_billed": (deleted_billed_source, deleted_billed_call, deleted_billed),
    }  # fmt: skip


def test_a_ticket_waits_for_its_unmapped_technician_and_goes_through_once_mapped(
    world, folder, first, changed
):
    member, number, waiting = changed["member"], changed["number"], changed["waiting"]
    failure = found(first["run"], "member-technician-missing")[member]
    assert "waiting" in failure.message and "technicians" in failure.fix
    assert member not in found(changed["run"], "member-technician-missing")
    # Only this member is mapped: tickets with time by another unmapped member still wait.
    through = [t for t in waiting[1:] if synced(folder, t)["action"] != "waiting"]
    assert through
    for ticket in through[:5]:
        (call,) = calls_of(world, ticket)
        assert number in {labor["TechnicianNumber"] for labor in call["Labors"]}


def test_new_time_on_a_synced_ticket_is_added_to_its_open_call(world, changed):
    ticket, call, added = changed["open"]
    updates = [w.target for w in changed["run"].planned if w.action == "update-call"]
    assert updates.count(f"call {call['CallNumber']}") == 1
    (after,) = calls_of(world, ticket)
    assert keyed(after) == {**keyed(call), added["id"]: Decimal("1.5")}


def test_a_time_entry_corrected_after_the_sync_corrects_its_line_on_the_open_call(
    world, folder, changed
):
    ticket, call, entry = changed["corrected"]
    run = changed["run"]
    (write,) = [w for w in run.planned if w.target == f"call {call['CallNumber']}"]
    assert write.action == "update-call" and "labor corrected" in write.changes
    (after,) = calls_of(world, ticket)
    hours = keyed(call)[entry] + Decimal("0.75")
    assert keyed(after) == {**keyed(call), entry: hours}  # put right, not added twice
    (line,) = [labor for labor in after["Labors"] if labor["Remarks"].startswith(f"[TE #{entry}]")]
    assert line["Remarks"] == f"[TE #{entry}] Corrected: replaced the fuser too."
    assert after["Description"] == call["Description"]  # the call's own text is the ERP's
    # What the run saw before it wrote (the marts are built before the push); the next
    # run writes nothing (test_throttling_and_server_errors_reach_the_same_end_state).
    row = synced(folder, ticket)
    assert (row["action"], row["lines_to_correct"]) == ("update-call", 1)
    assert query(folder, "SELECT difference_reason FROM marts.ticket_hours WHERE ticket_id = ?",
                 [ticket]) == [("to send: update-call",)]  # fmt: skip


def test_time_made_not_billable_after_the_sync_comes_off_its_open_call(world, changed):
    ticket, call, entry = changed["unbilled"]
    taken_off(world, changed["run"], ticket, call, entry)


def test_a_time_entry_corrected_after_its_call_was_invoiced_is_said_not_sent(
    world, folder, changed
):
    ticket, call, entry = changed["invoiced_later"]
    failure = left_as_billed(
        world, changed["run"], ticket, call, "time-entry-changed-after-invoice"
    )
    assert f"time entry {entry} now holds" in failure.message
    ((reason, difference),) = query(
        folder,
        "SELECT difference_reason, difference_hours FROM marts.ticket_hours WHERE ticket_id = ?",
        [ticket],
    )
    assert reason == "invoiced: time-entry-changed-after-invoice" and difference == 1


def test_a_time_entry_moved_to_another_ticket_comes_off_its_call_and_goes_on_the_new_ones(
    world, folder, changed
):
    (source, from_call, entry), (target, to_call) = changed["entry_moved"], changed["target"]
    taken_off(world, changed["run"], source, from_call, entry)
    (after,) = calls_of(world, target)
    merged_call, emptied_call = changed["merged"][1], changed["emptied"][1]
    assert keyed(after) == {**keyed(to_call), entry: keyed(from_call)[entry],
                            **keyed(merged_call), **keyed(emptied_call)}  # once, here  # fmt: skip
    # What the run saw before it wrote: the line still on the old call, to come off.
    assert query(
        folder,
        "SELECT ticket_id, erp_hours, moved_to_id, line_change FROM "
        "intermediate.int_service_lines_left WHERE time_entry_id = ?",
        [entry],
    ) == [(source, keyed(from_call)[entry], target, "remove")]  # fmt: skip
    assert query(folder, "SELECT difference_reason FROM marts.ticket_hours WHERE ticket_id = ?",
                 [source]) == [("to send: update-call",)]  # fmt: skip
    shown = runner.invoke(app, ["tickets", "show", str(source), "--config",
                                str(folder / "crosswalk.toml")], terminal_width=200)  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "time entry is no longer the ticket's" in shown.output
    (row,) = [line for line in shown.output.splitlines() if "moved to serviceticket" in line]
    assert f"{entry} " in row and f" {target} " in row and "comes off" in row


@pytest.mark.parametrize("which", ["merged", "emptied", "wiped"])
def test_a_ticket_whose_time_all_moved_or_was_deleted_keeps_none_of_it(
    world, folder, changed, which
):
    """Merged into another ticket: in a status the sync does not take, or left with no
    time (moved away or deleted: skipped); either way no update reaches it, and its lines
    come off all the same."""
    ticket, call = changed[which]
    action = query(folder, "SELECT action FROM marts.service_call_sync WHERE ticket_id = ?",
                   [ticket])  # fmt: skip
    assert action == ([] if which == "merged" else [("skipped",)])
    if which == "wiped":  # its deleted time is not the ticket's time any more
        assert synced(folder, ticket)["skip_code"] == "ticket-without-time"
    (write,) = [w for w in changed["run"].planned if w.target == f"call {call['CallNumber']}"]
    assert write.action == "update-call" and set(keyed(call)) == {
        int(e) for e in re.findall(r"TE #(\d+) ", write.changes["labor removed"][0])
    }  # fmt: skip
    (after,) = calls_of(world, ticket)
    assert keyed(after) == {}  # no line left: each moved or was deleted with its time entry
    failure = found(changed["run"], "call-left-empty")[call["CallNumber"]]
    assert f"call {call['CallNumber']} of ticket {ticket} " in failure.message
    assert failure.fix.startswith(f"Cancel call {call['CallNumber']} in e-automate")


def test_a_time_entry_moved_after_its_call_was_invoiced_stays_billed_there_and_is_said(
    world, folder, changed
):
    (source, billed_call, entry), (target, _) = changed["entry_moved_billed"], changed["target"]
    failure = left_as_billed(world, changed["run"], source, billed_call,
                             "time-entry-moved-after-invoice", said_on=target)  # fmt: skip
    assert f"time entry {entry} " in failure.message and f"ticket {source}" in failure.message
    (after,) = calls_of(world, target)
    assert entry not in keyed(after)  # billed once, on the other ticket's call
    ((hours,),) = query(
        folder,
        "SELECT erp_hours FROM intermediate.int_service_time_planned "
        "WHERE time_entry_id = ? AND billed_on_ticket_id = ?",
        [entry, source],
    )
    assert hours == keyed(billed_call)[entry]  # the target's reconciliation counts it billed
    # The old ticket's ERP holds hours its PSA time no longer has, and says why.
    assert query(
        folder,
        "SELECT difference_hours, difference_reason FROM marts.ticket_hours WHERE ticket_id = ?",
        [source],
    ) == [(-keyed(billed_call)[entry], "invoiced: time-entry-moved-after-invoice")]  # fmt: skip


def test_a_time_entry_deleted_in_the_psa_comes_off_its_open_call(world, folder, changed):
    ticket, call, entry = changed["entry_deleted"]
    taken_off(world, changed["run"], ticket, call, entry)
    assert query(
        folder,
        "SELECT is_entry_deleted, line_change FROM intermediate.int_service_lines_left "
        "WHERE time_entry_id = ?",
        [entry],
    ) == [(True, "remove")]  # fmt: skip


def test_a_time_entry_deleted_after_its_call_was_invoiced_stays_billed_and_is_said(
    world, folder, changed
):
    ticket, call, entry = changed["entry_deleted_billed"]
    failure = left_as_billed(
        world, changed["run"], ticket, call, "time-entry-deleted-after-invoice"
    )
    assert f"time entry {entry} was deleted" in failure.message
    assert query(
        folder,
        "SELECT difference_hours, difference_reason FROM marts.ticket_hours WHERE ticket_id = ?",
        [ticket],
    ) == [(-keyed(call)[entry], "invoiced: time-entry-deleted-after-invoice")]  # fmt: skip


def test_new_time_after_the_call_was_invoiced_goes_on_a_follow_up_call(world, changed):
    ticket, old, added = changed["invoiced"]
    run = changed["run"]
    assert [w.target for w in run.planned if w.action == "follow-up-call"] == [
        f"call for ticket {ticket} (follow-up)"
    ]
    old_again, follow_up = calls_of(world, ticket)
    assert old_again == old  # an invoiced call never changes
    assert keyed(follow_up) == {added["id"]: Decimal("1.0")}
    note = found(run, "follow-up-call")[str(ticket)]
    assert old["CallNumber"] in note.message and follow_up["CallNumber"] in note.message
    assert ticket_doc(world, ticket)["externalXRef"] == follow_up["CallNumber"]


def test_project_time_billed_later_goes_on_a_new_call(world, changed):
    ticket, before, entry, invoice = changed["billed_later"]
    calls = calls_of(world, ticket)
    assert [keyed(c) for c in calls[: len(before)]] == [keyed(c) for c in before]
    (new,) = calls[len(before) :]
    assert new["PONumber"] == invoice["invoiceNumber"] == "P-LATER-1"
    assert keyed(new) == {entry["id"]: Decimal("2")}


def test_throttling_and_server_errors_reach_the_same_end_state(world, folder, changed):
    assert changed["injected"] > 0
    xrefs = {w.target for w in changed["run"].planned if w.action == "set-ticket-xref"}
    assert {f"ticket {t}" for t in changed["edited"]} <= xrefs
    for ticket in changed["edited"]:
        number = calls_of(world, ticket)[-1]["CallNumber"]
        assert ticket_doc(world, ticket)["externalXRef"] == number
    assert sync(world, folder, changed["mapped"]).planned == []


def test_an_excluded_ticket_is_skipped_with_its_reason(world, folder, changed):
    ticket = changed["excluded"]
    assert calls_of(world, ticket) == []
    row = synced(folder, ticket)
    assert (row["action"], row["skip_code"]) == ("skipped", "ticket-excluded")
    assert "ticket-excluded" in cli(folder, "tickets", "show", str(ticket))
    cli(folder, "tickets", "include", str(ticket))
    assert synced(folder, ticket)["action"] == "skipped"  # until the next run


def test_a_waiting_ticket_moved_to_a_customer_goes_there(world, folder, changed):
    ticket, customer = changed["unmapped"]
    (call,) = calls_of(world, ticket)
    assert call["CustomerNumber"] == customer  # given in lower case, as the ERP spells it
    assert ticket_doc(world, ticket)["externalXRef"] == call["CallNumber"]
    assert "moved by an operator" in cli(folder, "tickets", "show", str(ticket))


def test_a_ticket_moved_after_its_call_names_the_call_to_cancel_then_gets_a_new_one(
    world, folder, apis, changed
):
    _, ea = apis
    ticket, old, customer = changed["moved"]
    failure = found(changed["run"], "ticket-customer-changed")[old]
    assert f"Cancel call {old}" in failure.fix and customer in failure.message
    assert len(calls_of(world, ticket)) == 1  # nothing added to the wrong customer's call
    ea.save_call(old, {"StatusCode": "Canceled"})
    run = sync(world, folder, changed["mapped"])
    assert old not in found(run, "ticket-customer-changed")
    cancelled, new = calls_of(world, ticket)
    assert (cancelled["StatusCode"], new["CustomerNumber"]) == ("Canceled", customer)
    assert keyed(new) == keyed(cancelled)  # all the ticket's time, on the new call
    assert ticket_doc(world, ticket)["externalXRef"] == new["CallNumber"]


def test_a_crash_between_a_call_create_and_its_record_makes_one_call(
    world, folder, apis, first, changed, monkeypatch
):
    cw, _ = apis
    ticket = invoiced_in_sync(world, folder, first["incumbent"])[-1]
    add_time(cw, world, ticket, "2026-11-29T09:00:00Z", "2026-11-29T09:30:00Z", 0.5)
    original = EAutomate.add_call

    def crash_after_sending(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise RuntimeError("crash between the create and its record")

    monkeypatch.setattr(EAutomate, "add_call", crash_after_sending)
    with pytest.raises(RuntimeError, match="crash between"):
        service_sync(config=configure(world, folder, changed["mapped"]))
    monkeypatch.setattr(EAutomate, "add_call", original)
    pending = query(folder, "SELECT action, target_key FROM sync.push_log WHERE outcome IS NULL")
    assert pending == [("follow-up-call", f"call for ticket {ticket} (follow-up)")]
    rerun = sync(world, folder, changed["mapped"])
    assert len(calls_of(world, ticket)) == 2
    assert query(
        folder,
        "SELECT outcome FROM sync.push_log WHERE detail LIKE 'settled by run%'"
        " AND action = 'follow-up-call'",
    ) == [("adopted",)]
    # What the crash cut off after the create: the call number into the ticket.
    assert [(w.action, w.target) for w in rerun.planned] == [
        ("set-ticket-xref", f"ticket {ticket}")
    ]
    assert ticket_doc(world, ticket)["externalXRef"] == calls_of(world, ticket)[-1]["CallNumber"]


def test_a_board_or_status_the_psa_does_not_serve_is_a_configuration_failure(world, folder):
    typo = (
        "[flows.service_sync]\n"
        'statuses = { "Help Desk" = [">Closed", "Clsoed"], "Helpdesk" = [] }\n'
    )
    with pytest.raises(ConfigError) as refused:
        service_sync(config=configure(world, folder, typo))
    message = str(refused.value)
    assert "flows.service_sync.statuses.Help Desk: 'Clsoed' is not a status" in message
    assert "'Helpdesk' is not a board" in message


def test_a_configured_code_the_erp_does_not_serve_is_a_configuration_failure(world, folder):
    typo = (
        '[flows.service_sync]\ncall_types = { "Help Desk" = "HELPDSK" }\n'
        'fixed_fee_item = "CW-FIXEDFE"\n'
    )
    with pytest.raises(ConfigError) as refused:
        service_sync(config=configure(world, folder, typo))
    message = str(refused.value)
    assert "flows.service_sync.call_types.Help Desk" in message and "'HELPDSK'" in message
    assert "flows.service_sync.fixed_fee_item: 'CW-FIXEDFE' is not an item" in message
