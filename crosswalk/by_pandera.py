"""The pandera path of validation: the rows the Arrow path (``crosswalk.entities``) cannot
vouch for, decided by the entity's pandera model, with the reasons worded for a person.

Imported only when a batch holds such a row, so that a run reads its first page without
pandas and pandera: ``schemas/`` declares its models without them
(:mod:`schemas.base`), and :func:`model` builds the pandera model from a declaration, with
the same fields, checks, configuration and inheritance, when it is first needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd
import pandera.pandas as pa_
import pyarrow as pa
from pandera.typing import Series

from crosswalk import money
from crosswalk.entities import _CONTROL, _ROW, flatten

if TYPE_CHECKING:
    from crosswalk.entities import Entity


@cache
def model(declared: type) -> type[pa_.DataFrameModel]:
    """The pandera model of a declaration of :mod:`schemas.base` (and of each class it
    inherits from, so that pandera inherits fields and configuration as it would)."""
    bases = tuple(model(base) for base in declared.__bases__ if base is not object)
    namespace: dict[str, Any] = {
        "__module__": declared.__module__,
        "__qualname__": declared.__qualname__,
        "__doc__": declared.__doc__,
        "__annotations__": {
            name: Series[kind.pandas_dtype()]
            for name, kind in vars(declared).get("__annotations__", {}).items()
        },
    }
    for name in namespace["__annotations__"]:
        if name in vars(declared):
            namespace[name] = pa_.Field(**vars(declared)[name].arguments)
    if "Config" in vars(declared):  # a copy: pandera writes into the one it is given
        settings = {k: v for k, v in vars(declared.Config).items() if not k.startswith("__")}
        namespace["Config"] = type("Config", (), settings)
    return type(declared.__name__, bases or (pa_.DataFrameModel,), namespace)


def decide(
    entity: Entity, records: Sequence[dict[str, Any]], rows: Iterable[int]
) -> tuple[pa.Table, dict[int, list[str]], bool]:
    """The pandera path for the records at ``rows``: their valid rows as Arrow (positions in
    ``_ROW``), the reasons of the others by position, and whether a failure applied to
    every row rather than to one."""
    rows = list(rows)
    frame, reasons = _frame(entity, [records[i] for i in rows])
    checked, failures, whole = _check(entity, frame)
    for row, found in failures.items():
        reported = {reason.split(":")[0] for reason in reasons.get(row, [])}
        found = [reason for reason in found if reason.split(":")[0] not in reported]
        if found:
            reasons.setdefault(row, []).extend(found)
    valid = checked if not reasons else frame.drop(index=list(reasons))
    if valid.empty:  # its columns keep the types of the rows dropped, which may not convert
        table = entity.arrow_schema.empty_table()
    else:
        if reasons:
            valid = entity.schema.validate(valid)  # coerce what is left
        table = pa.Table.from_pandas(valid, schema=entity.arrow_schema, preserve_index=False)
    positions = pa.array([rows[i] for i in valid.index], pa.int64())
    table = table.append_column(_ROW, positions)
    return table, {rows[i]: found for i, found in reasons.items()}, whole


def _frame(
    entity: Entity, records: Sequence[dict[str, Any]]
) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """The records as a frame with every declared column, date-times and decimals parsed.

    Date-times are parsed here, one value at a time in ISO 8601, because pandas infers
    one format per column and would reject a whole page over one differently written
    value; decimals (money, quantities) because a JSON parser hands them over as floats,
    which must become the numbers that were written (``money.decimal``), not their binary
    values. Rows that do not parse come back with their reason.
    """
    frame = pd.DataFrame.from_records([flatten(r) for r in records], index=range(len(records)))
    reasons: dict[int, list[str]] = {}
    for name, column in entity.schema.columns.items():
        _objects_for_values(frame, name, reasons)
        if name not in frame:
            frame[name] = None  # APIs omit null fields; the model decides if that is allowed
        elif isinstance(column.dtype.type, pd.DatetimeTZDtype):
            parsed = pd.to_datetime(frame[name], utc=True, format="ISO8601", errors="coerce")
            # Year 0 parses, but is no date (and no Python datetime): refused, not coerced.
            parsed = parsed.where(parsed.isna() | (parsed.dt.year >= 1))
            for row in frame.index[parsed.isna() & frame[name].notna()]:
                reasons.setdefault(row, []).append(
                    f"{name}: {frame.at[row, name]!r} is not a valid date-time"
                )
            frame[name] = parsed
        elif _decimal_type(column) is not None:
            frame[name] = decimals(frame[name], _decimal_type(column).scale, reasons)
        elif str(column.dtype) == "Int64":
            frame[name] = _whole_numbers(frame[name], reasons)
        elif str(column.dtype).startswith("string"):
            _control_characters(frame[name], reasons)
    return frame, reasons


def _objects_for_values(frame: pd.DataFrame, name: str, reasons: dict[int, list[str]]) -> None:
    """A value the API sent as an object (``name: {...}``, flattened to ``name__*``) where
    the model declares one value: a reason on its row, instead of a silent null."""
    nested = [column for column in frame.columns if column.startswith(f"{name}__")]
    if not nested:
        return
    for row in frame.index[frame[nested].notna().any(axis=1)]:
        reasons.setdefault(row, []).append(f"{name}: an object where a single value belongs")


def _whole_numbers(values: pd.Series, reasons: dict[int, list[str]]) -> pd.Series:
    """Each value as a whole number, one at a time: one that is not (text, a fraction, a
    boolean, beyond 64 bits) is a reason on its row and null here, so it cannot fail the
    column's checks for every other row."""
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("Int64")  # the usual page: whole numbers already
    parsed = []
    for row, value in zip(values.index, values.tolist(), strict=True):
        number = None
        if isinstance(value, bool):
            pass
        elif isinstance(value, int):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and _WHOLE.fullmatch(value.strip())
        ):
            number = int(value)
        if number is not None and not -(2**63) <= number < 2**63:
            reasons.setdefault(row, []).append(
                f"{values.name}: {value!r} is beyond the range of a whole number"
            )
            number = None
        elif number is None and not _missing(value):
            reasons.setdefault(row, []).append(f"{values.name}: {value!r} is not a whole number")
        parsed.append(number)
    return pd.Series(parsed, index=values.index, dtype="Int64")


