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
