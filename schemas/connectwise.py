"""ConnectWise Manage entities as landed in ``raw_connectwise`` (field limits from the API)."""

from crosswalk.entities import Entity
from schemas.base import Field, Flag, Id, Int, Money, Quantity, Record, Stamp, Text


class _Tracked(Record):
    """A record with its id and when it last changed (the cursor)."""

    id: Id = Field(nullable=False, ge=1)
    info__last_updated: Stamp = Field(nullable=False)


class Company(_Tracked):
    identifier: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    status__name: Text = Field(nullable=True)
    account_number: Text = Field(nullable=True)
    address_line1: Text = Field(nullable=True, str_length={"max_value": 50})
    address_line2: Text = Field(nullable=True, str_length={"max_value": 50})
    city: Text = Field(nullable=True, str_length={"max_value": 50})
    state: Text = Field(nullable=True, str_length={"max_value": 50})
    zip: Text = Field(nullable=True, str_length={"max_value": 12})
    phone_number: Text = Field(nullable=True, str_length={"max_value": 30})
    fax_number: Text = Field(nullable=True, str_length={"max_value": 30})
    website: Text = Field(nullable=True, str_length={"max_value": 255})
    territory__name: Text = Field(nullable=True)
    types: Text = Field(nullable=True)
    deleted_flag: Flag = Field(nullable=True)


class CompanyId(Record):
    """A company as the deletion sweep reads it: id, Company ID and whether it is deleted."""

    id: Id = Field(nullable=False, ge=1)
    identifier: Text = Field(nullable=True)
    deleted_flag: Flag = Field(nullable=True)


class TimeEntryId(Record):
    """A time entry as the deletion sweep reads it: id and what it is charged to."""

    id: Id = Field(nullable=False, ge=1)
    charge_to_id: Id = Field(nullable=True)
    charge_to_type: Text = Field(nullable=True)


class Agreement(_Tracked):
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    type__name: Text = Field(nullable=True)
    company__id: Id = Field(nullable=False)
    company__identifier: Text = Field(nullable=True)
    agreement_status: Text = Field(
        nullable=True, isin=["Active", "Cancelled", "Expired", "Inactive"]
    )
    start_date: Stamp = Field(nullable=True)
    end_date: Stamp = Field(nullable=True)
    bill_amount: Money = Field(nullable=True)
    cancelled_flag: Flag = Field(nullable=True)
    type__id: Id = Field(nullable=True)
    bill_to_company__id: Id = Field(nullable=True)
    bill_to_company__identifier: Text = Field(nullable=True)
    billing_cycle__name: Text = Field(nullable=True)
    bill_start_date: Stamp = Field(nullable=True)
    no_ending_date_flag: Flag = Field(nullable=True)
    date_cancelled: Stamp = Field(nullable=True)
    customer_po: Text = Field(nullable=True, str_length={"max_value": 50})
    custom_fields: Text = Field(nullable=True)  # JSON: [{id, caption, value, ...}]


class Ticket(_Tracked):
    summary: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    record_type: Text = Field(
        nullable=True, isin=["ProjectIssue", "ProjectTicket", "ServiceTicket"]
    )
    company__id: Id = Field(nullable=True)
    company__identifier: Text = Field(nullable=True)
    board__name: Text = Field(nullable=True)
    status__name: Text = Field(nullable=True)
    closed_flag: Flag = Field(nullable=True)
    actual_hours: Quantity = Field(nullable=True, ge=0)
    site__id: Id = Field(nullable=True)
    agreement__id: Id = Field(nullable=True)
    type__name: Text = Field(nullable=True)
    owner__identifier: Text = Field(nullable=True)
    contact_name: Text = Field(nullable=True)
    po_number: Text = Field(nullable=True)
    external_x_ref: Text = Field(nullable=True, str_length={"max_value": 100})
    closed_date: Stamp = Field(nullable=True)
    info__date_entered: Stamp = Field(nullable=True)


class ProjectTicket(Ticket):
    """A ticket of a project (``/project/tickets``): its project and phase."""

    project__id: Id = Field(nullable=True)
    phase__id: Id = Field(nullable=True)
    phase__name: Text = Field(nullable=True)


