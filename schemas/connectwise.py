"""ConnectWise Manage entities as landed in ``raw_connectwise`` (field limits from the API)."""

import pandera.pandas as pa

from crosswalk.entities import Entity
from schemas.base import Flag, Id, Int, Money, Quantity, Record, Stamp, Text


class _Tracked(Record):
    """A record with its id and when it last changed (the cursor)."""

    id: Id = pa.Field(nullable=False, ge=1)
    info__last_updated: Stamp = pa.Field(nullable=False)


class Company(_Tracked):
    identifier: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    status__name: Text = pa.Field(nullable=True)
    account_number: Text = pa.Field(nullable=True)
    address_line1: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    address_line2: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    city: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    state: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    zip: Text = pa.Field(nullable=True, str_length={"max_value": 12})
    phone_number: Text = pa.Field(nullable=True, str_length={"max_value": 30})
    fax_number: Text = pa.Field(nullable=True, str_length={"max_value": 30})
    website: Text = pa.Field(nullable=True, str_length={"max_value": 255})
    territory__name: Text = pa.Field(nullable=True)
    types: Text = pa.Field(nullable=True)
    deleted_flag: Flag = pa.Field(nullable=True)


class CompanyId(Record):
    """A company as the deletion sweep reads it: id, Company ID and whether it is deleted."""

    id: Id = pa.Field(nullable=False, ge=1)
    identifier: Text = pa.Field(nullable=True)
    deleted_flag: Flag = pa.Field(nullable=True)


class TimeEntryId(Record):
    """A time entry as the deletion sweep reads it: id and what it is charged to."""

    id: Id = pa.Field(nullable=False, ge=1)
    charge_to_id: Id = pa.Field(nullable=True)
    charge_to_type: Text = pa.Field(nullable=True)


class Agreement(_Tracked):
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    type__name: Text = pa.Field(nullable=True)
    company__id: Id = pa.Field(nullable=False)
    company__identifier: Text = pa.Field(nullable=True)
    agreement_status: Text = pa.Field(
        nullable=True, isin=["Active", "Cancelled", "Expired", "Inactive"]
    )
    start_date: Stamp = pa.Field(nullable=True)
    end_date: Stamp = pa.Field(nullable=True)
    bill_amount: Money = pa.Field(nullable=True)
    cancelled_flag: Flag = pa.Field(nullable=True)
    type__id: Id = pa.Field(nullable=True)
    bill_to_company__id: Id = pa.Field(nullable=True)
    bill_to_company__identifier: Text = pa.Field(nullable=True)
    billing_cycle__name: Text = pa.Field(nullable=True)
    bill_start_date: Stamp = pa.Field(nullable=True)
    no_ending_date_flag: Flag = pa.Field(nullable=True)
    date_cancelled: Stamp = pa.Field(nullable=True)
    customer_po: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    custom_fields: Text = pa.Field(nullable=True)  # JSON: [{id, caption, value, ...}]


class Ticket(_Tracked):
    summary: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    record_type: Text = pa.Field(
        nullable=True, isin=["ProjectIssue", "ProjectTicket", "ServiceTicket"]
    )
    company__id: Id = pa.Field(nullable=True)
    company__identifier: Text = pa.Field(nullable=True)
    board__name: Text = pa.Field(nullable=True)
    status__name: Text = pa.Field(nullable=True)
    closed_flag: Flag = pa.Field(nullable=True)
    actual_hours: Quantity = pa.Field(nullable=True, ge=0)
    site__id: Id = pa.Field(nullable=True)
    agreement__id: Id = pa.Field(nullable=True)
    type__name: Text = pa.Field(nullable=True)
    owner__identifier: Text = pa.Field(nullable=True)
    contact_name: Text = pa.Field(nullable=True)
    po_number: Text = pa.Field(nullable=True)
    external_x_ref: Text = pa.Field(nullable=True, str_length={"max_value": 100})
    closed_date: Stamp = pa.Field(nullable=True)
    info__date_entered: Stamp = pa.Field(nullable=True)


class ProjectTicket(Ticket):
    """A ticket of a project (``/project/tickets``): its project and phase."""

    project__id: Id = pa.Field(nullable=True)
    phase__id: Id = pa.Field(nullable=True)
    phase__name: Text = pa.Field(nullable=True)


class Project(_Tracked):
    """A project: how it bills (``billing_method`` FixedFee or ActualRates, a fixed fee's
    ``billing_amount``; its down payment is an invoice of its own, never synced)."""

    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    company__id: Id = pa.Field(nullable=True)
    billing_method: Text = pa.Field(
        nullable=True, isin=["ActualRates", "FixedFee", "NotToExceed", "OverrideRate"]
    )
    billing_amount: Money = pa.Field(nullable=True)
    status__name: Text = pa.Field(nullable=True)
    closed_flag: Flag = pa.Field(nullable=True)


