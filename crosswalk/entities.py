"""Landed entities: their declaration, and records -> validated Arrow batches.

An entity is declared once, beside its model in ``schemas/`` (declared as a pandera model
is, without pandas or pandera: :mod:`schemas.base`): which system it comes from, its
primary key and its cursor. Records arrive in the API's own shape and
are normalised the same way for every system: keys to snake_case, nested objects
flattened with ``__`` (``_info.lastUpdated`` -> ``info__last_updated``), lists kept as
JSON text. Validation then splits a page into rows to land and rows to quarantine,
each with the reason a person can act on: the whole batch in Arrow, and the rows Arrow
cannot vouch for by the pandera model (:mod:`crosswalk.by_pandera`, imported only then).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, cached_property, lru_cache
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandera.pandas as pa_

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
    model: type  # a schemas.base.Record
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
    def columns(self) -> dict[str, Column]:
        """The model's columns, in pandera's order (those of the classes it inherits
        from first), as the Arrow path checks them."""
        columns: dict[str, Column] = {}
        for declared in reversed(self.model.__mro__):
            own = vars(declared)
            config = own.get("Config")
            if config and {key for key in vars(config) if not key.startswith("__")} - _CONFIG:
                # a rule across rows (unique, checks): the Arrow path would not apply it
                raise TypeError(f"{declared.__name__}.Config: only {sorted(_CONFIG)} are read")
            for name, kind in own.get("__annotations__", {}).items():
                arguments = getattr(own.get(name), "arguments", {})
                columns[name] = Column(
                    name, kind.arrow, arguments.get("nullable", False), _checks(arguments)
                )
        return columns

    @cached_property
    def schema(self) -> pa_.DataFrameSchema:
        """The pandera schema (pandas and pandera are imported here, when first needed)."""
        from crosswalk import by_pandera

        return by_pandera.model(self.model).to_schema()

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The raw table's columns, from the model's declared types."""
        return pa.schema(pa.field(c.name, c.type) for c in self.columns.values())


@dataclass(frozen=True)
class Check:
    """A column's rule as pandera names it, with its arguments (pandera's statistics)."""

    name: str
    statistics: dict[str, Any]


@dataclass(frozen=True)
class Column:
    """A declared column: its landed type, whether it may be null, its rules."""

    name: str
    type: pa.DataType
    nullable: bool
    checks: tuple[Check, ...]


_CONFIG = {"coerce", "strict"}  # the model configuration the declarations use

_CHECKS = {  # pandera's Field argument -> its check's name and statistic
    "ge": ("greater_than_or_equal_to", "min_value"),
    "gt": ("greater_than", "min_value"),
    "le": ("less_than_or_equal_to", "max_value"),
    "lt": ("less_than", "max_value"),
    "isin": ("isin", "allowed_values"),
    "str_matches": ("str_matches", "pattern"),
}


def _checks(arguments: dict[str, Any]) -> tuple[Check, ...]:
    """The checks pandera's ``Field(**arguments)`` makes, as the Arrow path reads them;
    an argument it does not know is a check it does not know (left to pandera)."""
    checks = []
    for argument, value in arguments.items():
        if argument in ("nullable", "coerce", "unique", "description", "title"):
            continue
        if argument in _CHECKS:
            name, statistic = _CHECKS[argument]
            checks.append(Check(name, {statistic: value}))
        elif argument == "str_length" and isinstance(value, dict):
            bounds = ("min_value", "max_value", "exact_value")
            checks.append(Check("str_length", {bound: value.get(bound) for bound in bounds}))
        elif argument == "str_length" and isinstance(value, int):
            checks.append(Check("str_length", {"exact_value": value}))
        else:
            checks.append(Check(argument, {}))
    return tuple(checks)


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


def utc_stamp(value: Any) -> datetime | None:
    """A cursor or date-time value as a UTC date-time (naive ones are taken as UTC), or
    None when it is not one. ISO 8601 text is read by Python; any other form, as pandas
    reads it."""
    if value is None or isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            stamp = _pandas_stamp(value)
    if stamp is None:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _pandas_stamp(value: Any) -> datetime | None:
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp.to_pydatetime(warn=False)