class Project(_Tracked):
    """A project: how it bills (``billing_method`` FixedFee or ActualRates, a fixed fee's
    ``billing_amount``; its down payment is an invoice of its own, never synced)."""

    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    company__id: Id = Field(nullable=True)
    billing_method: Text = Field(
        nullable=True, isin=["ActualRates", "FixedFee", "NotToExceed", "OverrideRate"]
    )
    billing_amount: Money = Field(nullable=True)
    status__name: Text = Field(nullable=True)
    closed_flag: Flag = Field(nullable=True)


class ProjectPhase(_Tracked):
    """A phase of a project (``/project/projects/{id}/phases``): billed on its own
    (``bill_separately_flag``) or with the project."""

    project_id: Id = Field(nullable=True)
    description: Text = Field(nullable=True)
    status__name: Text = Field(nullable=True)
    bill_separately_flag: Flag = Field(nullable=True)
    billing_method: Text = Field(nullable=True)


class Site(_Tracked):
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    company__id: Id = Field(nullable=False)
    address_line1: Text = Field(nullable=True, str_length={"max_value": 50})
    address_line2: Text = Field(nullable=True, str_length={"max_value": 50})
    city: Text = Field(nullable=True, str_length={"max_value": 50})
    state_reference__identifier: Text = Field(nullable=True)
    zip: Text = Field(nullable=True, str_length={"max_value": 12})
    phone_number: Text = Field(nullable=True, str_length={"max_value": 30})
    fax_number: Text = Field(nullable=True, str_length={"max_value": 30})
    inactive_flag: Flag = Field(nullable=True)
    primary_address_flag: Flag = Field(nullable=True)


class Addition(_Tracked):
    agreement_id: Id = Field(nullable=False)
    product__id: Id = Field(nullable=True)
    product__identifier: Text = Field(nullable=True)
    bill_customer: Text = Field(nullable=False, isin=["Billable", "DoNotBill", "NoCharge"])
    quantity: Quantity = Field(nullable=True)
    unit_price: Money = Field(nullable=True)
    unit_cost: Money = Field(nullable=True)
    effective_date: Stamp = Field(nullable=True)
    cancelled_date: Stamp = Field(nullable=True)
    agreement_status: Text = Field(nullable=True)
    description: Text = Field(nullable=True)
    less_included: Quantity = Field(nullable=True)
    billed_quantity: Quantity = Field(nullable=True)
    ext_price: Money = Field(nullable=True)
    invoice_description: Text = Field(nullable=True)


class Invoice(_Tracked):
    invoice_number: Text = Field(nullable=True, str_length={"max_value": 15})
    type: Text = Field(
        nullable=False,
        isin=["Agreement", "CreditMemo", "DownPayment", "Miscellaneous", "Progress", "Standard"],
    )
    company__id: Id = Field(nullable=False)
    apply_to_type: Text = Field(nullable=True)
    apply_to_id: Id = Field(nullable=True)
    agreement__id: Id = Field(nullable=True)
    date: Stamp = Field(nullable=True)
    due_date: Stamp = Field(nullable=True)
    subtotal: Money = Field(nullable=True)
    total: Money = Field(nullable=True)
    sales_tax: Money = Field(nullable=True)
    balance: Money = Field(nullable=True)
    status__id: Id = Field(nullable=True)
    status__name: Text = Field(nullable=True)
    reference: Text = Field(nullable=True, str_length={"max_value": 50})
    bill_to_company__id: Id = Field(nullable=True)
    bill_to_company__identifier: Text = Field(nullable=True)
    agreement_amount: Money = Field(nullable=True)
    product_total: Money = Field(nullable=True)
    project__id: Id = Field(nullable=True)
    phase__id: Id = Field(nullable=True)


