"""essensys Operate entities as landed in ``raw_operate``."""

import pandera.pandas as pa

from crosswalk.entities import Entity
from schemas.base import Flag, Id, Int, Money, Record, Stamp, Text


class Account(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    location_id: Id = pa.Field(nullable=False)
    type: Text = pa.Field(nullable=True)
    status: Text = pa.Field(nullable=True)
    connect_client_id: Text = pa.Field(nullable=True)
    send_to_connect_requested: Flag = pa.Field(nullable=True)
    created_at: Stamp = pa.Field(nullable=True)
    updated_at: Stamp = pa.Field(nullable=False)


accounts = Entity("operate", "accounts", Account, ("id",), cursor="updated_at")


class Location(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    connect_site_id: Id = pa.Field(nullable=True)
    connect_call_logger: Flag = pa.Field(nullable=True)
    updated_at: Stamp = pa.Field(nullable=True)


class Application(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    updated_at: Stamp = pa.Field(nullable=True)


class AccountCode(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    account_id: Id = pa.Field(nullable=False)
    application_id: Id = pa.Field(nullable=False)
    code: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    updated_at: Stamp = pa.Field(nullable=False)


class ProductGroup(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    updated_at: Stamp = pa.Field(nullable=True)


class Product(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    name: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    product_group_id: Id = pa.Field(nullable=False)
    unit_price: Money = pa.Field(nullable=False, ge=0)
    updated_at: Stamp = pa.Field(nullable=True)


class DeviceImportMap(Record):
    id: Id = pa.Field(nullable=False, ge=1)
    device_name: Text = pa.Field(nullable=False, str_length={"min_value": 1})
    application_id: Id = pa.Field(nullable=False)
    file_type: Text = pa.Field(nullable=True)
    extension: Text = pa.Field(nullable=True)
    header_rows: Int = pa.Field(nullable=False, ge=0)
    footer_rows: Int = pa.Field(nullable=False, ge=0)
    ignore_zero_values: Flag = pa.Field(nullable=False)
    account_code: Text = pa.Field(nullable=True)
    default_product_id: Id = pa.Field(nullable=False)
    updated_at: Stamp = pa.Field(nullable=True)


# Small collections are read whole every run; accounts and their codes by updated_at.
locations = Entity("operate", "locations", Location, ("id",))
applications = Entity("operate", "applications", Application, ("id",))
account_codes = Entity("operate", "account_codes", AccountCode, ("id",), cursor="updated_at")
product_groups = Entity("operate", "product_groups", ProductGroup, ("id",))
products = Entity("operate", "products", Product, ("id",))
device_import_maps = Entity("operate", "device_import_maps", DeviceImportMap, ("id",))
