"""PSA sales orders and their procurement product lines."""

import random

from .agreements import Picker
from .cases import quota
from .catalog import ITEM_WITHOUT_TEMPLATE, ITEMS_NOT_IN_ERP, World
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
            doc = _line(product_id, item, quantity, price, company, order_ref, sequence)
            doc["billableOption"] = "Billable" if rng.random() < 0.95 else "NoCharge"
            doc["dropshipFlag"] = line in dropship
            doc["vendor"] = rng.choice(vendors).ref
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
        contact = rng.choice(company.contacts)
        site = rng.choice(company.sites)
        doc = _order(order_id, company, contact, site, status, rep, ordered, product_ids,
                     subtotal, taxable, world)  # fmt: skip
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
    _extra_orders(world, people, parties, store, product_id, order_id + 1, dates[-1])


def _extra_orders(
    world: World,
    people: People,
    parties: Parties,
    store: Store,
    product_id: int,
    order_id: int,
    newest: int,
) -> None:
    """Two more orders, drawn from nothing (the world's other draws stay as they were),
    Ordered, of one line each: a plainly mapped customer's whose line is an item the ERP
    lacks of a product type with no item template (``ITEM_WITHOUT_TEMPLATE``), so the line
    gets the error item; and a prospect's (a company with no ERP customer), which waits
    until the company is mapped."""
    store.flush()  # the customers' cases, to leave out
    awkward = {number for (number,) in store.con.execute(
        "SELECT c.customer_number FROM world.cases w JOIN world.customers c "
        "ON c.customer_id = w.id WHERE w.system = 'eautomate' AND w.entity = 'customers'"
    ).fetchall()}  # fmt: skip
    mapped = next(
        c
        for c in parties.clients
        if c.contacts
        and c.customer is not None
        and c.customer.number not in awkward
        and c.customer.sync
        and c.customer.is_active
        and not c.customer.on_hold
        and c.customer.key == "identifier"
    )
    prospect = next(c for c in parties.companies if c.kind == "prospect" and c.contacts)
    ordinary = next(i for i in world.items if i.use == "order" and i.ref["identifier"]
                    not in ITEMS_NOT_IN_ERP)  # fmt: skip
    unknown = next(i for i in world.items if i.ref["identifier"] == ITEM_WITHOUT_TEMPLATE)
    rep, ordered = people.sales[0], newest - DAY
    for n, (company, item, case) in enumerate((
        (mapped, unknown, "sales_order_item_without_template"),
        (prospect, ordinary, "sales_order_company_unmapped"),
    )):  # fmt: skip
        order_ref = {"id": order_id + n, "identifier": str(order_id + n)}
        quantity, price = 2.0, item.price
        doc = _line(product_id + n, item, quantity, price, company, order_ref, 0)
        doc["purchaseDate"] = iso(midnight(ordered) + DAY)
        doc["_info"] = info(ordered + HOUR, rep.identifier, ordered, rep.identifier)
        store.records["products"].put(product_id + n, None, ordered + HOUR, doc)
        if item is unknown:
            store.case("product_item_without_erp_item", "connectwise", "products", product_id + n)
        taxable = quantity * price if doc["taxableFlag"] else 0.0
        doc = _order(order_id + n, company, company.contacts[0], company.sites[0], "Ordered",
                     rep, ordered, [product_id + n], quantity * price, taxable, world)  # fmt: skip
        doc["_info"] = info(ordered + HOUR, rep.identifier, ordered, rep.identifier)
        store.records["sales_orders"].put(order_id + n, None, ordered + HOUR, doc)
        store.case(case, "connectwise", "sales_orders", order_id + n)


def _line(product_id, item, quantity, price, company, order_ref, sequence) -> dict:
    """A product line of an order, billable, neither drop-ship nor cancelled."""
    return {
        "id": product_id,
        "catalogItem": item.ref,
        "description": item.ref["name"],
        "customerDescription": item.ref["name"],
        "billableOption": "Billable",
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
        "dropshipFlag": False,
        "specialOrderFlag": False,
        "cancelledFlag": False,
        "sequenceNumber": float(sequence + 1),
    }


def _order(order_id, company, contact, site, status, rep, ordered, product_ids, subtotal,
           taxable, world: World) -> dict:  # fmt: skip
    rate = 0.13 if company.sites[0].state == "ON" else 0.07
    return {
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
