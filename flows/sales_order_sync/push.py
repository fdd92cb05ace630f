"""sales-order-sync pushes: PSA sales orders -> ERP sales orders (seed 004, ID966).

``marts.sales_order_sync`` says per order what to do; this module does it through
``crosswalk.pushing``:

- items first: a catalog item the ERP lacks is made (``addItem``) from the item template
  of its product type, with the template's kind and codes; looked up by its number before
  it is sent and after a lost answer;
- create: the ERP order carries the PSA order id as its key (``[CW SO #<id>]`` opening
  its description, or ``CW-SO-<id>`` as its PO), so it is looked up before it is sent and
  after a lost answer, and an order the incumbent made is adopted, never made twice; an
  order of a customer on hold, or with a line on the error item, is made on hold;
- update: an open ERP order whose lines differ from the PSA order's gets the PSA's lines,
  and leaves the error-item hold (``hold_code``) once no line needs it (its template was
  fixed); a shipped, invoiced or cancelled one is never changed, and the difference is
  reported;
- every order written is read back: its total must equal the PSA order's billable total
  to the cent, else ``order-amount-mismatch`` with both figures;
- the ERP order number is written into the PSA order's custom field whenever it differs,
  and the pair into ``sync.links`` (kind ``sales-order``).

What waits (an unmapped company or bill-to) is reported once per company with the
orders, and goes through by itself once mapped; a line on the error item is reported per
line with the product, the template and the fix.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk import decisions
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError, NotFound
from crosswalk.pipeline import Run
from crosswalk.pushing import Pusher, Write
from crosswalk.warehouse import rows
from schemas import connectwise

ORDERS = "sales/orders"
CENT = Decimal("0.01")
KEY = re.compile(r"^\[CW SO #(\d+)\]|^CW-SO-(\d+)$")
ORDER_CODES = (
    "order-create-rejected",
    "order-update-rejected",
    "order-changed-after-shipping",
    "order-field-rejected",
)
COMPANY_CODES = ("order-company-unmapped", "order-bill-to-unmapped")
LINE_CODES = ("item-template-missing", "item-template-codes-missing", "order-line-item-unusable")
ERP_ORDER_CODES = ("order-amount-mismatch",)
ITEM_CODES = ("order-item-rejected",)


@dataclass
class Pushed:
    items: int = 0
    created: int = 0
    adopted: int = 0
    updated: int = 0
    fields: int = 0
    links: int = 0
    waiting: int = 0
    final_changed: int = 0
    failed: int = 0
    in_agreement: int = 0  # orders read back whose total equals the PSA's
    mismatched: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in vars(self).items())


def order_label(row: dict) -> str:
    return f'sales order {row["order_id"]} of "{row["company_name"]}"'


def order_key(description: str | None, po_number: str | None) -> int | None:
    """The PSA order id an ERP order's description or PO names."""
    for text in (description, po_number):
        found = KEY.match(text or "")
        if found:
            return int(found.group(1) or found.group(2))
    return None


def keyed_fields(row: dict, key_in: str) -> dict[str, str | None]:
    """Description and PO of the ERP order, one of them carrying the key."""
    description, po = row["description"] or "", row["po_number"]
    if key_in == "po":
        text = f"PO {po}: {description}" if po else description
        return {"Description": text[:255] or None, "PONumber": f"CW-SO-{row['order_id']}"}
    return {
        "Description": f"[CW SO #{row['order_id']}] {description}".strip()[:255],
        "PONumber": po[:30] if po else None,
    }