class ProjectPhase(_Tracked):
    """A phase of a project (``/project/projects/{id}/phases``): billed on its own
    (``bill_separately_flag``) or with the project."""

    project_id: Id = pa.Field(nullable=True)
    description: Text = pa.Field(nullable=True)
    status__name: Text = pa.Field(nullable=True)
    bill_separately_flag: Flag = pa.Field(nullable=True)
    billing_method: Text = pa.Field(nullable=True)


class Site(_Tracked):
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    company__id: Id = pa.Field(nullable=False)
    address_line1: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    address_line2: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    city: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    state_reference__identifier: Text = pa.Field(nullable=True)
    zip: Text = pa.Field(nullable=True, str_length={"max_value": 12})
    phone_number: Text = pa.Field(nullable=True, str_length={"max_value": 30})
    fax_number: Text = pa.Field(nullable=True, str_length={"max_value": 30})
    inactive_flag: Flag = pa.Field(nullable=True)
    primary_address_flag: Flag = pa.Field(nullable=True)


class Addition(_Tracked):
    agreement_id: Id = pa.Field(nullable=False)
    product__id: Id = pa.Field(nullable=True)
    product__identifier: Text = pa.Field(nullable=True)
    bill_customer: Text = pa.Field(nullable=False, isin=["Billable", "DoNotBill", "NoCharge"])
    quantity: Quantity = pa.Field(nullable=True)
    unit_price: Money = pa.Field(nullable=True)
    unit_cost: Money = pa.Field(nullable=True)
    effective_date: Stamp = pa.Field(nullable=True)
    cancelled_date: Stamp = pa.Field(nullable=True)
    agreement_status: Text = pa.Field(nullable=True)
    description: Text = pa.Field(nullable=True)
    less_included: Quantity = pa.Field(nullable=True)
    billed_quantity: Quantity = pa.Field(nullable=True)
    ext_price: Money = pa.Field(nullable=True)
    invoice_description: Text = pa.Field(nullable=True)


class Invoice(_Tracked):
    invoice_number: Text = pa.Field(nullable=True, str_length={"max_value": 15})
    type: Text = pa.Field(
        nullable=False,
        isin=["Agreement", "CreditMemo", "DownPayment", "Miscellaneous", "Progress", "Standard"],
    )
    company__id: Id = pa.Field(nullable=False)
    apply_to_type: Text = pa.Field(nullable=True)
    apply_to_id: Id = pa.Field(nullable=True)
    agreement__id: Id = pa.Field(nullable=True)
    date: Stamp = pa.Field(nullable=True)
    due_date: Stamp = pa.Field(nullable=True)
    subtotal: Money = pa.Field(nullable=True)
    total: Money = pa.Field(nullable=True)
    sales_tax: Money = pa.Field(nullable=True)
    balance: Money = pa.Field(nullable=True)
    status__id: Id = pa.Field(nullable=True)
    status__name: Text = pa.Field(nullable=True)
    reference: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    bill_to_company__id: Id = pa.Field(nullable=True)
    bill_to_company__identifier: Text = pa.Field(nullable=True)
    agreement_amount: Money = pa.Field(nullable=True)
    product_total: Money = pa.Field(nullable=True)
    project__id: Id = pa.Field(nullable=True)
    phase__id: Id = pa.Field(nullable=True)


class TimeEntry(_Tracked):
    time_start: Stamp = pa.Field(nullable=False)
    time_end: Stamp = pa.Field(nullable=True)
    charge_to_id: Id = pa.Field(nullable=True)
    charge_to_type: Text = pa.Field(
        nullable=True, isin=["ServiceTicket", "ProjectTicket", "ChargeCode", "Activity"]
    )
    company__id: Id = pa.Field(nullable=True)
    member__id: Id = pa.Field(nullable=True)
    member__identifier: Text = pa.Field(nullable=True)
    work_type__name: Text = pa.Field(nullable=True)
    actual_hours: Quantity = pa.Field(nullable=True, ge=0)
    hours_billed: Quantity = pa.Field(nullable=True)
    billable_option: Text = pa.Field(nullable=True)
    notes: Text = pa.Field(nullable=True)
    status: Text = pa.Field(nullable=True)
    agreement__id: Id = pa.Field(nullable=True)
    invoice__id: Id = pa.Field(nullable=True)
    work_role__name: Text = pa.Field(nullable=True)
    date_entered: Stamp = pa.Field(nullable=True)