class TimeEntry(_Tracked):
    time_start: Stamp = Field(nullable=False)
    time_end: Stamp = Field(nullable=True)
    charge_to_id: Id = Field(nullable=True)
    charge_to_type: Text = Field(
        nullable=True, isin=["ServiceTicket", "ProjectTicket", "ChargeCode", "Activity"]
    )
    company__id: Id = Field(nullable=True)
    member__id: Id = Field(nullable=True)
    member__identifier: Text = Field(nullable=True)
    work_type__name: Text = Field(nullable=True)
    actual_hours: Quantity = Field(nullable=True, ge=0)
    hours_billed: Quantity = Field(nullable=True)
    billable_option: Text = Field(nullable=True)
    notes: Text = Field(nullable=True)
    status: Text = Field(nullable=True)
    agreement__id: Id = Field(nullable=True)
    invoice__id: Id = Field(nullable=True)
    work_role__name: Text = Field(nullable=True)
    date_entered: Stamp = Field(nullable=True)


class Member(_Tracked):
    identifier: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    first_name: Text = Field(nullable=True)
    last_name: Text = Field(nullable=True)
    primary_email: Text = Field(nullable=True)
    inactive_flag: Flag = Field(nullable=True)
    license_class: Text = Field(nullable=True)
    # The technician number (the API's own spelling), the ERP technician it works as.
    employee_identifer: Text = Field(nullable=True, str_length={"max_value": 10})


class AgreementType(Record):
    """An agreement type, read whole (a short list): the names ``agreement_types`` may use."""

    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    inactive_flag: Flag = Field(nullable=True)
    billing_cycle__name: Text = Field(nullable=True)


class BillingStatus(Record):
    """An invoice status, read whole: the names ``invoice_statuses`` may use."""

    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    default_flag: Flag = Field(nullable=True)
    sent_flag: Flag = Field(nullable=True)
    closed_flag: Flag = Field(nullable=True)
    inactive_flag: Flag = Field(nullable=True)


class Board(Record):
    """A service board, read whole: the names ``[flows.service_sync] statuses`` may use."""

    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    inactive_flag: Flag = Field(nullable=True)
    project_flag: Flag = Field(nullable=True)


class BoardStatus(Record):
    """A status of a service board; ``closed_status`` is what "closed" means on it."""

    id: Id = Field(nullable=False, ge=1)
    board__id: Id = Field(nullable=True)
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    closed_status: Flag = Field(nullable=True)
    inactive: Flag = Field(nullable=True)


class OrderStatus(Record):
    """A sales-order status, read whole: the names ``[flows.sales_order_sync] statuses`` may use."""

    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    closed_flag: Flag = Field(nullable=True)
    inactive_flag: Flag = Field(nullable=True)


class ProductType(Record):
    """A product type, read whole: the names ``item_templates`` may use."""

    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    inactive_flag: Flag = Field(nullable=True)


PRODUCT_CLASSES = ["Agreement", "Bundle", "Inventory", "NonInventory", "Service"]


class CatalogItem(_Tracked):
    """A catalog item: the ERP item of the same number is what an order line sells."""

    identifier: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    description: Text = Field(nullable=True)
    product_class: Text = Field(nullable=True, isin=PRODUCT_CLASSES)
    type__name: Text = Field(nullable=True)
    inactive_flag: Flag = Field(nullable=True)


class SalesOrder(_Tracked):
    company__id: Id = Field(nullable=False)
    company__identifier: Text = Field(nullable=True)
    status__name: Text = Field(nullable=True)
    bill_to_company__id: Id = Field(nullable=True)
    ship_to_company__id: Id = Field(nullable=True)
    site__id: Id = Field(nullable=True)
    ship_to_site__id: Id = Field(nullable=True)
    order_date: Stamp = Field(nullable=True)
    po_number: Text = Field(nullable=True, str_length={"max_value": 50})
    description: Text = Field(nullable=True)
    sub_total: Money = Field(nullable=True)
    total: Money = Field(nullable=True)
    product_ids: Text = Field(nullable=True)  # JSON: [int]
    custom_fields: Text = Field(nullable=True)  # JSON: [{id, caption, value, ...}]


