"""What every system's models share: the column types, the field declaration and the base
model.

A model is declared as a pandera ``DataFrameModel`` would be (``name: Type =
Field(nullable=..., ge=..., str_length=..., isin=..., str_matches=...)``, a ``Config`` with
``coerce`` and ``strict``), without importing pandas or pandera: a run reads its first page
before it needs either (the landed columns and the Arrow path's checks come from the
declaration itself), and :meth:`crosswalk.entities.Entity.schema` builds the pandera model
from it only when a row needs pandera to decide it.

A column's type decides its landed Arrow type (``Entity.arrow_schema``), so a change
here changes raw tables in every system.

Money and quantities are exact decimals (``crosswalk.money``): ``Money`` lands as
``DECIMAL(18, 4)``, ``Quantity`` (units, hours: not money, but multiplied by prices) as
``DECIMAL(18, 6)``. ``crosswalk.entities`` reads each value as the number it was written
as before these types check it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from crosswalk import money


@dataclass(frozen=True)
class Type:
    """A column type: its landed Arrow type, and the pandas dtype pandera checks it as
    (``pandas_dtype`` is called only when the pandera model is built)."""

    name: str
    arrow: pa.DataType

    def pandas_dtype(self) -> Any:
        import pandas as pd

        return {
            "Text": pd.StringDtype,
            "Id": pd.Int64Dtype,
            "Int": pd.Int64Dtype,
            "Flag": pd.BooleanDtype,
            "Money": pd.ArrowDtype(money.AMOUNT),
            "Quantity": pd.ArrowDtype(money.QUANTITY),
            "Stamp": pd.DatetimeTZDtype(tz="UTC"),
        }[self.name]


Text = Type("Text", pa.large_string())
Id = Type("Id", pa.int64())
Int = Type("Int", pa.int64())  # a whole number that is not a key: a count, a line number
Flag = Type("Flag", pa.bool_())
Money = Type("Money", money.AMOUNT)
Quantity = Type("Quantity", money.QUANTITY)
Stamp = Type("Stamp", pa.timestamp("us", tz="UTC"))


@dataclass(frozen=True)
class FieldInfo:
    """A column's declaration: pandera's ``Field`` arguments, as given."""

    arguments: dict[str, Any] = field(default_factory=dict)


def Field(**arguments: Any) -> Any:  # pandera's spelling, as the models read
    """A column's rules, as pandera's ``Field`` takes them."""
    return FieldInfo(arguments)


class Record:
    """A landed record: values coerced to their column's type, fields not declared dropped."""

    class Config:
        coerce = True
        strict = "filter"
