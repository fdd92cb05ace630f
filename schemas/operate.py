"""essensys Operate entities as landed in ``raw_operate``."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crosswalk.entities import Entity


class Account(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    location_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    type: Series[pd.StringDtype] = pa.Field(nullable=True)
    status: Series[pd.StringDtype] = pa.Field(nullable=True)
    connect_client_id: Series[pd.StringDtype] = pa.Field(nullable=True)
    send_to_connect_requested: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    created_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=True)
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=False)

    class Config:
        coerce = True
        strict = "filter"


accounts = Entity("operate", "accounts", Account, ("id",), cursor="updated_at")


class Location(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    connect_site_id: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    connect_call_logger: Series[pd.BooleanDtype] = pa.Field(nullable=True)
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


class Application(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


class AccountCode(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    account_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    application_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    code: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=False)

    class Config:
        coerce = True
        strict = "filter"


class ProductGroup(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


class Product(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    product_group_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    unit_price: Series[pd.Float64Dtype] = pa.Field(nullable=False, ge=0)
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


class DeviceImportMap(pa.DataFrameModel):
    id: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    device_name: Series[pd.StringDtype] = pa.Field(nullable=False, str_length={"min_value": 1})
    application_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    file_type: Series[pd.StringDtype] = pa.Field(nullable=True)
    extension: Series[pd.StringDtype] = pa.Field(nullable=True)
    header_rows: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=0)
    footer_rows: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=0)
    ignore_zero_values: Series[pd.BooleanDtype] = pa.Field(nullable=False)
    account_code: Series[pd.StringDtype] = pa.Field(nullable=True)
    default_product_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    updated_at: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=True)

    class Config:
        coerce = True
        strict = "filter"


# Small collections are read whole every run; accounts and their codes by updated_at.
locations = Entity("operate", "locations", Location, ("id",))
applications = Entity("operate", "applications", Application, ("id",))
account_codes = Entity("operate", "account_codes", AccountCode, ("id",), cursor="updated_at")
product_groups = Entity("operate", "product_groups", ProductGroup, ("id",))
products = Entity("operate", "products", Product, ("id",))
device_import_maps = Entity("operate", "device_import_maps", DeviceImportMap, ("id",))
