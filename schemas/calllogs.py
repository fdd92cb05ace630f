"""Call-log calls as landed in ``raw_calllogs``: one row per call (its segments merged),
normalised from any layout by ``crosswalk.calllogs.parse``, merged by ``line_hash``."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crosswalk.entities import Entity


class Call(pa.DataFrameModel):
    line_hash: Series[pd.StringDtype] = pa.Field(nullable=False, str_length=32)
    location_id: Series[pd.Int64Dtype] = pa.Field(nullable=False)
    source_device: Series[pd.StringDtype] = pa.Field(nullable=False)
    layout: Series[pd.StringDtype] = pa.Field(nullable=True)
    call_id: Series[pd.StringDtype] = pa.Field(nullable=True)
    call_start_utc: Series[pd.DatetimeTZDtype(tz="UTC")] = pa.Field(nullable=False)
    extension: Series[pd.StringDtype] = pa.Field(nullable=True)
    account_code: Series[pd.StringDtype] = pa.Field(nullable=True)
    dialled_number: Series[pd.StringDtype] = pa.Field(nullable=True)
    direction: Series[pd.StringDtype] = pa.Field(isin=["outbound", "inbound"])
    is_internal: Series[pd.BooleanDtype] = pa.Field(nullable=False)
    is_answered: Series[pd.BooleanDtype] = pa.Field(nullable=False)
    billable_seconds: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=0)
    category: Series[pd.StringDtype] = pa.Field(nullable=True)
    cost: Series[pd.Float64Dtype] = pa.Field(nullable=True)
    currency: Series[pd.StringDtype] = pa.Field(nullable=True)
    segments: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)
    source_file: Series[pd.StringDtype] = pa.Field(nullable=False)
    source_line: Series[pd.Int64Dtype] = pa.Field(nullable=False, ge=1)

    class Config:
        coerce = True
        strict = True


calls = Entity("calllogs", "calls", Call, ("line_hash",))
