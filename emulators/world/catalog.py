"""Reference catalogs (the PSA's setup tables) and the ERP code lists and items that mirror them.

Everything here is fixed data, the same for every seed: a dealer configures its systems once.
"""

from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from .common import START_TS, YEAR, info
from .store import Store, dumps


@dataclass(frozen=True)
class RefRow:
    """One row of ``connectwise.refs``: ``doc`` is the reference as records embed it, plus the
    setup fields a catalog row carries (a status's board and ``closedStatus``, an item's price)."""

    kind: str
    id: int
    name: str
    identifier: str | None
    doc: dict


@dataclass(frozen=True)
class Board:
    ref: dict
    open: tuple[dict, ...]  # open statuses, first is "New"
    closed: dict  # the >Closed status
    cancelled: dict | None
    completed: dict | None  # done, waiting to be closed: what the incumbent pulls
    types: tuple[dict, ...]


@dataclass(frozen=True)
class Item:
    ref: dict  # CatalogItemReference {id, identifier, name}
    product_class: str
    serialized: bool
    price: float
    cost: float
    use: str  # addition | order | both
    uom: str


@dataclass
class Catalog:
    rows: list[RefRow] = field(default_factory=list)

    def add(self, kind: str, id_: int, name: str, identifier=None, embed=None, **setup) -> dict:
        """Add a catalog row; returns the reference records embed (``{id, name}``, with
        ``identifier`` for identifier references, or ``embed`` when the shape is special)."""
        ref = embed or (
            {"id": id_, "identifier": identifier, "name": name}
            if identifier is not None
            else {"id": id_, "name": name}
        )
        self.rows.append(RefRow(kind, id_, name, identifier, {**ref, **setup}))
        return ref

    def keyed(self, kind: str, names) -> dict[str, dict]:
        """Rows numbered from 1, keyed by name, or by key for ``(key, name)`` pairs."""
        pairs = [(name, name) if isinstance(name, str) else name for name in names]
        return {key: self.add(kind, i, name) for i, (key, name) in enumerate(pairs, 1)}


# ERP code -> PSA reference name, for the lists both systems keep.
TERRITORIES = (
    ("NORTH", "North"),
    ("SOUTH", "South"),
    ("EAST", "East"),
    ("WEST", "West"),
    ("CENTRAL", "Central"),
)
BRANCHES = (("TPA", "Tampa"), ("ORL", "Orlando"), ("MIA", "Miami"), ("JAX", "Jacksonville"))
CUSTOMER_TYPES = (
    ("MPS", "Managed print"),
    ("IT", "Managed IT"),
    ("COPIER", "Copier service"),
    ("MIXED", "Print and IT"),
)
STATES = (
    ("FL", "Florida", "US"),
    ("GA", "Georgia", "US"),
    ("AL", "Alabama", "US"),
    ("ON", "Ontario", "CA"),
)
COUNTRIES = (("US", "United States"), ("CA", "Canada"))

# (name, has an ERP template, weight among agreements, billing cycle, monthly amount range)
AGREEMENT_TYPES = (
    ("Managed IT", True, 30, "Monthly", (400, 6000)),
    ("Managed Print", True, 25, "Monthly", (150, 2500)),
    ("Copier Service", True, 15, "Quarterly", (300, 3000)),
    ("Block Hours", True, 8, "One-Time", (1500, 9000)),
    ("Backup & DR", True, 5, "Monthly", (100, 1200)),
    ("Help Desk", False, 9, "Monthly", (200, 2500)),
    ("Net Monitoring", False, 6, "Monthly", (80, 900)),
    ("Lease", True, 2, "Annual", (1200, 12000)),
)
CYCLE_MONTHS = {"Monthly": 1, "Quarterly": 3, "Annual": 12, "One-Time": 0}
# The ERP's template for agreement types without one of their own (the number is ours).
DEFAULT_TEMPLATE = "**CW Default"
# A template named after a type the PSA does not have: meant for the type named here, but a
# template must match its type exactly (seed 004), so that type still gets the default.
MISNAMED_TEMPLATES = {"Net Monitoring": "Network Monitor"}
DEFAULT_CONTRACT_TYPE = ("CWDEFAULT", "CW agreement, no template")
# Invoice (billing) statuses: (name, flags); the first is the default of new invoices.
BILLING_STATUSES = (
    ("Open", {"defaultFlag": True}),
    ("Sent", {"sentFlag": True}),
    ("Paid", {"sentFlag": True, "closedFlag": True}),
)

