"""PSA agreements, their additions, and their invoices for the latest billing periods."""

import bisect
import random
from dataclasses import dataclass

from .cases import quota
from .catalog import CYCLE_MONTHS, World
from .common import ANCHOR_TS, DAY, HOUR, START_TS, YEAR, clip, info, iso, money, month_start
from .invoices import Invoices
from .parties import Company, Parties
from .people import People
from .store import Store

FIRST_AGREEMENT_ID = 3001
FIRST_ADDITION_ID = 4001
# The incumbent's agreement custom field naming the ERP contract, with its revision.
CONTRACT_NUMBER_FIELD = {
    "id": 5,
    "caption": "ZCJ_ContractNumber",
    "type": "Text",
    "entryMethod": "EntryField",
    "numberOfDecimals": 0,
}
# What ZCJ_ContractNumber says: the right contract, a revision never made, another's.
LINK_CASES = (
    "agreement_contract_number_right",
    "agreement_contract_wrong_revision",
    "agreement_contract_other_customer",
)
CANCEL_REASONS = (
    "Customer moved to another provider",
    "Business closed",
    "Replaced by a new agreement",
    "Non-payment",
)


@dataclass(slots=True)
class Agreement:
    """What tickets need to know of an agreement: its reference and when it covers work."""

    id: int
    ref: dict  # AgreementReference {id, name, type}
    start: int
    stop: int  # end, cancellation or far future


class Picker:
    """Weighted choice among the companies that existed at a moment (companies in id order
    are in creation order), in O(log n)."""

    def __init__(self, companies: list[Company]) -> None:
        self.companies = companies
        self.created = [c.created for c in companies]
        self.cumulative = []
        total = 0.0
        for company in companies:
            total += company.weight
            self.cumulative.append(total)

    def pick(self, rng: random.Random, at: int) -> Company:
        known = max(1, bisect.bisect_right(self.created, at))
        index = bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[known - 1])
        return self.companies[min(index, known - 1)]


@dataclass(slots=True)
class Plan:
    company: Company
    start: int
    kind: tuple  # an entry of World.agreement_types
    fate: str | None = None  # Cancelled | Expired
    additions: int = 0
    bill_to: Company | None = None  # another company that pays
    contract_number: str | None = None  # what ZCJ_ContractNumber holds
    link_case: str | None = None  # the agreement_contract_* case it carries


def contract_number(agreement_id: int, revision: int = 1) -> str:
    """The incumbent's ERP contract for an agreement: ``CW-<agreement id>-<revision>``."""
    return f"CW-{agreement_id}-{revision:02d}"


def first_bill(start: int) -> int:
    """The PSA bills from the 1st: the first period starts on the 1st after the start."""
    return start if start == month_start(start) else month_start(start, 1)