class SalesOrderPush:
    """One push step's systems and writes; each method handles one kind of write."""

    def __init__(self, pusher: Pusher, cw: ConnectWise, ea: EAutomate):
        self.pusher, self.cw, self.ea = pusher, cw, ea
        self.run = pusher.run
        self.con = pusher.con
        self.settings = self.run.settings.flows.sales_order_sync
        self.pushed = Pushed()
        self.checked_orders: set[str] = set()
        self.made_since_read: dict[int, str] | None = None

    # --- finding what was made ----------------------------------------------------------

    def _keyed(self, since: str) -> dict[int, str]:
        """PSA order id -> ERP order number, among the orders changed since ``since``."""
        changed = self.ea.changes("sales_orders", self.ea.local(since)).rows
        found: dict[int, str] = {}
        for chunk in self.ea.details("sales_orders", [r["SONumber"] for r in changed]):
            for order in chunk:
                psa = order_key(order.get("Description"), order.get("PONumber"))
                if psa is not None and (psa not in found or order["SONumber"] < found[psa]):
                    found[psa] = order["SONumber"]
        return found

    def find_order(self, key: dict) -> str | None:
        return self._keyed(key["since"]).get(key["order"])

    def looked_up(self, key: dict) -> str | None:
        """The lookup before a create: among the ERP orders made or changed since this run
        read them (one read for the whole step, at its first create)."""
        if self.made_since_read is None:
            (stamp,) = self.con.execute(
                "SELECT max(cursor_value) FROM sync.watermarks "
                "WHERE system = 'eautomate' AND entity = 'sales_orders'"
            ).fetchone()
            self.made_since_read = self._keyed(stamp or key["since"])
        return self.made_since_read.get(key["order"])

    def find_item(self, key: dict) -> str | None:
        try:
            return self.ea.item(key["item"])["Item"]
        except NotFound:
            return None
        except DataError as exc:
            if "not found" in exc.message.lower():
                return None
            raise

    def recover(self) -> None:
        self.pusher.recover(
            {"create-sales-order": self.find_order, "create-item": self.find_item},
            updates=("update-sales-order", "set-order-field"),
        )

    # --- what waits and what is reported -------------------------------------------------

    def waiting(self, found: list[dict]) -> None:
        """One failure per company or bill-to company, naming its orders."""
        causes: dict[tuple, list[dict]] = defaultdict(list)
        for row in found:
            code = row["waiting_code"]
            company = (
                row["company_id"] if code == "order-company-unmapped" else row["bill_to_company_id"]
            )
            causes[(code, company)].append(row)
        for (code, company), waiting in causes.items():
            first = waiting[0]
            bill_to = code == "order-bill-to-unmapped"
            prefix, role = ("bill_to_", "bill-to company") if bill_to else ("company_", "company")
            identifier = first[f"{prefix}identifier"] or company
            name = first[f"{prefix}name"] if bill_to else first["company_name"]
            label = f'company {identifier} "{name}"'
            names = ", ".join(str(r["order_id"]) for r in waiting[:5])
            more = f" and {len(waiting) - 5} more" if len(waiting) > 5 else ""
            self.run.failures.add(
                data_failure(
                    "connectwise",
                    "companies",
                    company,
                    code,
                    f"{len(waiting)} sales order{'s' if len(waiting) > 1 else ''} wait ({names}"
                    f"{more}): {label}, their {role}, is not mapped to an ERP customer",
                    f"Map it: crosswalk links set <ERP customer number> {company} (crosswalk links "
                    "suggestions lists likely customers); the next run makes these orders.",
                    label=label,
                )
            )
        self.pushed.waiting += len(found)

    def line_findings(self) -> None:
        """Each line on the error item: the product, the template and the fix."""
        error_item = self.settings.error_item
        for line in rows(
            self.con,
            """
                SELECT lines.*, orders.company_name, orders.so_number, orders.is_erp_final
                FROM intermediate.int_sales_order_lines_planned lines
                JOIN marts.sales_order_sync orders USING (order_id)
                WHERE lines.finding_code IS NOT NULL AND orders.action <> 'waiting'
                ORDER BY lines.order_id, lines.line_id""",
        ):
            code, template = line["finding_code"], line["template_number"]
            product = f"product {line['item_identifier'] or '(none)'}"
            kind = line["product_type"] or line["product_class"] or "no type"
            if code == "item-template-missing":
                why = f"e-automate has no item {product[8:]} and no item template {template}"
                fix = (
                    f"Create the item template {template} in e-automate (an inventory or "
                    "expense code and a sales code), or name the template of product type "
                    f"{kind} in item_templates"
                )
            elif code == "item-template-codes-missing":
                why = (
                    f"e-automate has no item {product[8:]}, and its item template {template} "
                    "lacks an inventory or expense code and a sales code (or names codes "
                    "e-automate's code lists lack)"
                )
                fix = f"Give the item template {template} those codes in e-automate"
            else:
                why = "its catalog item cannot be an e-automate item number (at most 30)"
                fix = "Give the line a catalog item e-automate can number"
            where = line["so_number"] or "the order crosswalk makes"
            then = (
                "; then replace the error item on " + where + " by hand (it has shipped)"
                if line["is_erp_final"]
                else "; the next run puts the item on the open order"
            )
            self.run.failures.add(
                data_failure(
                    "connectwise",
                    "products",
                    line["line_id"],
                    code,
                    f"{order_label(line)}, line {line['line_id']}: {product} ({kind}): {why}; the "
                    f"line gets {error_item} and the order is held",
                    fix + then + ".",
                    label=f"{product} on sales order {line['order_id']}",
                )
            )

    def final_changed(self, row: dict) -> None:
        self.pushed.final_changed += 1
        self.run.failures.add(
            data_failure(
                "connectwise",
                "sales_orders",
                row["order_id"],
                "order-changed-after-shipping",
                f"{order_label(row)} differs from ERP order {row['so_number']}, which is "
                f"{row['erp_status']}: the PSA asks for "
                f"{row['planned_lines_text'] or 'no lines'} ({row['planned_total']}), e-automate "
                f"holds {row['current_lines_text'] or 'no lines'} "
                f"({row['current_total']}); crosswalk never changes a {row['erp_status'].lower()} "
                "order",
                f"Make the change in e-automate by hand (a new order or a credit for "
                f"{row['so_number']}), or undo it in ConnectWise.",
                label=order_label(row),
            )
        )

    # --- items ----------------------------------------------------------------------------

    def items(self, order_ids: list[int]) -> set[str]:
        """Make each item the orders' lines need from its template; the items refused."""
        refused: set[str] = set()
        if not order_ids:
            return refused
        for line in rows(
            self.con,
            """
                SELECT item_identifier, any_value(item_description) AS description,
                       any_value(template_number) AS template_number,
                       any_value(template_item_kind) AS kind,
                       any_value(template_sales_code) AS sales_code,
                       any_value(template_inventory_code) AS inventory_code,
                       any_value(template_expense_code) AS expense_code,
                       min(order_id) AS order_id
                FROM intermediate.int_sales_order_lines_planned
                WHERE line_action = 'create-item' AND list_contains(?, order_id)
                GROUP BY item_identifier ORDER BY item_identifier""",
            [order_ids],
        ):
            number = line["item_identifier"]
            body = {
                "Item": number,
                "Description": (line["description"] or number)[:100],
                "ItemKind": line["kind"],
                "SalesCode": line["sales_code"],
                "InventoryCode": line["inventory_code"],
                "ExpenseCode": line["expense_code"],
                "Active": True,
            }
            body = {k: v for k, v in body.items() if v is not None}
            changes = {k: (None, v) for k, v in body.items() if k != "Item"}
            changes["template"] = (None, line["template_number"])
            key = {"item": number}
            write = Write(
                "eautomate",
                "create-item",
                f"item {number}",
                f"catalog item {number}",
                changes,
                key=key,
            )

            def failure(exc: DataError, number=number, line=line) -> Failure:
                return data_failure(
                    "eautomate",
                    "items",
                    number,
                    "order-item-rejected",
                    f"e-automate refused item {number}, made from template "
                    f"{line['template_number']}: {exc.message}",
                    f"Correct the item template {line['template_number']} (kind, codes), or "
                    f"create item {number} in e-automate; the next run makes the orders.",
                    label=f"item {number}",
                )

            made = self.pusher.create(
                write,
                find=lambda key=key: self.find_item(key),
                send=lambda body=body: self.ea.add_item(body)["Item"],
                refused=failure,
            )
            if made is None and not self.pusher.plan:
                refused.add(number)
            elif made is not None and made.created:
                self.pushed.items += 1
        return refused

    # --- orders ---------------------------------------------------------------------------

    def lines(self, order_id: int) -> list[dict[str, Any]]:
        return [
            {
                "Item": line["erp_item"],
                "Description": line["line_description"],
                "Quantity": line["quantity"],
                "Price": line["unit_price"],
            }
            for line in rows(
                self.con,
                "SELECT erp_item, line_description, quantity, unit_price "
                "FROM intermediate.int_sales_order_lines_planned WHERE order_id = ? "
                "AND line_action <> 'skip' ORDER BY line_order",
                [order_id],
            )
        ]

    def create(self, row: dict) -> None:
        order = row["order_id"]
        fields = {
            "CustomerNumber": row["customer_number"],
            "BillToNumber": row["bill_to_number"],
            "ShipToNumber": row["ship_to_number"],
            "OnHoldCode": row["planned_hold_code"],
            "Date": row["order_date"].isoformat() if row["order_date"] else None,
            **keyed_fields(row, self.settings.key_in),
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        changes = {name: (None, value) for name, value in fields.items()}
        changes["lines"] = (None, row["planned_lines_text"])
        changes["total"] = (None, row["planned_total"])
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        key = {"order": order, "since": since}
        write = Write(
            "eautomate",
            "create-sales-order",
            f"sales order [CW SO #{order}]",
            order_label(row),
            changes,
            money=Decimal(row["planned_total"]),
            key=key,
        )
        body = {**fields, "Details": self.lines(order)}

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "connectwise",
                "sales_orders",
                order,
                "order-create-rejected",
                f"e-automate refused the order for {order_label(row)}: {exc.message}",
                "Correct what e-automate names (the customer or an item); the next run makes "
                "the order.",
                label=order_label(row),
            )

        tried: list[bool] = []

        def find() -> str | None:  # before the first send, the step's one lookup will do
            return self.find_order(key) if tried else self.looked_up(key)

        def send() -> str:
            tried.append(True)
            return self.ea.save_sales_order(body)["SONumber"]

        made = self.pusher.create(write, find=find, send=send, refused=refused)
        if made is None:
            if self.pusher.plan:
                self.write_field(row, "(the new order's number)")  # what the run writes
            else:
                self.pushed.failed += 1
            return
        self.pushed.created += made.created
        self.pushed.adopted += not made.created
        self.link(order, made.key, "made by crosswalk" if made.created else "found by its key")
        if not made.created:  # one a lost answer made: the next run's diff decides
            return
        self.check_money(row, made.key)
        self.write_field(row, made.key)

    def update(self, row: dict) -> None:
        number = row["so_number"]
        changes: dict[str, tuple[Any, Any]] = {
            "lines": (row["current_lines_text"], row["planned_lines_text"]),
            "total": (row["current_total"], row["planned_total"]),
        }
        body: dict[str, Any] = {"SONumber": number, "Details": self.lines(row["order_id"])}
        if row["planned_hold_code"] and not row["erp_hold_code"]:
            body["OnHoldCode"] = row["planned_hold_code"]
            changes["OnHoldCode"] = (None, row["planned_hold_code"])
        elif row["is_hold_stale"]:  # the error-item hold, no longer needed: released
            body["OnHoldCode"] = row["planned_hold_code"] or ""
            changes["OnHoldCode"] = (row["erp_hold_code"], row["planned_hold_code"])
        moved = Decimal(row["planned_total"]) - Decimal(row["current_total"] or 0)
        write = Write(
            "eautomate",
            "update-sales-order",
            f"sales order {number}",
            order_label(row),
            changes,
            money=moved,
        )

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "connectwise",
                "sales_orders",
                row["order_id"],
                "order-update-rejected",
                f"e-automate refused the changes of order {number} for {order_label(row)}: "
                f"{exc.message}",
                "Correct what e-automate names (an item, the order's status); the next run "
                "sends the changes again.",
                label=order_label(row),
            )

        sent = self.pusher.update(write, lambda: self.ea.save_sales_order(body), refused=refused)
        if sent.outcome == "failed":
            self.pushed.failed += 1
            return
        self.pushed.updated += sent.outcome != "planned"
        self.check_money(row, number)

    def check_money(self, row: dict, number: str) -> None:
        """Read the order back: its total must be the PSA order's billable total."""
        if self.pusher.plan:
            return
        order = self.ea.sales_order(number)
        erp = sum(
            (
                Decimal(str(line["Quantity"])) * Decimal(str(line.get("Price") or 0))
                for line in order.get("Details") or []
            ),
            Decimal(0),
        ).quantize(CENT)
        psa = Decimal(row["planned_total"]).quantize(CENT)
        self.checked_orders.add(number)
        if erp == psa:
            self.pushed.in_agreement += 1
            return
        self.pushed.mismatched += 1
        self.run.failures.add(
            data_failure(
                "eautomate",
                "sales_orders",
                number,
                "order-amount-mismatch",
                f"ERP order {number} ({order_label(row)}) adds up to {erp}; the PSA order bills "
                f"{psa} (difference {erp - psa})",
                "Compare the order's lines in e-automate with the PSA order's; a price e-automate "
                "changed (a price level, a rounding) must be corrected where it is wrong.",
                label=f"sales order {number}",
            )
        )

    def link(self, order_id: int, number: str, note: str) -> None:
        """The pair in ``sync.links`` (kind ``sales-order``), where every flow keeps the
        records it made or found in both systems."""
        if self.pusher.plan:
            return
        with self.pusher.transaction() as con:
            decisions.link_sales_order(con, order_id, number, made_by="crosswalk",
                                       note=f"ERP order {note}",
                                       run_id=self.run.id)  # fmt: skip
        self.pushed.links += 1

    def write_field(self, row: dict, number: str) -> None:
        """The ERP order number into the PSA order's custom field (the whole list goes)."""
        caption = self.settings.order_number_field
        current = json.loads(row["custom_fields"] or "[]")
        fields = [f for f in current if f.get("caption") != caption]
        mine = next(
            (f for f in current if f.get("caption") == caption),
            {"caption": caption, "type": "Text", "entryMethod": "EntryField"},
        )
        fields.append({**mine, "value": number})
        write = Write(
            "connectwise",
            "set-order-field",
            f"sales order {row['order_id']}",
            order_label(row),
            {caption: (row["order_number_field"], number)},
        )
        sent = self.pusher.update(
            write,
            lambda: self.cw.patch(ORDERS, row["order_id"], {"customFields": fields}),
            refused=lambda exc: data_failure(
                "connectwise",
                "sales_orders",
                row["order_id"],
                "order-field-rejected",
                f"ConnectWise refused {caption} = {number} on {order_label(row)}: {exc.message}",
                f"Add the custom field {caption} (text) to sales orders in ConnectWise; the "
                "next run writes it.",
                label=order_label(row),
            ),
            lands=connectwise.sales_orders,
        )
        if sent.outcome == "failed":
            self.pushed.failed += 1
        else:
            self.pushed.fields += sent.outcome != "planned"