_WHOLE = re.compile(r"[+-]?\d+")


def _control_characters(values: pd.Series, reasons: dict[int, list[str]]) -> None:
    texts = values[values.map(lambda v: isinstance(v, str))]
    if texts.empty:  # no text at all (pandas may type the column as floats): nothing to find
        return
    hits = texts[texts.str.contains(_CONTROL.pattern, regex=True)]
    for row, value in zip(hits.index, hits.tolist(), strict=True):
        found = _CONTROL.search(value)
        if found:
            reasons.setdefault(row, []).append(
                f"{values.name}: {value!r} holds control character "
                f"0x{ord(found.group()):02X} at position {found.start() + 1}"
            )


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _decimal_type(column: pa_.Column) -> pa.Decimal128Type | None:
    dtype = column.dtype.type
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_decimal(dtype.pyarrow_dtype):
        return dtype.pyarrow_dtype
    return None


def decimals(values: pd.Series, scale: int, reasons: dict[int, list[str]]) -> pd.Series:
    """Each value as the Decimal it was written as; one that is not a number, or has more
    places than the column keeps, is a reason on its row (and null here)."""
    parsed = []
    for row, value in zip(values.index, values.tolist(), strict=True):
        try:
            number = None if value is pd.NA else money.decimal(value)
        except ValueError:
            reasons.setdefault(row, []).append(f"{values.name}: {value!r} is not a number")
            number = None
        if number is not None and money.places(number) > scale:
            reasons.setdefault(row, []).append(
                f"{values.name}: {value!r} has more than {scale} decimal places"
            )
            number = None
        parsed.append(number)
    return pd.Series(parsed, index=values.index, dtype=object)


def _check(entity: Entity, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[str]], bool]:
    """The coerced frame, row label -> what is wrong with it, and whether a failure
    applied to every row (one without a row)."""
    if frame.empty:
        return frame, {}, False
    try:
        return entity.schema.validate(frame, lazy=True), {}, False
    except pa_.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    reasons: dict[int, list[str]] = {}
    whole = False
    for case in cases.itertuples(index=False):
        whole = whole or pd.isna(case.index)
        rows = frame.index if pd.isna(case.index) else [int(case.index)]
        reason = _reason(case.column, case.check, case.failure_case)
        for row in rows:
            if reason not in reasons.setdefault(row, []):
                reasons[row].append(reason)
    return frame, reasons, whole


_TYPE_NAMES = {"Int64": "whole number", "Float64": "number", "boolean": "true or false"}


_COMPARISONS = {
    "greater_than_or_equal_to": "less than",
    "greater_than": "not greater than",
    "less_than_or_equal_to": "greater than",
    "less_than": "not less than",
}


def _reason(column: Any, check: Any, value: Any) -> str:
    """A pandera failure as a sentence naming the field, the value and the rule."""
    check = str(check)
    name, _, argument = check.partition("(")
    argument = argument.removesuffix(")")
    value = value.item() if hasattr(value, "item") else value  # numpy scalar -> Python
    shown = "null" if pd.isna(value) else str(value) if isinstance(value, Decimal) else repr(value)
    if check == "not_nullable":
        return f"{column}: required, got null"
    if name in ("coerce_dtype", "dtype"):
        wanted = argument.strip("'")
        if wanted.startswith("datetime64"):
            wanted = "date-time"
        elif wanted.startswith("decimal128("):  # more digits than the column holds
            wanted = "number of DECIMAL" + wanted.removeprefix("decimal128").split("[")[0]
        else:
            wanted = _TYPE_NAMES.get(wanted, wanted)
        return f"{column}: {shown} is not a valid {wanted}"
    if name == "str_length":
        if ", " not in argument:  # an exact length
            return f"{column}: {shown} is not {argument} characters long"
        low, high = argument.split(", ")
        if high != "None" and len(str(value)) > int(high):
            return f"{column}: {shown} is longer than {high} characters"
        if str(value) == "":
            return f"{column}: required, got an empty value"
        return f"{column}: {shown} is shorter than {low} characters"
    if name == "isin":
        return f"{column}: {shown} is not one of {argument}"
    if name in _COMPARISONS:
        return f"{column}: {shown} is {_COMPARISONS[name]} {argument}"
    return f"{column}: {shown} fails {check}"