def build(
    rng: random.Random,
    links: random.Random,
    scale,
    world: World,
    people: People,
    parties: Parties,
    invoices: Invoices,
    store: Store,
) -> None:
    """Agreements (in start order), each followed by its additions and invoices. ``links``
    draws who pays for whom and what ZCJ_ContractNumber says, apart from the agreements'
    own stream."""
    plans = _plans(rng, scale, world, parties)
    _link(links, plans, parties)
    total = sum(plan.additions for plan in plans)
    zero_billed = set(rng.sample(range(total), quota("addition_zero_billed", total)))
    cancelled_lines = set(rng.sample(range(total), quota("addition_cancelled", total)))
    rest = sorted(set(range(total)) - zero_billed)
    less_included = set(links.sample(rest, quota("addition_less_included", total)))
    addition_items = [item for item in world.items if item.use in ("addition", "both")]
    addition_id = FIRST_ADDITION_ID
    for agreement_id, plan in enumerate(plans, start=FIRST_AGREEMENT_ID):
        company, start, fate = plan.company, plan.start, plan.fate
        type_ref, has_template, _, cycle, (low, high) = plan.kind
        months = CYCLE_MONTHS[cycle]
        amount = money(round(rng.uniform(low, high) / 5) * 5 * max(months, 1))
        end = None
        if fate == "Expired":
            end = rng.randint(start + 60 * DAY, ANCHOR_TS - DAY)
        elif rng.random() < 0.65:
            end = month_start(start, rng.choice((12, 24, 36)))
            if end <= ANCHOR_TS:  # renewed
                end = month_start(ANCHOR_TS, rng.randint(1, 24))
        cancelled = rng.randint(start + 30 * DAY, ANCHOR_TS - DAY) if fate == "Cancelled" else None
        stop = min(x for x in (end, cancelled, ANCHOR_TS + 10 * YEAR) if x is not None)
        name = clip(f"{company.name} - {type_ref['name']}", 100)
        ref = {"id": agreement_id, "name": name, "type": type_ref["name"]}
        company.agreements.append(Agreement(agreement_id, ref, start, stop))
        first = first_bill(start)
        periods = _periods(first, months, min(stop, ANCHOR_TS))[-scale.invoice_periods :]
        by = people.api.identifier if rng.random() < 0.2 else rng.choice(people.admins).identifier
        doc = _doc(rng, world, plan, ref, amount, first, end, cancelled)
        if stop > ANCHOR_TS and months:
            upcoming = _periods(first, months, ANCHOR_TS + 13 * 31 * DAY)
            doc["nextInvoiceDate"] = iso(next(p for p in upcoming if p >= ANCHOR_TS))
        updated = min(ANCHOR_TS - HOUR, (cancelled or start) + rng.randint(1, 400) * DAY)
        doc["_info"] = info(updated, by, start, by)
        store.records["agreements"].put(agreement_id, None, updated, doc)
        for case, holds in (
            ("agreement_type_without_template", not has_template),
            ("agreement_cancelled", fate == "Cancelled"),
            ("agreement_expired", fate == "Expired"),
            ("agreement_company_without_customer", company.customer is None),
            ("agreement_without_invoice", not periods),
            ("agreement_bill_to_other_company", plan.bill_to is not None),
            (plan.link_case, plan.link_case is not None),
        ):
            if holds:
                store.case(case, "connectwise", "agreements", agreement_id)
        _audit(store, agreement_id, start, cancelled, by)

        lines = []
        for sequence in range(plan.additions):
            line = addition_id - FIRST_ADDITION_ID
            lines.append(
                _addition(rng, store, doc, start, addition_id, sequence, rng.choice(addition_items),
                          line in zero_billed, line in less_included, line in cancelled_lines,
                          cancelled, by)
            )  # fmt: skip
            addition_id += 1
        for period_start in periods:
            products = sum(value for since, until, value in lines if since <= period_start < until)
            period_end = month_start(period_start, months) - DAY if months else period_start
            invoices.add(
                rng,
                kind="Agreement",
                apply_to="Agreement",
                apply_to_id=agreement_id,
                company=company,
                date=period_start,
                products=products * max(months, 1),
                agreement=amount,
                by=by,
                bill_to=plan.bill_to,
                extra={
                    "agreement": ref,
                    "reference": f"{iso(period_start)[:10]} - {iso(period_end)[:10]}",
                },
            )


def _plans(rng: random.Random, scale, world: World, parties: Parties) -> list[Plan]:
    """Who bought which agreement when, and which end cancelled, expired or not billed yet."""
    picker = Picker([c for c in parties.clients if c.contacts])
    prospects = [c for c in parties.without_customer if c.kind == "prospect" and c.contacts]
    on_prospects = quota("agreement_company_without_customer", scale.agreements)
    types = list(world.agreement_types.values())
    plans = []
    for i in range(scale.agreements):
        if i < on_prospects:
            company = rng.choice(prospects)
        else:
            company = picker.pick(rng, rng.randint(START_TS - YEAR, ANCHOR_TS - 30 * DAY))
        low = max(company.created + DAY, START_TS - YEAR)
        kind = rng.choices(types, [t[2] for t in types])[0]
        plan = Plan(company, rng.randint(low, max(low, ANCHOR_TS - 30 * DAY)), kind)
        if kind[0]["name"] != "Block Hours":  # block hours are sold as hours: no additions
            plan.additions = rng.choice((0, 0, 1, 1, 2, 2, 3, 4))
        plans.append(plan)
    cancelled = quota("agreement_cancelled", len(plans))
    mature = [p for p in plans if p.start < ANCHOR_TS - 120 * DAY]
    for n, plan in enumerate(
        rng.sample(mature, cancelled + quota("agreement_expired", len(plans)))
    ):
        plan.fate = "Cancelled" if n < cancelled else "Expired"
    fresh = [p for p in plans if p.fate is None and p.company.created < ANCHOR_TS - 30 * DAY]
    for plan in rng.sample(fresh, quota("agreement_without_invoice", len(plans))):
        plan.start = rng.randint(ANCHOR_TS - 25 * DAY, ANCHOR_TS - DAY)  # first bill: Jan 1st
    plans.sort(key=lambda p: p.start)
    return plans


