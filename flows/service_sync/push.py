"""service-sync pushes: PSA tickets with time -> ERP service calls (seed 004, ID965).

``marts.service_call_sync`` says per ticket what to do; this module does it through
``crosswalk.pushing``:

- create: a call for the ticket's customer (its site's location when mapped), technician,
  contract and codes, ``[CW #<ticket id>]`` opening its description, one labor line per
  time entry with ``[TE #<time entry id>]`` in its Remarks; looked up by that key before it
  is sent and after an answer that was lost, so it is made once;
- update: the time entries not yet on the ticket's open call added to it (the call is read
  first, so a line already there is never added twice), and the call closed once the
  ticket is (status and close date), in one ``saveCall``; a line whose time entry changed
  in the PSA since (hours, notes, technician, activity) put right on a call not yet
  invoiced, taken off when the entry is no longer billable, moved to another ticket or
  deleted (even from a ticket the sync no longer takes); on an invoiced call it is left
  and said (``time-entry-changed-after-invoice``, ``-moved-after-invoice``,
  ``-deleted-after-invoice``);
- follow-up: new time on a ticket whose call is already Invoiced (final) goes on a new
  call for the same ticket, and the run says so;
- project tickets (ID522): a call per ticket and PSA project invoice, its PONumber the
  invoice number, a labor line per time entry the invoice bills (at LaborRate 0 on a
  fixed-fee project), and on the call of the first ticket a fixed-fee invoice bills, the
  invoice's amount as a line of the fixed-fee item, read back to the cent; time a later
  invoice bills goes on a new call;
- every call written is checked: the hours of its labor lines for the ticket's time
  entries must equal what was sent, else ``hours-mismatch`` with both figures;
- the call number is written into the ticket's ``externalXRef`` whenever missing or
  different, so the link is where PSA users look.

What waits (a company not mapped, time by a member without an ERP technician) is
reported once per cause with the fix, and goes through by itself once fixed.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError
from crosswalk.pipeline import Run
from crosswalk.pushing import Pusher, Write
from crosswalk.warehouse import Streamed, rows
from schemas import connectwise, eautomate

TICKETS = "service/tickets"
PROJECT_TICKETS = "project/tickets"
HOURS = Decimal("0.01")
CENTS = Decimal("0.01")
ENTRY_KEY = re.compile(r"\[TE #(\d+)\]")
CALL_KEY = re.compile(r"\s*\[CW #(\d+)\]")
DESCRIPTION = 2048  # e-automate's limit on a call's description
# Codes this step looks at on every run, by the record they are on.
TICKET_CODES = (
    "call-create-rejected",
    "call-update-rejected",
    "ticket-field-rejected",
    "hours-mismatch",
    "time-entry-overlap",
    "hours-unexplained",
    "time-entry-changed-after-invoice",
    "time-entry-moved-after-invoice",
    "time-entry-deleted-after-invoice",
    "follow-up-call",
    "ticket-moved-customer-unknown",
    "fixed-fee-mismatch",
)
INVOICE_CODES = ("fixed-fee-invoice-without-time", "project-invoice-differs")
COMPANY_CODES = ("ticket-company-unmapped",)
CUSTOMER_CODES = ("customer-inactive",)
CALL_CODES = ("ticket-customer-changed",)
TICKET_WAITING_CODES = ("ticket-customer-changed", "ticket-moved-customer-unknown")
MEMBER_CODES = ("member-technician-missing", "member-technician-unknown")


@dataclass
class Pushed:
    created: int = 0
    adopted: int = 0
    updated: int = 0
    corrected: int = 0  # labor lines put right after their time entry changed
    follow_ups: int = 0
    project_calls: int = 0
    links: int = 0
    waiting: int = 0
    failed: int = 0
    hours_sent: Decimal = Decimal(0)
    fees_sent: Decimal = Decimal(0)

    def __str__(self) -> str:
        return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in vars(self).items())


# What ``ServicePush.waiting`` says of a waiting ticket (read for every one of them).
WAITING_COLUMNS = (
    "ticket_id, summary, waiting_code, company_id, company_identifier, company_name, "
    "call_customer_number, open_call_number, open_call_customer_number, new_hours"
)


def ticket_label(row: dict) -> str:
    return f'ticket {row["ticket_id"]} "{row["summary"]}"'


def call_key(ticket_id: int) -> str:
    return f"[CW #{ticket_id}]"


class ByTicket:
    """Rows of ``select`` (``ticket_id`` first; a query with a WHERE clause) in ticket
    order, handed out one ticket at a time as the push reaches it, read a chunk at a time
    (``Streamed``): a large first run's two million labor lines never sit in Python's
    memory together (read all at once, they took service-sync's first run at large to
    7 GiB). Tickets are asked in ticket order, as the push goes; one asked again, or
    behind, is read on its own."""

    CHUNK = 10_000

    def __init__(self, con: duckdb.DuckDBPyConnection, select: str, order: str):
        self.con, self.select, self.order = con, select, order
        self.lines: Streamed | None = Streamed(
            con, f"{select} ORDER BY ticket_id, {order}", chunk=self.CHUNK
        )
        self.rows = iter(self.lines)
        self.ahead: deque[dict] = deque()
        self.last = -1

    def get(self, ticket_id: int) -> list[dict]:
        if ticket_id <= self.last:
            found = rows(self.con, f"{self.select} AND ticket_id = ? ORDER BY {self.order}",
                         [ticket_id])  # fmt: skip
            return [_line(row) for row in found]
        self.last = ticket_id
        lines = []
        while self.ahead or self._more():
            if self.ahead[0]["ticket_id"] > ticket_id:
                break
            row = self.ahead.popleft()
            if row["ticket_id"] == ticket_id:
                lines.append(_line(row))
        return lines

    def _more(self) -> bool:
        row = next(self.rows, None) if self.lines is not None else None
        if row is None:
            self.close()
            return False
        self.ahead.append(row)
        return True

    def close(self) -> None:
        if self.lines is not None:
            self.lines.close()
            self.lines = None


def _line(row: dict) -> dict:
    """A labor line: its row without the ticket's id."""
    del row["ticket_id"]
    return row