class Product(_Tracked):
    """A procurement product: on a sales order, one of its lines."""

    catalog_item__id: Id = Field(nullable=True)
    catalog_item__identifier: Text = Field(nullable=True)
    sales_order__id: Id = Field(nullable=True)
    description: Text = Field(nullable=True)
    billable_option: Text = Field(nullable=False, isin=["Billable", "DoNotBill", "NoCharge"])
    product_class: Text = Field(nullable=True, isin=PRODUCT_CLASSES)
    quantity: Quantity = Field(nullable=True)
    price: Money = Field(nullable=True)
    cancelled_flag: Flag = Field(nullable=True)
    quantity_cancelled: Quantity = Field(nullable=True)
    cancelled_reason: Text = Field(nullable=True)
    dropship_flag: Flag = Field(nullable=True)
    sequence_number: Int = Field(nullable=True)  # the line's place on the order


companies = Entity("connectwise", "companies", Company, ("id",), cursor="info__last_updated")
# Every company id, cheaply (customer-sync's sweep): deletions and merges that leave
# lastUpdated alone, and companies purged outright, which an incremental read never sees.
company_ids = Entity(
    "connectwise",
    "company_ids",
    CompanyId,
    ("id",),
    resource="companies",
    fields=("id", "deletedFlag", "identifier"),
    mirror=True,
)
agreements = Entity("connectwise", "agreements", Agreement, ("id",), cursor="info__last_updated")
tickets = Entity("connectwise", "tickets", Ticket, ("id",), cursor="info__last_updated")
sites = Entity("connectwise", "sites", Site, ("id",), cursor="info__last_updated", parent=companies)
invoices = Entity("connectwise", "invoices", Invoice, ("id",), cursor="info__last_updated")
# An addition can change without its agreement's lastUpdated moving: they are read again
# for every agreement an invoice changed in the run names too.
additions = Entity(
    "connectwise",
    "additions",
    Addition,
    ("id",),
    cursor="info__last_updated",
    parent=agreements,
    parents_named_by=((invoices, "agreement__id"),),
)
time_entries = Entity(
    "connectwise", "time_entries", TimeEntry, ("id",), cursor="info__last_updated"
)
# Every time entry id (service-sync's sweep): an entry deleted in the PSA leaves no trace an
# incremental read sees, and its labor line must come off the ERP call it is on.
time_entry_ids = Entity(
    "connectwise",
    "time_entry_ids",
    TimeEntryId,
    ("id",),
    resource="time_entries",
    fields=("id", "chargeToId", "chargeToType"),
    mirror=True,
)
members = Entity("connectwise", "members", Member, ("id",), cursor="info__last_updated")
project_tickets = Entity(
    "connectwise", "project_tickets", ProjectTicket, ("id",), cursor="info__last_updated"
)
projects = Entity("connectwise", "projects", Project, ("id",), cursor="info__last_updated")
# A phase's billing can change without its project's lastUpdated moving: the phases are
# read again for every project an invoice or a project ticket changed in the run names.
project_phases = Entity(
    "connectwise",
    "project_phases",
    ProjectPhase,
    ("id",),
    cursor="info__last_updated",
    parent=projects,
    parents_named_by=((invoices, "project__id"), (project_tickets, "project__id")),
)
agreement_types = Entity("connectwise", "agreement_types", AgreementType, ("id",), mirror=True)
billing_statuses = Entity("connectwise", "billing_statuses", BillingStatus, ("id",), mirror=True)
boards = Entity("connectwise", "boards", Board, ("id",), mirror=True)
board_statuses = Entity(
    "connectwise", "board_statuses", BoardStatus, ("id",), parent=boards, mirror=True
)
order_statuses = Entity("connectwise", "order_statuses", OrderStatus, ("id",), mirror=True)
product_types = Entity("connectwise", "product_types", ProductType, ("id",), mirror=True)
catalog_items = Entity(
    "connectwise", "catalog_items", CatalogItem, ("id",), cursor="info__last_updated"
)
sales_orders = Entity(
    "connectwise", "sales_orders", SalesOrder, ("id",), cursor="info__last_updated"
)
products = Entity("connectwise", "products", Product, ("id",), cursor="info__last_updated")