def _link(rng: random.Random, plans: list[Plan], parties: Parties) -> None:
    """Agreements billed to another company, and the ZCJ_ContractNumber cases: naming the
    incumbent's contract right, with a revision it never made, or another customer's.

    Only live agreements of customers that sync and that were invoiced name a contract: the
    incumbent made one for each of those (emulators/world/erp.py keeps that promise for the
    agreements named here)."""
    payers = [c for c in parties.clients if c.contacts and c.customer.sync]
    created = [c.created for c in payers]
    clients = [i for i, plan in enumerate(plans) if plan.company.customer is not None]
    for i in sorted(rng.sample(clients, quota("agreement_bill_to_other_company", len(clients)))):
        plan = plans[i]
        known = max(2, bisect.bisect_right(created, plan.start))
        while (payer := payers[rng.randrange(known)]) is plan.company:
            pass
        plan.bill_to = payer

    def linked(plan: Plan) -> bool:
        customer = plan.company.customer
        return (
            plan.fate is None
            and customer is not None
            and customer.sync
            and customer.company is plan.company
            and first_bill(plan.start) < ANCHOR_TS
        )

    eligible = [i for i, plan in enumerate(plans) if linked(plan)]
    picked: dict[str, list[int]] = {}
    rest = eligible
    for case in LINK_CASES:
        picked[case] = sorted(rng.sample(rest, quota(case, len(eligible))))
        rest = sorted(set(rest) - set(picked[case]))
    right, wrong, other = (picked[case] for case in LINK_CASES)
    for i in right:
        plans[i].contract_number = contract_number(FIRST_AGREEMENT_ID + i)
        plans[i].link_case = LINK_CASES[0]
    for i in wrong:
        plans[i].contract_number = contract_number(FIRST_AGREEMENT_ID + i, 2)
        plans[i].link_case = LINK_CASES[1]
    for i in other:
        mine = plans[i].company.customer
        theirs = [j for j in right if plans[j].company.customer is not mine]
        plans[i].contract_number = contract_number(FIRST_AGREEMENT_ID + rng.choice(theirs))
        plans[i].link_case = LINK_CASES[2]


def _doc(
    rng: random.Random,
    world: World,
    plan: Plan,
    ref: dict,
    amount: float,
    first_bill: int,
    end: int | None,
    cancelled: int | None,
) -> dict:
    company, start = plan.company, plan.start
    type_ref, _, _, cycle, _ = plan.kind
    months = CYCLE_MONTHS[cycle]
    block = type_ref["name"] == "Block Hours"
    doc = {
        "id": ref["id"],
        "name": ref["name"],
        "type": type_ref,
        "company": company.ref,
        "contact": company.contacts[0].ref,
        "site": company.sites[0].ref,
        "location": world.location[company.branch],
        "department": world.department["SVC"],
        "agreementStatus": plan.fate or "Active",
        "cancelledFlag": plan.fate == "Cancelled",
        "startDate": iso(start - start % DAY),
        "noEndingDateFlag": end is None,
        "billStartDate": iso(first_bill),
        "billAmount": amount,
        "billingCycle": world.billing_cycle[cycle],
        "oneTimeFlag": months == 0,
        "billOneTimeFlag": months == 0,
        "invoicingCycle": "ContractYear",
        "billingTerms": world.billing_terms[0],
        "invoiceTemplate": world.invoice_templates[1],
        "taxCode": world.tax_code["ON" if company.sites[0].state == "ON" else "FL"],
        "billToCompany": company.ref,
        "billToContact": company.contacts[0].ref,
        "billToSite": company.sites[0].ref,
        "autoInvoiceFlag": True,
        "prorateFlag": False,
        "billTime": "Billable",
        "billExpenses": "Billable",
        "billProducts": "Billable",
        "applicationUnits": "Hours" if block else "Amount",
        "applicationCycle": "CalendarMonth",
        "applicationUnlimitedFlag": not block,
        "carryOverUnused": False,
        "allowOverruns": True,
        "coverAgreementTime": True,
        "coverAgreementProduct": False,
        "coverAgreementExpense": False,
        "periodType": "Current",
        "workRole": world.work_roles["Help Desk Tech"],
        "workType": world.work_types["Remote"],
    }
    if block:
        doc["applicationLimit"] = float(rng.choice((10, 20, 40)))
    if end is not None:
        doc["endDate"] = iso(end - end % DAY)
    if cancelled is not None:
        doc["dateCancelled"] = iso(cancelled)
        doc["reasonCancelled"] = rng.choice(CANCEL_REASONS)
    if rng.random() < 0.25:
        doc["customerPO"] = f"PO-{rng.randint(10000, 99999)}"
    if plan.bill_to is not None:
        payer = plan.bill_to
        doc["billToCompany"] = payer.ref
        doc["billToContact"] = payer.contacts[0].ref
        doc["billToSite"] = payer.sites[0].ref
    # Every agreement lists the field; an empty one has no value (nulls are omitted).
    field = dict(CONTRACT_NUMBER_FIELD)
    if plan.contract_number is not None:
        field["value"] = plan.contract_number
    doc["customFields"] = [field]
    return doc


