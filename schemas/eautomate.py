"""e-automate entities as landed in ``raw_eautomate`` (field limits from the PublicAPI).

Date-times arrive with the dealer's offset (the source adds it: e-automate speaks local time)
and land as UTC; dates (``YYYY-MM-DD``) stay text until staging casts them. Lists (custom
properties, contract lines, call labor and materials) are JSON text on their record's row:
they come with the record in one read, and a line removed in the ERP disappears with the
next version of its record instead of lingering in a table of its own.
"""

from crosswalk.entities import Entity
from schemas.base import Field, Flag, Id, Money, Record, Stamp, Text

DATE = r"^\d{4}-\d{2}-\d{2}$"


class Customer(Record):
    """A customer; a location is a customer whose ``parent_location_number`` names its parent."""

    customer_number: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    customer_name: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    parent_location_number: Text = Field(nullable=True)
    bill_to_number: Text = Field(nullable=True)
    mail_to_number: Text = Field(nullable=True)
    attn: Text = Field(nullable=True)
    address: Text = Field(nullable=True)
    city: Text = Field(nullable=True)
    state: Text = Field(nullable=True)
    zip: Text = Field(nullable=True)
    country: Text = Field(nullable=True)
    phone1: Text = Field(nullable=True)
    phone2: Text = Field(nullable=True)
    fax: Text = Field(nullable=True)
    email: Text = Field(nullable=True)
    web_site: Text = Field(nullable=True)
    active: Flag = Field(nullable=True)
    prospect: Flag = Field(nullable=True)
    on_hold: Flag = Field(nullable=True)
    on_hold_code: Text = Field(nullable=True)
    customer_type_code: Text = Field(nullable=True)
    branch_number: Text = Field(nullable=True)
    territory_code: Text = Field(nullable=True)
    sales_rep: Text = Field(nullable=True)
    remarks: Text = Field(nullable=True)
    custom_properties: Text = Field(nullable=True)
    create_date: Stamp = Field(nullable=True)
    last_update: Stamp = Field(nullable=False)


class Technician(Record):
    technician_number: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    first_name: Text = Field(nullable=True)
    last_name: Text = Field(nullable=True)
    email: Text = Field(nullable=True)
    active: Flag = Field(nullable=True)
    last_update: Stamp = Field(nullable=False)


class Item(Record):
    item_id: Id = Field(nullable=True)
    item: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 30})
    description: Text = Field(nullable=True)
    item_kind: Text = Field(
        nullable=False, isin=["expense", "inventory", "nonstock", "serviceable"]
    )
    sales_code: Text = Field(nullable=True)
    inventory_code: Text = Field(nullable=True)
    expense_code: Text = Field(nullable=True)
    active: Flag = Field(nullable=True)
    create_date: Stamp = Field(nullable=True)
    last_update: Stamp = Field(nullable=False)


class Contract(Record):
    """A contract or template (``is_template``), its lines in ``details`` (JSON)."""

    contract_id: Id = Field(nullable=False, ge=1)
    contract_number: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 20})
    customer_number: Text = Field(nullable=False)
    bill_to_number: Text = Field(nullable=True)
    contract_type: Text = Field(nullable=True)
    status: Text = Field(
        nullable=False, isin=["Active", "Cancelled", "Expired", "Inactive", "Terminated"]
    )
    is_template: Flag = Field(nullable=False)
    start_date: Text = Field(nullable=True, str_matches=DATE)
    exp_date: Text = Field(nullable=True, str_matches=DATE)
    billing_cycle: Text = Field(nullable=True)
    base_rate: Money = Field(nullable=True)
    po_number: Text = Field(nullable=True, str_length={"max_value": 30})
    remarks: Text = Field(nullable=True)
    template_number: Text = Field(nullable=True)
    termination_code: Text = Field(nullable=True)
    custom_properties: Text = Field(nullable=True)
    details: Text = Field(nullable=True)
    create_date: Stamp = Field(nullable=True)
    last_update: Stamp = Field(nullable=False)


class Call(Record):
    """A service call, its ``labors`` and ``materials_used`` as JSON."""

    call_number: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    customer_number: Text = Field(nullable=False)
    bill_to_number: Text = Field(nullable=True)
    contract_number: Text = Field(nullable=True)
    call_type: Text = Field(nullable=True)
    status_code: Text = Field(
        nullable=False,
        isin=["Canceled", "Cleared", "Complete", "Dispatched", "Invoiced", "OKToInvoice",
              "Pending", "Scheduled"],
    )  # fmt: skip
    hold_code: Text = Field(nullable=True)
    bill_code: Text = Field(nullable=True)
    caller: Text = Field(nullable=True, str_length={"max_value": 255})
    description: Text = Field(nullable=True, str_length={"max_value": 2048})
    po_number: Text = Field(nullable=True, str_length={"max_value": 15})
    technician_number: Text = Field(nullable=True)
    equipment_number: Text = Field(nullable=True)
    use_unknown_equipment: Flag = Field(nullable=True)
    call_date: Stamp = Field(nullable=True)
    close_date: Stamp = Field(nullable=True)
    labors: Text = Field(nullable=True)
    materials_used: Text = Field(nullable=True)
    create_date: Stamp = Field(nullable=True)
    last_update: Stamp = Field(nullable=False)


class SalesOrder(Record):
    """A sales order, its lines in ``details`` (JSON)."""

    so_number: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    customer_number: Text = Field(nullable=False)
    bill_to_number: Text = Field(nullable=True)
    ship_to_number: Text = Field(nullable=True)
    status: Text = Field(nullable=False, isin=["Canceled", "Invoiced", "Open", "Shipped"])
    order_type: Text = Field(nullable=True)
    on_hold_code: Text = Field(nullable=True)
    po_number: Text = Field(nullable=True, str_length={"max_value": 30})
    description: Text = Field(nullable=True, str_length={"max_value": 255})
    date: Text = Field(nullable=True, str_matches=DATE)
    details: Text = Field(nullable=True)
    create_date: Stamp = Field(nullable=True)
    last_update: Stamp = Field(nullable=False)


class CodeList(Record):
    """One code of one list; ``HoldCode`` are call holds, ``OnHoldCode`` customer holds."""

    list_type: Text = Field(nullable=False, str_length={"min_value": 1})
    code: Text = Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    description: Text = Field(nullable=True)
    active: Flag = Field(nullable=True)


customers = Entity("eautomate", "customers", Customer, ("customer_number",), cursor="last_update")
technicians = Entity(
    "eautomate", "technicians", Technician, ("technician_number",), cursor="last_update"
)
items = Entity("eautomate", "items", Item, ("item",), cursor="last_update")
contracts = Entity("eautomate", "contracts", Contract, ("contract_id",), cursor="last_update")
calls = Entity("eautomate", "calls", Call, ("call_number",), cursor="last_update")
sales_orders = Entity("eautomate", "sales_orders", SalesOrder, ("so_number",), cursor="last_update")
code_lists = Entity("eautomate", "code_lists", CodeList, ("list_type", "code"))