class ServicePush:
    """One push step's systems and writes; each method handles one kind of write."""

    def __init__(self, pusher: Pusher, cw: ConnectWise, ea: EAutomate):
        self.pusher, self.cw, self.ea = pusher, cw, ea
        self.run = pusher.run
        self.con = pusher.con
        self.pushed = Pushed()
        self.checked: set[int] = set()
        self.made_since_read: dict[int, list[str]] | None = None
        self.unsent: ByTicket | None = None
        self.to_correct: ByTicket | None = None
        self.fees: dict[tuple[int, str], Decimal] | None = None
        self.fee_item = pusher.run.settings.flows.service_sync.fixed_fee_item

    # --- finding calls ------------------------------------------------------------------

    def find_call(self, key: dict) -> str | None:
        """A call of the ticket (its description opens with ``[CW #<ticket>]``) for the
        customer, changed since ``key["since"]`` and not one of the ticket's calls known
        before the create: one short list read, then the few candidates' records."""
        changes = self.ea.changes("calls", self.ea.local(key["since"]))
        customer = key["customer"].upper()
        candidates = [
            r["CallNumber"] for r in changes.rows if str(r["CustomerNumber"]).upper() == customer
        ]  # fmt: skip
        return self._first_new(self._by_ticket(candidates), key)

    def looked_up(self, key: dict) -> str | None:
        """The lookup before a create: the ticket's calls among those made or changed in
        the ERP since this run read them (one read for the whole step, made at the first
        create; the calls read before are in the warehouse already)."""
        if self.made_since_read is None:
            (stamp,) = self.con.execute(
                "SELECT max(cursor_value) FROM sync.watermarks "
                "WHERE system = 'eautomate' AND entity = 'calls'"
            ).fetchone()
            since = stamp or key["since"]
            changes = self.ea.changes("calls", self.ea.local(since))
            self.made_since_read = self._by_ticket([r["CallNumber"] for r in changes.rows])
        return self._first_new(self.made_since_read, key)

    def _by_ticket(self, numbers: list[str]) -> dict[int, list[tuple[str, str | None]]]:
        """The calls among ``numbers`` by the ticket their key names: (number, PONumber)."""
        found: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
        for chunk in self.ea.details("calls", numbers):
            for doc in chunk:
                opening = CALL_KEY.match(doc.get("Description") or "")
                if opening and doc.get("StatusCode") != "Canceled":
                    found[int(opening.group(1))].append((doc["CallNumber"], doc.get("PONumber")))
        return found

    @staticmethod
    def _first_new(calls: dict[int, list[tuple[str, str | None]]], key: dict) -> str | None:
        """The ticket's first call not known before the create; for a project invoice's
        call (``key["po"]``), the one carrying that invoice number."""
        known = set(key.get("known") or ())
        new = [
            number for number, po in calls.get(key["ticket"], [])
            if number not in known and (key.get("po") is None or po == key["po"])
        ]  # fmt: skip
        return min(new, key=int, default=None)

    def recover(self) -> None:
        self.pusher.recover(
            {"create-call": self.find_call, "follow-up-call": self.find_call},
            updates=("update-call", "set-ticket-xref"),
        )

    # --- what waits -------------------------------------------------------------------

    def waiting(self, found: list[dict]) -> None:
        """One failure per cause (a company, a member), naming the tickets and the hours."""
        causes: dict[tuple, list[dict]] = defaultdict(list)
        members: dict[tuple[int, str], list[str]] = defaultdict(list)
        for ticket, code, member in self.con.execute(
            "SELECT DISTINCT ticket_id, waiting_code, member_identifier "
            "FROM intermediate.int_service_time_planned WHERE waiting_code IS NOT NULL "
            "ORDER BY 1, 3"
        ).fetchall():
            members[(ticket, code)].append(member)
        for row in found:
            code = row["waiting_code"]
            if code == "ticket-company-unmapped":
                causes[(code, row["company_id"])].append(row)
                continue
            if code == "customer-inactive":
                causes[(code, row["call_customer_number"])].append(row)
                continue
            if code in TICKET_WAITING_CODES:
                causes[(code, row["ticket_id"])].append(row)
                continue
            for member in members[(row["ticket_id"], code)]:
                causes[(code, member)].append(row)
        for (code, record), tickets in causes.items():
            self.run.failures.add(self._waiting_failure(code, record, tickets))
        self.pushed.waiting += len(found)

    def _waiting_failure(self, code: str, record: Any, tickets: list[dict]) -> Failure:
        names = ", ".join(ticket_label(r) for r in tickets[:5])
        more = f" and {len(tickets) - 5} more" if len(tickets) > 5 else ""
        hours = sum((Decimal(r["new_hours"]) for r in tickets), Decimal(0))
        count = f"{len(tickets)} ticket{'s' if len(tickets) > 1 else ''}, {hours} hours"
        if code == "ticket-company-unmapped":
            first = tickets[0]
            shown = first["company_identifier"] or record
            company = f'company {shown} "{first["company_name"]}"'
            return data_failure(
                "connectwise", "companies", record, code,
                f"{company} is not mapped to an ERP customer: {count} waiting ({names}{more})",
                f"Map it: crosswalk links set <ERP customer number> {record} (crosswalk links "
                "suggestions lists likely customers); the next run makes the calls.",
                label=company,
            )  # fmt: skip
        if code == "ticket-customer-changed":
            row, call = tickets[0], tickets[0]["open_call_number"]
            return data_failure(
                "eautomate", "calls", call, code,
                f"{ticket_label(row)} is now customer {row['call_customer_number']}'s, but its "
                f"call {call} is for customer {row['open_call_customer_number']}: "
                f"{row['new_hours']} new hours wait",
                f"Cancel call {call} in e-automate (the next run makes a call for customer "
                f"{row['call_customer_number']} with all the ticket's time), or move the ticket "
                f"back: crosswalk tickets move {row['ticket_id']} --customer "
                f"{row['open_call_customer_number']}.",
                label=f"call {call}",
            )  # fmt: skip
        if code == "ticket-moved-customer-unknown":
            row = tickets[0]
            return data_failure(
                "connectwise", "tickets", row["ticket_id"], code,
                f"{ticket_label(row)} was moved to customer {row['call_customer_number']}, "
                "which e-automate does not have",
                f"Move it to a customer e-automate has: crosswalk tickets move "
                f"{row['ticket_id']} --customer NUMBER.",
                label=ticket_label(row),
            )  # fmt: skip
        if code == "customer-inactive":
            return data_failure(
                "eautomate", "customers", record, code,
                f"customer {record} is inactive in e-automate: {count} waiting for a call "
                f"({names}{more})",
                f"Reactivate customer {record} in e-automate, or map its PSA company to the "
                "customer that goes on (crosswalk links set); the next run makes the calls.",
                label=f"customer {record}",
            )  # fmt: skip
        if code == "member-technician-missing":
            problem = "has no technician number (employeeIdentifer)"
            fix = (
                f"Enter member {record}'s ERP technician number in ConnectWise (System > "
                "Members > Employee ID), or map it in [flows.service_sync.technicians]; the "
                "next run makes the calls."
            )
        else:
            problem = "has a technician number that e-automate does not know"
            fix = (
                f"Correct member {record}'s technician number in ConnectWise, add the "
                "technician in e-automate, or map the member in "
                "[flows.service_sync.technicians]; the next run makes the calls."
            )
        return data_failure(
            "connectwise", "members", record, code,
            f"member {record} {problem}: {count} waiting ({names}{more})", fix,
            label=f"member {record}",
        )  # fmt: skip

    def findings(self) -> None:
        """Overlapping billable time, time entries changed after their call was
        invoiced, and hours that differ with no reason."""
        fixes = {
            "time-entry-overlap": "Correct one of the two time entries in ConnectWise, or make "
            "one not billable; the ERP call takes what the PSA holds from then on.",
            "hours-unexplained": "Compare the call's labor lines in e-automate with the "
            "ticket's time entries in ConnectWise; correct the one that is wrong.",
            "time-entry-changed-after-invoice": "The invoiced call keeps what it billed: "
            "credit or charge the difference in e-automate by hand, or put the time entry "
            "back as it was in ConnectWise.",
            "time-entry-moved-after-invoice": "The time was billed to the other ticket's "
            "customer: credit it there and charge it here in e-automate by hand, or move "
            "the time entry back in ConnectWise.",
            "time-entry-deleted-after-invoice": "The invoiced call keeps what it billed: "
            "credit the line in e-automate by hand if the work was not done, or enter the "
            "time again in ConnectWise.",
        }
        for ticket, summary, code, finding in self.con.execute(
            "SELECT ticket_id, summary, code, finding FROM marts.service_sync_findings "
            "WHERE code IN (SELECT unnest(?)) ORDER BY ticket_id",
            [list(fixes)],
        ).fetchall():
            self.run.failures.add(data_failure(
                "connectwise", "tickets", ticket, code,
                f'ticket {ticket} "{summary}": {finding}', fixes[code],
                label=f"ticket {ticket}",
            ))  # fmt: skip

    # --- calls --------------------------------------------------------------------------

    def labors(self, ticket_id: int) -> list[dict]:
        """The labor lines of the ticket's time entries not yet on an ERP call (read for
        every ticket in one query, as the push reaches each ticket)."""
        if self.unsent is None:
            self.unsent = self._lines(
                "invoice_number, invoice_date", "goes_to_erp AND erp_call_number IS NULL"
            )
        return self.unsent.get(ticket_id)

    def _lines(
        self, columns: str, where: str, source: str = "intermediate.int_service_time_planned"
    ) -> ByTicket:
        """Labor lines of ``source`` by ticket, in the order they go on a call, with these
        ``columns`` besides a line's own."""
        return ByTicket(
            self.con,
            "SELECT ticket_id, time_entry_id, technician_number, activity_code, "
            f"started_local, ended_local, labor_hours, labor_rate, remarks, {columns} "
            f"FROM {source} WHERE ({where})",
            "started_at, time_entry_id",
        )

    def close(self) -> None:
        """Let go of the line readers still open."""
        for lines in (self.unsent, self.to_correct):
            if lines is not None:
                lines.close()

    def fee(self, ticket: int, invoice: str) -> Decimal | None:
        """The fixed fee of a project invoice whose call this ticket's is, unless a call
        holds it already (read for every invoice at once, at the first asked)."""
        if self.fees is None:
            self.fees = {
                (t, number): Decimal(amount)
                for t, number, amount in self.con.execute(
                    "SELECT carrier_ticket_id, invoice_number, fee_amount "
                    "FROM marts.project_invoice_sync WHERE fee_amount IS NOT NULL "
                    "AND carrier_ticket_id IS NOT NULL AND erp_fee_amount = 0"
                ).fetchall()
            }
        return self.fees.get((ticket, invoice))

    def create(self, row: dict, follow_up: bool = False) -> None:
        """The ticket's call; a project ticket's, one per invoice that bills its time."""
        lines = self.labors(row["ticket_id"])
        if not row["is_project"]:
            self.make_call(row, lines, follow_up=follow_up)
            return
        by_invoice: dict[str, list[dict]] = defaultdict(list)
        for line in lines:
            by_invoice[line["invoice_number"]].append(line)
        known = list(row["call_numbers"] or [])
        for invoice, billed in sorted(by_invoice.items(), key=lambda i: i[1][0]["invoice_date"]):
            made = self.make_call({**row, "call_numbers": known}, billed, invoice=invoice)
            if made is not None:
                known.append(made)

    def make_call(
        self, row: dict, lines: list[dict], follow_up: bool = False, invoice: str | None = None
    ) -> str | None:
        """One call with these labor lines; on a project invoice's call its PONumber is the
        invoice number and a fixed fee it carries is a line of the fixed-fee item."""
        ticket = row["ticket_id"]
        description = row["description"]
        if len(description) > DESCRIPTION:
            description = description[:DESCRIPTION]
        closed = row["closed_at"] if row["is_closed"] else None
        fee = self.fee(ticket, invoice) if invoice is not None else None
        fields = {
            "CustomerNumber": row["call_customer_number"],
            "ContractNumber": row["contract_number"],
            "CallType": row["call_type"],
            "StatusCode": row["call_status"],
            "BillCode": row["bill_code"],
            "Caller": row["contact_name"],
            "Description": description,
            "PONumber": invoice if invoice is not None else row["po_number"],
            "TechnicianNumber": row["technician_number"],
            "UseUnknownEquipment": True,
            "CallDate": _local(row["entered_at"], self.ea),
            "CloseDate": _local(closed, self.ea) if closed is not None else (
                f"{lines[0]['invoice_date']}T00:00:00" if invoice is not None else None),
        }  # fmt: skip
        materials = [{"Item": self.fee_item, "Quantity": 1, "Price": fee}] if fee else []
        hours = _hours(lines)
        changes = {name: (None, value) for name, value in fields.items() if value is not None}
        changes["labor"] = (None, _labor_text(lines))
        changes["hours"] = (None, hours)
        if fee:
            changes["fixed fee"] = (None, f"{self.fee_item} {fee}")
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        key = {"ticket": ticket, "customer": row["call_customer_number"], "since": since,
               "known": list(row["call_numbers"] or []), "po": invoice}  # fmt: skip
        action = "follow-up-call" if follow_up else "create-call"
        target = f"call for ticket {ticket}" + (" (follow-up)" if follow_up else "")
        write = Write("eautomate", action, target, ticket_label(row), changes, key=key,
                      money=fee)  # fmt: skip
        answers: list[dict] = []
        tried: list[bool] = []

        def find() -> str | None:  # before the first send, the step's one lookup will do
            return self.find_call(key) if tried else self.looked_up(key)

        def send() -> str:
            tried.append(True)
            body = {k: v for k, v in fields.items() if v is not None}
            body["Labors"] = [_labor(line) for line in lines]
            if materials:
                body["MaterialsUsed"] = materials
            answer = self.ea.add_call(body)
            answers.append(answer)
            return answer["CallNumber"]

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "connectwise", "tickets", ticket, "call-create-rejected",
                f"e-automate refused the call for {ticket_label(row)} (customer "
                f"{row['call_customer_number']}): {exc.message}",
                "Correct what e-automate names (the customer, the contract, a code or a "
                "technician); the next run makes the call.",
                label=ticket_label(row),
            )  # fmt: skip

        made = self.pusher.create(
            write, find=find, send=send, refused=refused, attempts=8
        )  # each send after a lost answer follows a lookup
        if made is None:
            if self.pusher.plan:
                self.write_xref(row, f"(the new call for ticket {ticket})")
            else:
                self.pushed.failed += 1
            return None
        call = answers[-1] if made.created and answers else self.ea.call_record(made.key)
        self.pushed.created += made.created
        self.pushed.adopted += not made.created
        self.pushed.project_calls += invoice is not None
        if follow_up:
            self.pushed.follow_ups += 1
            self.follow_up_note(row, made.key)
        self.pusher.written(eautomate.calls, self.ea.with_offsets(call))
        self.check_hours(row, call, lines)
        if fee:
            self.check_fee(row, call, invoice, fee)
        self.write_xref(row, made.key)
        return made.key

    def corrections(self, ticket_id: int) -> list[dict]:
        """The ticket's labor lines to correct: lines crosswalk made whose time entry
        changed in the PSA since (hours, notes, technician, activity; ``remove``: no
        longer billable, or moved off the ticket), on calls not yet invoiced (read for
        every ticket in one query, as the push reaches each ticket)."""
        if self.to_correct is None:
            self.to_correct = self._lines(
                "erp_call_number, erp_hours, erp_technician_number, line_change",
                "line_change IN ('correct', 'remove')",
                "(SELECT * FROM intermediate.int_service_time_planned UNION ALL BY NAME "
                "SELECT * FROM intermediate.int_service_lines_left)",
            )
        return self.to_correct.get(ticket_id)

    def update(self, row: dict) -> None:
        """New time on the open call, and the call closed once the ticket is; lines whose
        time entry changed corrected on the calls that hold them."""
        by_call: dict[str, list[dict]] = defaultdict(list)
        for line in self.corrections(row["ticket_id"]):
            by_call[line["erp_call_number"]].append(line)
        number = row["open_call_number"]
        if number is not None:
            self.save_call(row, number, self.labors(row["ticket_id"]), by_call.pop(number, []))
        for other, corrected in sorted(by_call.items()):
            self.save_call(row, other, [], corrected, open_call=False)

    def left_behind(self) -> None:
        """Lines left by time entries that moved off their ticket or were deleted, on calls
        not yet invoiced of tickets no update reaches: one left with no time (skipped), or
        that the sync no longer takes (a ticket merged into another may be in a status not
        synced). Taken off as an updated ticket's are; a waiting ticket's wait with it."""
        by_call: dict[tuple[int, str, str], list[dict]] = defaultdict(list)
        for line in rows(
            self.con,
            "SELECT * FROM intermediate.int_service_lines_left WHERE line_change = 'remove' "
            "AND ticket_id NOT IN (SELECT ticket_id FROM marts.service_call_sync "
            "WHERE action IN ('update-call', 'waiting')) "
            "ORDER BY ticket_id, erp_call_number, started_at, time_entry_id",
        ):
            by_call[line["ticket_id"], line["summary"], line["erp_call_number"]].append(line)
        for (ticket, summary, number), lines in by_call.items():
            row = {"ticket_id": ticket, "summary": summary}
            self.save_call(row, number, [], [_line(line) for line in lines], open_call=False)

    def save_call(
        self, row: dict, number: str, lines: list[dict], corrected: list[dict],
        open_call: bool = True,
    ) -> None:  # fmt: skip
        """One ``saveCall``: ``lines`` added, the ``corrected`` lines put in place of the
        ones with their time entry's key; on the ticket's open call, also closing it."""
        ticket = row["ticket_id"]
        changes: dict[str, tuple[Any, Any]] = {}
        fields: dict[str, Any] = {}
        if open_call and row["is_close_stale"]:
            if row["call_status"] == "OKToInvoice" and row["open_call_status"] not in (
                "OKToInvoice", "Complete", "Cleared"):  # fmt: skip
                fields["StatusCode"] = "OKToInvoice"
                changes["StatusCode"] = (row["open_call_status"], "OKToInvoice")
            if row["open_call_close_date"] is None:
                fields["CloseDate"] = _local(row["closed_at"], self.ea)
                changes["CloseDate"] = (None, fields["CloseDate"])
            to_psa = self.run.settings.flows.service_sync.to_psa
            held = row["open_call_hold_code"]
            if to_psa.call_types and held and held.upper() == to_psa.sent_hold_code.upper():
                fields["HoldCode"] = ""  # the work is back from the PSA: the call may invoice
                changes["HoldCode"] = (held, None)
        if lines:
            changes["labor"] = ("", _labor_text(lines))
            changes["hours"] = (None, _hours(lines))
        fixes = {
            line["time_entry_id"]: line for line in corrected if line["line_change"] == "correct"
        }
        drops = {
            line["time_entry_id"]: line for line in corrected if line["line_change"] == "remove"
        }
        if fixes:
            was = _labor_text([_as_held(line) for line in fixes.values()])
            changes["labor corrected"] = (was, _labor_text(list(fixes.values())))
        if drops:
            changes["labor removed"] = (
                _labor_text([_as_held(line) for line in drops.values()]),
                "",
            )
        if not changes:
            return
        write = Write("eautomate", "update-call", f"call {number}", ticket_label(row), changes)
        wanted = {**{line["time_entry_id"]: line for line in lines}, **fixes}

        def send() -> dict:
            # What the call holds now: a line already there (by its key) is put in place
            # if it is to be corrected and never added twice.
            current = self.ea.call_record(number)
            held = current.get("Labors") or []
            labors, there = [], set()
            for labor in held:
                entry = _entry_of(labor)
                if entry in there or entry in drops:
                    continue  # one line per time entry; none for time no longer billable
                if entry is not None:
                    there.add(entry)
                fix = fixes.get(entry)
                labors.append(_labor(fix) if fix is not None else labor)
            labors += [_labor(line) for e, line in wanted.items() if e not in there]
            body = dict(fields)
            if labors != held:
                body["Labors"] = labors
            if not body:
                return current
            return self.ea.save_call(number, body)

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "connectwise", "tickets", ticket, "call-update-rejected",
                f"e-automate refused the changes of call {number} for {ticket_label(row)}: "
                f"{exc.message}",
                "Correct what e-automate names (a technician, an activity code, the call's "
                "status); the next run sends the changes again.",
                label=ticket_label(row),
            )  # fmt: skip

        sent = self.pusher.update(write, send, refused=refused,
                                  lost=lambda: self.ea.call_record(number),
                                  lands=eautomate.calls, landed=self.ea.with_offsets)  # fmt: skip
        if sent.outcome == "failed":
            self.pushed.failed += 1
            return
        if sent.outcome == "planned":
            return
        self.pushed.updated += 1
        self.pushed.corrected += len(corrected)
        gone = [{**line, "labor_hours": 0} for line in drops.values()]  # none must be left
        self.check_hours(row, sent.answer, [*wanted.values(), *gone])
        # Said once, when it happens (no run looks at every call for it again): it stays
        # open until an operator settles it, or falls off the reports.
        if drops and not sent.answer.get("Labors") and not sent.answer.get("MaterialsUsed"):
            self.run.failures.add(data_failure(
                "eautomate", "calls", number, "call-left-empty",
                f"call {number} of {ticket_label(row)} holds no line any more: the time on "
                f"it ({_labor_text([_as_held(line) for line in drops.values()])}) is no "
                "longer billable on the ticket (made not billable, moved to another ticket "
                "or deleted in ConnectWise)",
                f"Cancel call {number} in e-automate, unless it is to bill something else.",
                label=f"call {number}",
            ))  # fmt: skip

    def follow_up_note(self, row: dict, number: str) -> None:
        invoiced = [n for n in row["call_numbers"] or [] if n != number]
        self.run.failures.add(data_failure(
            "connectwise", "tickets", row["ticket_id"], "follow-up-call",
            f"{ticket_label(row)}: time added after its call {', '.join(invoiced)} was "
            f"invoiced went on follow-up call {number}",
            f"Nothing to correct: invoice call {number} in e-automate as usual.",
            label=ticket_label(row),
        ))  # fmt: skip

    def check_hours(self, row: dict, call: dict, lines: list[dict]) -> None:
        """The call as the ERP answered (landed already): its lines for the time entries
        sent must hold their hours, to the hundredth."""
        self.checked.add(row["ticket_id"])
        entries = {line["time_entry_id"] for line in lines}
        held = sum(
            (Decimal(str(labor.get("LaborHours") or 0)) for labor in call.get("Labors") or []
             if _entry_of(labor) in entries),
            Decimal(0),
        ).quantize(HOURS)  # fmt: skip
        sent = _hours(lines)
        self.pushed.hours_sent += sent
        if held == sent:
            return
        self.run.failures.add(data_failure(
            "connectwise", "tickets", row["ticket_id"], "hours-mismatch",
            f"call {call['CallNumber']} holds {held} hours of {ticket_label(row)}'s time "
            f"entries in e-automate; crosswalk sent {sent}",
            "Compare the call's labor lines in e-automate with the ticket's time entries in "
            "ConnectWise; a line changed by hand must be corrected where it is wrong.",
            label=ticket_label(row),
        ))  # fmt: skip

    def check_fee(self, row: dict, call: dict, invoice: str, fee: Decimal) -> None:
        """The fixed fee as the ERP answered: its lines of the fixed-fee item must hold the
        invoice's amount, to the cent."""
        held = sum(
            (Decimal(str(m.get("Quantity") or 0)) * Decimal(str(m.get("Price") or 0))
             for m in call.get("MaterialsUsed") or []
             if str(m.get("Item") or "").upper() == self.fee_item.upper()),
            Decimal(0),
        ).quantize(CENTS)  # fmt: skip
        self.pushed.fees_sent += fee
        if held == fee:
            return
        self.run.failures.add(data_failure(
            "connectwise", "tickets", row["ticket_id"], "fixed-fee-mismatch",
            f"call {call['CallNumber']} holds {held} of {self.fee_item} for PSA invoice "
            f"{invoice} ({ticket_label(row)}); the invoice bills {fee}",
            f"Correct the {self.fee_item} line of call {call['CallNumber']} in e-automate to "
            f"{fee}, the PSA invoice's amount.",
            label=ticket_label(row),
        ))  # fmt: skip

    def project_invoices(self) -> None:
        """Fixed-fee invoices no call can carry, project billing that differs with no
        reason, and the down payments left to a person (as the incumbent leaves them)."""
        down = []
        for r in rows(
            self.con,
            "SELECT * FROM marts.project_invoice_sync "
            "WHERE state IN ('waiting', 'differs', 'skipped') ORDER BY invoice_id",
        ):
            project = f'project {r["project_id"]} "{r["project_name"]}"'
            label = f"PSA invoice {r['invoice_number']} of {project}"
            if r["state"] == "skipped":
                down.append(r["invoice_number"])
            elif r["reason_code"] == "fixed-fee-invoice-without-time":
                phase = f' (phase "{r["phase_name"]}")' if r["phase_name"] else ""
                self.run.failures.add(data_failure(
                    "connectwise", "invoices", r["invoice_id"], "fixed-fee-invoice-without-time",
                    f"{label}{phase} bills a fixed fee of {r['fee_amount']} but no time of a "
                    "project ticket that syncs, so no call carries it",
                    "Book the project's time on a ticket of the phase it bills (or include "
                    f"the excluded ticket), or enter the fee in e-automate by hand with "
                    f"PONumber {r['invoice_number']}.",
                    label=label,
                ))  # fmt: skip
            elif r["state"] == "differs":
                self.run.failures.add(data_failure(
                    "connectwise", "invoices", r["invoice_id"], "project-invoice-differs",
                    f"{label}: the ERP calls {', '.join(r['call_numbers'] or [])} hold "
                    f"{r['erp_hours']} hours and {r['erp_fee_amount']} of fixed fee; the "
                    f"invoice bills {r['billed_hours']} hours and {r['fee_amount'] or 0}",
                    "Compare the calls with PONumber "
                    f"{r['invoice_number']} in e-automate with the invoice in ConnectWise; "
                    "correct the one that is wrong.",
                    label=label,
                ))  # fmt: skip
        if down:
            self.run.notes.append(
                f"{len(down)} down payment invoice(s) not synced ({', '.join(down[:10])}"
                f"{' ...' if len(down) > 10 else ''}): enter them in e-automate by hand"
            )

    # --- links written back -------------------------------------------------------------

    def write_xref(self, row: dict, number: str) -> None:
        """The call number into the ticket's externalXRef."""
        before = row["external_x_ref"]
        if before == number:
            return
        ticket = row["ticket_id"]
        write = Write("connectwise", "set-ticket-xref", f"ticket {ticket}", ticket_label(row),
                      {"externalXRef": (before, number)})  # fmt: skip
        path = PROJECT_TICKETS if row["is_project"] else TICKETS
        sent = self.pusher.update(
            write,
            lambda: self.cw.patch(path, ticket, {"externalXRef": number}),
            refused=lambda exc: data_failure(
                "connectwise", "tickets", ticket, "ticket-field-rejected",
                f"ConnectWise refused externalXRef = {number} on {ticket_label(row)}: "
                f"{exc.message}",
                "Correct what ConnectWise names on the ticket; the next run writes it.",
                label=ticket_label(row),
            ),
            lands=connectwise.project_tickets if row["is_project"] else connectwise.tickets,
        )  # fmt: skip
        if sent.outcome == "done":
            self.pushed.links += 1
        elif sent.outcome == "failed":
            self.pushed.failed += 1