class Member(_Tracked):
    identifier: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    first_name: Text = pa.Field(nullable=True)
    last_name: Text = pa.Field(nullable=True)
    primary_email: Text = pa.Field(nullable=True)
    inactive_flag: Flag = pa.Field(nullable=True)
    license_class: Text = pa.Field(nullable=True)
    # The technician number (the API's own spelling), the ERP technician it works as.
    employee_identifer: Text = pa.Field(nullable=True, str_length={"max_value": 10})


class AgreementType(Record):
    """An agreement type, read whole (a short list): the names ``agreement_types`` may use."""

    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    inactive_flag: Flag = pa.Field(nullable=True)
    billing_cycle__name: Text = pa.Field(nullable=True)


class BillingStatus(Record):
    """An invoice status, read whole: the names ``invoice_statuses`` may use."""

    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    default_flag: Flag = pa.Field(nullable=True)
    sent_flag: Flag = pa.Field(nullable=True)
    closed_flag: Flag = pa.Field(nullable=True)
    inactive_flag: Flag = pa.Field(nullable=True)


class Board(Record):
    """A service board, read whole: the names ``[flows.service_sync] statuses`` may use."""

    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    inactive_flag: Flag = pa.Field(nullable=True)
    project_flag: Flag = pa.Field(nullable=True)


class BoardStatus(Record):
    """A status of a service board; ``closed_status`` is what "closed" means on it."""

    id: Id = pa.Field(nullable=False, ge=1)
    board__id: Id = pa.Field(nullable=True)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    closed_status: Flag = pa.Field(nullable=True)
    inactive: Flag = pa.Field(nullable=True)


class OrderStatus(Record):
    """A sales-order status, read whole: the names ``[flows.sales_order_sync] statuses`` may use."""

    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    closed_flag: Flag = pa.Field(nullable=True)
    inactive_flag: Flag = pa.Field(nullable=True)


class ProductType(Record):
    """A product type, read whole: the names ``item_templates`` may use."""

    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    inactive_flag: Flag = pa.Field(nullable=True)


PRODUCT_CLASSES = ["Agreement", "Bundle", "Inventory", "NonInventory", "Service"]


class CatalogItem(_Tracked):
    """A catalog item: the ERP item of the same number is what an order line sells."""

    identifier: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 50})
    description: Text = pa.Field(nullable=True)
    product_class: Text = pa.Field(nullable=True, isin=PRODUCT_CLASSES)
    type__name: Text = pa.Field(nullable=True)
    inactive_flag: Flag = pa.Field(nullable=True)


class SalesOrder(_Tracked):
    company__id: Id = pa.Field(nullable=False)
    company__identifier: Text = pa.Field(nullable=True)
    status__name: Text = pa.Field(nullable=True)
    bill_to_company__id: Id = pa.Field(nullable=True)
    ship_to_company__id: Id = pa.Field(nullable=True)
    site__id: Id = pa.Field(nullable=True)
    ship_to_site__id: Id = pa.Field(nullable=True)
    order_date: Stamp = pa.Field(nullable=True)
    po_number: Text = pa.Field(nullable=True, str_length={"max_value": 50})
    description: Text = pa.Field(nullable=True)
    sub_total: Money = pa.Field(nullable=True)
    total: Money = pa.Field(nullable=True)
    product_ids: Text = pa.Field(nullable=True)  # JSON: [int]
    custom_fields: Text = pa.Field(nullable=True)  # JSON: [{id, caption, value, ...}]


class Product(_Tracked):
    """A procurement product: on a sales order, one of its lines."""

    catalog_item__id: Id = pa.Field(nullable=True)
    catalog_item__identifier: Text = pa.Field(nullable=True)
    sales_order__id: Id = pa.Field(nullable=True)
    description: Text = pa.Field(nullable=True)
    billable_option: Text = pa.Field(nullable=False, isin=["Billable", "DoNotBill", "NoCharge"])
    product_class: Text = pa.Field(nullable=True, isin=PRODUCT_CLASSES)
    quantity: Quantity = pa.Field(nullable=True)
    price: Money = pa.Field(nullable=True)
    cancelled_flag: Flag = pa.Field(nullable=True)
    quantity_cancelled: Quantity = pa.Field(nullable=True)
    cancelled_reason: Text = pa.Field(nullable=True)
    dropship_flag: Flag = pa.Field(nullable=True)
    sequence_number: Int = pa.Field(nullable=True)  # the line's place on the order


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
