"""What every system's models share: the column types and the base model.

A column's type decides its landed Arrow type (``Entity.arrow_schema``), so a change
here changes raw tables in every system.

Money and quantities are exact decimals (``crosswalk.money``): ``Money`` lands as
``DECIMAL(18, 4)``, ``Quantity`` (units, hours: not money, but multiplied by prices) as
``DECIMAL(18, 6)``. ``crosswalk.entities`` reads each value as the number it was written
as before these types check it.
"""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from crosswalk import money

Text = Series[pd.StringDtype]
Id = Series[pd.Int64Dtype]
Int = Series[pd.Int64Dtype]  # a whole number that is not a key: a count, a line number
Flag = Series[pd.BooleanDtype]
Money = Series[pd.ArrowDtype(money.AMOUNT)]
Quantity = Series[pd.ArrowDtype(money.QUANTITY)]
Stamp = Series[pd.DatetimeTZDtype(tz="UTC")]


class Record(pa.DataFrameModel):
    """A landed record: values coerced to their column's type, fields not declared dropped."""

    class Config:
        coerce = True
        strict = "filter"
