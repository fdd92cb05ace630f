"""The ERP as e-automate serves it: the world's truth rendered into schema ``eautomate``.

Runs after every other part (it reads ``world.*`` and ``connectwise.*``), draws from its own
streams (``random.Random(f"{seed}:erp_<part>")``) and never reads the clock, so the same seed
gives the same ERP. Date-times are the dealer's local time without offset (``ZONE``), as the
PublicAPI serves them; dates are ``YYYY-MM-DD``.

Storage contract (schema ``eautomate``): each record is the JSON the API serves (``doc``,
every field present, nulls included) beside the columns the emulator filters, orders and
joins on; ``last_update`` is the doc's ``LastUpdate`` as a TIMESTAMP (local time).

- ``customers(customer_id, customer_number, customer_name, parent_number, active,
  last_update, doc)``: every ``world.customers`` row; the doc holds no ``CustomProperties``,
  they live in ``custom_values`` (the emulator adds ``props`` to customers and contracts
  when it starts, each record's properties as it reads them: emulators/eautomate).
- ``custom_attributes(group_type, name, data_type, list_values)``: the configured properties
  per group type (Customer, Contract); ``custom_values(group_type, record_key, name, value)``,
  keyed by customer number or contract id: what the incumbent wrote (``ZCJ_CW_CompanyID``,
  ``ZCJ_CW_SiteAddressRecID``, ``ZCJ_SyncToCW`` exactly as ``world.customers`` says, and
  ``ZCJ_CW_AgreementID`` on most synced contracts), plus the dealer's own ``Industry``.
- ``codes(list_type, code, description, active)``: every code list, ``HoldCode`` (calls) and
  ``OnHoldCode`` (customers, sales orders) included.
- ``technicians(technician_number, last_update, doc)``, ``items(item_id, item, active,
  last_update, doc)``.
- ``contracts(contract_id, contract_number, customer_number, status, is_template,
  last_update, doc)`` with ``Details`` in the doc; ``contract_invoices(contract_id,
  invoice_number, doc)``.
- ``calls(call_number, customer_number, status_code, hold_code, technician_number,
  call_date, last_update, doc)`` with ``Labors`` and ``MaterialsUsed`` in the doc.
- ``sales_orders(so_number, customer_number, status, last_update, doc)``.

What the ERP holds, and its awkward parts:

- Templates (``world.contract_templates``): one ``**CW <type>`` contract per agreement type
  that has one, ``**CW Default`` (billing cycle blank) and ``**CW Network Monitor`` (meant
  for Net Monitoring, misnamed), all on the dealer's own customer, each with one
  ``**CWBase <name>`` line.
- Contracts the incumbent made from agreement invoices (ID964): ``CW-<agreement id>-01``
  for 90% of the agreements of a customer that syncs with at least one invoice, and for
  every agreement whose ``ZCJ_ContractNumber`` names its own contract (right or wrong
  revision); from the type's template, else from ``**CW Default``. A base line plus one
  line per addition whose product the ERP has, at its billed quantity (0 when zero-billed,
  so its amount is 0). ``BillToNumber`` is the agreement's bill-to customer. One contract
  invoice per PSA invoice, its ``PONumber`` the PSA invoice number; the contract's
  ``PONumber`` is the latest PSA invoice it took. Quotas (world.cases): 5% lack
  ``ZCJ_CW_AgreementID``; 3% of those of Active agreements are Terminated before the
  latest PSA invoice; 20% of those of cancelled or expired agreements still show Active;
  of the live monthly ones last invoiced in December, 5% were billed for December before
  the sync took that invoice (their December invoice carries November's PSA number and
  amount, the contract too) and 10% were also billed for January, which the PSA has not
  invoiced yet. Agreements named by a ``ZCJ_ContractNumber`` carry none of these.
- The dealer's own copier-service contracts (``CN<n>-<rev>``, about 30% as many as
  agreements), no agreement behind them; a term that ended was renewed into revision -02.
- Service calls: 35% of the closed service tickets with time whose customer syncs and whose
  technicians are all mapped (ID965), and every ticket ``world.synced_tickets`` names (for
  the customer of the company it had then, with the call status it gives),
  ``Description`` starting ``[CW #<ticket id>]``, one labor per time entry booked before the
  call (``Remarks`` the entry's notes, no time-entry key) and the ``CW-SERVICE`` item; a
  call is Invoiced once its ticket closed 20 days before the anchor (world.cases
  ``ticket_synced_by_incumbent``); plus the dealer's own equipment calls
  (a quarter as many as tickets), open ones on hold for customers on hold or waiting parts.
  Call numbers ascend in creation order across both. After them, the open calls the dealer
  opened to be worked in the PSA (ID912): DISPATCH and METER calls, no ticket yet, for
  plainly mapped customers and for customers without a PSA company (world.cases
  ``call_for_psa``, ``call_for_psa_unmapped``). Hold code ``CW`` ("Sent to ConnectWise")
  is the one a call goes on once it was tried.
- Items: the world's items, plus expense items (one an expense twin of an inventory item),
  one discontinued item and ``CW-FIXEDFEE``, the non-inventory (``nonstock``) part fixed-fee
  project billing goes on.
- Items also: the sales-order sync's item templates ``**CWItem <product type>`` (inactive;
  ``**CWItem Security`` has no codes) and the error item ``**CWError``.
- Sales orders: 70% of the PSA orders of customers that sync (ID966), ``Description``
  opening with ``[CW SO #<order id>]`` (the incumbent's key), held when the customer is on
  hold and the order open; lines for products the ERP has.
"""

from __future__ import annotations

import heapq
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa

from . import names
from .agreements import LINK_CASES, contract_number
from .cases import quota
from .catalog import DEFAULT_TEMPLATE
from .common import ANCHOR_TS, DAY, HOUR, MINUTE, START_TS, money, month_start, stream
from .service import MODELS
from .store import Rows, Store

ZONE = "America/New_York"
_TZ = ZoneInfo(ZONE)

DDL = [
    "CREATE SCHEMA eautomate",
    """CREATE TABLE eautomate.customers (customer_id BIGINT NOT NULL,
        customer_number VARCHAR NOT NULL, customer_name VARCHAR NOT NULL,
        parent_number VARCHAR, active BOOLEAN NOT NULL, last_update TIMESTAMP NOT NULL,
        doc VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.custom_attributes (group_type VARCHAR NOT NULL,
        name VARCHAR NOT NULL, data_type VARCHAR NOT NULL, list_values VARCHAR)""",
    """CREATE TABLE eautomate.custom_values (group_type VARCHAR NOT NULL,
        record_key VARCHAR NOT NULL, name VARCHAR NOT NULL, value VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.codes (list_type VARCHAR NOT NULL, code VARCHAR NOT NULL,
        description VARCHAR NOT NULL, active BOOLEAN NOT NULL)""",
    """CREATE TABLE eautomate.technicians (technician_number VARCHAR NOT NULL,
        last_update TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.items (item_id BIGINT NOT NULL, item VARCHAR NOT NULL,
        active BOOLEAN NOT NULL, last_update TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.contracts (contract_id BIGINT NOT NULL,
        contract_number VARCHAR NOT NULL, customer_number VARCHAR NOT NULL,
        status VARCHAR NOT NULL, is_template BOOLEAN NOT NULL,
        last_update TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.contract_invoices (contract_id BIGINT NOT NULL,
        invoice_number VARCHAR NOT NULL, doc VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.calls (call_number VARCHAR NOT NULL,
        customer_number VARCHAR NOT NULL, status_code VARCHAR NOT NULL, hold_code VARCHAR,
        technician_number VARCHAR, call_date TIMESTAMP NOT NULL,
        last_update TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)""",
    """CREATE TABLE eautomate.sales_orders (so_number VARCHAR NOT NULL,
        customer_number VARCHAR NOT NULL, status VARCHAR NOT NULL,
        last_update TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)""",
]

