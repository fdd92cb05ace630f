"""Landed entities: their declaration, and records -> validated Arrow batches.

An entity is declared once, beside its pandera model in ``schemas/``: which system it
comes from, its primary key and its cursor. Records arrive in the API's own shape and
are normalised the same way for every system: keys to snake_case, nested objects
flattened with ``__`` (``_info.lastUpdated`` -> ``info__last_updated``), lists kept as
JSON text. Validation then splits a page into rows to land and rows to quarantine,
each with the reason a person can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import pandas as pd
import pandera.pandas as pa_
import pyarrow as pa

from crosswalk import money

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Entity:
    """One landed table: ``raw_<system>.<name>``, merged by ``primary_key``.

    ``cursor`` names the column whose greatest value is the watermark once a page
    has landed (None for entities read whole every run). ``parent`` is the entity, of
    the same system, whose records own this one's collections, when the API serves them
    only per parent.

    A narrow read of another entity's collection names it in ``resource`` and the API
    fields it asks for in ``fields``. A ``mirror`` is read whole and stands for the
    whole collection: once every page has landed, rows the read did not return are
    deleted (the record is gone from the system) and its watermark is the moment the
    read began.
    """

    system: str
    name: str
    model: type[pa_.DataFrameModel]
    primary_key: tuple[str, ...]
    cursor: str | None = None
    # A child collection read per parent record (sites of a company), for the parents
    # changed in the run and those that changed records of other entities name (an
    # invoice names its agreement: (invoices, "agreement__id")).
    parent: Entity | None = None
    parents_named_by: tuple[tuple[Entity, str], ...] = ()
    resource: str | None = None
    fields: tuple[str, ...] = ()
    mirror: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.system, self.name)

    @property
    def collection(self) -> str:
        """The entity whose records are read: this one, or the one ``resource`` names."""
        return self.resource or self.name

    def __str__(self) -> str:
        return f"{self.system}.{self.name}"

    @cached_property
    def schema(self) -> pa_.DataFrameSchema:
        return self.model.to_schema()

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The raw table's columns, from the model's declared dtypes."""
        empty = pd.DataFrame(
            {
                name: pd.Series(dtype=column.dtype.type)
                for name, column in self.schema.columns.items()
            }
        )
        schema = pa.Schema.from_pandas(empty, preserve_index=False)
        return pa.schema(
            pa.field(f.name, pa.timestamp("us", tz=f.type.tz))
            if pa.types.is_timestamp(f.type)
            else f
            for f in schema
        )


@dataclass(frozen=True)
class Rejected:
    """A row that failed validation: the record as read, and why."""

    record: dict[str, Any]
    reason: str
    key: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Validated:
    """One page after validation: ``table`` to land, ``rejected`` to quarantine."""

    table: pa.Table
    rejected: list[Rejected]
    cursor: str | None


def utc_stamp(value: Any) -> pd.Timestamp | None:
    """A cursor or date-time value as a UTC timestamp (naive ones are taken as UTC), or
    None when it is not one."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def snake_case(name: str) -> str:
    return _CAMEL.sub("_", name.lstrip("_")).lower()


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """API record -> flat snake_case row (nested objects joined by ``__``, lists as JSON)."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        column = prefix + snake_case(key)
        if isinstance(value, dict):
            row.update(flatten(value, column + "__"))
        elif isinstance(value, list):
            row[column] = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            row[column] = value
    return row


def validate(
    entity: Entity, records: Sequence[dict[str, Any]], sources: Sequence[str] | None = None
) -> Validated:
    """Split records into an Arrow table of valid rows and the rejected ones with reasons.

    Rows are deduplicated by primary key (the last one read wins), as landing would.
    ``sources`` optionally names where each record came from (file and line).
    """
    frame, reasons = _frame(entity, records)
    checked, failures = _check(entity, frame)
    for row, found in failures.items():
        reported = {reason.split(":")[0] for reason in reasons.get(row, [])}
        found = [reason for reason in found if reason.split(":")[0] not in reported]
        if found:
            reasons.setdefault(row, []).extend(found)
    rejected = [
        Rejected(
            record=dict(records[i]),
            reason="; ".join(reasons[i]),
            key=_key(entity, records[i]),
            source=sources[i] if sources else None,
        )
        for i in sorted(reasons)
    ]
    valid = checked if not reasons else frame.drop(index=list(reasons))
    if reasons and not valid.empty:
        valid = entity.schema.validate(valid)  # coerce what is left
    valid = valid.drop_duplicates(subset=list(entity.primary_key), keep="last")
    table = pa.Table.from_pandas(valid, schema=entity.arrow_schema, preserve_index=False)
    cursor = None
    if entity.cursor and table.num_rows:
        top = pa.compute.max(table[entity.cursor]).as_py()
        cursor = top.isoformat() if hasattr(top, "isoformat") else str(top)
    return Validated(table, rejected, cursor)


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
            frame[name] = _decimals(frame[name], _decimal_type(column).scale, reasons)
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
# C0 control characters and DEL, but tab and line ends: no name or address holds one, and
# sent on they break terminals, e-mails and the systems' own screens.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _control_characters(values: pd.Series, reasons: dict[int, list[str]]) -> None:
    texts = values[values.map(lambda v: isinstance(v, str))]
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


def _decimals(values: pd.Series, scale: int, reasons: dict[int, list[str]]) -> pd.Series:
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


def _check(entity: Entity, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """The coerced frame, and row label -> what is wrong with it (a failure without a row
    applies to every row)."""
    if frame.empty:
        return frame, {}
    try:
        return entity.schema.validate(frame, lazy=True), {}
    except pa_.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    reasons: dict[int, list[str]] = {}
    for case in cases.itertuples(index=False):
        rows = frame.index if pd.isna(case.index) else [int(case.index)]
        reason = _reason(case.column, case.check, case.failure_case)
        for row in rows:
            if reason not in reasons.setdefault(row, []):
                reasons[row].append(reason)
    return frame, reasons


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


def _key(entity: Entity, record: dict[str, Any]) -> str | None:
    """The record's primary key as read, for finding it again in its system."""
    row = flatten(record)
    values = [row.get(k) for k in entity.primary_key]
    if all(v is None or v == "" for v in values):
        return None
    return "|".join("" if v is None else str(v) for v in values)