@cache
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
            row[column] = json_list(value)
        else:
            row[column] = value
    return row


def validate(
    entity: Entity, records: Sequence[dict[str, Any]], sources: Sequence[str] | None = None
) -> Validated:
    """Split records into an Arrow table of valid rows and the rejected ones with reasons.

    Rows are deduplicated by primary key (the last one read wins), as landing would.
    ``sources`` optionally names where each record came from (file and line).

    The whole batch is converted and checked in Arrow (:func:`_arrow_batch`); only the rows
    it cannot vouch for go through the pandera model, which decides them and words the
    reasons, so a row is landed or rejected, and why, exactly as the model says.
    """
    if not records:
        return Validated(entity.arrow_schema.empty_table(), [], None)
    fast = _arrow_batch(entity, records)
    if fast is None:
        return _by_pandera(entity, records, sources)
    table, suspect = fast
    if not suspect:
        return _validated(entity, records, sources, table, {})
    from crosswalk import by_pandera

    checked, reasons, whole = by_pandera.decide(entity, records, suspect)
    if whole:  # a failure without a row applies to the whole batch: let pandera see it all
        return _by_pandera(entity, records, sources)
    kept = pc.invert(pa.array(_mask(len(records), suspect)))
    merged = pa.concat_tables([table.filter(kept), checked]).sort_by(_ROW)
    return _validated(entity, records, sources, merged, reasons)


def _by_pandera(
    entity: Entity, records: Sequence[dict[str, Any]], sources: Sequence[str] | None
) -> Validated:
    from crosswalk import by_pandera

    table, reasons, _ = by_pandera.decide(entity, records, range(len(records)))
    return _validated(entity, records, sources, table, reasons)


_ROW = "__row"  # a row's position in its batch while the two paths' rows are merged


def _validated(
    entity: Entity,
    records: Sequence[dict[str, Any]],
    sources: Sequence[str] | None,
    table: pa.Table,
    reasons: dict[int, list[str]],
) -> Validated:
    """The batch's valid rows (with their positions in ``_ROW``), deduplicated by key, and
    its rejected records with their reasons."""
    rejected = [
        Rejected(
            record=dict(records[i]),
            reason="; ".join(reasons[i]),
            key=_key(entity, records[i]),
            source=sources[i] if sources else None,
        )
        for i in sorted(reasons)
    ]
    table = _last_per_key(table, list(entity.primary_key)).drop_columns([_ROW])
    return Validated(table, rejected, _cursor(entity, table))


def combine(entity: Entity, batches: Sequence[Validated]) -> Validated:
    """Validated batches as one, to land in one transaction: a key read twice keeps the
    last row read, as landing the batches one after another would."""
    if len(batches) == 1:
        return batches[0]
    if not batches:  # nothing read since the last batch: only a watermark to land
        return Validated(entity.arrow_schema.empty_table(), [], None)
    tables = [b.table for b in batches if b.table.num_rows]
    table = pa.concat_tables(tables) if tables else batches[0].table
    table = table.append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    table = _last_per_key(table, list(entity.primary_key)).drop_columns([_ROW])
    rejected = [r for b in batches for r in b.rejected]
    return Validated(table, rejected, _cursor(entity, table))


def _cursor(entity: Entity, table: pa.Table) -> str | None:
    """The greatest cursor value of the rows, as text."""
    if not entity.cursor or not table.num_rows:
        return None
    top = pc.max(table[entity.cursor]).as_py()
    return top.isoformat() if hasattr(top, "isoformat") else str(top)


def _last_per_key(table: pa.Table, key: list[str]) -> pa.Table:
    """The rows of ``table`` (in ``_ROW`` order) with the last of each key."""
    if table.num_rows < 2:
        return table
    last = table.group_by(key, use_threads=False).aggregate([(_ROW, "max")])
    if last.num_rows == table.num_rows:
        return table
    return table.filter(pc.is_in(table[_ROW], last[f"{_ROW}_max"]))


