"""The ConnectWise Manage resources the emulator serves, declared once: where each lives
in the store, what a write must carry, field limits, and how references are expanded.

Shapes, limits and required fields follow specs/connectwise-manage-api.md section 9.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How a reference field is expanded on write: from another resource's records, or from
# the ``refs`` catalog of a kind (statuses, boards, types...).
Shape = Literal["ref", "iref", "agreement", "ticket", "priority", "item", "order", "contact"]


@dataclass(frozen=True)
class Ref:
    source: str  # a resource table, or "refs:<kind>"
    shape: Shape = "ref"
    many: bool = False


@dataclass(frozen=True)
class Resource:
    table: str
    label: str  # the record's name in messages: "Company", "Ticket"
    required: tuple[str, ...] = ()
    limits: dict[str, int] = field(default_factory=dict)
    unique: tuple[str, ...] = ()  # case-insensitive, like SQL Server's default collation
    refs: dict[str, Ref] = field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: dict[str, object] = field(default_factory=dict)
    create_only: tuple[str, ...] = ()
    audit_type: str | None = None
    soft_delete: bool = False
    parent: tuple[str, str] | None = None  # (parent table, field that names the parent)
    searchable: bool = False
    id_group: str | None = None  # resources sharing one id numbering
    deletable: bool = True


BILLABLE = ("Billable", "DoNotBill", "NoCharge", "NoDefault")
BILLING_METHOD = ("ActualRates", "FixedFee", "NotToExceed", "OverrideRate")
AGREEMENT_STATUS = ("Active", "Cancelled", "Expired", "Inactive")
PRIORITY_COLORS = ("Black", "Blue", "Cyan", "Gray", "Green", "Lime", "Orange", "Pink", "Purple",
                   "Red", "White", "Yellow", "Custom")  # fmt: skip
ADDRESS = {"addressLine1": 50, "addressLine2": 50, "city": 50, "zip": 12}
PHONES = {"phoneNumber": 30, "faxNumber": 30}

COMPANY = Ref("companies", "iref")
MEMBER = Ref("members", "iref")
SITE = Ref("sites")
CONTACT = Ref("contacts", "contact")
AGREEMENT = Ref("agreements", "agreement")


def kind(name: str, shape: Shape = "ref", many: bool = False) -> Ref:
    return Ref(f"refs:{name}", shape, many)


TICKET_REFS = {
    "company": COMPANY,
    "board": kind("board"),
    "status": kind("ticket_status"),
    "type": kind("ticket_type"),
    "priority": kind("priority", "priority"),
    "source": kind("source"),
    "site": SITE,
    "contact": CONTACT,
    "agreement": AGREEMENT,
    "owner": MEMBER,
    "location": kind("location"),
    "department": kind("department", "iref"),
}
TICKET_LIMITS = {
    "summary": 100,
    "siteName": 50,
    "contactName": 62,
    "contactEmailAddress": 250,
    "contactPhoneNumber": 20,
    "poNumber": 50,
    "externalXRef": 100,
    **ADDRESS,
}
TICKET_ENUMS = {
    "recordType": ("ProjectIssue", "ProjectTicket", "ServiceTicket"),
    "severity": ("Low", "Medium", "High"),
    "impact": ("Low", "Medium", "High"),
    "billTime": BILLABLE,
    "billExpenses": BILLABLE,
    "billProducts": BILLABLE,
    "billingMethod": BILLING_METHOD,
}

RESOURCES: dict[str, Resource] = {
    r.table: r
    for r in (
        Resource(
            "companies",
            "Company",
            required=("identifier", "name"),
            limits={
                "identifier": 30,
                "name": 50,
                "state": 50,
                "website": 255,
                **ADDRESS,
                **PHONES,
                **{f"userDefinedField{n}": 50 for n in range(1, 11)},
            },
            unique=("identifier",),
            refs={
                "status": kind("company_status"),
                "types": kind("company_type", many=True),
                "territory": kind("territory"),
                "market": kind("market"),
                "country": kind("country", "iref"),
                "site": SITE,
                "billToCompany": COMPANY,
                "parentCompany": COMPANY,
                "territoryManager": MEMBER,
                "defaultContact": CONTACT,
                "billingTerms": kind("billing_terms"),
                "taxCode": kind("tax_code"),
            },
            defaults={"deletedFlag": False},
            create_only=("types",),
            audit_type="Company",
            soft_delete=True,
        ),
        Resource(
            "sites",
            "Site",
            required=("name",),
            limits={"name": 50, **ADDRESS, **PHONES},
            refs={
                "company": COMPANY,
                "country": kind("country", "iref"),
                "stateReference": kind("state", "iref"),
                "taxCode": kind("tax_code"),
            },
            parent=("companies", "company"),
        ),
        Resource(
            "contacts",
            "Contact",
            limits={"firstName": 30, "lastName": 30, "title": 100},
            refs={"company": COMPANY, "site": SITE},
            audit_type="Contact",
        ),
        Resource(
            "agreements",
            "Agreement",
            required=("name", "type", "company", "contact"),
            limits={"name": 100, "reasonCancelled": 100, "customerPO": 50, "workOrder": 20},
            refs={
                "type": Ref("agreement_types"),
                "company": COMPANY,
                "contact": CONTACT,
                "billToCompany": COMPANY,
                "billToContact": CONTACT,
                "billToSite": SITE,
                "site": SITE,
                "location": kind("location"),
                "department": kind("department", "iref"),
                "billingCycle": kind("billing_cycle"),
                "billingTerms": kind("billing_terms"),
                "workRole": kind("work_role"),
                "workType": kind("work_type"),
                "parentAgreement": AGREEMENT,
            },
            enums={
                "agreementStatus": AGREEMENT_STATUS,
                "invoicingCycle": ("ContractYear", "CalendarYear"),
                "billTime": BILLABLE,
                "billExpenses": BILLABLE,
                "billProducts": BILLABLE,
                "applicationUnits": ("Amount", "Hours", "Incidents"),
                "periodType": ("Current", "Future", "Both", "Undefined"),
            },
            defaults={"agreementStatus": "Active", "cancelledFlag": False},
            audit_type="Agreement",
        ),
        Resource(
            "additions",
            "AgreementAddition",
            required=("product", "billCustomer"),
            limits={"invoiceDescription": 6000, "serialNumber": 50},
            refs={"product": kind("catalog_item", "item")},
            enums={
                "billCustomer": ("Billable", "DoNotBill", "NoCharge"),
                "agreementStatus": AGREEMENT_STATUS,
            },
            audit_type="AgreementAddition",
            parent=("agreements", "agreementId"),
        ),
        Resource(
            "invoices",
            "Invoice",
            required=("type", "company"),
            limits={"invoiceNumber": 15, "reference": 50, "customerPO": 50, "attention": 60},
            refs={
                "status": Ref("billing_statuses"),
                "company": COMPANY,
                "billToCompany": COMPANY,
                "shipToCompany": COMPANY,
                "agreement": AGREEMENT,
                "billingTerms": kind("billing_terms"),
                "taxCode": kind("tax_code"),
            },
            enums={
                "type": (
                    "Agreement",
                    "CreditMemo",
                    "DownPayment",
                    "Miscellaneous",
                    "Progress",
                    "Standard",
                ),
                "applyToType": (
                    "All",
                    "Agreement",
                    "Project",
                    "ProjectPhase",
                    "SalesOrder",
                    "Ticket",
                ),
            },
            audit_type="Invoice",
        ),
        Resource(
            "tickets",
            "Ticket",
            required=("summary", "company"),
            limits=TICKET_LIMITS,
            refs=TICKET_REFS,
            enums=TICKET_ENUMS,
            defaults={"recordType": "ServiceTicket", "closedFlag": False},
            audit_type="Ticket",
            searchable=True,
            id_group="tickets",
        ),
        Resource(
            "project_tickets",
            "ProjectTicket",
            required=("summary", "project"),
            limits={**TICKET_LIMITS, "wbsCode": 50},
            refs={**TICKET_REFS, "project": Ref("projects"), "phase": kind("phase")},
            enums=TICKET_ENUMS,
            defaults={"recordType": "ProjectTicket", "closedFlag": False},
            audit_type="ProjectTicket",
            searchable=True,
            id_group="tickets",
        ),
        Resource(
            "time_entries",
            "TimeEntry",
            required=("timeStart",),
            refs={
                "company": COMPANY,
                "member": MEMBER,
                "ticket": Ref("tickets", "ticket"),
                "project": Ref("projects"),
                "workType": kind("work_type"),
                "workRole": kind("work_role"),
                "agreement": AGREEMENT,
            },
            enums={
                "chargeToType": ("ServiceTicket", "ProjectTicket", "ChargeCode", "Activity"),
                "billableOption": BILLABLE,
            },
            audit_type="Time",
        ),
        Resource(
            "projects",
            "Project",
            required=("name", "billingMethod", "estimatedStart", "estimatedEnd", "company"),
            limits={"name": 100},
            refs={
                "company": COMPANY,
                "board": kind("board"),
                "status": kind("project_status"),
                "type": kind("project_type"),
                "manager": MEMBER,
                "contact": CONTACT,
                "agreement": AGREEMENT,
                "billToCompany": COMPANY,
            },
            enums={
                "billingMethod": BILLING_METHOD,
                "billTime": BILLABLE,
                "billExpenses": BILLABLE,
                "billProducts": BILLABLE,
                "billingRateType": ("StaffMember", "WorkRole"),
                "budgetAnalysis": ("ActualHours", "BillableHours"),
            },
            defaults={"closedFlag": False},
            audit_type="Project",
        ),
        Resource(
            "sales_orders",
            "SalesOrder",
            required=("company", "status", "salesRep"),
            limits={"poNumber": 50},
            refs={
                "company": COMPANY,
                "status": Ref("order_statuses"),
                "salesRep": MEMBER,
                "contact": CONTACT,
                "site": SITE,
                "billToCompany": COMPANY,
                "shipToCompany": COMPANY,
                "location": kind("location"),
                "department": kind("department", "iref"),
            },
        ),
        Resource(
            "products",
            "ProcurementProduct",
            required=("catalogItem", "billableOption"),
            limits={"description": 2000, "customerDescription": 6000},
            refs={
                "catalogItem": kind("catalog_item", "iref"),
                "company": COMPANY,
                "agreement": AGREEMENT,
                "salesOrder": Ref("sales_orders", "order"),
                "ticket": Ref("tickets", "ticket"),
                "project": Ref("projects"),
                "vendor": COMPANY,
            },
            enums={
                "billableOption": ("Billable", "DoNotBill", "NoCharge"),
                "productClass": ("Agreement", "Bundle", "Inventory", "NonInventory", "Service"),
            },
            defaults={"cancelledFlag": False},
            audit_type="ProductCatalog",
        ),
        # Setup tables the sync checks its configuration against (agreement types, invoice
        # statuses). Records point at them, so a row in use must stay: no DELETE here.
        Resource(
            "agreement_types",
            "AgreementType",
            required=("name",),
            limits={
                "name": 50,
                "invoicePreSuffix": 5,
                "invoiceDescription": 4000,
                "integrationXRef": 50,
            },
            unique=("name",),
            refs={
                "location": kind("location"),
                "department": kind("department", "iref"),
                "billingCycle": kind("billing_cycle"),
                "billingTerms": kind("billing_terms"),
                "invoiceTemplate": kind("invoice_template"),
                "workRole": kind("work_role"),
                "workType": kind("work_type"),
            },
            enums={
                "billTime": BILLABLE,
                "billExpenses": BILLABLE,
                "billProducts": BILLABLE,
                "invoicingCycle": ("ContractYear", "CalendarYear"),
                "employeeCompRate": ("Actual", "Hourly"),
                "employeeCompNotExceed": ("Billing", "Amount", "Percent"),
                "applicationUnits": ("Amount", "Hours", "Incidents"),
                "prefixSuffixOption": ("Prefix", "Suffix"),
            },
            # pyconnectwise 0.6.1.2 cannot read an agreement type without these.
            defaults={
                "billTime": "Billable",
                "billExpenses": "Billable",
                "billProducts": "Billable",
                "invoicingCycle": "ContractYear",
                "employeeCompRate": "Actual",
                "employeeCompNotExceed": "Billing",
                "defaultFlag": False,
                "inactiveFlag": False,
            },
            deletable=False,
        ),
        Resource(
            "billing_statuses",
            "BillingStatus",
            required=("name",),
            limits={"name": 30},
            unique=("name",),
            defaults={
                "defaultFlag": False,
                "closedFlag": False,
                "sentFlag": False,
                "inactiveFlag": False,
            },
            deletable=False,
        ),
        # Service boards, their statuses and types: the service sync checks its configured
        # board and status names against them. Tickets point at them: no DELETE.
        Resource(
            "boards",
            "Board",
            required=("name",),
            limits={"name": 50},
            unique=("name",),
            refs={
                "location": kind("location"),
                "department": kind("department", "iref"),
                "workRole": kind("work_role"),
                "workType": kind("work_type"),
            },
            enums={"billTime": BILLABLE, "billExpense": BILLABLE, "billProduct": BILLABLE},
            defaults={"inactiveFlag": False, "projectFlag": False},
            deletable=False,
        ),
        Resource(
            "board_statuses",
            "BoardStatus",
            required=("name",),
            limits={"name": 50, "customerPortalDescription": 500},
            refs={"board": Ref("boards")},
            enums={
                "escalationStatus": (
                    "NotResponded",
                    "Responded",
                    "ResolutionPlan",
                    "Resolved",
                    "NoEscalation",
                )
            },
            defaults={"closedStatus": False, "inactive": False, "defaultFlag": False},
            parent=("boards", "board"),
            deletable=False,
        ),
        Resource(
            "board_types",
            "BoardType",
            required=("name",),
            limits={"name": 50, "integrationXref": 50},
            refs={
                "board": Ref("boards"),
                "location": kind("location"),
                "department": kind("department", "iref"),
            },
            enums={"category": ("Reactive", "Proactive")},
            defaults={"inactiveFlag": False, "defaultFlag": False},
            parent=("boards", "board"),
            deletable=False,
        ),
        # Ticket priorities: the calls-to-PSA step checks its configured priority against
        # them. Tickets point at them: no DELETE.
        Resource(
            "priorities",
            "Priority",
            required=("name", "color"),
            limits={"name": 50},
            unique=("name",),
            enums={"color": PRIORITY_COLORS},
            defaults={"defaultFlag": False},
            deletable=False,
        ),
        # Sales-order statuses, product types and the catalog: the sales-order sync checks
        # its configured names against them and reads each item's class and type.
        Resource(
            "order_statuses",
            "SalesOrderStatus",
            required=("name",),
            limits={"name": 30},
            unique=("name",),
            defaults={"defaultFlag": False, "closedFlag": False, "inactiveFlag": False},
            deletable=False,
        ),
        Resource(
            "product_types",
            "ProductType",
            required=("name",),
            limits={"name": 50},
            unique=("name",),
            defaults={"defaultFlag": False, "inactiveFlag": False},
            deletable=False,
        ),
        Resource(
            "catalog_items",
            "CatalogItem",
            required=("identifier", "description", "productClass", "type"),
            limits={"identifier": 50, "description": 60, "customerDescription": 60},
            unique=("identifier",),
            refs={"type": Ref("product_types")},
            enums={
                "productClass": ("Agreement", "Bundle", "Inventory", "NonInventory", "Service"),
            },
            defaults={"inactiveFlag": False, "serializedFlag": False, "dropShipFlag": False},
            audit_type="ProductCatalog",
            deletable=False,
        ),
        # A project's phases (/project/projects/{id}/phases): billing by phase.
        Resource(
            "project_phases",
            "ProjectPhase",
            required=("description",),
            limits={"description": 100, "wbsCode": 50, "poNumber": 25},
            refs={"board": kind("board"), "status": kind("phase_status"), "agreement": AGREEMENT},
            enums={
                "billTime": BILLABLE,
                "billExpenses": BILLABLE,
                "billProducts": BILLABLE,
                "billingMethod": BILLING_METHOD,
            },
            defaults={"billSeparatelyFlag": False, "markAsMilestoneFlag": False},
            parent=("projects", "projectId"),
        ),
        Resource(
            "members",
            "Member",
            required=("identifier", "firstName", "licenseClass"),
            limits={"identifier": 15, "firstName": 30, "lastName": 30},
            unique=("identifier",),
            refs={
                "workRole": kind("work_role"),
                "workType": kind("work_type"),
                "defaultLocation": kind("location"),
                "defaultDepartment": kind("department", "iref"),
            },
            enums={"licenseClass": ("A", "C", "F", "X")},
            deletable=False,  # the API has no DELETE for members
            # pyconnectwise 0.6.1.2 cannot read a member without these (spec 9.11).
            defaults={
                "inactiveFlag": False,
                "defaultEmail": "Office",
                "defaultPhone": "Office",
                "agreementInvoicingDisplayOptions": "RemainOnInvoicingScreen",
                "invoicingDisplayOptions": "RemainOnInvoicingScreen",
                "invoiceScreenDefaultTabFormat": "ShowInvoicingTab",
            },
        ),
    )
}

# URL path (after apis/3.0, lower case, "*" = a record id) -> resource table.
ROUTES: dict[tuple[str, ...], str] = {
    ("company", "companies"): "companies",
    ("company", "companies", "*", "sites"): "sites",
    ("company", "contacts"): "contacts",
    ("finance", "agreements"): "agreements",
    ("finance", "agreements", "*", "additions"): "additions",
    ("finance", "invoices"): "invoices",
    ("finance", "agreements", "types"): "agreement_types",
    ("finance", "agreementtypes"): "agreement_types",  # newer versions' spelling
    ("finance", "billingstatuses"): "billing_statuses",
    ("service", "tickets"): "tickets",
    ("time", "entries"): "time_entries",
    ("project", "tickets"): "project_tickets",
    ("project", "projects"): "projects",
    ("sales", "orders"): "sales_orders",
    ("sales", "orders", "statuses"): "order_statuses",
    ("procurement", "catalog"): "catalog_items",
    ("procurement", "types"): "product_types",
    ("procurement", "products"): "products",
    ("system", "members"): "members",
    ("service", "boards"): "boards",
    ("service", "boards", "*", "statuses"): "board_statuses",
    ("service", "boards", "*", "types"): "board_types",
    ("service", "priorities"): "priorities",
    ("project", "projects", "*", "phases"): "project_phases",
}


def create_tables(con) -> None:
    """The store's ``connectwise`` schema (the world generator fills it)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS connectwise")
    for table in RESOURCES:
        con.execute(
            f"CREATE TABLE IF NOT EXISTS connectwise.{table} (id BIGINT NOT NULL, "
            "parent_id BIGINT, last_updated TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)"
        )
    con.execute(
        "CREATE TABLE IF NOT EXISTS connectwise.audit_trail (type VARCHAR, record_id BIGINT, "
        "entered_at TIMESTAMP, doc VARCHAR)"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS connectwise.refs (kind VARCHAR, id BIGINT, name VARCHAR, "
        "identifier VARCHAR, doc VARCHAR)"
    )