# (identifier, name, productClass, serialized, price, cost, use, uom)
ITEMS = (
    ("MX-3071", "Sharp MX-3071 Color MFP", "Inventory", True, 6495.0, 4210.0, "order", "Each"),
    ("IRC5535", "Canon imageRUNNER ADVANCE C5535i", "Inventory", True, 8950.0, 6120.0, "order",
     "Each"),
    ("TA4053CI", "Kyocera TASKalfa 4053ci", "Inventory", True, 7290.0, 4980.0, "order", "Each"),
    ("M608DN", "HP LaserJet Enterprise M608dn", "Inventory", True, 1249.0, 905.0, "order", "Each"),
    ("MX-61NTBA", "Sharp MX-61NTBA Black Toner", "Inventory", False, 89.0, 52.0, "order", "Each"),
    ("TK-8337K", "Kyocera TK-8337K Toner", "Inventory", False, 74.0, 41.0, "order", "Each"),
    ("CF237X", "HP 37X High Yield Toner", "Inventory", False, 289.0, 198.0, "order", "Each"),
    ("DRUM-MX61", "Sharp MX-61 Drum Unit", "Inventory", False, 312.0, 205.0, "order", "Each"),
    ("LAT5450", "Dell Latitude 5450 Laptop", "Inventory", True, 1389.0, 1070.0, "order", "Each"),
    ("OPT7020", "Dell OptiPlex 7020 Desktop", "Inventory", True, 989.0, 760.0, "order", "Each"),
    ("FG-60F", "Fortinet FortiGate 60F", "Inventory", True, 795.0, 540.0, "order", "Each"),
    ("USW-24P", "UniFi Switch 24 PoE", "Inventory", True, 429.0, 300.0, "order", "Each"),
    ("CAT6-1000", "Cat6 Cable 1000ft", "NonInventory", False, 189.0, 120.0, "order", "Box"),
    ("M365-BP", "Microsoft 365 Business Premium", "NonInventory", False, 22.0, 18.7, "both",
     "Month"),
    ("M365-BS", "Microsoft 365 Business Standard", "NonInventory", False, 12.5, 10.6, "both",
     "Month"),
    ("SEAT-MSP", "Managed Seat", "Agreement", False, 95.0, 30.0, "addition", "Month"),
    ("SRV-MSP", "Managed Server", "Agreement", False, 250.0, 70.0, "addition", "Month"),
    ("BKP-TB", "Cloud Backup per TB", "Agreement", False, 120.0, 45.0, "addition", "Month"),
    ("MPS-DEV", "Managed Print Device Fee", "Agreement", False, 35.0, 8.0, "addition", "Month"),
    ("MPS-CLR", "Color Click Charge (per 1000)", "Agreement", False, 65.0, 22.0, "addition",
     "Each"),
    ("MPS-BW", "B&W Click Charge (per 1000)", "Agreement", False, 9.0, 3.5, "addition", "Each"),
    ("AV-EDR", "Endpoint Detection & Response", "Agreement", False, 8.0, 3.2, "addition",
     "Month"),
    ("LAB-ONS", "Onsite Labor (hour)", "Service", False, 145.0, 55.0, "order", "Hour"),
    ("LAB-INST", "Equipment Installation", "Service", False, 250.0, 90.0, "order", "Each"),
    ("FREIGHT", "Freight & Delivery", "NonInventory", False, 75.0, 60.0, "order", "Each"),
    # On one order only (orders.py), never drawn for others: its type has no item template.
    ("PATCH-24", "Cat6 Patch Panel 24-port", "Inventory", False, 119.0, 64.0, "case", "Each"),
)  # fmt: skip
# Each catalog item's product type (``/procurement/types``): the sales-order sync makes an
# item the ERP lacks from the item template of its type (``**CWItem <type>``).
PRODUCT_TYPES = ("Hardware", "Consumables", "Networking", "Security", "Cabling", "Software",
                 "Managed Services", "Labor", "Freight")  # fmt: skip
