"""agreement-sync pushes: PSA agreement invoices -> ERP contracts (seed 004, ID964).

``marts.agreement_contract_sync`` says per agreement what to do; this module does it
through ``crosswalk.pushing``:

- create: a contract from the template ``**CW <type>`` (else ``default_template``),
  numbered ``<prefix>-<agreement id>-<revision>`` and carrying ``ZCJ_CW_AgreementID``;
  looked up by its number before it is sent and after an answer that was lost, so it is
  made once;
- update: the contract's lines rebuilt from the invoice's period, the PSA invoice number
  in its PO (or Remarks), its dates and bill-to, in one ``saveContract``;
- every contract written is read back: its lines must add up to the PSA invoice's amount
  for the agreement to the cent, else ``amount-mismatch`` with both figures;
- a contract the ERP already invoiced for the period, with an earlier PSA invoice number
  in its PO, is ``billed-before-sync`` (never voided here: that is for a person);
- the link is written where users look, whenever missing or different: the contract
  number into the agreement's ``ZCJ_ContractNumber``, the agreement id into the
  contract's ``ZCJ_CW_AgreementID``; a contract crosswalk made is linked in ``sync.links``;
- a contract terminated in the ERP while its agreement is live: the link is broken and
  the next revision takes the invoice; an agreement cancelled or expired whose contract
  is still Active is reported (and terminated with ``terminate_ended``).

What waits (an unmapped company or bill-to, a missing item or template, a
ZCJ_ContractNumber naming no contract or another customer's) is reported once per cause
with the fix, and goes through by itself once fixed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk import decisions
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError
from crosswalk.pipeline import Run
from crosswalk.pushing import Pusher, Sent, Write
from crosswalk.warehouse import rows
from schemas import connectwise

AGREEMENTS = "finance/agreements"
PROPERTY = "ZCJ_CW_AgreementID"
FIELD = "ZCJ_ContractNumber"
CENT = Decimal("0.01")
# Codes this step looks at on every run, by the record they are on.
AGREEMENT_CODES = (
    "contract-number-unknown",
    "contract-number-other-customer",
    "agreement-ended-contract-active",
    "contract-terminated",
    "contract-create-rejected",
    "contract-update-rejected",
    "contract-field-rejected",
)
COMPANY_CODES = ("agreement-company-unmapped", "agreement-bill-to-unmapped")
CONTRACT_CODES = ("amount-mismatch", "contract-property-rejected", "billed-before-sync")
ITEM_CODES = ("contract-item-missing",)
TEMPLATE_CODES = ("contract-template-missing", "template-missing")


@dataclass
class Pushed:
    created: int = 0
    adopted: int = 0
    updated: int = 0
    links: int = 0
    terminated: int = 0
    waiting: int = 0
    failed: int = 0
    in_agreement: int = 0  # contracts read back whose money equals the PSA's
    mismatched: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in vars(self).items())


def agreement_label(row: dict) -> str:
    return f'agreement {row["agreement_id"]} "{row["agreement_name"]}"'


def company_label(company_id: Any, identifier: str | None, name: str | None) -> str:
    shown = identifier or company_id
    return f'company {shown} "{name}"' if name else f"company {shown}"


class AgreementPush:
    """One push step's systems and writes; each method handles one kind of write."""

    def __init__(self, pusher: Pusher, cw: ConnectWise, ea: EAutomate):
        self.pusher, self.cw, self.ea = pusher, cw, ea
        self.run = pusher.run
        self.con = pusher.con
        self.settings = self.run.settings.flows.agreement_sync
        self.pushed = Pushed()
        self.checked_contracts: set[str] = set()
        self.changed_since_read: list[dict] | None = None
        self.planned: dict[int, list[dict]] | None = None

    # --- finding contracts ------------------------------------------------------------

    def find_contract(self, key: dict) -> int | None:
        """The contract numbered ``key["number"]`` that changed since ``key["since"]`` (a
        create sets its LastUpdate): one short list read, not a read of every contract."""
        changes = self.ea.changes("contracts", self.ea.local(key["since"]))
        return _numbered(changes.rows, key["number"])

    def looked_up(self, key: dict) -> int | None:
        """The lookup before a create: among the contracts made or changed in the ERP since
        this run read them (one list read for the whole step, at its first create; those
        read before are in the warehouse already, and the plan would have found them)."""
        if self.changed_since_read is None:
            (stamp,) = self.con.execute(
                "SELECT max(cursor_value) FROM sync.watermarks "
                "WHERE system = 'eautomate' AND entity = 'contracts'"
            ).fetchone()
            self.changed_since_read = self.ea.changes(
                "contracts", self.ea.local(stamp or key["since"])
            ).rows
        return _numbered(self.changed_since_read, key["number"])

    def recover(self) -> None:
        self.pusher.recover(
            {"create-contract": self.find_contract},
            updates=("update-contract", "set-contract-property", "set-agreement-field",
                     "terminate-contract"),
            adopted=lambda key, made: self._link(key["agreement"], key["number"], "found"),
        )  # fmt: skip

    # --- what waits -------------------------------------------------------------------

    def waiting(self, found: list[dict]) -> None:
        """One failure per cause (a company, an item, a template), naming the agreements."""
        causes: dict[tuple, list[dict]] = defaultdict(list)
        missing = self._missing_items(
            [r["agreement_id"] for r in found if r["waiting_code"] == "contract-item-missing"]
        )
        for row in found:
            code = row["waiting_code"]
            if code == "agreement-company-unmapped":
                cause = (code, row["company_id"])
            elif code == "agreement-bill-to-unmapped":
                cause = (code, row["bill_to_company_id"])
            elif code == "contract-item-missing":
                for item in missing.get(row["agreement_id"], []):
                    causes[(code, item)].append(row)
                continue
            elif code == "contract-template-missing":
                cause = (code, row["agreement_type"])
            else:  # what ZCJ_ContractNumber says: reported on the agreement (fields)
                continue
            causes[cause].append(row)
        for (code, record), waiting in causes.items():
            self.run.failures.add(self._waiting_failure(code, record, waiting))
        self.pushed.waiting += len(found)

    def _missing_items(self, agreement_ids: list[int]) -> dict[int, list[str]]:
        """Per agreement, the items of its lines e-automate lacks, in order: one read of
        the planned lines (a view) for them all."""
        if not agreement_ids:
            return {}
        found: dict[int, list[str]] = defaultdict(list)
        for agreement, item in self.con.execute(
            "SELECT DISTINCT agreement_id, item_number "
            "FROM intermediate.int_agreement_lines_planned "
            "WHERE list_contains(?, agreement_id) AND NOT is_item_known ORDER BY 1, 2",
            [agreement_ids],
        ).fetchall():
            found[agreement].append(item)
        return found

    def _waiting_failure(self, code: str, record: Any, waiting: list[dict]) -> Failure:
        names = ", ".join(agreement_label(r) for r in waiting[:5])
        more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
        invoices = f"{len(waiting)} agreement invoice{'s' if len(waiting) > 1 else ''}"
        first = waiting[0]
        if code in COMPANY_CODES:
            bill_to = code == "agreement-bill-to-unmapped"
            prefix, role = ("bill_to_", "bill-to company") if bill_to else ("company_", "company")
            company = company_label(record, first[f"{prefix}identifier"], first[f"{prefix}name"])
            return data_failure(
                "connectwise", "companies", record, code,
                f"{invoices} wait ({names}{more}): {company}, their {role}, is not mapped to an "
                "ERP customer",
                f"Map it: crosswalk links set <ERP customer number> {record} (crosswalk links "
                "suggestions lists likely customers); the next run syncs these invoices.",
                label=company,
            )  # fmt: skip
        if code == "contract-item-missing":
            return data_failure(
                "eautomate", "items", record, code,
                f"{invoices} wait ({names}{more}): e-automate has no item {record} for their "
                "contract lines",
                f"Create item {record} in e-automate (for a base amount, **CWBase <agreement "
                "type>), or correct the addition's product in ConnectWise; the next run syncs "
                "these invoices.",
                label=f"item {record}",
            )  # fmt: skip
        return data_failure(
            "eautomate", "contracts", f"**CW {record}", code,
            f"{invoices} wait ({names}{more}): e-automate has neither the contract template "
            f"**CW {record} nor {self.settings.default_template}",
            f"Create the template **CW {record} in e-automate (its number exactly the agreement "
            f"type), or {self.settings.default_template}; the next run makes the contracts.",
            label=f"template **CW {record}",
        )  # fmt: skip

    def field_findings(self, found: list[dict]) -> None:
        """ZCJ_ContractNumber naming no contract, or another customer's."""
        for row in found:
            code, named = row["field_finding_code"], row["contract_number_field"]
            owner = row["field_contract_customer_number"]
            if code == "contract-number-unknown":
                what = f"names contract {named}, which e-automate does not have"
            elif row["customer_number"] is not None:
                what = (
                    f"names contract {named} of customer {owner}, not of the agreement's "
                    f"customer {row['customer_number']}"
                )
            else:
                company = row["company_identifier"] or row["company_id"]
                what = (
                    f"names contract {named} of customer {owner}, but the agreement's company "
                    f'{company} "{row["company_name"]}" is not mapped to an ERP customer'
                )
            if row["action"] == "waiting":
                then = "its invoice waits: crosswalk makes no second contract"
                fix = (
                    f"Put the right contract number (with its revision) in the agreement's "
                    f"{FIELD}, or link it: crosswalk agreements link {row['agreement_id']} "
                    "CONTRACT; to make a new contract instead: crosswalk agreements unlink "
                    f"{row['agreement_id']}."
                )
            else:
                then = (
                    f"its contract is {row['contract_number']} ({row['match_rule']}), which "
                    f"crosswalk writes into {FIELD}"
                )
                fix = (
                    "Nothing, if the contract is right; otherwise link the right one: "
                    f"crosswalk agreements link {row['agreement_id']} CONTRACT."
                )
            self.run.failures.add(data_failure(
                "connectwise", "agreements", row["agreement_id"], code,
                f"{agreement_label(row)}: {FIELD} {what}; {then}", fix,
                label=agreement_label(row),
            ))  # fmt: skip

    def template_warnings(self) -> None:
        """Agreement types without their own template, whose contracts are made from the
        default one (the incumbent's users e-mail support about it)."""
        found = self.con.execute(
            "SELECT agreement_type, list(agreement_id ORDER BY agreement_id) "
            "FROM marts.agreement_contract_sync WHERE is_default_template GROUP BY 1 ORDER BY 1"
        ).fetchall()
        default = self.settings.default_template
        for agreement_type, agreements in found:
            shown = ", ".join(str(a) for a in agreements[:5])
            self.run.failures.add(data_failure(
                "eautomate", "contracts", f"**CW {agreement_type}", "template-missing",
                f"e-automate has no contract template **CW {agreement_type}: contracts for "
                f"agreements of that type ({shown}) are made from {default}",
                f"Create the template **CW {agreement_type} in e-automate (its number must "
                "match the agreement type exactly); contracts made from then on use it.",
                label=f"template **CW {agreement_type}",
            ))  # fmt: skip

    # --- contracts ----------------------------------------------------------------------

    def lines(self, agreement_id: int) -> list[dict]:
        """The contract lines the agreement asks for, read for every agreement at once at
        the first asked: the model is a view, and read per agreement it was worked out
        again for each, which made a large first run quadratic."""
        if self.planned is None:
            self.planned = defaultdict(list)
            for line in rows(
                self.con,
                "SELECT agreement_id, item_number, description, quantity, rate, psa_amount, "
                "billed_as FROM intermediate.int_agreement_lines_planned "
                "ORDER BY agreement_id, line_kind <> 'base', line_order",
            ):
                self.planned[line.pop("agreement_id")].append(line)
        return self.planned.get(agreement_id, [])

    def _invoice_fields(self, row: dict) -> dict[str, Any]:
        """Where the PSA invoice number goes: PO (at most 30) or Remarks."""
        if self.settings.invoice_number_in == "remarks":
            return {"Remarks": row["invoice_number"]}
        return {"PONumber": row["invoice_number"]}

    def _money(self, row: dict) -> Decimal:
        """What the write changes a month: (after - before) / the cycle's months."""
        months = max(1, int(row["cycle_months"] or 1))
        change = Decimal(row["planned_total"]) - Decimal(row["current_total"] or 0)
        return (change / months).quantize(CENT)

    def create(self, row: dict) -> None:
        number, agreement = row["contract_number"], row["agreement_id"]
        lines = self.lines(agreement)
        details = [_detail(line) for line in lines]
        fields = {
            "TemplateNumber": row["template_number"],
            "CustomerNumber": row["customer_number"],
            "BillToNumber": row["bill_to_number"],
            "StartDate": _day(row["start_date"]),
            "ExpDate": _day(row["end_date"]),
            **self._invoice_fields(row),
        }
        changes = {name: (None, value) for name, value in fields.items() if value is not None}
        changes["lines"] = (None, row["planned_lines_text"])
        changes["amount"] = (None, row["planned_total"])
        # What finds it again: its number, among the contracts changed since a day before
        # the create (a margin for the two systems' clocks; one short list read).
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        key = {"number": number, "agreement": agreement, "since": since}
        write = Write("eautomate", "create-contract", f"contract {number}", agreement_label(row),
                      changes, money=self._money(row), key=key)  # fmt: skip

        def send() -> int:
            made = self.ea.add_contract_from_template(
                row["template_number"], row["customer_number"], fields["StartDate"],
                expires=fields["ExpDate"], bill_to=row["bill_to_number"],
                po_number=fields.get("PONumber"), remarks=fields.get("Remarks"),
                lines=details, number=number, properties={PROPERTY: str(agreement)},
            )  # fmt: skip
            return made["ContractID"]

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "connectwise", "agreements", agreement, "contract-create-rejected",
                f"e-automate refused contract {number} for {agreement_label(row)}: "
                f"{exc.message}",
                "Correct what e-automate names (the customer, the template or an item); the "
                "next run makes the contract.",
                label=agreement_label(row),
            )  # fmt: skip

        if row["is_terminated"]:
            self._terminated(row)
        tried: list[bool] = []

        def find() -> int | None:  # before the first send, the step's one lookup will do
            return self.find_contract(key) if tried else self.looked_up(key)

        def sent() -> int:
            tried.append(True)
            return send()

        made = self.pusher.create(write, find=find, send=sent, refused=refused)
        if made is None:
            if self.pusher.plan:
                self.write_field(row, number)  # what the run writes once it is made
            else:
                self.pushed.failed += 1
            return
        self.pushed.created += made.created
        self.pushed.adopted += not made.created
        self._link(agreement, number, "created" if made.created else "found")
        self.check_money(row, made.key, number)
        self.write_field(row, number)

    def update(self, row: dict) -> None:
        number, agreement = row["contract_number"], row["agreement_id"]
        self.billed_before(row)
        lines = self.lines(agreement)
        fields = {
            "BillToNumber": row["bill_to_number"],
            "StartDate": _day(row["start_date"]),
            "ExpDate": _day(row["end_date"]),
            **self._invoice_fields(row),
        }
        current = {
            "BillToNumber": row["contract_bill_to_number"],
            "StartDate": _day(row["contract_start_date"]),
            "ExpDate": _day(row["contract_expiration_date"]),
            "PONumber": row["contract_po_number"],
            "Remarks": row["contract_remarks"],
        }
        changes = {
            name: (current[name], value) for name, value in fields.items() if current[name] != value
        }
        if row["current_lines_text"] != row["planned_lines_text"]:
            changes["lines"] = (row["current_lines_text"], row["planned_lines_text"])
            changes["amount"] = (row["current_total"], row["planned_total"])
        body = {**fields, "Details": [_detail(line) for line in lines]}
        write = Write("eautomate", "update-contract", f"contract {number}", agreement_label(row),
                      changes, money=self._money(row))  # fmt: skip

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "connectwise", "agreements", agreement, "contract-update-rejected",
                f"e-automate refused the changes of contract {number} for "
                f"{agreement_label(row)}: {exc.message}",
                "Correct what e-automate names (an item, the bill-to customer, the contract's "
                "status); the next run sends the changes again.",
                label=agreement_label(row),
            )  # fmt: skip

        sent = self.pusher.update(write, lambda: self.ea.save_contract(row["contract_id"], body),
                                  refused=refused)  # fmt: skip
        if sent.outcome == "failed":
            self.pushed.failed += 1
            return
        self.pushed.updated += 1
        self.check_money(row, row["contract_id"], number)

    def check_money(self, row: dict, contract_id: int, number: str) -> None:
        """Read the contract back: its lines must add up to the PSA invoice's amount for
        the agreement (base amount and billed additions), to the cent."""
        if self.pusher.plan:
            return
        contract = self.ea.contract(contract_id)
        erp = sum((Decimal(str(line["Amount"])) for line in contract.get("Details") or []),
                  Decimal(0)).quantize(CENT)  # fmt: skip
        psa = Decimal(row["psa_amount"]).quantize(CENT)
        self.checked_contracts.add(number)
        if erp == psa:
            self.pushed.in_agreement += 1
            return
        self.pushed.mismatched += 1
        self.run.failures.add(data_failure(
            "eautomate", "contracts", number, "amount-mismatch",
            f"contract {number} ({agreement_label(row)}) adds up to {erp} in e-automate; "
            f"ConnectWise invoice {row['invoice_number']} bills {psa} for the agreement "
            f"(difference {erp - psa})",
            "Compare the contract's lines in e-automate with the agreement's additions in "
            "ConnectWise; a line changed by hand in e-automate is put back by the next run, "
            "an item priced differently must be corrected where it is wrong.",
            label=f"contract {number}",
        ))  # fmt: skip

    def billed_before(self, row: dict) -> None:
        """An ERP invoice of the period made before this sync: its PO holds an earlier PSA
        invoice number, so it did not renumber (seed 004)."""
        if self.pusher.plan:
            return
        number, current = row["contract_number"], row["invoice_number"]
        self.checked_contracts.add(number)
        period = row["invoice_date"]
        for invoice in self.ea.contract_invoices(row["contract_id"]):
            start, end = _date(invoice.get("PeriodFrom")), _date(invoice.get("PeriodTo"))
            if invoice.get("Void") or start is None or end is None or not start <= period <= end:
                continue
            po = invoice.get("PONumber")
            if not po or po == current:
                continue
            self.run.failures.add(data_failure(
                "eautomate", "contracts", number, "billed-before-sync",
                f"contract {number} was invoiced in e-automate (invoice "
                f"{invoice['InvoiceNumber']}, {start} to {end}) before crosswalk updated it: "
                f"its PO holds ConnectWise invoice {po}, not {current}",
                f"Void and reset e-automate invoice {invoice['InvoiceNumber']}, then rebill "
                f"the contract: it now holds ConnectWise invoice {current}. crosswalk never "
                "voids an invoice by itself.",
                label=f"contract {number}",
            ))  # fmt: skip

    def money_apart(self, found: list[dict]) -> None:
        """Contracts that hold every line the PSA's additions ask for, whose money still
        differs from what the PSA invoice bills (a prorated or hand-made invoice line the
        additions do not say): no write can settle it, so it is said, with the figures."""
        for row in found:
            number = row["contract_number"]
            erp, psa = Decimal(row["current_total"]), Decimal(row["psa_amount"])
            self.checked_contracts.add(number)
            if erp == psa:
                continue
            self.pushed.mismatched += 1
            self.run.failures.add(data_failure(
                "eautomate", "contracts", number, "amount-mismatch",
                f"contract {number} ({agreement_label(row)}) adds up to {erp} in e-automate, "
                f"as the agreement's additions in ConnectWise say; ConnectWise invoice "
                f"{row['invoice_number']} bills {psa} for the agreement (difference "
                f"{erp - psa})",
                "Look at invoice "
                f"{row['invoice_number']} in ConnectWise: a line on it that no addition "
                "explains (prorated, added by hand) must be added to the agreement as an "
                "addition, or to the contract in e-automate by hand.",
                label=f"contract {number}",
            ))  # fmt: skip

    def open_billed_before(self, found: list[dict]) -> None:
        """Contracts in agreement whose billed-before-sync failure is still open: looked
        at again, so that it resolves once the ERP invoice is voided and rebilled."""
        open_ones = {
            number
            for (number,) in self.con.execute(
                "SELECT record_id FROM sync.errors WHERE flow = ? AND code = "
                "'billed-before-sync' AND status = 'open'",
                [self.run.flow],
            ).fetchall()
        }
        for row in found:
            if row["contract_number"] in open_ones:
                self.billed_before(row)

    def _terminated(self, row: dict) -> None:
        """A contract terminated while its agreement is live: the link is broken (it no
        longer decides) and the next revision takes the invoice; told once."""
        old = row["matched_contract_number"]
        if not self.pusher.plan:
            with self.pusher.transaction() as con:
                decisions.break_agreement_link(
                    con, row["agreement_id"], old,
                    f"contract {old} was terminated in e-automate", run_id=self.run.id,
                )  # fmt: skip
        self.run.failures.add(data_failure(
            "connectwise", "agreements", row["agreement_id"], "contract-terminated",
            f"{agreement_label(row)}: its contract {old} was terminated in e-automate while the "
            f"agreement is {row['agreement_status']}; crosswalk makes {row['contract_number']} "
            f"for invoice {row['invoice_number']}",
            "Nothing, if the agreement goes on; if it ended, cancel it in ConnectWise.",
            label=agreement_label(row),
        ))  # fmt: skip

    def ended(self, row: dict) -> None:
        """An agreement cancelled or expired whose contract is still Active."""
        number = row["matched_contract_number"]
        terminate = self.settings.terminate_ended
        self.run.failures.add(data_failure(
            "connectwise", "agreements", row["agreement_id"], "agreement-ended-contract-active",
            f"{agreement_label(row)} is {row['agreement_status']} in ConnectWise, but contract "
            f"{number} is still Active in e-automate"
            + ("; crosswalk terminates it" if terminate else ""),
            "Terminate the contract in e-automate (or set terminate_ended = true with a "
            "termination_code), or reactivate the agreement if it goes on.",
            label=agreement_label(row),
        ))  # fmt: skip
        if not terminate:
            return
        code = self.settings.termination_code
        write = Write("eautomate", "terminate-contract", f"contract {number}",
                      agreement_label(row), {"Status": ("Active", "Terminated"),
                                             "TerminationCode": (None, code)})  # fmt: skip
        sent = self.pusher.update(
            write, lambda: self.ea.terminate_contract(row["matched_contract_id"], code),
            refused=lambda exc: data_failure(
                "connectwise", "agreements", row["agreement_id"], "contract-update-rejected",
                f"e-automate refused to terminate contract {number}: {exc.message}",
                "Terminate it in e-automate by hand, or correct termination_code.",
                label=agreement_label(row),
            ),
        )  # fmt: skip
        self.pushed.terminated += sent.outcome == "done"

    # --- links written back -------------------------------------------------------------

    def _link(self, agreement: int, number: str, how: str) -> None:
        if self.pusher.plan:
            return
        with self.pusher.transaction() as con:
            decisions.link_agreement(con, agreement, number, made_by="crosswalk",
                                     note=f"contract {how} by crosswalk",
                                     run_id=self.run.id)  # fmt: skip

    def write_field(self, row: dict, number: str) -> None:
        """The contract number into the agreement's ZCJ_ContractNumber."""
        field = {"id": row["contract_number_field_id"], "caption": FIELD, "value": number}
        before = row["contract_number_field"]
        write = Write("connectwise", "set-agreement-field", f"agreement {row['agreement_id']}",
                      agreement_label(row), {FIELD: (before, number)})  # fmt: skip
        sent = self.pusher.update(
            write,
            lambda: self.cw.patch(AGREEMENTS, row["agreement_id"], {"customFields": [field]}),
            refused=lambda exc: data_failure(
                "connectwise", "agreements", row["agreement_id"], "contract-field-rejected",
                f"ConnectWise refused {FIELD} = {number} on {agreement_label(row)}: "
                f"{exc.message}",
                f"Add the custom field {FIELD} (text) to agreements in ConnectWise; the next run "
                "writes it.",
                label=agreement_label(row),
            ),
            lands=connectwise.agreements,
        )  # fmt: skip
        self._count_link(sent)

    def write_property(self, row: dict) -> None:
        """The agreement id into the contract's ZCJ_CW_AgreementID."""
        number = row["contract_number"]
        before, after = row["contract_agreement_property"], str(row["agreement_id"])
        write = Write("eautomate", "set-contract-property", f"contract {number}",
                      agreement_label(row), {PROPERTY: (before, after)})  # fmt: skip
        sent = self.pusher.update(
            write,
            lambda: self.ea.set_custom_properties("Contract", row["contract_id"],
                                                  {PROPERTY: after}),
            refused=lambda exc: data_failure(
                "eautomate", "contracts", number, "contract-property-rejected",
                f"e-automate refused {PROPERTY} = {row['agreement_id']} on contract {number}: "
                f"{exc.message}",
                f"Give contracts a custom property configuration that has {PROPERTY}; the next "
                "run writes it.",
                label=f"contract {number}",
            ),
        )  # fmt: skip
        self._count_link(sent)

    def _count_link(self, sent: Sent) -> None:
        if sent.outcome == "failed":
            self.pushed.failed += 1
        else:
            self.pushed.links += 1