def _mask(length: int, rows: Collection[int]) -> list[bool]:
    mask = [False] * length
    for row in rows:
        mask[row] = True
    return mask


# The date-times the Arrow path parses: ISO 8601 with seconds, with an offset or without
# (then UTC), forms pandas reads the same; anything else, or outside pandas' nanosecond
# range, goes to pandas.
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"
_CONTAINERS = (dict, list)  # values Arrow would make nested


@cache
def _stamp_range() -> pa.Array:
    """pandas' (pd.Timestamp.min, .max) to the microsecond within it. Made when first
    needed: an Arrow array made of Python values imports pandas (pyarrow looks for it)."""
    return pa.array([-9223372036854775, 9223372036854775], pa.timestamp("us", tz="UTC"))


def _arrow_batch(
    entity: Entity, records: Sequence[dict[str, Any]]
) -> tuple[pa.Table, set[int]] | None:
    """The records as the landed table (positions in ``_ROW``), and the rows it cannot
    vouch for: any value of a type or form it does not convert as pandas would, or that
    may fail a check of the model. None when the batch does not convert as a whole (a
    field holding different kinds of value): then pandera decides every row."""
    if not records:
        return None
    columns = _fields(records, entity.columns)
    if columns is None:
        return None
    n = len(records)
    suspect = pa.array([False] * n)
    arrays = []
    for field in entity.arrow_schema:
        column = entity.columns[field.name]
        values, doubtful = _convert(columns.get(field.name), field.type, column, n)
        ok = values.is_valid()
        if not column.nullable:
            doubtful = pc.or_kleene(doubtful, pc.invert(ok))
        for check in column.checks:
            failed = _failed(check, values)
            doubtful = pc.or_kleene(
                doubtful, pc.and_kleene(ok, failed) if failed is not None else ok
            )
        suspect = pc.or_kleene(suspect, pc.fill_null(doubtful, True))
        arrays.append(values)
    arrays.append(pa.array(range(n), pa.int64()))
    table = pa.Table.from_arrays(
        arrays, schema=entity.arrow_schema.append(pa.field(_ROW, pa.int64()))
    )
    flagged = pc.indices_nonzero(suspect).to_pylist()
    return table, set(flagged)


def _fields(records: Sequence[dict[str, Any]], names: Collection[str]) -> dict[str, list] | None:
    """The values :func:`flatten` would give the columns ``names``, a list per column
    present (None where a record lacks the field); None when two key paths make one of
    the names. Each level of objects is read once for all the columns under it."""
    columns: dict[str, list] = {}
    parents = {name[: i.start()] for name in names for i in re.finditer("__", name)}
    empty: dict = {}  # stands for a record without an object at the path

    def walk(level: list[dict], prefix: str) -> bool:
        """``level``: per record, the object at this path (``empty`` where none is)."""
        for key in set().union(*level):  # the keys any record has here, in no order
            name = prefix + snake_case(key)
            wanted, nested = name in names, name in parents
            if not (wanted or nested):
                continue
            values = list(map(dict.get, level, repeat(key)))
            if wanted:
                if name in columns:
                    return False
                columns[name] = values
            if nested:
                inner = [v if type(v) is dict else empty for v in values]
                if not walk(inner, name + "__"):
                    return False
        return True

    return columns if walk(list(records), "") else None


def _as_flattened(values: list) -> list:
    """Values as :func:`flatten` leaves them in their column: None for an object (it goes
    to columns of its own), lists as JSON text."""
    return [
        None if isinstance(value, dict) else json_list(value) if isinstance(value, list) else value
        for value in values
    ]


