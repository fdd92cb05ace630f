"""e-automate entities as landed in ``raw_eautomate`` (field limits from the PublicAPI)."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crosswalk.entities import Entity

Text = Series[pd.StringDtype]
Flag = Series[pd.BooleanDtype]
Stamp = Series[pd.DatetimeTZDtype(tz="UTC")]


class Customer(pa.DataFrameModel):
    """A customer; a location is a customer whose ``parent_location_number`` names its parent."""

    customer_number: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 15})
    customer_name: Text = pa.Field(nullable=False, str_length={"min_value": 1, "max_value": 100})
    parent_location_number: Text = pa.Field(nullable=True)
    bill_to_number: Text = pa.Field(nullable=True)
    address: Text = pa.Field(nullable=True)
    city: Text = pa.Field(nullable=True)
    state: Text = pa.Field(nullable=True)
    zip: Text = pa.Field(nullable=True)
    country: Text = pa.Field(nullable=True)
    phone1: Text = pa.Field(nullable=True)
    fax: Text = pa.Field(nullable=True)
    email: Text = pa.Field(nullable=True)
    web_site: Text = pa.Field(nullable=True)
    active: Flag = pa.Field(nullable=True)
    on_hold: Flag = pa.Field(nullable=True)
    customer_type_code: Text = pa.Field(nullable=True)
    branch_number: Text = pa.Field(nullable=True)
    territory_code: Text = pa.Field(nullable=True)
    custom_properties: Text = pa.Field(nullable=True)
    last_update: Stamp = pa.Field(nullable=False)

    class Config:
        coerce = True
        strict = "filter"


customers = Entity("eautomate", "customers", Customer, ("customer_number",), cursor="last_update")