def _numbered(rows: list[dict], number: str) -> int | None:
    """The id of the contract of that number among list rows."""
    wanted = number.upper()
    return min((r["ContractID"] for r in rows if r["ContractNumber"].upper() == wanted),
               default=None)  # fmt: skip


def _detail(line: dict) -> dict[str, Any]:
    """A contract line as e-automate takes it (Amount is its own Quantity x Rate)."""
    return {
        "Item": line["item_number"],
        "Description": line["description"],
        "Quantity": line["quantity"],  # exact decimals on the wire (crosswalk.money)
        "Rate": line["rate"],
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: Any) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


@task(cache_policy=NO_CACHE)
def push_agreements(run: Run, cw: ConnectWise, ea: EAutomate) -> Pushed:
    """Every write of the agreement sync, in order: what waits reported, contracts made
    and updated (each read back), links written back, ended agreements."""
    with Pusher.open(run) as pusher:
        push = AgreementPush(pusher, cw, ea)
        push.recover()
        found = rows(pusher.con, "SELECT * FROM marts.agreement_contract_sync "
                     "ORDER BY agreement_id")  # fmt: skip
        push.waiting([r for r in found if r["action"] == "waiting"])
        push.field_findings([r for r in found if r["field_finding_code"] is not None])
        push.template_warnings()
        for row in pusher.each(found, "agreements"):
            if row["action"] == "create":
                push.create(row)
            elif row["action"] == "update":
                push.update(row)
            elif row["action"] == "ended" and row["contract_status"] == "Active":
                push.ended(row)
            if row["action"] in ("update", "in-sync"):
                if row["is_property_stale"]:
                    push.write_property(row)
                if row["is_field_stale"]:
                    push.write_field(row, row["contract_number"])
        push.open_billed_before([r for r in found if r["action"] == "in-sync"])
        push.money_apart([r for r in found if r["action"] == "in-sync"])
    run.failures.looked_at("connectwise", "agreements", AGREEMENT_CODES)
    run.failures.looked_at("connectwise", "companies", COMPANY_CODES)
    run.failures.looked_at("eautomate", "items", ITEM_CODES)
    run.failures.looked_at("eautomate", "contracts", TEMPLATE_CODES)
    run.failures.looked_at("eautomate", "contracts", CONTRACT_CODES,
                           record_ids=push.checked_contracts)  # fmt: skip
    run.notes.append(money_moved(run))
    get_run_logger().info("agreement pushes: %s; %s", push.pushed, run.notes[-1])
    return push.pushed


def money_moved(run: Run) -> str:
    """``3 contracts, +1,240.00 a month``: what the contracts written (or, planning, to be
    written) change in what the ERP bills."""
    contracts = [w for w in run.planned if w.action in ("create-contract", "update-contract")]
    total = sum((w.money for w in contracts if w.money is not None), Decimal(0))
    verb = "would change" if run.plan else "changed"
    return f"contracts: {len(contracts)} {verb}, {total:+,.2f} a month"
