"""PSA invoices: one numbering for agreement, ticket, project and sales-order invoices."""

import random

from .catalog import World
from .common import ANCHOR_TS, DAY, HOUR, info, iso, money
from .parties import Company
from .store import Store

FIRST_INVOICE_ID = 6001


class Invoices:
    """Hands out invoice ids in the order invoices are written, so the table stays id-ordered."""

    def __init__(self, world: World, store: Store) -> None:
        self.world, self.store = world, store
        self.next_id = FIRST_INVOICE_ID

    def add(
        self,
        rng: random.Random,
        *,
        kind: str,
        apply_to: str,
        apply_to_id: int,
        company: Company,
        date: int,
        service: float = 0.0,
        products: float = 0.0,
        agreement: float = 0.0,
        by: str,
        bill_to: Company | None = None,
        extra: dict | None = None,
    ) -> dict:
        """Write one invoice; returns the InvoiceReference time entries carry. ``bill_to``
        (the company by default) is billed at its first site; tax follows the company's."""
        world = self.world
        invoice_id = self.next_id
        self.next_id += 1
        site = company.sites[0]
        payer = bill_to or company
        billing = payer.sites[0]
        rate = 0.13 if site.state == "ON" else 0.07
        tax = money(products * rate)
        subtotal = money(service + products + agreement)
        total = money(subtotal + tax)
        paid = date < ANCHOR_TS - 45 * DAY
        status = "Paid" if paid else "Sent" if date < ANCHOR_TS - 2 * DAY else "Open"
        number = str(invoice_id)
        doc = {
            "id": invoice_id,
            "invoiceNumber": number,
            "type": kind,
            "status": world.billing_status[status],
            "company": company.ref,
            "billToCompany": payer.ref,
            "shipToCompany": company.ref,
            "applyToType": apply_to,
            "applyToId": apply_to_id,
            "date": iso(date),
            "dueDate": iso(date + 30 * DAY),
            "billingTerms": world.billing_terms[0],
            "subtotal": subtotal,
            "total": total,
            "salesTax": tax,
            "payments": total if paid else 0.0,
            "credits": 0.0,
            "balance": 0.0 if paid else total,
            "agreementAmount": money(agreement),
            "serviceTotal": money(service),
            "productTotal": money(products),
            "expenseTotal": 0.0,
            "taxCode": world.tax_code["ON" if site.state == "ON" else "FL"],
            "taxableFlag": products > 0,
            "billingSite": billing.ref,
            "billingSiteAddressLine1": billing.address1,
            "billingSiteCity": billing.city,
            "billingSiteState": billing.state,
            "billingSiteZip": billing.zip,
            "billingSiteCountry": "Canada" if billing.state == "ON" else "United States",
            "specialInvoiceFlag": False,
            "locationId": world.location[company.branch]["id"],
            "departmentId": world.department["SVC"]["id"],
            **(extra or {}),
        }
        updated = min(ANCHOR_TS - HOUR, date + (rng.randint(30, 60) if paid else 1) * DAY)
        doc["_info"] = info(updated, by, date, by)
        self.store.records["invoices"].put(invoice_id, None, updated, doc)
        return {
            "id": invoice_id,
            "identifier": number,
            "billingType": kind,
            "applyToType": apply_to,
        }