ITEM_TYPES = {
    **dict.fromkeys(("MX-3071", "IRC5535", "TA4053CI", "M608DN", "LAT5450", "OPT7020"),
                    "Hardware"),
    **dict.fromkeys(("MX-61NTBA", "TK-8337K", "CF237X", "DRUM-MX61"), "Consumables"),
    "FG-60F": "Security",
    "USW-24P": "Networking",
    **dict.fromkeys(("CAT6-1000", "PATCH-24"), "Cabling"),
    **dict.fromkeys(("M365-BP", "M365-BS"), "Software"),
    **dict.fromkeys(("SEAT-MSP", "SRV-MSP", "BKP-TB", "MPS-DEV", "MPS-CLR", "MPS-BW", "AV-EDR"),
                    "Managed Services"),
    **dict.fromkeys(("LAB-ONS", "LAB-INST"), "Labor"),
    "FREIGHT": "Freight",
}  # fmt: skip
# Catalog items the ERP has no item for: the agreement sync must create them (AV-EDR), the
# sales-order sync too, from the item template of their type (USW-24P: one with codes;
# FG-60F: one without, so its lines get the error item; PATCH-24: its type, Cabling, has no
# template at all, so its line gets the error item too).
ITEM_WITHOUT_TEMPLATE = "PATCH-24"
ITEMS_NOT_IN_ERP = ("AV-EDR", "USW-24P", "FG-60F", ITEM_WITHOUT_TEMPLATE)
# Sales-order statuses (``/sales/orders/statuses``): (name, closed).
ORDER_STATUSES = (("New", False), ("Ordered", False), ("Received", False), ("Delivered", False),
                  ("Closed", True), ("Cancelled", True))  # fmt: skip
# ERP-only items: the serviceable item every synced call uses; stock the PSA never sells.
ERP_ONLY_ITEMS = (
    ("CW-SERVICE", "ConnectWise service call", "serviceable", False, 0.0, 0.0),
    ("STAPLES-5K", "Staple cartridge 5000", "inventory", False, 18.0, 9.0),
    ("PAPER-CASE", "Copy paper, case of 10 reams", "inventory", False, 54.0, 39.0),
)

MARKETS = ("Education", "Healthcare", "Legal", "Manufacturing", "Retail", "Government",
           "Professional Services", "Hospitality")  # fmt: skip
# Ticket priorities (``/service/priorities``): (name, sort, color); the third is the default.
PRIORITIES = (
    ("Priority 1 - Emergency Response", 2, "Red"),
    ("Priority 2 - Quick Response", 4, "Orange"),
    ("Priority 3 - Normal Response", 6, "Green"),
    ("Priority 4 - Schedule Maintenance", 8, "Blue"),
)
DEFAULT_PRIORITY = 3
DEPARTMENTS = (("SVC", "Service"), ("PRJ", "Projects"), ("SALES", "Sales"),
               ("ADMIN", "Administration"))  # fmt: skip
PROJECT_TYPES = ("Network Upgrade", "Office Move", "Server Migration", "MPS Rollout",
                 "Microsoft 365 Migration")  # fmt: skip
WORK_ROLES = (
    ("Help Desk Tech", 95.0),
    ("Field Technician", 125.0),
    ("Copier Technician", 135.0),
    ("Network Engineer", 165.0),
    ("Project Manager", 150.0),
    ("Sales", 0.0),
)