def _local(value: datetime | None, ea: EAutomate) -> str | None:
    return ea.local(value) if value is not None else None


def _labor(line: dict) -> dict[str, Any]:
    """A labor line as e-automate takes it: the dealer's wall-clock times."""
    start = line["started_local"].replace(tzinfo=None).isoformat(timespec="seconds")
    end = line["ended_local"].replace(tzinfo=None).isoformat(timespec="seconds")
    return {
        "TechnicianNumber": line["technician_number"],
        "ActivityCode": line["activity_code"],
        "DispatchDate": start,
        "ArrivalDate": start,
        "DepartureDate": end,
        "LaborHours": line["labor_hours"],  # exact decimals on the wire (crosswalk.money)
        "TravelHours": 0,
        **({"LaborRate": line["labor_rate"]} if line.get("labor_rate") is not None else {}),
        "Remarks": line["remarks"],
    }


def _as_held(line: dict) -> dict:
    """A line to correct as the ERP holds it now (its technician and hours there)."""
    return {**line, "technician_number": line["erp_technician_number"],
            "labor_hours": line["erp_hours"]}  # fmt: skip


def _entry_of(labor: dict) -> int | None:
    """The time entry a labor line was made from, by the key in its Remarks."""
    found = ENTRY_KEY.search(labor.get("Remarks") or "")
    return int(found.group(1)) if found else None


