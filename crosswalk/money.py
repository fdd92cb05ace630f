"""Money and quantities as exact decimals, from the moment a value is read to the moment
it is sent (issue 13: a float made 0.285 a cent short).

Landed money is :data:`AMOUNT`, ``DECIMAL(18, 4)``: amounts and prices to a hundredth of
a cent, the places call costs and Operate's unit prices are written with. Landed
quantities (units, hours) are :data:`QUANTITY`, ``DECIMAL(18, 6)``. A value more precise
than its column is refused with a reason, never rounded on the way in.

A number arrives as text (a call log, an export), as a JSON number that the parser made a
float, or as a Decimal already. :func:`decimal` gives the Decimal it was written as: a
float by its shortest repr, which is the text the JSON held (for up to 15 significant
digits), never by its binary value or by float arithmetic. :func:`dumps` writes JSON whose
Decimals are numbers with exactly their digits, so a request carries the money as read.

Rounding to the cent is the receiving system's: Operate makes a line's amount its
quantity times its unit price rounded half up (a half cent away from zero), and
crosswalk computes the same in dbt (the ``charge_amount`` macro), so the two agree.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import pyarrow as pa

AMOUNT = pa.decimal128(18, 4)
QUANTITY = pa.decimal128(18, 6)


def sql_type(arrow: pa.Decimal128Type) -> str:
    """The DuckDB type of a decimal Arrow type: ``DECIMAL(18, 4)``."""
    return f"DECIMAL({arrow.precision}, {arrow.scale})"


def decimal(value: Any) -> Decimal | None:
    """The Decimal ``value`` was written as; None for a missing value (None, NaN).

    Raises ValueError for anything that is not a finite number (text that does not
    parse, true or false, infinity)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    elif isinstance(value, numbers.Integral):
        number = Decimal(int(value))
    elif isinstance(value, numbers.Real):
        value = float(value)  # a numpy float's own repr names its type
        if math.isnan(value):
            return None
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    else:
        raise ValueError(f"{value!r} is not a number")
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def places(number: Decimal) -> int:
    """How many decimal places ``number`` needs (trailing zeros do not count)."""
    _, digits, exponent = number.as_tuple()
    if exponent >= 0 or not any(digits):
        return 0
    text = "".join(map(str, digits))
    return max(-exponent - (len(text) - len(text.rstrip("0"))), 0)


def dumps(value: Any) -> str:
    """JSON text of ``value``, its Decimals written as numbers with exactly their digits
    (``json.dumps`` refuses a Decimal; a float in between could change its digits). By
    orjson: 0.3 ms for a request of 500 batch-sheet lines, which a walk in Python wrote in
    4.7; what orjson refuses (an integer beyond 64 bits, a lone surrogate) by that walk. A
    number that is not finite is refused (orjson would write a float one as null)."""
    try:
        text = orjson.dumps(value, default=_exactly, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError as exc:
        if exc.__cause__ is not None:  # what ``_exactly`` refused, as it refused it
            raise exc.__cause__ from None
        return _walked(value)
    if "null" in text:
        _finite(value)
    return text


def _walked(value: Any) -> str:
    """``dumps`` by json, a value at a time."""
    if isinstance(value, Decimal):
        return _digits(value)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}: {_walked(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_walked(item) for item in value) + "]"
    return json.dumps(value, allow_nan=False)


def _exactly(value: Any) -> Any:
    """What orjson writes for a value it has no way of its own for."""
    if isinstance(value, Decimal):
        return orjson.Fragment(_digits(value))
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} {value!r} cannot be sent as JSON")


def _digits(value: Decimal) -> str:
    """A Decimal as a JSON number, exactly its digits; ValueError when it is not finite."""
    if not value.is_finite():
        raise ValueError(f"{value!r} cannot be sent as a JSON number")
    return format(value, "f")


def _finite(value: Any) -> None:
    """ValueError for a float in ``value`` that is not finite."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be sent as a JSON number")
    elif isinstance(value, Mapping):
        for item in value.values():
            _finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _finite(item)