class World:
    """The catalogs as the generator uses them: embedded references by meaning."""

    def __init__(self) -> None:
        cat = self.catalog = Catalog()
        self.company_status = cat.keyed("company_status", ("Active", "Inactive", "Not-Approved"))
        self.company_type = cat.keyed("company_type", ("Client", "Prospect", "Vendor", "Partner"))
        # Territories and locations are both PSA "system locations"; ids apart so they never mix.
        self.territory = {
            code: cat.add("territory", 101 + i, name, erpCode=code)
            for i, (code, name) in enumerate(TERRITORIES)
        }
        self.location = {
            code: cat.add("location", i, name, erpCode=code)
            for i, (code, name) in enumerate(BRANCHES, 1)
        }
        self.markets = list(cat.keyed("market", MARKETS).values())
        self.country = {
            code: cat.add("country", i, name, identifier=code)
            for i, (code, name) in enumerate(COUNTRIES, 1)
        }
        self.state = {
            code: cat.add("state", i, name, identifier=code, country=self.country[country])
            for i, (code, name, country) in enumerate(STATES, 1)
        }
        self.boards = self._boards()
        self.priorities = [
            cat.add("priority", i, name, embed={"id": i, "name": name, "sort": sort})
            for i, (name, sort, _) in enumerate(PRIORITIES, 1)
        ]
        self.source = cat.keyed(
            "source", ("Phone", ("Email", "Email Connector"), "Portal", "Walk-In", "Monitoring")
        )
        self.agreement_types = {
            name: (cat.add("agreement_type", i, name, hasErpTemplate=has), has, weight, cycle, pay)
            for i, (name, has, weight, cycle, pay) in enumerate(AGREEMENT_TYPES, 1)
        }
        self.billing_cycle = cat.keyed("billing_cycle", CYCLE_MONTHS)
        self.billing_terms = list(
            cat.keyed(
                "billing_terms", ("Net 30 days", "Net 15 days", "Due on receipt", "Net 45 days")
            ).values()
        )
        self.work_types = cat.keyed(
            "work_type",
            (("Remote", "Remote Support"), "Onsite", "Travel", ("Project", "Project Work"),
             "After Hours"),
        )  # fmt: skip
        self.work_roles = {
            name: cat.add("work_role", i, name, hourlyRate=rate)
            for i, (name, rate) in enumerate(WORK_ROLES, 1)
        }
        self.rates = {ref["id"]: rate for ref, (_, rate) in zip(
            self.work_roles.values(), WORK_ROLES, strict=True)}  # fmt: skip
        self.department = {
            key: cat.add("department", i, name, identifier=key)
            for i, (key, name) in enumerate(DEPARTMENTS, 1)
        }
        self.project_status = cat.keyed(
            "project_status", ("Open", "In Progress", "On Hold", ("Closed", ">Closed"))
        )
        self.project_types = list(cat.keyed("project_type", PROJECT_TYPES).values())
        self.order_status = cat.keyed("order_status", [n for n, _ in ORDER_STATUSES])
        self.product_type = cat.keyed("product_type", PRODUCT_TYPES)
        self.product_category = cat.keyed("product_category", ("Products", "Services"))
        self.items = [
            Item(
                cat.add("catalog_item", i, name, identifier=ident, productClass=kind,
                        serializedFlag=serial, price=price, cost=cost, unitOfMeasure=uom,
                        type=self.product_type[ITEM_TYPES[ident]]),
                kind, serial, price, cost, use, uom,
            )
            for i, (ident, name, kind, serial, price, cost, use, uom) in enumerate(ITEMS, 1)
        ]  # fmt: skip
        self.invoice_templates = list(
            cat.keyed("invoice_template", ("Standard", "Agreement Detail", "Service Summary"))
            .values()
        )  # fmt: skip
        self.tax_code = cat.keyed(
            "tax_code",
            (("FL", "Florida Sales Tax"), ("EXEMPT", "Tax Exempt"), ("ON", "Ontario HST")),
        )
        self.billing_status = cat.keyed("billing_status", [n for n, _ in BILLING_STATUSES])
        self.member_type = cat.keyed("member_type", ("Employee", ("API", "API Member")))
        self.security_role = cat.keyed(
            "security_role",
            ("Admin", "Technician", "Sales", ("Manager", "Project Manager"),
             ("API", "Corporate (Level 1)")),
        )  # fmt: skip
        self.time_zone = cat.add("time_zone", 1, "US Eastern")
        self.communication_type = cat.keyed(
            "communication_type", ("Email", "Direct", "Cell", "Fax")
        )
        self.contact_types = list(
            cat.keyed("contact_type", ("Decision Maker", "Billing", "End User", "Technical"))
            .values()
        )  # fmt: skip
        self.project_phases: list[dict] = []  # filled as projects are made
        self.phase_status = cat.keyed("phase_status", ("Open", "Closed"))

    def _boards(self) -> dict[str, Board]:
        cat = self.catalog
        specs = (
            ("Help Desk", ("New", "In Progress", "Waiting on Customer", "Scheduled"),
             ">Closed", ">Cancelled", "Completed",
             ("Hardware", "Software", "Network", "User Admin", "Email")),
            ("Field Service", ("New", "Dispatched", "On Site", "Waiting Parts"),
             ">Closed", ">Cancelled", "Completed",
             ("Copier Repair", "Printer Repair", "Install", "Preventive Maintenance")),
            ("Managed Print", ("New", "Toner Ordered", "Shipped"), ">Closed", None, None,
             ("Toner/Supplies", "Meter Read")),
            ("Alerts", ("New", "Acknowledged"), ">Auto Closed", None, None,
             ("Monitoring Alert", "Backup Failure")),
            ("Projects", ("New", "In Progress", "Waiting"), ">Closed", None, "Completed", ()),
        )  # fmt: skip
        boards: dict[str, Board] = {}
        status_id = type_id = 0
        for board_id, (name, open_, closed, cancelled, completed, types) in enumerate(specs, 1):
            ref = cat.add("board", board_id, name, projectFlag=name == "Projects")

            def status(label: str, closed_status: bool, ref=ref) -> dict:
                nonlocal status_id
                status_id += 1
                return cat.add(
                    "ticket_status",
                    status_id,
                    label,
                    board=ref,
                    closedStatus=closed_status,
                    sortOrder=status_id,
                )

            opens = tuple(status(label, False) for label in open_)
            done = status(completed, False) if completed else None
            shut = status(closed, True)
            cancel = status(cancelled, True) if cancelled else None
            kinds = []
            for label in types:
                type_id += 1
                kinds.append(cat.add("ticket_type", type_id, label, board=ref))
            boards[name] = Board(ref, opens, shut, cancel, done, tuple(kinds))
        return boards

    def add_phase(self, project: dict, phase_id: int, name: str) -> dict:
        ref = self.catalog.add("project_phase", phase_id, name, projectId=project["id"])
        self.project_phases.append(ref)
        return ref