@task(cache_policy=NO_CACHE)
def push_sales_orders(run: Run, cw: ConnectWise, ea: EAutomate) -> Pushed:
    """Every write of the sales-order sync, in order: what waits and the error-item lines
    reported, items made from templates, orders made and updated (each read back), the
    ERP order number written back."""
    with Pusher.open(run) as pusher:
        push = SalesOrderPush(pusher, cw, ea)
        push.recover()
        found = rows(pusher.con, "SELECT * FROM marts.sales_order_sync ORDER BY order_id")
        push.waiting([r for r in found if r["action"] == "waiting"])
        push.line_findings()
        writing = [r for r in found if r["action"] in ("create", "update")]
        refused = push.items([r["order_id"] for r in writing])
        needs = _items_needed(pusher, [r["order_id"] for r in writing]) if refused else {}
        for row in pusher.each(found, "orders"):
            if (
                row["action"] in ("create", "update")
                and needs.get(row["order_id"], set()) & refused
            ):
                push.pushed.failed += 1  # its item was refused, reported on the item
                continue
            if row["action"] == "create":
                push.create(row)
            elif row["action"] == "update":
                push.update(row)
            elif row["action"] == "final-changed":
                push.final_changed(row)
            if row["action"] in ("update", "in-sync", "final-changed"):
                if row["is_field_stale"]:
                    push.write_field(row, row["so_number"])
                if row["is_link_stale"]:
                    push.link(row["order_id"], row["so_number"], "found by its key")
    run.failures.looked_at("connectwise", "sales_orders", ORDER_CODES)
    run.failures.looked_at("connectwise", "companies", COMPANY_CODES)
    run.failures.looked_at("connectwise", "products", LINE_CODES)
    run.failures.looked_at("eautomate", "items", ITEM_CODES)
    run.failures.looked_at(
        "eautomate", "sales_orders", ERP_ORDER_CODES, record_ids=push.checked_orders
    )
    run.notes.append(money_moved(run))
    get_run_logger().info("sales-order pushes: %s; %s", push.pushed, run.notes[-1])
    return push.pushed


def _items_needed(pusher: Pusher, order_ids: list[int]) -> dict[int, set[str]]:
    needed: dict[int, set[str]] = defaultdict(set)
    for order_id, item in pusher.con.execute(
        "SELECT order_id, item_identifier FROM intermediate.int_sales_order_lines_planned "
        "WHERE line_action = 'create-item' AND list_contains(?, order_id)",
        [order_ids],
    ).fetchall():
        needed[order_id].add(item)
    return needed


def money_moved(run: Run) -> str:
    """``sales orders: 3 would be made or changed, +12,450.00``."""
    orders = [w for w in run.planned if w.action in ("create-sales-order", "update-sales-order")]
    total = sum((w.money for w in orders if w.money is not None), Decimal(0))
    verb = "would be made or changed" if run.plan else "made or changed"
    return f"sales orders: {len(orders)} {verb}, {total:+,.2f}"
