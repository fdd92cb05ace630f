"""PSA sales orders and their procurement product lines."""

import random

from .agreements import Picker
from .cases import quota
from .catalog import ITEMS_NOT_IN_ERP, World
from .common import ANCHOR_TS, DAY, HOUR, START_TS, info, iso, midnight, money
from .invoices import Invoices
from .parties import Parties
from .people import People
from .store import Store

FIRST_ORDER_ID = 8001
FIRST_PRODUCT_ID = 9001
ORDER_NUMBER_FIELD = {"id": 7, "caption": "ZCJ_SONumber", "type": "Text",
                      "entryMethod": "EntryField", "numberOfDecimals": 0}  # fmt: skip
CANCEL_REASONS = ("Customer changed their mind", "Out of stock at distributor", "Duplicate line")


def build(
    rng: random.Random,
    scale,
    world: World,
    people: People,
    parties: Parties,
    invoices: Invoices,
    store: Store,
) -> None:
    picker = Picker([c for c in parties.clients if c.contacts])
    # The newest order goes to a customer on hold (its company pick is still drawn, so the
    # other orders keep theirs): the ERP order must be made on hold.
    held = next(
        c
        for c in picker.companies
        if c.customer is not None
        and c.customer.on_hold
        and c.customer.sync
        and c.customer.is_active
        and c.customer.key == "identifier"
    )
    vendors = [c for c in parties.companies if c.kind == "vendor"]
    items = [item for item in world.items if item.use in ("order", "both")]
    dates = sorted(rng.randint(START_TS, ANCHOR_TS - DAY) for _ in range(scale.sales_orders))
    lines_per = [rng.choice((1, 1, 2, 2, 3, 4, 5)) for _ in dates]
    total = sum(lines_per)
    cancelled = set(rng.sample(range(total), quota("product_cancelled", total)))
    dropship = set(rng.sample(range(total), quota("product_dropship", total)))
    product_id, line = FIRST_PRODUCT_ID, 0
    for order_id, (ordered, count) in enumerate(
        zip(dates, lines_per, strict=True), start=FIRST_ORDER_ID
    ):
        company = picker.pick(rng, ordered)
        rep = rng.choice(people.sales)
        age = ANCHOR_TS - ordered
        if age > 60 * DAY:
            status = "Cancelled" if rng.random() < 0.03 else "Closed"
        else:
            status = rng.choice(("New", "Ordered", "Received", "Delivered", "Closed"))
        if order_id == FIRST_ORDER_ID + len(dates) - 1:
            company, status = held, "Ordered"
            store.case("sales_order_customer_on_hold", "connectwise", "sales_orders", order_id)
        order_ref = {"id": order_id, "identifier": str(order_id)}
        product_ids, subtotal, taxable = [], 0.0, 0.0
        for sequence in range(count):
            item = rng.choice(items)
            quantity = float(rng.choice((1, 1, 1, 2, 3, 5, 10)))
            price = money(item.price * rng.uniform(0.9, 1.05))
            doc = {
                "id": product_id,
                "catalogItem": item.ref,
                "description": item.ref["name"],
                "customerDescription": item.ref["name"],
                "billableOption": "Billable" if rng.random() < 0.95 else "NoCharge",
                "productClass": item.product_class,
                "quantity": quantity,
                "price": price,
                "cost": item.cost,
                "listPrice": item.price,
                "discount": 0.0,
                "priceMethod": "PricePerUnit",
                "company": company.ref,
                "salesOrder": order_ref,
                "taxableFlag": item.product_class in ("Inventory", "NonInventory"),
                "dropshipFlag": line in dropship,
                "specialOrderFlag": False,
                "cancelledFlag": False,
                "sequenceNumber": float(sequence + 1),
                "vendor": rng.choice(vendors).ref,
            }
            if status not in ("New", "Cancelled"):
                doc["purchaseDate"] = iso(midnight(ordered) + DAY)
            if line in cancelled or status == "Cancelled":
                doc["cancelledFlag"] = True
                doc["quantityCancelled"] = quantity
                doc["cancelledReason"] = rng.choice(CANCEL_REASONS)
                doc["cancelledDate"] = iso(
                    min(ANCHOR_TS - HOUR, ordered + rng.randint(1, 20) * DAY)
                )
            else:
                subtotal += quantity * price
                if doc["taxableFlag"]:
                    taxable += quantity * price
            updated = min(ANCHOR_TS - HOUR, ordered + rng.randint(1, 45) * DAY)
            doc["_info"] = info(updated, rep.identifier, ordered, rep.identifier)
            store.records["products"].put(product_id, None, updated, doc)
            for case, chosen in (("product_cancelled", cancelled), ("product_dropship", dropship)):
                if line in chosen:
                    store.case(case, "connectwise", "products", product_id)
            if item.ref["identifier"] in ITEMS_NOT_IN_ERP:
                store.case("product_item_without_erp_item", "connectwise", "products", product_id)
            product_ids.append(product_id)
            product_id += 1
            line += 1
        rate = 0.13 if company.sites[0].state == "ON" else 0.07
        contact = rng.choice(company.contacts)
        site = rng.choice(company.sites)
        doc = {
            "id": order_id,
            "company": company.ref,
            "contact": contact.ref,
            "site": site.ref,
            "billToCompany": company.ref,
            "billToSite": company.sites[0].ref,
            "shipToCompany": company.ref,
            "shipToSite": site.ref,
            "status": world.order_status[status],
            "salesRep": rep.ref,
            "orderDate": iso(midnight(ordered)),
            "dueDate": iso(midnight(ordered) + 14 * DAY),
            "location": world.location[company.branch],
            "department": world.department["SALES"],
            "billingTerms": world.billing_terms[0],
            "taxCode": world.tax_code["ON" if rate > 0.1 else "FL"],
            "productIds": product_ids,
            "subTotal": money(subtotal),
            "taxTotal": money(taxable * rate),
            "total": money(subtotal + taxable * rate),
            "billClosedFlag": status == "Closed",
            "billShippedFlag": False,
            "description": f"Order for {company.name}"[:100],
            # The field the incumbent writes the ERP order number into, set up but empty.
            "customFields": [dict(ORDER_NUMBER_FIELD)],
        }
        if rng.random() < 0.4:
            doc["poNumber"] = f"{company.identifier[:8]}-{rng.randint(100, 9999)}"
        if status == "Closed" and subtotal:
            invoice = invoices.add(
                rng,
                kind="Standard",
                apply_to="SalesOrder",
                apply_to_id=order_id,
                company=company,
                date=min(midnight(ANCHOR_TS - DAY), midnight(ordered) + rng.randint(3, 20) * DAY),
                products=subtotal,
                by=rep.identifier,
                extra={"salesOrder": order_ref},
            )
            doc["invoiceIds"] = [invoice["id"]]
        updated = min(ANCHOR_TS - HOUR, ordered + rng.randint(1, 50) * DAY)
        doc["_info"] = info(updated, rep.identifier, ordered, rep.identifier)
        store.records["sales_orders"].put(order_id, None, updated, doc)