def write(store: Store, world: World, dealer_number: str, admin: str) -> None:
    """The catalogs into ``connectwise.refs``, the PSA setup tables the API serves
    (``agreement_types``, ``billing_statuses``, ``boards``, ``board_statuses``,
    ``board_types``, ``priorities``, ``order_statuses``, ``product_types``,
    ``catalog_items``), the ERP
    setup into the ``world`` tables."""
    _write_refs(store, world)
    _write_setup(store, world, admin)
    _write_erp_setup(store, world, dealer_number)


# Ticket types the dealer plans for (CW's Proactive category); the others are Reactive.
PROACTIVE_TYPES = ("Install", "Preventive Maintenance", "Meter Read", "Toner/Supplies")


def _write_setup(store: Store, world: World, admin: str) -> None:
    """Agreement types, billing statuses, service boards (with their statuses and types) and
    ticket priorities as full records, set up before any agreement or ticket."""
    at = START_TS - 2 * YEAR
    _write_boards(store, world, admin, at)
    _write_priorities(store, world, admin, at)
    for name, _, _, cycle, _ in AGREEMENT_TYPES:
        ref = world.agreement_types[name][0]
        months = CYCLE_MONTHS[cycle]
        block = name == "Block Hours"
        doc = {
            **ref,
            "defaultFlag": ref["id"] == 1,
            "inactiveFlag": False,
            "prePaymentFlag": block,
            "location": world.location["TPA"],
            "department": world.department["SVC"],
            "restrictLocationFlag": False,
            "restrictDepartmentFlag": False,
            "applicationUnits": "Hours" if block else "Amount",
            "applicationCycle": "CalendarMonth",
            "applicationUnlimitedFlag": not block,
            "oneTimeFlag": months == 0,
            "coverAgreementTimeFlag": True,
            "coverAgreementProductFlag": False,
            "coverAgreementExpenseFlag": False,
            "coverSalesTaxFlag": False,
            "carryOverUnusedFlag": False,
            "allowOverrunsFlag": True,
            "expireWhenZero": False,
            "chargeToFirmFlag": False,
            "employeeCompRate": "Actual",
            "employeeCompNotExceed": "Billing",
            "billingCycle": world.billing_cycle[cycle],
            "billOneTimeFlag": months == 0,
            "billingTerms": world.billing_terms[0],
            "invoicingCycle": "ContractYear",
            "taxableFlag": False,
            "restrictDownPaymentFlag": False,
            "topCommentFlag": False,
            "bottomCommentFlag": False,
            "workRole": world.work_roles["Help Desk Tech"],
            "workType": world.work_types["Remote"],
            "invoiceTemplate": world.invoice_templates[1],
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "billableTimeInvoiceFlag": False,
            "billableExpenseInvoiceFlag": False,
            "billableProductInvoiceFlag": False,
            "prorateFlag": False,
            "autoInvoiceFlag": True,
            "_info": info(at, admin, at, admin),
        }
        store.records["agreement_types"].put(ref["id"], None, at, doc)
    for sort, (name, flags) in enumerate(BILLING_STATUSES, 1):
        ref = world.billing_status[name]
        doc = {
            **ref,
            "sortOrder": sort,
            "defaultFlag": False,
            "closedFlag": False,
            "inactiveFlag": False,
            "sentFlag": False,
            **flags,
            "_info": info(at, admin, at, admin),
        }
        store.records["billing_statuses"].put(ref["id"], None, at, doc)
    _write_procurement(store, world, admin, at)


