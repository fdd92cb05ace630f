"""What every system's models share: the column types and the base model.

A column's type decides its landed Arrow type (``Entity.arrow_schema``), so a change
here changes raw tables in every system.
"""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

Text = Series[pd.StringDtype]
Id = Series[pd.Int64Dtype]
Int = Series[pd.Int64Dtype]  # a whole number that is not a key: a count, a line number
Flag = Series[pd.BooleanDtype]
Money = Series[pd.Float64Dtype]
Stamp = Series[pd.DatetimeTZDtype(tz="UTC")]


class Record(pa.DataFrameModel):
    """A landed record: values coerced to their column's type, fields not declared dropped."""

    class Config:
        coerce = True
        strict = "filter"