def _convert(
    values: list | None, target: pa.DataType, column: Column, n: int
) -> tuple[pa.Array, pa.Array]:
    """A field's values as ``target``, and which of them to leave to pandera."""
    if values is None:
        return pa.nulls(n, target), _none(n)
    # An object or a list among the values: Arrow would make them nested (or fail). A
    # column that holds them holds them from its first value on; another is left to
    # Arrow to tell (a nested type, or an error), not looked at value by value.
    first = next((value for value in values if value is not None), None)
    nested = type(first) in _CONTAINERS
    if not nested:
        try:
            array = pa.array(values)
            nested = pa.types.is_nested(array.type)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            nested = True
    if nested:
        values = _as_flattened(values)
        try:
            array = pa.array(values)
        except (pa.ArrowException, OverflowError, TypeError, ValueError):
            return pa.nulls(n, target), pa.array([value is not None for value in values])
    kind = array.type
    if pa.types.is_null(kind):
        return pa.nulls(n, target), _none(n)
    if pa.types.is_decimal(target):
        exact = _decimal_array(array, target)
        if exact is not None:
            return exact
        reasons: dict[int, list[str]] = {}
        numbers = _decimals(values, column.name, target.scale, reasons)
        try:
            converted = pa.array(numbers, target)
        except (pa.ArrowException, ValueError):
            return pa.nulls(n, target), array.is_valid()
        return converted, pa.array(_mask(n, reasons))
    if pa.types.is_timestamp(target):
        if not pa.types.is_string(kind):
            return pa.nulls(n, target), array.is_valid()
        form = pc.match_substring_regex(array, _ISO_DATETIME)
        try:
            if pc.all(form).as_py() is not False:  # every value with its offset (or none)
                stamps = pc.cast(array, target)
            else:
                naive = pc.match_substring_regex(array, _ISO_NAIVE)  # UTC, as pandas has it
                stamps = pc.coalesce(
                    pc.cast(pc.if_else(form, array, None), target),
                    pc.cast(pc.cast(pc.if_else(naive, array, None), pa.timestamp("us")), target),
                )
        except pa.ArrowException:
            return pa.nulls(n, target), array.is_valid()
        low, high = _stamp_range()
        inside = pc.and_kleene(pc.greater_equal(stamps, low), pc.less_equal(stamps, high))
        doubtful = pc.and_kleene(array.is_valid(), pc.invert(pc.fill_null(inside, False)))
        return stamps, doubtful
    same = (
        (pa.types.is_large_string(target) and pa.types.is_string(kind))
        or (pa.types.is_integer(target) and pa.types.is_integer(kind))
        or (pa.types.is_boolean(target) and pa.types.is_boolean(kind))
    )
    if not same:
        return pa.nulls(n, target), array.is_valid()
    if pa.types.is_string(kind):  # a control character is pandera's to word
        return pc.cast(array, target), _controls(array)
    return pc.cast(array, target), _none(n)


def _controls(array: pa.StringArray) -> pa.Array:
    """Where a value holds a control character (:data:`_CONTROL`): one look at the
    column's bytes (UTF-8 uses none of them inside a character), a search per value only
    when one is there."""
    data = array.buffers()[2]
    if data is None or not _CONTROL_BYTES.take(np.frombuffer(data, np.uint8)).any():
        return _none(len(array))
    return pc.fill_null(pc.match_substring_regex(array, _CONTROL.pattern), False)


def _decimal_array(array: pa.Array, target: pa.Decimal128Type) -> tuple[pa.Array, pa.Array] | None:
    """Whole numbers and floats as the decimals they were written as, without a Decimal per
    value: a float ``x`` was written with at most ``scale`` places exactly when
    ``round(x * 10**scale) / 10**scale == x`` (both sides exact below 2**52), and that
    rounded integer is then the decimal's unscaled value. A float failing it, and any other
    type, is left to :func:`_decimals` (None: the whole column)."""
    if pa.types.is_integer(array.type):
        try:
            return pc.cast(array, target), _none(len(array))
        except pa.ArrowException:
            return None
    if not pa.types.is_floating(array.type):
        return None
    factor = 10.0**target.scale
    x = array.to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = x * factor
        unscaled = np.rint(scaled)
        exact = (np.abs(scaled) < 2.0**52) & (unscaled / factor == x)
    unscaled = np.where(exact, unscaled, 0).astype(np.int64)
    words = np.empty(2 * len(x), np.int64)  # little-endian 128-bit two's complement
    words[0::2], words[1::2] = unscaled, unscaled >> 63
    present = array.is_valid()
    decimals = pa.Array.from_buffers(target, len(x), [None, pa.py_buffer(words)])
    kept = pc.and_(present, pa.array(exact))
    return pc.if_else(kept, decimals, pa.scalar(None, target)), pc.and_not(present, kept)