def _write_procurement(store: Store, world: World, admin: str, at: int) -> None:
    """Sales-order statuses, product types and the catalog as full records (the sales-order
    sync checks its configured names against them and reads each item's class and type)."""
    stamp = info(at, admin, at, admin)
    for sort, (name, closed) in enumerate(ORDER_STATUSES, 1):
        ref = world.order_status[name]
        doc = {**ref, "sortOrder": sort, "defaultFlag": sort == 1, "closedFlag": closed,
               "inactiveFlag": False, "_info": stamp}  # fmt: skip
        store.records["order_statuses"].put(ref["id"], None, at, doc)
    for name in PRODUCT_TYPES:
        ref = world.product_type[name]
        doc = {**ref, "defaultFlag": False, "inactiveFlag": False, "_info": stamp}
        store.records["product_types"].put(ref["id"], None, at, doc)
    for item in world.items:
        doc = {
            "id": item.ref["id"],
            "identifier": item.ref["identifier"],
            "description": item.ref["name"],
            "inactiveFlag": False,
            "productClass": item.product_class,
            "type": world.product_type[ITEM_TYPES[item.ref["identifier"]]],
            "category": world.product_category[
                "Services" if item.product_class in ("Agreement", "Service") else "Products"
            ],
            "serializedFlag": item.serialized,
            "serializedCostFlag": False,
            "phaseProductFlag": False,
            "price": item.price,
            "cost": item.cost,
            "taxableFlag": item.product_class in ("Inventory", "NonInventory"),
            "dropShipFlag": False,
            "specialOrderFlag": False,
            "_info": stamp,
        }
        store.records["catalog_items"].put(item.ref["id"], None, at, doc)