def _hours(lines: list[dict]) -> Decimal:
    return sum((Decimal(line["labor_hours"]) for line in lines), Decimal(0)).quantize(HOURS)


def _labor_text(lines: list[dict]) -> str:
    return "; ".join(
        f"TE #{line['time_entry_id']} {line['technician_number']} {line['labor_hours']} h"
        for line in lines
    )


@task(cache_policy=NO_CACHE)
def push_tickets(run: Run, cw: ConnectWise, ea: EAutomate) -> Pushed:
    """Every write of the service sync, in order: what waits reported, calls made and
    updated (each checked), links written back."""
    with Pusher.open(run) as pusher:
        push = ServicePush(pusher, cw, ea)
        push.recover()
        push.waiting(rows(pusher.con, f"SELECT {WAITING_COLUMNS} FROM marts.service_call_sync "
                          "WHERE action = 'waiting' ORDER BY ticket_id"))  # fmt: skip
        push.findings()
        push.project_invoices()
        # Only the tickets that ask for a write are read (not those in sync, skipped or
        # waiting, the most of them), a chunk at a time.
        found = Streamed(pusher.con, "SELECT * FROM marts.service_call_sync WHERE action "
                         "IN ('create-call', 'follow-up-call', 'update-call') OR "
                         "(action = 'in-sync' AND is_xref_stale) ORDER BY ticket_id")  # fmt: skip
        try:
            for row in pusher.each(found, "tickets"):
                if row["action"] == "create-call":
                    push.create(row)
                elif row["action"] == "follow-up-call":
                    push.create(row, follow_up=True)
                elif row["action"] == "update-call":
                    push.update(row)
                if row["action"] in ("update-call", "in-sync") and row["is_xref_stale"]:
                    push.write_xref(row, row["latest_call_number"])
            push.left_behind()
        finally:
            found.close()
            push.close()
    run.failures.looked_at("connectwise", "tickets", TICKET_CODES)
    run.failures.looked_at("connectwise", "companies", COMPANY_CODES)
    run.failures.looked_at("connectwise", "invoices", INVOICE_CODES)
    run.failures.looked_at("connectwise", "members", MEMBER_CODES)
    run.failures.looked_at("eautomate", "customers", CUSTOMER_CODES)
    run.failures.looked_at("eautomate", "calls", CALL_CODES)
    verb = "would go" if run.plan else "went"
    calls, hours = 0, Decimal(0)  # counted in one pass: a large run's writes are on disk
    for write in run.planned:
        if write.action in ("create-call", "follow-up-call", "update-call"):
            calls += 1
            hours += Decimal(write.changes["hours"][1]) if "hours" in write.changes else 0
    run.notes.append(f"calls: {calls} written, {hours} hours {verb} to the ERP")
    get_run_logger().info("service pushes: %s; %s", push.pushed, run.notes[-1])
    return push.pushed
