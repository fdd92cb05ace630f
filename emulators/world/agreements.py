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


def build(
    rng: random.Random,
    scale,
    world: World,
    people: People,
    parties: Parties,
    invoices: Invoices,
    store: Store,
) -> None:
    """Agreements (in start order), each followed by its additions and invoices."""
    plans = _plans(rng, scale, world, parties)
    total = sum(plan.additions for plan in plans)
    zero_billed = set(rng.sample(range(total), quota("addition_zero_billed", total)))
    cancelled_lines = set(rng.sample(range(total), quota("addition_cancelled", total)))
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
        # The PSA bills from the 1st: the first period starts on the 1st after the start.
        first_bill = start if start == month_start(start) else month_start(start, 1)
        periods = _periods(first_bill, months, min(stop, ANCHOR_TS))[-scale.invoice_periods :]
        by = people.api.identifier if rng.random() < 0.2 else rng.choice(people.admins).identifier
        doc = _doc(rng, world, plan, ref, amount, first_bill, end, cancelled)
        if stop > ANCHOR_TS and months:
            upcoming = _periods(first_bill, months, ANCHOR_TS + 13 * 31 * DAY)
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
        ):
            if holds:
                store.case(case, "connectwise", "agreements", agreement_id)
        _audit(store, agreement_id, start, cancelled, by)

        lines = []
        for sequence in range(plan.additions):
            line = addition_id - FIRST_ADDITION_ID
            lines.append(
                _addition(rng, store, doc, start, addition_id, sequence, rng.choice(addition_items),
                          line in zero_billed, line in cancelled_lines, cancelled, by)
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
    cancel: bool,
    cancelled: int | None,
    by: str,
) -> tuple[int, int, float]:
    """Write one addition; returns (effective, gone, amount billed each period)."""
    quantity = float(rng.choice((1, 2, 3, 5, 8, 10, 15, 20, 25, 40, 60)))
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
    return effective, gone, billed


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