def _write_boards(store: Store, world: World, admin: str, at: int) -> None:
    """``/service/boards`` and each board's ``/statuses`` and ``/types``, from the catalog rows
    tickets point at (same ids): a status's ``closedStatus`` says which statuses close."""
    stamp = info(at, admin, at, admin)
    rows = sorted(world.catalog.rows, key=lambda r: (r.kind, r.id))
    boards = {board.ref["id"]: (name, board) for name, board in world.boards.items()}
    for row in (r for r in rows if r.kind == "board"):
        name, board = boards[row.id]
        projects = name == "Projects"
        doc = {
            **board.ref,
            "location": world.location["TPA"],
            "department": world.department["PRJ" if projects else "SVC"],
            "inactiveFlag": False,
            "projectFlag": projects,
            "billTime": "Billable",
            "billExpense": "Billable",
            "billProduct": "Billable",
            "billTicketsAfterClosedFlag": True,
            "billTicketSeparatelyFlag": False,
            "billUnapprovedTimeExpenseFlag": False,
            "overrideBillingSetupFlag": False,
            "timeEntryLockedFlag": False,
            "showDependenciesFlag": projects,
            "showEstimatesFlag": projects,
            "_info": stamp,
        }
        store.records["boards"].put(row.id, None, at, doc)
    for row in (r for r in rows if r.kind == "ticket_status"):
        board_id = row.doc["board"]["id"]
        _, board = boards[board_id]
        closed = row.doc["closedStatus"]
        doc = {
            "id": row.id,
            "name": row.name,
            "board": row.doc["board"],
            "sortOrder": row.doc["sortOrder"],
            "displayOnBoard": not closed,
            "inactive": False,
            "closedStatus": closed,
            "timeEntryNotAllowed": False,
            "defaultFlag": row.id == board.open[0]["id"],
            "escalationStatus": "Resolved" if closed or row.name == "Completed"
            else "NotResponded" if row.name == "New" else "Responded",
            "customerPortalFlag": not closed,
            "_info": stamp,
        }  # fmt: skip
        store.records["board_statuses"].put(row.id, board_id, at, doc)
    for row in (r for r in rows if r.kind == "ticket_type"):
        board_id = row.doc["board"]["id"]
        _, board = boards[board_id]
        doc = {
            "id": row.id,
            "name": row.name,
            "board": row.doc["board"],
            "category": "Proactive" if row.name in PROACTIVE_TYPES else "Reactive",
            "defaultFlag": row.id == board.types[0]["id"],
            "inactiveFlag": False,
            "requestForChangeFlag": False,
            "location": world.location["TPA"],
            "department": world.department["SVC"],
            "_info": stamp,
        }
        store.records["board_types"].put(row.id, board_id, at, doc)


def _write_priorities(store: Store, world: World, admin: str, at: int) -> None:
    """``/service/priorities``: the records tickets' ``priority`` references (same ids; a
    reference carries ``sort``, the record ``sortOrder``)."""
    stamp = info(at, admin, at, admin)
    for ref, (_, sort, color) in zip(world.priorities, PRIORITIES, strict=True):
        doc = {"id": ref["id"], "name": ref["name"], "color": color, "sortOrder": sort,
               "defaultFlag": ref["id"] == DEFAULT_PRIORITY, "_info": stamp}  # fmt: skip
        store.records["priorities"].put(ref["id"], None, at, doc)


def _write_refs(store: Store, world: World) -> None:
    rows = sorted(world.catalog.rows, key=lambda r: (r.kind, r.id))
    store.table(
        "connectwise.refs",
        [(r.kind, r.id, r.name, r.identifier, dumps(r.doc)) for r in rows],
        pa.schema(
            [
                ("kind", pa.string()),
                ("id", pa.int64()),
                ("name", pa.string()),
                ("identifier", pa.string()),
                ("doc", pa.string()),
            ]
        ),
    )
    for item in world.items:
        if item.ref["identifier"] in ITEMS_NOT_IN_ERP:
            store.case("catalog_item_without_erp_item", "connectwise", "refs", item.ref["id"])


def _contract_type(agreement_type: str) -> str:
    """The ERP contract type code of a PSA agreement type."""
    return agreement_type.upper().replace(" ", "")[:15]