def _decimals(values: list, name: str, scale: int, reasons: dict[int, list[str]]) -> list:
    """Values that are not all whole numbers or floats, one at a time, by the pandera
    path's reading (:func:`crosswalk.by_pandera.decimals`)."""
    import pandas as pd

    from crosswalk import by_pandera

    return by_pandera.decimals(pd.Series(values, dtype=object, name=name), scale, reasons).tolist()


@lru_cache(maxsize=256)
def _none(n: int) -> pa.Array:
    """``n`` times False (kept per length: Arrow's arrays never change)."""
    return pa.nulls(n, pa.bool_()).fill_null(False)


def json_list(value: list | None) -> str | None:
    """A list as it lands: JSON text, keys sorted, without spaces (``[{"id":1}]``), by
    orjson (seven times json's speed on e-automate's labor lines); what orjson refuses
    (an integer beyond 64 bits, a lone surrogate) by json, written the same way."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _failed(check: Check, values: pa.Array) -> pa.Array | None:
    """Where a model's check fails on ``values`` (nulls aside), or None for a check the
    Arrow path does not know (every value then goes to pandera)."""
    stats = check.statistics or {}
    if check.name in _ARROW_COMPARISONS:
        kind = values.type
        if not (pa.types.is_integer(kind) or pa.types.is_decimal(kind)):
            return None
        bound = stats.get(_BOUND[check.name])
        try:
            bound = pa.scalar(Decimal(str(bound)) if pa.types.is_decimal(kind) else bound, kind)
        except (pa.ArrowException, TypeError, ValueError, ArithmeticError):
            return None
        return pc.invert(_ARROW_COMPARISONS[check.name](values, bound))
    if check.name == "str_length" and pa.types.is_large_string(values.type):
        length = pc.utf8_length(values)
        low, high = stats.get("min_value"), stats.get("max_value")
        failed = pa.array([False] * len(values))
        if stats.get("exact_value") is not None:
            return pc.not_equal(length, stats["exact_value"])
        if low is not None:
            failed = pc.or_kleene(failed, pc.less(length, low))
        if high is not None:
            failed = pc.or_kleene(failed, pc.greater(length, high))
        return failed
    if check.name == "isin" and pa.types.is_large_string(values.type):
        allowed = stats.get("allowed_values")
        if not all(isinstance(v, str) for v in allowed):
            return None
        return pc.invert(pc.is_in(values, pa.array(list(allowed), values.type)))
    if check.name == "str_matches" and pa.types.is_large_string(values.type):
        pattern = stats.get("pattern")
        pattern = getattr(pattern, "pattern", pattern)
        try:  # RE2, anchored as re.match is; where it differs, pandera decides
            return pc.invert(pc.match_substring_regex(values, f"^(?:{pattern})"))
        except pa.ArrowException:
            return None
    return None


_ARROW_COMPARISONS = {
    "greater_than_or_equal_to": pc.greater_equal,
    "greater_than": pc.greater,
    "less_than_or_equal_to": pc.less_equal,
    "less_than": pc.less,
}
_BOUND = {
    "greater_than_or_equal_to": "min_value",
    "greater_than": "min_value",
    "less_than_or_equal_to": "max_value",
    "less_than": "max_value",
}


# C0 control characters and DEL, but tab and line ends: no name or address holds one, and
# sent on they break terminals, e-mails and the systems' own screens.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = np.isin(np.arange(256), [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _key(entity: Entity, record: dict[str, Any]) -> str | None:
    """The record's primary key as read, for finding it again in its system."""
    row = flatten(record)
    values = [row.get(k) for k in entity.primary_key]
    if all(v is None or v == "" for v in values):
        return None
    return "|".join("" if v is None else str(v) for v in values)