def _periods(first: int, months: int, until: int) -> list[int]:
    if months == 0:
        return [first] if first < until else []
    periods, n = [], 0
    while (start := month_start(first, n * months)) < until:
        periods.append(start)
        n += 1
    return periods


def _addition(
    rng: random.Random,
    store: Store,
    agreement: dict,
    start: int,
    addition_id: int,
    sequence: int,
    item,
    zero_billed: bool,
    less_included: bool,
    cancel: bool,
    cancelled: int | None,
    by: str,
) -> tuple[int, int, float]:
    """Write one addition; returns (effective day, day gone, amount billed each period)."""
    quantity = float(rng.choice((1, 2, 3, 5, 8, 10, 15, 20, 25, 40, 60)))
    if less_included:
        quantity = max(quantity, 2.0)  # some included, some billed
    effective = start if rng.random() < 0.6 else rng.randint(start, max(start, ANCHOR_TS - 5 * DAY))
    gone = cancelled or ANCHOR_TS + YEAR
    status = agreement["agreementStatus"]
    doc = {
        "id": addition_id,
        "product": {
            "id": item.ref["id"],
            "identifier": item.ref["identifier"],
            "serializedFlag": item.serialized,
        },
        "billCustomer": rng.choices(("Billable", "DoNotBill", "NoCharge"), (90, 5, 5))[0],
        "quantity": quantity,
        "lessIncluded": 0.0,
        "billedQuantity": quantity,
        "unitPrice": item.price,
        "unitCost": item.cost,
        "extPrice": money(quantity * item.price),
        "extCost": money(quantity * item.cost),
        "margin": money(quantity * (item.price - item.cost)),
        "uom": item.uom,
        "effectiveDate": iso(effective - effective % DAY),
        "agreementStatus": status,
        "agreementId": agreement["id"],
        "description": item.ref["name"],
        "invoiceDescription": item.ref["name"],
        "taxableFlag": False,
        "purchaseItemFlag": False,
        "specialOrderFlag": False,
        "sequenceNumber": float(sequence + 1),
        "prorateCurrentPeriodFlag": False,
    }
    if zero_billed:
        doc["billedQuantity"] = 0.0
        doc["lessIncluded"] = quantity
        store.case("addition_zero_billed", "connectwise", "additions", addition_id)
    elif less_included:
        # The agreement includes part of the quantity; the rest is billed, priced as billed.
        billed = quantity - float(max(1, int(quantity * 0.4)))
        doc["lessIncluded"] = quantity - billed
        doc["billedQuantity"] = billed
        doc["extPrice"] = money(billed * item.price)
        doc["extCost"] = money(billed * item.cost)
        doc["margin"] = money(billed * (item.price - item.cost))
        store.case("addition_less_included", "connectwise", "additions", addition_id)
    if cancel:
        gone = rng.randint(effective, max(effective, min(gone, ANCHOR_TS) - DAY))
        doc["cancelledDate"] = iso(gone)
        doc["agreementStatus"] = "Cancelled"
        store.case("addition_cancelled", "connectwise", "additions", addition_id)
    elif cancelled is not None:
        doc["cancelledDate"] = iso(cancelled)
    updated = min(ANCHOR_TS - HOUR, max(effective, gone if gone < ANCHOR_TS else effective) + HOUR)
    doc["_info"] = info(updated, by, effective, by)
    store.records["additions"].put(addition_id, agreement["id"], updated, doc)
    billed = 0.0
    if doc["billCustomer"] == "Billable" and doc["billedQuantity"]:
        billed = doc["extPrice"]
    # The PSA bills by date: an addition is in a period from its effective day, and out of
    # it from the day it is cancelled.
    return effective - effective % DAY, gone - gone % DAY, billed


def _audit(store: Store, agreement_id: int, start: int, cancelled: int | None, by: str) -> None:
    source = "API" if by.endswith("API") else "Agreement"
    entries = [(start, "Agreement was created.", "Agreement")]
    if cancelled is not None:
        entries.append((cancelled, 'Agreement status changed to "Cancelled".', "Status"))
    for at, text, sub in entries:
        store.audit_entry(
            "Agreement",
            agreement_id,
            at,
            {
                "text": text,
                "enteredDate": iso(at),
                "enteredBy": by,
                "auditType": "Agreement",
                "auditSubType": sub,
                "auditSource": source,
            },
        )