def _cents(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _write_erp_setup(store: Store, world: World, dealer_number: str) -> None:
    """ERP setup the other emulators read: agreement types and their templates, items, codes."""
    text, big, flag = pa.string(), pa.int64(), pa.bool_()
    types, templates = [], []
    for name, has_template, _, cycle, _ in AGREEMENT_TYPES:
        type_id = world.agreement_types[name][0]["id"]
        template = f"**CW {name}" if has_template else None
        base = f"**CWBase {name}" if has_template else None
        types.append((type_id, name, has_template, template, base, cycle))
        if has_template:
            templates.append(
                (template, name, dealer_number, base, False, "PH", _contract_type(name), cycle)
            )
    for meant, misnamed in MISNAMED_TEMPLATES.items():
        cycle = next(c for n, _, _, c, _ in AGREEMENT_TYPES if n == meant)
        templates.append((f"**CW {misnamed}", None, dealer_number, f"**CWBase {misnamed}", False,
                          "PH", _contract_type(meant), cycle))  # fmt: skip
    # The default template: billing cycle blank, as the incumbent sets its templates up.
    templates.append((DEFAULT_TEMPLATE, None, dealer_number, "**CWBase Default", False, "PH",
                      DEFAULT_CONTRACT_TYPE[0], None))  # fmt: skip
    store.table(
        "world.agreement_types",
        types,
        pa.schema(
            [
                ("agreement_type_id", big),
                ("name", text),
                ("has_template", flag),
                ("template_number", text),
                ("base_item_number", text),
                ("billing_cycle", text),
            ]
        ),
    )
    store.table(
        "world.contract_templates",
        templates,
        pa.schema(
            [
                ("contract_number", text),
                ("agreement_type", text),
                ("customer_number", text),
                ("base_item_number", text),
                ("bill_contract", flag),
                ("tax_code", text),
                ("contract_type", text),
                ("billing_cycle", text),
            ]
        ),
    )
    items = [
        (
            item.ref["identifier"],
            item.ref["name"],
            {"Inventory": "inventory", "Service": "nonstock"}.get(item.product_class, "nonstock"),
            item.serialized,
            _cents(item.cost),
            _cents(item.price),
            True,
            item.ref["id"],
        )
        for item in world.items
        if item.ref["identifier"] not in ITEMS_NOT_IN_ERP
    ]
    items += [
        (number, description, kind, serial, _cents(cost), _cents(msrp), True, None)
        for number, description, kind, serial, cost, msrp in ERP_ONLY_ITEMS
    ]
    items += [
        (base, f"CW agreement base rate: {base.removeprefix('**CWBase ')}", "nonstock", False,
         _cents(0), _cents(0), True, None)
        for _, _, _, base, *_ in templates
    ]  # fmt: skip
    store.table(
        "world.items",
        items,
        pa.schema(
            [
                ("item_number", text),
                ("description", text),
                ("item_kind", text),
                ("serialized", flag),
                ("cost", pa.decimal128(12, 2)),
                ("msrp", pa.decimal128(12, 2)),
                ("is_active", flag),
                ("cw_catalog_item_id", big),
            ]
        ),
    )
    codes = []
    for code, name in TERRITORIES:
        codes.append(("Territory", code, name, "territory", world.territory[code]["id"]))
    for code, name in BRANCHES:
        codes.append(("Branch", code, name, "location", world.location[code]["id"]))
    for code, name in CUSTOMER_TYPES:
        codes.append(("CustomerType", code, name, None, None))
    codes.append(("OnHold", "CH", "Credit Hold", None, None))
    codes.append(("OnHold", "WAuth", "Waiting Authorization", None, None))
    for name, *_ in AGREEMENT_TYPES:
        ref = world.agreement_types[name][0]
        codes.append(("ContractType", _contract_type(name), name, "agreement_type", ref["id"]))
    codes.append(("ContractType", *DEFAULT_CONTRACT_TYPE, None, None))
    for code, name, kind in (
        ("FL", "Florida Sales Tax", "FL"),
        ("EXEMPT", "Tax Exempt", "EXEMPT"),
        ("ON", "Ontario HST", "ON"),
        ("PH", "Placeholder", None),
    ):
        codes.append(
            (
                "TaxCode",
                code,
                name,
                "tax_code" if kind else None,
                world.tax_code[kind]["id"] if kind else None,
            )
        )
    store.table(
        "world.codes",
        codes,
        pa.schema(
            [
                ("list_type", text),
                ("code", text),
                ("description", text),
                ("cw_kind", text),
                ("cw_id", big),
            ]
        ),
    )
