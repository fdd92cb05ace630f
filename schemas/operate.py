"""essensys Operate entities as landed in ``raw_operate``."""

from crosswalk.entities import Entity
from schemas.base import Field, Flag, Id, Int, Money, Record, Stamp, Text


class Account(Record):
    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1})
    location_id: Id = Field(nullable=False)
    type: Text = Field(nullable=True)
    status: Text = Field(nullable=True)
    connect_client_id: Text = Field(nullable=True)
    send_to_connect_requested: Flag = Field(nullable=True)
    created_at: Stamp = Field(nullable=True)
    updated_at: Stamp = Field(nullable=False)


accounts = Entity("operate", "accounts", Account, ("id",), cursor="updated_at")


class Location(Record):
    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1})
    connect_site_id: Id = Field(nullable=True)
    connect_call_logger: Flag = Field(nullable=True)
    updated_at: Stamp = Field(nullable=True)


class Application(Record):
    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1})
    updated_at: Stamp = Field(nullable=True)


class AccountCode(Record):
    id: Id = Field(nullable=False, ge=1)
    account_id: Id = Field(nullable=False)
    application_id: Id = Field(nullable=False)
    code: Text = Field(nullable=False, str_length={"min_value": 1})
    updated_at: Stamp = Field(nullable=False)


class ProductGroup(Record):
    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1})
    updated_at: Stamp = Field(nullable=True)


class Product(Record):
    id: Id = Field(nullable=False, ge=1)
    name: Text = Field(nullable=False, str_length={"min_value": 1})
    product_group_id: Id = Field(nullable=False)
    unit_price: Money = Field(nullable=False, ge=0)
    updated_at: Stamp = Field(nullable=True)


class DeviceImportMap(Record):
    id: Id = Field(nullable=False, ge=1)
    device_name: Text = Field(nullable=False, str_length={"min_value": 1})
    application_id: Id = Field(nullable=False)
    file_type: Text = Field(nullable=True)
    extension: Text = Field(nullable=True)
    header_rows: Int = Field(nullable=False, ge=0)
    footer_rows: Int = Field(nullable=False, ge=0)
    ignore_zero_values: Flag = Field(nullable=False)
    account_code: Text = Field(nullable=True)
    default_product_id: Id = Field(nullable=False)
    updated_at: Stamp = Field(nullable=True)


# Small collections are read whole every run; accounts and their codes by updated_at.
locations = Entity("operate", "locations", Location, ("id",))
applications = Entity("operate", "applications", Application, ("id",))
account_codes = Entity("operate", "account_codes", AccountCode, ("id",), cursor="updated_at")
product_groups = Entity("operate", "product_groups", ProductGroup, ("id",))
products = Entity("operate", "products", Product, ("id",))
device_import_maps = Entity("operate", "device_import_maps", DeviceImportMap, ("id",))