TEXT, BIG, FLAG, STAMP = pa.string(), pa.int64(), pa.bool_(), pa.timestamp("us")

# (group type, name, data type, list values)
ATTRIBUTES = (
    ("Customer", "ZCJ_SyncToCW", "yesno", None),
    ("Customer", "ZCJ_CW_CompanyID", "text", None),
    ("Customer", "ZCJ_CW_SiteAddressRecID", "text", None),
    ("Customer", "Industry", "list", ("Education", "Healthcare", "Legal", "Manufacturing",
                                      "Retail", "Government", "Professional Services")),
    ("Customer", "CreditLimit", "number", None),
    ("Contract", "ZCJ_CW_AgreementID", "text", None),
    ("Contract", "ZCJNextReviewDue", "date", None),
)  # fmt: skip
# ERP-only code lists (the world's own lists are in world.codes).
CODES = {
    "CallType": (("REPAIR", "Repair"), ("PM", "Preventive maintenance"), ("INSTALL", "Install"),
                 ("SUPPLY", "Supplies"), ("IT", "IT support"), ("ALERT", "Monitoring alert"),
                 ("DISPATCH", "Dispatched to IT"), ("METER", "Meter-driven service")),
    "CallStatus": tuple((s, s) for s in ("Pending", "Scheduled", "Dispatched", "Complete",
                                         "Cleared", "OKToInvoice", "Invoiced", "Canceled")),
    "BillCode": (("CONTRACT", "Covered by contract"), ("T&M", "Time and materials"),
                 ("WARRANTY", "Warranty"), ("NOCHARGE", "No charge")),
    "ActivityCode": (("LABOR", "Labor"), ("REMOTE", "Remote support"), ("ONSITE", "Onsite"),
                     ("TRAVEL", "Travel"), ("AFTERHRS", "After hours"), ("PROJECT", "Project")),
    "SalesCode": (("EQUIP", "Equipment sales"), ("SUPPLIES", "Supplies sales"),
                  ("IT", "IT products"), ("SERVICE", "Service revenue"),
                  ("CONTRACT", "Contract revenue"), ("FREIGHT", "Freight")),
    "InventoryCode": (("INV-EQ", "Equipment inventory"), ("INV-SUP", "Supplies inventory"),
                      ("INV-IT", "IT inventory")),
    "ExpenseCode": (("EXP-FRT", "Freight expense"), ("EXP-SW", "Software expense"),
                    ("EXP-SUP", "Supplies expense")),
    "HoldCode": (("CH", "Credit Hold"), ("WP", "Waiting for Parts"), ("PA", "Parts Available"),
                 ("BadSync", "Bad data from a remote client"), ("WAuth", "Waiting Authorization"),
                 ("CW", "Sent to ConnectWise")),
    "OnHoldCode": (("CH", "Credit Hold"), ("WAuth", "Waiting Authorization"),
                   ("BadSync", "Bad data from a remote client")),
    "TerminationCode": (("CANCEL", "Cancelled by customer"), ("NONPAY", "Non-payment"),
                        ("REPLACED", "Replaced by a new contract")),
}  # fmt: skip
WORLD_LISTS = {"OnHold": None}  # world.codes list types the ERP keeps under another name
# Items only the ERP has: (item, description, kind, sales code, inventory, expense, active).
EXTRA_ITEMS = (
    ("FRT-IN", "Inbound freight", "expense", "FREIGHT", None, "EXP-FRT", True),
    ("SW-RESALE", "Software resale (expensed)", "expense", "IT", None, "EXP-SW", True),
    ("CAT6-1000-E", "Cat6 Cable 1000ft (expensed)", "expense", "IT", None, "EXP-SUP", True),
    ("MX-2640", "Sharp MX-2640 Color MFP (discontinued)", "inventory", "EQUIP", "INV-EQ", None,
     False),
)  # fmt: skip
# The non-inventory part a fixed-fee project's fee (or a phase's invoiced amount) is billed
# with on its service call (the service sync's ``fixed_fee_item``); added last, so the other
# items keep their ids and draws.
FIXED_FEE_ITEM = ("CW-FIXEDFEE", "ConnectWise fixed fee (project billing)", "nonstock",
                  "SERVICE", None, None, True)  # fmt: skip
# Item templates of the sales-order sync (seed 004: an inventory or expense code and a sales
# code each), inactive so they are never sold; **CWItem Security lacks its codes. And the
# error item a line gets when its item cannot be made. Added after CW-FIXEDFEE, so the other
# items keep their ids and draws.
ITEM_TEMPLATES = (
    ("**CWItem Hardware", "CW item template: Hardware", "inventory", "EQUIP", "INV-EQ", None,
     False),
    ("**CWItem Consumables", "CW item template: Consumables", "inventory", "SUPPLIES", "INV-SUP",
     None, False),
    ("**CWItem Networking", "CW item template: Networking", "inventory", "IT", "INV-IT", None,
     False),
    ("**CWItem Software", "CW item template: Software", "expense", "IT", None, "EXP-SW", False),
    ("**CWItem Security", "CW item template: Security", "nonstock", None, None, None, False),
)  # fmt: skip
ERROR_ITEM = ("**CWError", "Sales order sync: item could not be made (see the report)",
              "expense", "SUPPLIES", None, "EXP-SUP", True)  # fmt: skip
ACTIVITY = {"Remote": "REMOTE", "Onsite": "ONSITE", "Travel": "TRAVEL", "After Hours": "AFTERHRS",
            "Project": "PROJECT"}  # fmt: skip
CALL_TYPES = {"Help Desk": "IT", "Field Service": "REPAIR", "Managed Print": "SUPPLY",
              "Alerts": "ALERT"}  # fmt: skip
SO_STATUS = {"New": "Open", "Ordered": "Open", "Received": "Open", "Delivered": "Shipped",
             "Closed": "Invoiced", "Cancelled": "Canceled"}  # fmt: skip
PROBLEMS = ("Paper jam in tray {n}", "Streaks on copies", "Error code SC{code}",
            "Grinding noise from fuser", "Will not scan to e-mail", "Toner not recognised",
            "Meter reading request", "Preventive maintenance visit")  # fmt: skip
SALES_REPS = ("S01", "S02", "S03", "S04", "S05")
FIRST_CONTRACT_ID = 1
FIRST_CALL_NUMBER = 100001
FIRST_INVOICE_NUMBER = 500001


def local(ts: int) -> datetime:
    """Epoch seconds (UTC) as the dealer's wall-clock time, naive."""
    return datetime.fromtimestamp(ts, _TZ).replace(tzinfo=None)


def text(ts: int | None) -> str | None:
    return None if ts is None else local(ts).isoformat()


def day(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def epoch(value: str | None) -> int | None:
    """A PSA date-time (``2025-10-01T00:00:00Z``) as epoch seconds."""
    if not value:
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def dumps(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _writer(store: Store, table: str, *columns: tuple[str, pa.DataType]) -> Rows:
    return Rows(store.con, f"eautomate.{table}", pa.schema(list(columns)))


def build(seed: int, scale, store: Store) -> None:
    """Render the ERP into schema ``eautomate`` from the tables already written."""
    store.flush()
    for statement in DDL:
        store.con.execute(statement).fetchall()
    customers = _customers(stream(seed, "erp_customers"), store)
    _codes_and_attributes(store)
    _technicians(store)
    items = _items(stream(seed, "erp_items"), store)
    contracts = _contracts(stream(seed, "erp_contracts"), scale, store, customers, items)
    _calls(stream(seed, "erp_calls"), scale, store, customers, contracts)
    _sales_orders(stream(seed, "erp_sales_orders"), store, customers, items)


@dataclass(slots=True)
class ErpCustomer:
    number: str
    parent: str | None
    active: bool
    on_hold: bool
    sync: bool
    customer_type: str
    created: int


@dataclass
class Customers:
    by_number: dict[str, ErpCustomer]
    by_company: dict[int, str]  # PSA company id -> parent customer number (syncing ones)
    by_site: dict[int, str]  # PSA site id -> location number
    dealer: str


def _customers(rng: random.Random, store: Store) -> Customers:
    rows = store.con.execute(
        """
        SELECT c.customer_id, c.customer_number, p.customer_number, c.name, c.address1,
               c.address2, c.city, c.state, c.zip, c.country, c.phone, c.fax, c.email,
               c.website, c.customer_type, c.branch, c.territory, c.is_active, c.on_hold,
               c.hold_code, b.customer_number, c.sync_to_cw, c.sync_to_cw_property,
               c.cw_company_id, c.cw_site_id, c.cw_company_id_property,
               c.cw_site_id_property, epoch(c.created_at)::BIGINT, epoch(c.last_update)::BIGINT
        FROM world.customers c
        LEFT JOIN world.customers p ON p.customer_id = c.parent_customer_id
        LEFT JOIN world.customers b ON b.customer_id = c.bill_to_customer_id
        ORDER BY c.customer_id
        """
    ).fetchall()
    table = _writer(store, "customers", ("customer_id", BIG), ("customer_number", TEXT),
                    ("customer_name", TEXT), ("parent_number", TEXT), ("active", FLAG),
                    ("last_update", STAMP), ("doc", TEXT))  # fmt: skip
    values = _values_writer(store)
    found = Customers({}, {}, {}, rows[0][1])
    industries = ATTRIBUTES[3][3]
    for row in rows:
        (customer_id, number, parent, name, address1, address2, city, state, zip_, country,
         phone, fax, email, website, kind, branch, territory, active, on_hold, hold_code,
         bill_to, sync, sync_property, company_id, site_id, company_property, site_property,
         created, updated) = row  # fmt: skip
        doc = {
            "CustomerNumber": number,
            "CustomerName": name,
            "ParentLocationNumber": parent,
            "BillToNumber": bill_to,
            "MailToNumber": parent if parent and rng.random() < 0.15 else None,
            "Attn": rng.choice(("Accounts Payable", "Office Manager")) if rng.random() < 0.2
            else None,
            "Address": f"{address1}\n{address2}" if address2 else address1,
            "City": city,
            "State": state,
            "Zip": zip_,
            "Country": country,
            "Phone1": phone,
            "Phone2": None,
            "Fax": fax,
            "Email": email,
            "WebSite": website,
            "Active": active,
            "Prospect": False,
            "OnHold": on_hold,
            "OnHoldCode": hold_code,
            "CustomerTypeCode": kind,
            "BranchNumber": branch,
            "TerritoryCode": territory,
            "SalesRep": rng.choice(SALES_REPS) if rng.random() < 0.7 else None,
            "Remarks": None,
            "CreateDate": text(created),
            "LastUpdate": text(updated),
        }  # fmt: skip
        table.add(customer_id, number, name, parent, active, local(updated), dumps(doc))
        for key, value in (
            ("ZCJ_SyncToCW", sync_property),
            ("ZCJ_CW_CompanyID", company_property),
            ("ZCJ_CW_SiteAddressRecID", site_property),
        ):
            if value is not None:
                values.add("Customer", number, key, value)
        if parent is None and rng.random() < 0.4:
            values.add("Customer", number, "Industry", rng.choice(industries))
        found.by_number[number] = ErpCustomer(number, parent, active, on_hold, sync, kind, created)
        if company_id is not None and sync:
            found.by_company[company_id] = number
        if site_id is not None:
            found.by_site[site_id] = number
    table.flush()
    values.flush()
    return found


def _values_writer(store: Store) -> Rows:
    return _writer(store, "custom_values", ("group_type", TEXT), ("record_key", TEXT),
                   ("name", TEXT), ("value", TEXT))  # fmt: skip


def _codes_and_attributes(store: Store) -> None:
    rows = [
        ("OnHoldCode" if list_type == "OnHold" else list_type, code, description, True)
        for list_type, code, description in store.con.execute(
            "SELECT list_type, code, description FROM world.codes ORDER BY ALL"
        ).fetchall()
        if list_type != "OnHold"
    ]
    rows += [(kind, code, description, True) for kind, codes in CODES.items()
             for code, description in codes]  # fmt: skip
    store.table(
        "eautomate.codes",
        sorted(rows),
        pa.schema([("list_type", TEXT), ("code", TEXT), ("description", TEXT), ("active", FLAG)]),
    )
    store.table(
        "eautomate.custom_attributes",
        [(g, n, t, json.dumps(v) if v else None) for g, n, t, v in ATTRIBUTES],
        pa.schema(
            [("group_type", TEXT), ("name", TEXT), ("data_type", TEXT), ("list_values", TEXT)]
        ),
    )


def _technicians(store: Store) -> None:
    table = _writer(
        store, "technicians", ("technician_number", TEXT), ("last_update", STAMP), ("doc", TEXT)
    )
    for number, first, last, email, active, updated in store.con.execute(
        "SELECT technician_number, first_name, last_name, email, is_active,"
        " epoch(last_update)::BIGINT FROM world.technicians ORDER BY technician_id"
    ).fetchall():
        doc = {
            "TechnicianNumber": number,
            "FirstName": first,
            "LastName": last,
            "Email": email,
            "Active": active,
            "LastUpdate": text(updated),
        }
        table.add(number, local(updated), dumps(doc))
    table.flush()


def _items(rng: random.Random, store: Store) -> set[str]:
    rows = []
    for number, description, kind, serialized, active in store.con.execute(
        "SELECT item_number, description, item_kind, serialized, is_active FROM world.items"
    ).fetchall():
        if number.startswith("**CWBase"):
            codes = ("CONTRACT", None, None)
        elif kind == "inventory":
            family = "EQ" if serialized else "IT" if number in ("LAT5450", "OPT7020") else "SUP"
            codes = ("EQUIP" if serialized else "SUPPLIES", f"INV-{family}", None)
        else:
            codes = ("IT" if number.startswith("M365") else "SERVICE", None, None)
        rows.append((number, description, kind, *codes, active))
    rows += [tuple(item) for item in EXTRA_ITEMS]
    rows.append(FIXED_FEE_ITEM)
    rows += [*ITEM_TEMPLATES, ERROR_ITEM]
    table = _writer(store, "items", ("item_id", BIG), ("item", TEXT), ("active", FLAG),
                    ("last_update", STAMP), ("doc", TEXT))  # fmt: skip
    for item_id, (number, description, kind, sales, inventory, expense, active) in enumerate(
        rows, start=1
    ):
        created = START_TS - rng.randint(30, 900) * DAY
        updated = rng.randint(created, ANCHOR_TS - 30 * DAY)
        doc = {
            "ItemID": item_id,
            "Item": number,
            "Description": description,
            "ItemKind": kind,
            "SalesCode": sales,
            "InventoryCode": inventory,
            "ExpenseCode": expense,
            "Active": active,
            "CreateDate": text(created),
            "LastUpdate": text(updated),
        }
        table.add(item_id, number, active, local(updated), dumps(doc))
        if number.startswith("**CWBase "):
            store.case("item_template", "eautomate", "items", item_id)
        elif number == FIXED_FEE_ITEM[0]:
            store.case("item_fixed_fee", "eautomate", "items", item_id)
        elif number.startswith("**CWItem "):
            store.case("item_template_sales" if sales else "item_template_without_codes",
                       "eautomate", "items", item_id)  # fmt: skip
        elif number == ERROR_ITEM[0]:
            store.case("item_error", "eautomate", "items", item_id)
    table.flush()
    return {row[0] for row in rows}


@dataclass(slots=True)
class Plan:
    """A contract about to be numbered: created at ``created``, written by ``write``."""

    created: int
    number: str
    customer: str
    doc: dict
    properties: tuple[tuple[str, str], ...] = ()
    invoices: tuple[tuple[int, dict], ...] = ()  # (invoice date, doc without number)
    is_template: bool = False
    cases: tuple[str, ...] = ()  # world.cases rows, once the contract has its id


@dataclass(slots=True)
class Billed:
    """An agreement the incumbent made a contract for (ID964), as the PSA shows it."""

    id: int
    kind: str
    customer: str
    bill_to: str
    status: str
    start: str | None
    end: str | None
    amount: float
    cycle: str | None
    invoices: list[tuple[str, int, str, float]]  # PSA (number, date, period, total)


def _contracts(
    rng: random.Random, scale, store: Store, customers: Customers, items: set[str]
) -> dict[int, str]:
    """Templates, the incumbent's contracts and the dealer's own; returns agreement id ->
    contract number of the contracts made from agreements."""
    plans: list[Plan] = []
    templates: dict[str | None, tuple[str, str, str]] = {}  # agreement type -> template
    for number, kind, base, contract_type, cycle in store.con.execute(
        "SELECT contract_number, agreement_type, base_item_number, contract_type,"
        " billing_cycle FROM world.contract_templates ORDER BY contract_number"
    ).fetchall():
        label = kind or number.removeprefix("**CW ")
        doc = _contract_doc(number, customers.dealer, contract_type, "Active", None, None, cycle,
                            0.0, None, "Contract template", None,
                            [(base, f"{label} base rate", 1.0, 0.0)])  # fmt: skip
        if kind is not None:
            case = "contract_template"
            templates[kind] = (number, base, contract_type)
        elif number == DEFAULT_TEMPLATE:
            case = "contract_template_default"
            templates[None] = (number, base, contract_type)
        else:
            case = "contract_template_misnamed"
        plans.append(Plan(START_TS - 3 * 365 * DAY, number, customers.dealer, doc,
                          is_template=True, cases=(case,)))  # fmt: skip
    billed = _billed(rng, store, customers)
    plans += _incumbent_contracts(rng, store, billed, templates, items)
    kinds = {kind: code for kind, (_, _, code) in templates.items() if kind is not None}
    plans += _own_contracts(rng, scale, customers, kinds)
    plans.sort(key=lambda plan: (plan.created, plan.number))

    table = _writer(store, "contracts", ("contract_id", BIG), ("contract_number", TEXT),
                    ("customer_number", TEXT), ("status", TEXT), ("is_template", FLAG),
                    ("last_update", STAMP), ("doc", TEXT))  # fmt: skip
    billing = _writer(store, "contract_invoices", ("contract_id", BIG),
                      ("invoice_number", TEXT), ("doc", TEXT))  # fmt: skip
    values = _values_writer(store)
    detail_id, invoice_number = 1, FIRST_INVOICE_NUMBER
    for contract_id, plan in enumerate(plans, start=FIRST_CONTRACT_ID):
        doc = {"ContractID": contract_id, **plan.doc}
        if plan.is_template:
            doc["CreateDate"] = doc["LastUpdate"] = text(plan.created)
        for line in doc["Details"]:
            line["DetailID"] = detail_id
            detail_id += 1
        updated = datetime.fromisoformat(doc["LastUpdate"])
        table.add(contract_id, plan.number, plan.customer, doc["Status"], plan.is_template,
                  updated, dumps(doc))  # fmt: skip
        for name, value in plan.properties:
            values.add("Contract", str(contract_id), name, value)
        for when, invoice in sorted(plan.invoices, key=lambda pair: pair[0]):
            number = f"IN{invoice_number}"
            invoice_number += 1
            invoice = {"InvoiceNumber": number, **invoice, "InvoiceDate": day(when)}
            billing.add(contract_id, number, dumps(invoice))
        for case in plan.cases:
            store.case(case, "eautomate", "contracts", contract_id)
    for writer in (table, billing, values):
        writer.flush()
    return {
        int(p.number.split("-")[1]): p.number
        for p in plans
        if p.number.startswith("CW-") and not p.is_template
    }


def _billed(rng: random.Random, store: Store, customers: Customers) -> list[Billed]:
    """The agreements the incumbent made contracts for: 90% of those of a customer that
    syncs with at least one invoice, and every one whose ZCJ_ContractNumber names its own
    contract (the PSA was promised, emulators/world/agreements.py)."""
    con = store.con
    invoices: dict[int, list[tuple]] = {}
    for agreement_id, number, date, reference, total in con.execute(
        """SELECT json_extract(doc, '$.applyToId')::BIGINT, doc->>'$.invoiceNumber',
                  doc->>'$.date', doc->>'$.reference', (doc->>'$.total')::DOUBLE
           FROM connectwise.invoices WHERE doc->>'$.type' = 'Agreement' ORDER BY id"""
    ).fetchall():
        invoices.setdefault(agreement_id, []).append((number, epoch(date), reference, total))
    promised = _cased(store, LINK_CASES[:2])
    found = []
    for (agreement_id, kind, company_id, payer_id, status, start, end, amount,
         cycle) in con.execute(
        """SELECT id, doc->>'$.type.name', json_extract(doc, '$.company.id')::BIGINT,
                  json_extract(doc, '$.billToCompany.id')::BIGINT, doc->>'$.agreementStatus',
                  doc->>'$.billStartDate', doc->>'$.endDate', (doc->>'$.billAmount')::DOUBLE,
                  doc->>'$.billingCycle.name'
           FROM connectwise.agreements ORDER BY id"""
    ).fetchall():  # fmt: skip
        customer = customers.by_company.get(company_id)
        sent = invoices.get(agreement_id)
        if customer is None or not sent:
            continue
        if agreement_id not in promised and rng.random() >= 0.9:
            continue
        bill_to = customers.by_company.get(payer_id, customer)
        found.append(Billed(agreement_id, kind, customer, bill_to, status, start, end, amount,
                            cycle, sent))  # fmt: skip
    promised -= {b.id for b in found}
    if promised:
        raise RuntimeError(f"agreements name contracts the ERP never made: {sorted(promised)}")
    return found


def _incumbent_contracts(
    rng: random.Random,
    store: Store,
    billed: list[Billed],
    templates: dict[str | None, tuple[str, str, str]],
    items: set[str],
) -> list[Plan]:
    """``CW-<agreement id>-01`` per agreement the incumbent billed, with its awkward cases."""
    additions: dict[int, list[tuple]] = {}
    for agreement_id, item, description, quantity, price, cancelled, bill in store.con.execute(
        """SELECT parent_id, doc->>'$.product.identifier', doc->>'$.description',
                  (doc->>'$.billedQuantity')::DOUBLE, (doc->>'$.unitPrice')::DOUBLE,
                  doc->>'$.cancelledDate', doc->>'$.billCustomer'
           FROM connectwise.additions ORDER BY id"""
    ).fetchall():
        additions.setdefault(agreement_id, []).append(
            (item, description, quantity, price, epoch(cancelled), bill)
        )
    promised = _cased(store, LINK_CASES)
    free = [b for b in billed if b.id not in promised]
    live = [b for b in free if b.status == "Active"]
    ended = [b for b in billed if b.status != "Active"]
    terminated = _pick(rng, "contract_terminated_agreement_live", live)
    still_active = _pick(rng, "contract_active_agreement_ended", ended)
    unlinked = _pick(
        rng,
        "contract_without_agreement_property",
        [b for b in free if b.id not in terminated],
        len(billed),
    )
    december = month_start(ANCHOR_TS, -1)
    monthly = [
        b
        for b in live
        if b.id not in terminated
        and b.cycle == "Monthly"
        and len(b.invoices) >= 2
        and b.invoices[-1][1] == december
    ]
    before_sync = _pick(rng, "contract_invoiced_before_sync", monthly)
    ahead = _pick(
        rng, "contract_billed_ahead", [b for b in monthly if b.id not in before_sync], len(monthly)
    )

    plans = []
    for agreement in billed:
        template, base, contract_type = templates.get(agreement.kind, templates[None])
        first = agreement.invoices[0][1]
        created = first + rng.randint(1, 36) * HOUR
        cases = ["contract_linked_to_agreement" if agreement.id not in unlinked
                 else "contract_without_agreement_property"]  # fmt: skip
        if template == templates[None][0]:
            cases.append("contract_from_default_template")
        status = agreement.status
        if agreement.id in still_active:
            status = "Active"
            cases.append("contract_active_agreement_ended")
        lines = [(base, f"{agreement.kind} base rate", 1.0, agreement.amount)]
        for item, description, quantity, price, cancelled, bill in additions.get(agreement.id, []):
            if item in items and bill == "Billable" and (cancelled is None or cancelled > first):
                lines.append((item, description, quantity, price))
        synced = agreement.invoices  # the PSA invoices the incumbent brought into the contract
        stopped = None
        if agreement.id in terminated:
            # Terminated before the latest PSA invoice: the ERP stopped billing it.
            stopped = max(created + DAY, agreement.invoices[-1][1] - rng.randint(2, 10) * DAY)
            synced = [invoice for invoice in synced if invoice[1] < stopped]
            status = "Terminated"
            cases.append("contract_terminated_agreement_live")
        elif agreement.id in before_sync:
            synced = synced[:-1]
            cases.append("contract_invoiced_before_sync")
        contract_invoices = [
            (date + rng.randint(0, 2) * DAY, _invoice(reference, number, total, rng))
            for number, date, reference, total in synced
        ]
        po = synced[-1][0] if synced else None  # the incumbent writes the PSA invoice number
        if agreement.id in before_sync:
            # The ERP billed the latest month before the sync updated the contract, so the
            # invoice carries the previous PSA invoice's number and amount.
            _, date, reference, _ = agreement.invoices[-1]
            previous = {**_invoice(reference, po, synced[-1][3], rng), "Void": False}
            contract_invoices.append((date - rng.randint(0, 2) * DAY, previous))
        if agreement.id in ahead:
            # Billed January in advance: the PSA has not invoiced it yet.
            period = f"{day(ANCHOR_TS)} - {day(month_start(ANCHOR_TS, 1) - DAY)}"
            total = money(sum(q * r for _, _, q, r in lines))
            when = ANCHOR_TS - rng.randint(3, 10) * DAY
            contract_invoices.append((when, {**_invoice(period, po, total, rng), "Void": False}))
            cases.append("contract_billed_ahead")
        doc = _contract_doc(contract_number(agreement.id), agreement.customer, contract_type,
                            status, day(epoch(agreement.start)), day(epoch(agreement.end)),
                            agreement.cycle, agreement.amount, po,
                            f"ConnectWise agreement #{agreement.id}", template,
                            lines)  # fmt: skip
        doc["BillToNumber"] = agreement.bill_to
        if stopped is not None:
            doc["TerminationCode"] = rng.choice(("CANCEL", "REPLACED"))
        updated = max([created, stopped or created, *(date for date, _ in contract_invoices)])
        doc["CreateDate"], doc["LastUpdate"] = text(created), text(updated + HOUR)
        properties = (
            () if agreement.id in unlinked else (("ZCJ_CW_AgreementID", str(agreement.id)),)
        )
        plans.append(Plan(created, doc["ContractNumber"], agreement.customer, doc, properties,
                          tuple(contract_invoices), cases=tuple(cases)))  # fmt: skip
    return plans


def _cased(store: Store, names: tuple[str, ...]) -> set[int]:
    """The ids of the records carrying any of the cases ``names``."""
    rows = store.con.execute(
        "SELECT id FROM world.cases WHERE list_contains(?, case_name)", [list(names)]
    ).fetchall()
    return {id_ for (id_,) in rows}


def _pick(
    rng: random.Random, case: str, among: list[Billed], population: int | None = None
) -> set[int]:
    """The ids of ``among`` that carry ``case``: its quota of ``population`` (default: of
    ``among``), at most all of them."""
    size = quota(case, len(among) if population is None else population)
    return {b.id for b in rng.sample(among, min(size, len(among)))}


def _contract_doc(
    number: str,
    customer: str,
    kind: str,
    status: str,
    start: str | None,
    end: str | None,
    cycle: str | None,
    base_rate: float,
    po: str | None,
    remarks: str | None,
    template: str | None,
    lines: list[tuple[str, str, float, float]],
) -> dict:
    return {
        "ContractNumber": number,
        "CustomerNumber": customer,
        "BillToNumber": customer,
        "ContractType": kind,
        "Status": status,
        "IsTemplate": number.startswith("**"),
        "StartDate": start,
        "ExpDate": end,
        "BillingCycle": cycle,
        "BaseRate": base_rate,
        "PONumber": po,
        "Remarks": remarks,
        "TemplateNumber": template,
        "TerminationCode": None,
        "CreateDate": None,
        "LastUpdate": None,
        "Details": [
            {
                "DetailID": None,
                "LineNo": line_no,
                "Item": item,
                "Description": description,
                "Quantity": quantity,
                "Rate": rate,
                "Amount": money(quantity * rate),
            }
            for line_no, (item, description, quantity, rate) in enumerate(lines, start=1)
        ],
    }


def _invoice(period: str, po: str | None, total: float, rng: random.Random) -> dict:
    start, _, end = period.partition(" - ")
    return {
        "InvoiceDate": None,  # set from the plan's date when written
        "PeriodFrom": start,
        "PeriodTo": end,
        "PONumber": po,
        "Total": money(total),
        "Void": rng.random() < 0.02,
    }


def _own_contracts(
    rng: random.Random, scale, customers: Customers, type_codes: dict[str, str]
) -> list[Plan]:
    """The dealer's copier-service contracts: no agreement behind them."""
    eligible = sorted(
        c.number
        for c in customers.by_number.values()
        if c.active
        and c.customer_type in ("COPIER", "MPS", "MIXED")
        and c.number != customers.dealer
    )
    serviced = ("MX-3071", "IRC5535", "TA4053CI", "M608DN")
    plans = []
    for n in range(max(3, round(scale.agreements * 0.3))):
        customer = rng.choice(eligible)
        start = month_start(rng.randint(START_TS - 365 * DAY, ANCHOR_TS - 60 * DAY))
        term = rng.choice((12, 36))
        kind = type_codes["Copier Service" if rng.random() < 0.7 else "Managed Print"]
        lines = [
            (item := rng.choice(serviced), f"Service for {item} S/N {rng.randint(10**7, 10**8)}",
             1.0, float(rng.choice((25, 45, 60, 85, 120))))
            for _ in range(rng.randint(1, 3))
        ]  # fmt: skip
        revision, begin = 1, start
        while True:
            end = month_start(begin, term) - DAY
            renewed = end < ANCHOR_TS
            status = "Expired" if renewed else "Active"
            number = f"CN{7000 + n}-{revision:02d}"
            doc = _contract_doc(number, customer, kind, status, day(begin), day(end), "Monthly",
                                0.0, None, None, None, lines)  # fmt: skip
            billed_until = min(end, ANCHOR_TS - DAY)
            periods = [p for p in _months(begin, billed_until)][-scale.invoice_periods :]
            total = money(sum(q * r for _, _, q, r in lines))
            contract_invoices = tuple(
                (p + rng.randint(0, 3) * DAY,
                 _invoice(f"{day(p)} - {day(month_start(p, 1) - DAY)}", None, total, rng))
                for p in periods
            )  # fmt: skip
            created = begin - rng.randint(1, 20) * DAY
            updated = max([created, *(when for when, _ in contract_invoices)]) + HOUR
            if renewed:
                updated = max(updated, end + DAY)
            doc["CreateDate"], doc["LastUpdate"] = text(created), text(updated)
            plans.append(Plan(created, number, customer, doc, (), contract_invoices))
            if not renewed or revision == 2:
                break
            revision, begin = revision + 1, end + DAY
    return plans


def _months(start: int, until: int) -> list[int]:
    months, n = [], 0
    while (moment := month_start(start, n)) <= until:
        months.append(moment)
        n += 1
    return months


@dataclass(slots=True)
class Ticket:
    """What a synced call takes from its ticket."""

    id: int
    customer: str
    board: str
    summary: str
    caller: str | None
    po: str | None
    agreement: int | None
    owner: str | None
    entered: int
    closed: int
    status: str | None  # the call's status at the anchor, when a case says; else by date


def _calls(
    rng: random.Random,
    scale,
    store: Store,
    customers: Customers,
    contracts: dict[int, str],
) -> None:
    """Synced calls (from tickets) and the dealer's own, numbered in creation order."""
    con = store.con
    technicians = {
        number
        for (number,) in con.execute("SELECT technician_number FROM world.technicians").fetchall()
    }
    active_technicians = sorted(
        number
        for (number,) in con.execute(
            "SELECT technician_number FROM world.technicians WHERE is_active"
        ).fetchall()
    )
    by_member = {
        member: number
        for member, number in con.execute(
            "SELECT identifier, doc->>'$.employeeIdentifer' FROM ("
            " SELECT doc->>'$.identifier' AS identifier, doc FROM connectwise.members)"
        ).fetchall()
        if number in technicians
    }
    unmapped = _cased(store, ("ticket_unmapped_technician",))
    # The tickets the service cases need a call for: always synced, with the company they
    # had then (emulators/world/service.py).
    forced = {
        ticket: (company, status)
        for ticket, company, status in con.execute(
            "SELECT ticket_id, company_id, call_status FROM world.synced_tickets"
        ).fetchall()
    }
    synced: dict[int, Ticket] = {}
    # Streams read on a cursor of their own: the writers flush on the store's connection.
    query = con.cursor().execute(
        """SELECT id, json_extract_string(doc, ['$.company.id', '$.site.id', '$.board.name',
                  '$.summary', '$.contactName', '$.poNumber', '$.agreement.id',
                  '$.owner.identifier', '$._info.dateEntered', '$.closedDate'])
           FROM connectwise.tickets
           WHERE (doc->>'$.closedFlag')::BOOLEAN AND (doc->>'$.actualHours')::DOUBLE > 0
           ORDER BY id"""
    )
    while batch := query.fetchmany(50_000):
        for ticket_id, fields in batch:
            company, site, board, summary, caller, po, agreement, owner, entered, closed = fields
            company, status = forced.get(ticket_id, (int(company), None))
            customer = customers.by_company.get(company)
            closed_ts = epoch(closed)
            if (
                customer is None
                or ticket_id in unmapped
                or closed_ts > ANCHOR_TS - 2 * DAY
                or (rng.random() >= 0.35 and ticket_id not in forced)  # the same draws
            ):
                continue
            location = customers.by_site.get(int(site)) if site else None
            if location is not None and customers.by_number[location].parent == customer:
                customer = location
            synced[ticket_id] = Ticket(
                ticket_id, customer, board, summary, caller, po if po and len(po) <= 15 else None,
                int(agreement) if agreement else None, by_member.get(owner), epoch(entered),
                closed_ts, status,
            )  # fmt: skip
            store.case("ticket_synced_by_incumbent", "connectwise", "tickets", ticket_id)

    # The dealer's own equipment calls, planned in CallDate order.
    eligible = sorted(
        c.number
        for c in customers.by_number.values()
        if c.customer_type in ("COPIER", "MPS", "MIXED") and c.number != customers.dealer
    )
    total = max(5, round(scale.tickets * 0.25))
    own = []
    for i in range(total):
        called = START_TS + int((i + rng.random()) * (ANCHOR_TS - START_TS) / total)
        own.append((called + rng.randint(0, 20) * MINUTE, rng.choice(eligible), rng.random()))
    # Creation order: a synced call is made when its ticket syncs, after it closed.
    order = heapq.merge(
        ((called, 1, i) for i, (called, _, _) in enumerate(own)),
        sorted((t.closed + 3 * HOUR, 0, t.id) for t in synced.values()),
    )
    numbers: dict[tuple[int, int], str] = {}
    for n, (_, kind, key) in enumerate(order):
        numbers[(kind, key)] = str(FIRST_CALL_NUMBER + n)

    table = _writer(store, "calls", ("call_number", TEXT), ("customer_number", TEXT),
                    ("status_code", TEXT), ("hold_code", TEXT), ("technician_number", TEXT),
                    ("call_date", STAMP), ("last_update", STAMP), ("doc", TEXT))  # fmt: skip
    rates = {
        name: rate
        for name, rate in con.execute(
            "SELECT name, (doc->>'$.hourlyRate')::DOUBLE FROM connectwise.refs"
            " WHERE kind = 'work_role'"
        ).fetchall()
    }
    _synced_calls(rng, store, table, synced, numbers, by_member, rates, contracts)
    _own_calls(rng, table, own, numbers, customers, active_technicians)
    _calls_for_psa(rng, scale, store, table, customers,
                   FIRST_CALL_NUMBER + len(numbers))  # fmt: skip
    table.flush()


def _add_call(table: Rows, doc: dict) -> None:
    table.add(doc["CallNumber"], doc["CustomerNumber"], doc["StatusCode"], doc["HoldCode"],
              doc["TechnicianNumber"], datetime.fromisoformat(doc["CallDate"]),
              datetime.fromisoformat(doc["LastUpdate"]), dumps(doc))  # fmt: skip


def _call_doc(number: str, customer: str, **fields) -> dict:
    doc = {
        "CallNumber": number,
        "CustomerNumber": customer,
        "BillToNumber": customer,
        "ContractNumber": None,
        "CallType": None,
        "StatusCode": "Pending",
        "HoldCode": None,
        "BillCode": None,
        "Caller": None,
        "Description": None,
        "PONumber": None,
        "TechnicianNumber": None,
        "EquipmentNumber": None,
        "UseUnknownEquipment": False,
        "CallDate": None,
        "CloseDate": None,
        "Labors": [],
        "MaterialsUsed": [],
        "CreateDate": None,
        "LastUpdate": None,
    }
    doc.update(fields)
    return doc


def _synced_calls(
    rng: random.Random,
    store: Store,
    table: Rows,
    synced: dict[int, Ticket],
    numbers: dict[tuple[int, int], str],
    by_member: dict[str, str],
    rates: dict[str, float],
    contracts: dict[int, str],
) -> None:
    """One call per synced ticket, one labor per time entry, in ticket order."""
    reader = store.con.cursor()  # the table writer flushes on the store's connection
    chosen = pa.table({"ticket_id": pa.array(sorted(synced), type=BIG)})
    reader.register("_erp_synced", chosen)
    query = reader.execute(
        """SELECT e.ticket_id, list(e.fields ORDER BY e.id)
           FROM (SELECT id, json_extract(doc, '$.chargeToId')::BIGINT AS ticket_id,
                        json_extract_string(doc, ['$.member.identifier', '$.workType.name',
                            '$.workRole.name', '$.timeStart', '$.timeEnd', '$.actualHours',
                            '$.notes']) AS fields
                 FROM connectwise.time_entries
                 WHERE id NOT IN (SELECT id FROM world.cases WHERE case_name IN
                                  ('time_entry_after_call', 'time_entry_after_invoiced_call'))
                ) e
           JOIN _erp_synced s USING (ticket_id)
           GROUP BY e.ticket_id ORDER BY e.ticket_id"""
    )
    while batch := query.fetchmany(10_000):
        for ticket_id, entries in batch:
            ticket = synced[ticket_id]
            labors = []
            for member, work, role, start, end, hours, notes in entries:
                labors.append({
                    "TechnicianNumber": by_member.get(member),
                    "ActivityCode": ACTIVITY.get(work, "LABOR"),
                    "DispatchDate": text(epoch(start)),
                    "ArrivalDate": text(epoch(start)),
                    "DepartureDate": text(epoch(end)),
                    "LaborHours": float(hours),
                    "TravelHours": 0.0,
                    "LaborRate": rates.get(role, 0.0),
                    "Remarks": notes,
                })  # fmt: skip
            created = ticket.closed + rng.randint(15, 180) * MINUTE
            invoiced = (ticket.status or "Invoiced") == "Invoiced" and (
                ticket.closed < ANCHOR_TS - 20 * DAY
            )
            updated = created + (rng.randint(15, 30) * DAY if invoiced else 0)
            contract = contracts.get(ticket.agreement) if ticket.agreement else None
            doc = _call_doc(
                numbers[(0, ticket_id)],
                ticket.customer,
                ContractNumber=contract,
                CallType=CALL_TYPES.get(ticket.board, "IT"),
                StatusCode="Invoiced" if invoiced else "OKToInvoice",
                BillCode="CONTRACT" if ticket.agreement else "T&M",
                Caller=ticket.caller,
                Description=f"[CW #{ticket_id}] {ticket.summary}",
                PONumber=ticket.po,
                TechnicianNumber=ticket.owner or labors[0]["TechnicianNumber"],
                UseUnknownEquipment=True,
                CallDate=text(ticket.entered),
                CloseDate=text(ticket.closed),
                Labors=labors,
                MaterialsUsed=[{"Item": "CW-SERVICE", "Quantity": 1.0, "Price": 0.0}],
                CreateDate=text(created),
                LastUpdate=text(min(updated, ANCHOR_TS - HOUR)),
            )
            _add_call(table, doc)
    reader.close()


def _own_calls(
    rng: random.Random,
    table: Rows,
    own: list[tuple[int, str, float]],
    numbers: dict[tuple[int, int], str],
    customers: Customers,
    technicians: list[str],
) -> None:
    equipment: dict[str, list[str]] = {}
    made = 0
    for i, (called, customer, draw) in enumerate(own):
        held = customers.by_number[customer]
        machines = equipment.setdefault(customer, [])
        if not machines or (len(machines) < 3 and draw < 0.2):
            made += 1
            machines.append(f"E{made:06d}")
        age = ANCHOR_TS - called
        hold = None
        if age > 45 * DAY or draw < 0.5:
            status = rng.choices(("Invoiced", "Canceled", "Cleared", "OKToInvoice"),
                                 (90, 4, 3, 3))[0]  # fmt: skip
        else:
            status = rng.choice(("Pending", "Scheduled", "Dispatched", "Complete"))
            if held.on_hold:
                status, hold = "Pending", "CH"
            elif status in ("Pending", "Scheduled") and rng.random() < 0.15:
                hold = "WP"
        technician = rng.choice(technicians) if status != "Pending" or rng.random() < 0.5 else None
        done = status in ("Invoiced", "Cleared", "OKToInvoice", "Complete")
        arrive = called + rng.randint(1, 24) * HOUR
        hours = rng.choice((0.5, 1.0, 1.5, 2.0, 3.0))
        closed = arrive + int(hours * HOUR) + rng.randint(0, 48) * HOUR if done else None
        labors, materials = [], []
        if done and technician:
            labors.append({
                "TechnicianNumber": technician, "ActivityCode": "ONSITE",
                "DispatchDate": text(arrive - HOUR // 2), "ArrivalDate": text(arrive),
                "DepartureDate": text(arrive + int(hours * HOUR)), "LaborHours": hours,
                "TravelHours": rng.choice((0.25, 0.5, 1.0)), "LaborRate": 135.0,
                "Remarks": None,
            })  # fmt: skip
            if rng.random() < 0.3:
                item = rng.choice(("MX-61NTBA", "TK-8337K", "DRUM-MX61", "CF237X"))
                materials.append({"Item": item, "Quantity": 1.0, "Price": 0.0})
        updated = max(called, closed or called) + rng.randint(1, 48) * HOUR
        if status == "Invoiced":
            updated += rng.randint(5, 25) * DAY
        problem = rng.choice(PROBLEMS).format(n=rng.randint(1, 4), code=rng.randint(300, 999))
        doc = _call_doc(
            numbers[(1, i)],
            customer,
            CallType=rng.choices(("REPAIR", "PM", "INSTALL", "SUPPLY"), (60, 20, 5, 15))[0],
            StatusCode=status,
            HoldCode=hold,
            BillCode="CONTRACT" if draw < 0.6 else "T&M",
            Caller=" ".join(names.person(rng)),
            Description=f"{problem} - {rng.choice(MODELS)}",
            TechnicianNumber=technician,
            EquipmentNumber=rng.choice(machines),
            CallDate=text(called),
            CloseDate=text(closed),
            Labors=labors,
            MaterialsUsed=materials,
            CreateDate=text(called),
            LastUpdate=text(min(updated, ANCHOR_TS - MINUTE)),
        )
        _add_call(table, doc)


def _calls_for_psa(
    rng: random.Random,
    scale,
    store: Store,
    table: Rows,
    customers: Customers,
    first: int,
) -> None:
    """Open calls the dealer opened to be worked in the PSA (the incumbent's ID912): of
    call types DISPATCH and METER, not linked to a ticket, not on hold, made in the last
    days before the anchor; for customers whose company is plainly mapped (world.cases
    ``call_for_psa``, one description longer than a ticket's summary) and for customers
    without a PSA company (``call_for_psa_unmapped``)."""
    cased = store.con.execute(
        "SELECT w.case_name, c.customer_number FROM world.cases w JOIN world.customers c "
        "ON c.customer_id = w.id WHERE w.system = 'eautomate' AND w.entity = 'customers'"
    ).fetchall()
    awkward = {number for _, number in cased}
    unmapped = {number for name, number in cased if name == "customer_without_company"}
    live = {n for n, c in customers.by_number.items() if c.active and not c.on_hold}
    mapped = sorted(set(customers.by_company.values()) & live - awkward - {customers.dealer})
    wanted = [
        (case, customer)
        for case, pool in (("call_for_psa", mapped),
                           ("call_for_psa_unmapped", sorted(unmapped & live)))
        for customer in rng.sample(pool, min(len(pool), quota(case, scale.tickets)))
    ]  # fmt: skip
    for n, (case, customer) in enumerate(wanted):
        number = str(first + n)
        called = ANCHOR_TS - rng.randint(2, 72) * HOUR
        meter = rng.random() < 0.5
        problem = (
            f"Meter reading over threshold on {rng.choice(MODELS)}: service due"
            if meter else f"Network scanning fails after the firewall change - {rng.choice(MODELS)}"
        )  # fmt: skip
        if n == 0:  # longer than a PSA ticket's summary (100): cut, and the cut reported
            problem += (
                " - the customer reports it on every floor; call before 10 am, ask for "
                "the office manager at reception, parking behind the building"
            )
        doc = _call_doc(
            number,
            customer,
            CallType="METER" if meter else "DISPATCH",
            BillCode="T&M",
            Caller=" ".join(names.person(rng)),
            Description=problem,
            EquipmentNumber=f"E{900000 + n:06d}",
            CallDate=text(called),
            CreateDate=text(called),
            LastUpdate=text(called),
        )
        _add_call(table, doc)
        store.case(case, "eautomate", "calls", int(number))


def _sales_orders(rng: random.Random, store: Store, customers: Customers, items: set[str]) -> None:
    con = store.con
    lines: dict[int, list[tuple]] = {}
    for order_id, item, description, quantity, price, cancelled in con.execute(
        """SELECT json_extract(doc, '$.salesOrder.id')::BIGINT, doc->>'$.catalogItem.identifier',
                  doc->>'$.description', (doc->>'$.quantity')::DOUBLE, (doc->>'$.price')::DOUBLE,
                  (doc->>'$.cancelledFlag')::BOOLEAN
           FROM connectwise.products ORDER BY id"""
    ).fetchall():
        if not cancelled and item in items:
            lines.setdefault(order_id, []).append((item, description, quantity, price))
    table = _writer(store, "sales_orders", ("so_number", TEXT), ("customer_number", TEXT),
                    ("status", TEXT), ("last_update", STAMP), ("doc", TEXT))  # fmt: skip
    number = 0
    for order_id, company, site, status, date, po, description, updated in con.execute(
        """SELECT id, json_extract(doc, '$.company.id')::BIGINT,
                  json_extract(doc, '$.shipToSite.id')::BIGINT, doc->>'$.status.name',
                  doc->>'$.orderDate', doc->>'$.poNumber', doc->>'$.description',
                  epoch(last_updated)::BIGINT
           FROM connectwise.sales_orders ORDER BY id"""
    ).fetchall():
        customer = customers.by_company.get(company)
        if customer is None or order_id not in lines or rng.random() >= 0.7:
            continue
        number += 1
        state = SO_STATUS.get(status, "Open")
        held = customers.by_number[customer].on_hold and state == "Open"
        ship_to = customers.by_site.get(site)
        if ship_to is None or customers.by_number[ship_to].parent != customer:
            ship_to = customer
        so_number = f"SO{100000 + number}"
        stamp = min(updated + HOUR, ANCHOR_TS - MINUTE)
        doc = {
            "SONumber": so_number,
            "CustomerNumber": customer,
            "BillToNumber": customer,
            "ShipToNumber": ship_to,
            "Status": state,
            "OrderType": "Equipment" if any(i in ("MX-3071", "IRC5535", "TA4053CI", "M608DN")
                                            for i, *_ in lines[order_id]) else "Supplies",
            "OnHoldCode": "CH" if held else None,
            "PONumber": po,
            "Description": f"[CW SO #{order_id}] {description}"[:255],
            "Date": date[:10],
            "Details": [
                {"LineNumber": n, "Item": item, "Description": text_, "Quantity": quantity,
                 "Price": price}
                for n, (item, text_, quantity, price) in enumerate(lines[order_id], start=1)
            ],
            "CreateDate": text(epoch(date) + 9 * HOUR),
            "LastUpdate": text(stamp),
        }  # fmt: skip
        table.add(so_number, customer, state, local(stamp), dumps(doc))
        store.case("sales_order_synced_by_incumbent", "connectwise", "sales_orders", order_id)
    table.flush()
