"""ConnectWise Manage filters and sorts compiled to DuckDB SQL over records stored as JSON.

The emulator keeps each record in a VARCHAR column ``doc`` holding the JSON exactly as the
API serves it, plus a few typed columns (at least ``id`` and ``last_updated``). This module
turns the query parameters ``conditions``, ``childConditions``, ``customFieldConditions`` and
``orderBy`` (grammar: specs/connectwise-manage-api.md section 5) into SQL for

    SELECT doc FROM <table> WHERE <Sql.text> ORDER BY <compile_order_by(...)> LIMIT ...

Public API: :class:`Sql`, :class:`ConditionError`, :class:`FieldResolver`,
:func:`compile_conditions`, :func:`compile_child_conditions`,
:func:`compile_custom_field_conditions` and :func:`compile_order_by`.

Every user value is bound as a ``?`` parameter. Field names reach the SQL text only after
the lexer has checked them to be ASCII identifiers joined by ``/``; the column names and
JSON keys a :class:`FieldResolver` maps them to come from the emulator's own code.

Semantics (the real API translates to SQL Server; where it is silent, SQL Server's defaults):

- Names: matched case-insensitively against the resolver's catalog of JSON key spellings
  (``Board/Id`` -> ``$.board.id``); a name not in the catalog is used as written (JSON keys
  are case-sensitive, so a wrongly cased unknown name matches nothing). A whole path listed
  in the resolver's columns (``lastupdated``, ``_info/lastupdated``) uses that typed column.
- ``lastUpdated``, ``updatedBy``, ``dateEntered`` and ``enteredBy`` written bare mean the
  record's top-level key when it has one (time entries carry ``dateEntered``) and its
  ``_info`` value otherwise, decided per record; ``_info/<name>`` always means ``_info``. A
  materialized column wins over both, so map the bare name only where it means ``_info``.
- Unknown fields: lenient by default (a missing value matches nothing); with
  ``FieldResolver(strict=True)`` every path segment must be in the catalog (or be
  ``_info`` or one of the four names above), else ConditionError, as the real API's 400.
- Typing: the literal decides. A number compares the field as DOUBLE, a ``[date-time]`` as
  TIMESTAMP, ``true``/``false`` as BOOLEAN, each through TRY_CAST of the stored text, so a
  stored value of another type matches nothing (a JSON string ``"42"`` does equal ``42``).
  A string compares as text, case-insensitively (=, !=, <, >, in, like, contains), accents
  significant. A typed column keeps its type: ``id = "5"`` casts the literal to BIGINT.
- Date-times: ``[2024-05-01T10:00:00Z]``, fractional seconds, ``+hh:mm`` offsets, naive
  (UTC) and date-only (midnight UTC) literals, all converted to naive UTC. Stored strings
  are UTC ``...Z`` and cast to TIMESTAMP as they are (DuckDB drops an offset in that cast).
- Objects and arrays (``company = 3``): never equal, less, greater, like or contain
  anything; only ``= null`` / ``!= null`` (absent or not) are meaningful for them.
- Null: ``= null`` is true when the key is absent or JSON null, ``!= null`` otherwise;
  ``null`` with any other operator is a ConditionError. Any other comparison with an absent
  value is unknown (SQL three-valued logic), so it matches nothing, negated forms
  (``!=``, ``not like``, ``not contains``, ``not in``) included. The compiled expression may
  therefore be NULL for a row: WHERE treats that as false; don't wrap it in NOT.
- ``in (a, b)`` is ``= a or = b``; ``not in (a, b)`` is ``!= a and != b`` (so a ``null``
  in the list means absent, as with ``=``). An empty list is a ConditionError.
- ``like``: ``%`` and ``*`` match any run of characters, ``_`` one character, ``[...]`` a
  character set or range as in SQL Server (``[[]`` is a literal ``[``, ``[%]`` a literal
  ``%``, ``[^a]`` any but ``a``); an unclosed ``[`` is literal. The pattern must match the
  whole value. ``contains`` is a plain substring test: no wildcards.
- Strings: ``"..."`` or ``'...'``; inside either, ``\\"``, ``\\'`` and ``\\\\`` escape, and the
  enclosing quote doubled (``""`` or ``''``) stands for itself; any other backslash is kept.
- ``and`` binds tighter than ``or``; keywords are case-insensitive; ``not`` is only the
  prefix of ``contains``, ``like`` and ``in``; ``<>`` is accepted for ``!=``. Parentheses
  nest up to 50 levels. A blank parameter compiles to ``TRUE``.
- childConditions: every field starts with the same array name (``types/id``,
  ``communicationItems/value``); a record matches when SOME element satisfies the WHOLE
  expression. A field that is the array name alone compares the elements themselves
  (``integratorTags = "vip"``). customFieldConditions: the same over ``customFields`` with
  the bare properties ``id``, ``caption``, ``type``, ``entryMethod``,
  ``numberOfDecimals``, ``value`` (any other name is a ConditionError).
- orderBy: ``field [asc|desc]`` separated by commas, directions case-insensitive. A JSON
  number sorts as a number, any other scalar as lower-cased text, objects and arrays as
  absent; on a field holding both, numbers sort after text (ascending). Absent values
  sort first ascending and last descending, as in SQL Server. ``id`` ascending is appended
  as the final tie-breaker unless ``id`` is already a sort key.

Errors: :class:`ConditionError` (a ValueError) names the parameter, what is wrong, the
1-based character position and the text from there, e.g. ``conditions: expected a value
after '=' at position 14: 'and name = "x"'``. Nothing else escapes for any input string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "ConditionError",
    "FieldResolver",
    "Sql",
    "compile_child_conditions",
    "compile_conditions",
    "compile_custom_field_conditions",
    "compile_order_by",
]

DOC = "doc"  # the column holding each record's JSON text
_ELEMENT = "elem"  # the lambda variable bound to one array element
_MAX_DEPTH = 50
_SNIPPET = 24

_INFO_FIELDS = {
    name.lower(): name for name in ("lastUpdated", "updatedBy", "dateEntered", "enteredBy")
}
_CUSTOM_FIELD_KEYS = {
    name.lower(): name
    for name in ("id", "caption", "type", "entryMethod", "numberOfDecimals", "value")
}
_KEYWORDS = {"and", "or", "not", "contains", "like", "in", "true", "false", "null"}
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")  # longest first
_COMPARISONS = {"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]", re.ASCII)
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII | re.IGNORECASE,
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\(\d+(?:,\d+)?\))?", re.ASCII)

_INTEGER_TYPES = {
    "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT",
    "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
}  # fmt: skip
_NUMERIC_TYPES = _INTEGER_TYPES | {"DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC"}
_TEMPORAL_TYPES = {"TIMESTAMP", "DATETIME", "DATE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}


@dataclass(frozen=True)
class Sql:
    """A SQL boolean expression with ``?`` placeholders and the values bound to them."""

    text: str
    params: tuple = ()


class ConditionError(ValueError):
    """A filter or sort the real API would reject with 400: what is wrong and where.

    ``param`` is the query parameter (``conditions``, ``orderBy``...), ``position`` the
    1-based character position in it (None when the whole text is at fault).
    """

    def __init__(self, message: str, *, param: str, position: int | None = None):
        super().__init__(message)
        self.param = param
        self.position = position


def _error(param: str, text: str, index: int, what: str) -> ConditionError:
    rest = text[index:]
    where = repr(rest[:_SNIPPET] + ("..." if len(rest) > _SNIPPET else "")) if rest else "end"
    return ConditionError(
        f"{param}: {what} at position {index + 1}: {where}", param=param, position=index + 1
    )


# Fields ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A materialized column: quoted name and upper-case DuckDB type."""

    name: str
    type: str

    @property
    def base_type(self) -> str:
        return self.type.split("(")[0].strip()


@dataclass(frozen=True)
class _Json:
    """A value inside a JSON source (``doc`` or an array element): the first of ``paths``
    that is present."""

    source: str
    paths: tuple[str, ...]


_Field = _Column | _Json


class _UnknownField(Exception):
    """A path segment that strict resolution does not know."""


def _json_path(keys: Iterable[str]) -> str:
    # keys are identifiers (checked by the lexer or FieldResolver), safe inside quotes
    return "'$" + "".join(f'."{key}"' for key in keys) + "'"


class FieldResolver:
    """Maps the field names users write to columns or JSON paths of one table.

    ``columns``: materialized columns by lower-case field path, e.g.
    ``{"id": ("id", "BIGINT"), "lastupdated": ("last_updated", "TIMESTAMP"),
    "_info/lastupdated": ("last_updated", "TIMESTAMP")}``.
    ``keys``: the JSON key spellings records use (``closedFlag``, ``board``, ``lastUpdated``
    ...), matched case-insensitively per path segment. ``strict``: reject path segments
    outside ``keys`` (the real API answers 400 for a field that does not exist).
    """

    def __init__(
        self,
        columns: Mapping[str, tuple[str, str]] | None = None,
        keys: Iterable[str] = (),
        *,
        strict: bool = False,
    ):
        self.strict = strict
        self._columns: dict[str, _Column] = {}
        for path, (name, type_) in (columns or {}).items():
            if not _TYPE.fullmatch(type_):
                raise ValueError(f"column {name!r}: not a DuckDB type: {type_!r}")
            quoted = '"' + name.replace('"', '""') + '"'
            self._columns[path.lower()] = _Column(quoted, type_.upper())
        self._keys: dict[str, str] = {}
        for key in keys:
            if not _KEY.fullmatch(key):
                raise ValueError(f"not a JSON key this module can address: {key!r}")
            self._keys.setdefault(key.lower(), key)

    def _spell(self, segment: str) -> str:
        lower = segment.lower()
        if lower == "_info":
            return "_info"
        if lower in self._keys:
            return self._keys[lower]
        if lower in _INFO_FIELDS:
            return _INFO_FIELDS[lower]
        if self.strict:
            raise _UnknownField(segment)
        return segment

    def _field(self, path: str) -> _Field:
        column = self._columns.get(path.lower())
        if column is not None:
            return column
        keys = [self._spell(segment) for segment in path.split("/")]
        if len(keys) == 1 and path.lower() in _INFO_FIELDS:
            info = _INFO_FIELDS[path.lower()]
            return _Json(DOC, (_json_path(keys), _json_path(("_info", info))))
        return _Json(DOC, (_json_path(keys),))


# Lexer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # name, op, (, ), ",", string, number, datetime, end
    text: str
    pos: int
    value: object = None

    def keyword(self) -> str | None:
        lower = self.text.lower()
        return lower if self.kind == "name" and lower in _KEYWORDS else None


def _tokenize(text: str, param: str) -> list[_Token]:
    bad = _SURROGATE.search(text)
    if bad:
        raise _error(param, text, bad.start(), "invalid character (a lone UTF-16 surrogate)")
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i == n:
            tokens.append(_Token("end", "", n))
            return tokens
        c = text[i]
        if c in "(),":
            tokens.append(_Token(c, c, i))
            i += 1
        elif c in "=!<>":
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise _error(param, text, i, "'!' must be followed by '='")
            tokens.append(_Token("op", op, i))
            i += len(op)
        elif c in "\"'":
            value, end = _read_string(text, i, param)
            tokens.append(_Token("string", text[i:end], i, value))
            i = end
        elif c == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise _error(param, text, i, "unclosed '[' (date-times are [2024-05-01T10:00:00Z])")
            stamp = _read_datetime(text, i, end, param)
            tokens.append(_Token("datetime", text[i : end + 1], i, stamp))
            i = end + 1
        elif (m := _NUMBER.match(text, i)) is not None:
            if _NUMBER_TAIL.match(text, m.end()):
                raise _error(param, text, i, "invalid number")
            tokens.append(_Token("number", m.group(), i))
            i = m.end()
        elif (m := _NAME.match(text, i)) is not None:
            if text.startswith("/", m.end()):
                raise _error(param, text, m.end() + 1, "expected a field name after '/'")
            tokens.append(_Token("name", m.group(), i))
            i = m.end()
        else:
            raise _error(param, text, i, f"unexpected character {c!r}")


def _read_string(text: str, start: int, param: str) -> tuple[str, int]:
    quote, i, chars = text[start], start + 1, []
    while i < len(text):
        c = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if c == "\\" and nxt in ("\\", '"', "'"):
            chars.append(nxt)
            i += 2
        elif c == quote and nxt == quote:
            chars.append(quote)
            i += 2
        elif c == quote:
            return "".join(chars), i + 1
        else:
            chars.append(c)
            i += 1
    raise _error(param, text, start, f"unterminated string (no closing {quote})")


def _read_datetime(text: str, start: int, end: int, param: str) -> datetime:
    """``[...]`` to a naive UTC datetime."""
    m = _DATETIME.fullmatch(text[start + 1 : end].strip())
    fail = _error(
        param, text, start, "invalid date-time (expected [YYYY-MM-DD] or [YYYY-MM-DDThh:mm:ssZ])"
    )
    if m is None:
        raise fail
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
        )  # fmt: skip
        if offset and offset.upper() != "Z":
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            stamp = stamp.replace(tzinfo=timezone(sign * delta)).astimezone(UTC)
            stamp = stamp.replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise fail from None
    return stamp


# Parser ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    kind: str  # string, number, boolean, null, datetime
    value: object
    pos: int


@dataclass(frozen=True)
class _Comparison:
    field: str
    pos: int
    op: str  # a key of _COMPARISONS, or contains, like, in
    negated: bool
    values: tuple[_Literal, ...]


@dataclass(frozen=True)
class _Logic:
    op: str  # AND, OR
    items: tuple[_Logic | _Comparison, ...]


_Node = _Logic | _Comparison


class _Parser:
    """Recursive descent over ``or`` < ``and`` < parenthesis or comparison."""

    def __init__(self, text: str, param: str):
        self.text, self.param = text, param
        self.tokens = _tokenize(text, param)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, at: int, what: str) -> ConditionError:
        return _error(self.param, self.text, at, what)

    def parse(self) -> _Node:
        node = self.expression(0)
        token = self.peek()
        if token.kind == ")":
            raise self.fail(token.pos, "unbalanced ')'")
        if token.kind != "end":
            raise self.fail(token.pos, "expected 'and', 'or' or the end after a condition")
        return node

    def expression(self, depth: int) -> _Node:
        items = [self.conjunction(depth)]
        while self.peek().keyword() == "or":
            self.take()
            items.append(self.conjunction(depth))
        return items[0] if len(items) == 1 else _Logic("OR", tuple(items))

    def conjunction(self, depth: int) -> _Node:
        items = [self.term(depth)]
        while self.peek().keyword() == "and":
            self.take()
            items.append(self.term(depth))
        return items[0] if len(items) == 1 else _Logic("AND", tuple(items))

    def term(self, depth: int) -> _Node:
        token = self.peek()
        if token.kind == "(":
            if depth >= _MAX_DEPTH:
                raise self.fail(token.pos, f"more than {_MAX_DEPTH} nested parentheses")
            self.take()
            node = self.expression(depth + 1)
            close = self.take()
            if close.kind != ")":
                what = f"expected 'and', 'or' or ')' closing the '(' from position {token.pos + 1}"
                raise self.fail(close.pos, what)
            return node
        if token.kind != "name" or token.keyword():
            raise self.fail(token.pos, "expected a field name or '('")
        return self.comparison()

    def comparison(self) -> _Comparison:
        field = self.take()
        token = self.take()
        if token.kind == "op":
            value = self.value(token)
            if value.kind == "null" and token.text not in ("=", "!=", "<>"):
                raise self.fail(value.pos, "null can only be compared with = or !=")
            return _Comparison(field.text, field.pos, token.text, False, (value,))
        negated = token.keyword() == "not"
        if negated:
            token = self.take()
        word = token.keyword()
        if word in ("contains", "like"):
            value = self.value(token)
            if value.kind not in ("string", "number"):
                raise self.fail(value.pos, f"'{word}' needs a quoted text value")
            return _Comparison(field.text, field.pos, word, negated, (value,))
        if word == "in":
            return _Comparison(field.text, field.pos, "in", negated, self.value_list(token))
        if negated:
            raise self.fail(token.pos, "expected contains, like or in after 'not'")
        raise self.fail(
            token.pos,
            f"expected an operator (=, !=, <, <=, >, >=, contains, like, in) after '{field.text}'",
        )

    def value(self, after: _Token) -> _Literal:
        token = self.take()
        word = token.keyword()
        if token.kind == "string":
            return _Literal("string", token.value, token.pos)
        if token.kind == "number":
            return _Literal("number", token.text, token.pos)
        if token.kind == "datetime":
            return _Literal("datetime", token.value, token.pos)
        if word in ("true", "false"):
            return _Literal("boolean", word == "true", token.pos)
        if word == "null":
            return _Literal("null", None, token.pos)
        raise self.fail(token.pos, f"expected a value after '{after.text}'")

    def value_list(self, after: _Token) -> tuple[_Literal, ...]:
        open_ = self.take()
        if open_.kind != "(":
            raise self.fail(open_.pos, f"expected '(' after '{after.text}'")
        values = [self.value(open_)]
        while self.peek().kind == ",":
            values.append(self.value(self.take()))
        close = self.take()
        if close.kind != ")":
            raise self.fail(close.pos, "expected ',' or ')' in the list")
        return tuple(values)


# SQL generation -------------------------------------------------------------------------


def _text(field: _Field) -> str:
    """The value as VARCHAR, NULL for absent, JSON null, objects and arrays."""
    if isinstance(field, _Column):
        if field.base_type in ("VARCHAR", "TEXT", "STRING"):
            return field.name
        if field.base_type == "TIMESTAMP":
            return f"strftime({field.name}, '%Y-%m-%dT%H:%M:%SZ')"  # as the API writes it
        return f"CAST({field.name} AS VARCHAR)"
    values = [f"json_value({field.source}, {path})" for path in field.paths]
    return f"({_coalesce(values)} ->> '$')"


def _raw(field: _Field) -> str:
    """The stored text for TRY_CAST; objects come out as JSON text, which casts to NULL."""
    if isinstance(field, _Column):
        return f"CAST({field.name} AS VARCHAR)"
    return _coalesce([f"json_extract_string({field.source}, {path})" for path in field.paths])


def _coalesce(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"COALESCE({', '.join(values)})"


def _is_null(field: _Field, *, negated: bool = False) -> str:
    value = field.name if isinstance(field, _Column) else _raw(field)
    return f"{value} IS {'NOT ' if negated else ''}NULL"


def _integral(number: str) -> int | None:
    digits = number.lstrip("+-")
    if not digits.isdigit() or len(digits) > 18:  # int() of a huge string is slow/limited
        return None
    return int(number)


def _operand(field: _Field, kind: str, literals: list[_Literal]) -> tuple[str, str, list]:
    """(left side, placeholder expression, params) comparing ``field`` as ``kind``."""
    values = [literal.value for literal in literals]
    column = field if isinstance(field, _Column) else None
    base = column.base_type if column else ""
    if kind == "string":
        if column and base not in ("VARCHAR", "TEXT", "STRING"):
            return column.name, f"TRY_CAST(? AS {column.type})", values
        return f"lower({_text(field)})", "lower(?)", values
    if kind == "number":
        integers = [_integral(value) for value in values]
        if base in _INTEGER_TYPES and None not in integers:
            return column.name, "CAST(? AS BIGINT)", integers
        floats = [float(value) for value in values]
        if column and (base in _NUMERIC_TYPES):
            return column.name, "CAST(? AS DOUBLE)", floats
        return _typed(field, "DOUBLE"), "CAST(? AS DOUBLE)", floats
    if kind == "datetime":
        if base in _TEMPORAL_TYPES:
            return column.name, "CAST(? AS TIMESTAMP)", values
        return _typed(field, "TIMESTAMP"), "CAST(? AS TIMESTAMP)", values
    if base == "BOOLEAN":
        return column.name, "CAST(? AS BOOLEAN)", values
    return _typed(field, "BOOLEAN"), "CAST(? AS BOOLEAN)", values


def _typed(field: _Field, type_: str) -> str:
    return f"TRY_CAST({_raw(field)} AS {type_})"


def _like_regex(pattern: str) -> str:
    """A SQL Server LIKE pattern (plus ``*``) as an RE2 pattern for regexp_full_match."""
    out, i = ["(?is)"], 0
    while i < len(pattern):
        c = pattern[i]
        close = pattern.find("]", i + 2) if c == "[" else -1
        if c in "%*":
            out.append(".*")
        elif c == "_":
            out.append(".")
        elif close != -1:
            out.append(_char_class(pattern[i + 1 : close]))
            i = close
        else:
            out.append(_literal_char(c))
        i += 1
    return "".join(out)


def _char_class(body: str) -> str:
    negated = body.startswith("^") and len(body) > 1
    body = body[1:] if negated else body
    parts, j = [], 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-" and body[j] <= body[j + 2]:
            parts.append(f"{_literal_char(body[j])}-{_literal_char(body[j + 2])}")
            j += 3
        else:
            parts.append(_literal_char(body[j]))
            j += 1
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


def _literal_char(c: str) -> str:
    if ord(c) < 32 or ord(c) == 127:
        return f"\\x{{{ord(c):x}}}"
    if c.isascii() and not c.isalnum() and c != " ":
        return "\\" + c
    return c


def _compile(node: _Node, field_of: Callable[[_Comparison], _Field]) -> Sql:
    if isinstance(node, _Logic):
        parts = [_compile(item, field_of) for item in node.items]
        return Sql(
            "(" + f" {node.op} ".join(part.text for part in parts) + ")",
            tuple(param for part in parts for param in part.params),
        )
    field = field_of(node)
    if node.op in ("contains", "like"):
        value = str(node.values[0].value)
        if node.op == "contains":
            sql = Sql(f"contains(lower({_text(field)}), lower(?))", (value,))
        else:
            sql = Sql(f"regexp_full_match({_text(field)}, ?)", (_like_regex(value),))
    elif node.op == "in":
        sql = _compile_in(field, node.values)
    elif node.values[0].kind == "null":
        return Sql(_is_null(field) if node.op == "=" else _is_null(field, negated=True))
    else:
        left, right, params = _operand(field, node.values[0].kind, list(node.values))
        return Sql(f"{left} {_COMPARISONS[node.op]} {right}", tuple(params))
    return Sql(f"(NOT {sql.text})", sql.params) if node.negated else sql


def _compile_in(field: _Field, literals: tuple[_Literal, ...]) -> Sql:
    groups: dict[str, list[_Literal]] = {}
    for literal in literals:
        groups.setdefault(literal.kind, []).append(literal)
    texts, params = [], []
    for kind, members in groups.items():
        if kind == "null":
            texts.append(_is_null(field))
            continue
        left, right, values = _operand(field, kind, members)
        texts.append(f"{left} IN ({', '.join([right] * len(members))})")
        params.extend(values)
    return Sql("(" + " OR ".join(texts) + ")", tuple(params))


def _comparisons(node: _Node) -> Iterable[_Comparison]:
    if isinstance(node, _Comparison):
        yield node
    else:
        for item in node.items:
            yield from _comparisons(item)


def _fields(text: str, param: str, node: _Node, resolve: Callable[[str], _Field]):
    """``field_of`` for :func:`_compile`, turning unknown names into positioned errors."""
    resolved: dict[int, _Field] = {}
    for comparison in _comparisons(node):
        try:
            resolved[comparison.pos] = resolve(comparison.field)
        except _UnknownField as exc:
            what = f"unknown field '{comparison.field}' (no '{exc.args[0]}' in this entity)"
            raise _error(param, text, comparison.pos, what) from None
    return lambda comparison: resolved[comparison.pos]


def _parse(text: str, param: str) -> _Node | None:
    if not isinstance(text, str):
        raise ConditionError(f"{param}: expected text, got {type(text).__name__}", param=param)
    return None if not text.strip() else _Parser(text, param).parse()


def compile_conditions(text: str, fields: FieldResolver, *, param: str = "conditions") -> Sql:
    """``conditions`` as a boolean SQL expression over ``doc`` and the resolver's columns."""
    node = _parse(text, param)
    if node is None:
        return Sql("TRUE")
    sql = _compile(node, _fields(text, param, node, fields._field))
    return sql if isinstance(node, _Logic) else Sql(f"({sql.text})", sql.params)


def _some_element(array: str, node: _Node, field_of: Callable[[_Comparison], _Field]) -> Sql:
    body = _compile(node, field_of)
    return Sql(
        f"(len(list_filter(TRY_CAST(json_extract({DOC}, {_json_path((array,))}) AS JSON[]), "
        f"lambda {_ELEMENT}: {body.text})) > 0)",
        body.params,
    )


def compile_child_conditions(text: str, fields: FieldResolver) -> Sql:
    """``childConditions``: some element of one array satisfies the whole expression."""
    param = "childConditions"
    node = _parse(text, param)
    if node is None:
        return Sql("TRUE")
    array = next(iter(_comparisons(node))).field.split("/")[0]
    for comparison in _comparisons(node):
        if comparison.field.split("/")[0].lower() != array.lower():
            what = (
                f"every field must start with the same array name: '{comparison.field}' "
                f"is not in '{array}'"
            )
            raise _error(param, text, comparison.pos, what)

    def resolve(path: str) -> _Field:
        keys = [fields._spell(segment) for segment in path.split("/")]
        return _Json(_ELEMENT, (_json_path(keys[1:]),))

    field_of = _fields(text, param, node, resolve)  # raises for an unknown array in strict mode
    return _some_element(fields._spell(array), node, field_of)


def compile_custom_field_conditions(text: str) -> Sql:
    """``customFieldConditions``: some ``customFields`` entry satisfies the expression."""
    param = "customFieldConditions"
    node = _parse(text, param)
    if node is None:
        return Sql("TRUE")

    def resolve(name: str) -> _Field:
        key = _CUSTOM_FIELD_KEYS.get(name.lower())
        if key is None:
            raise _UnknownField(name)
        return _Json(_ELEMENT, (_json_path((key,)),))

    known = ", ".join(_CUSTOM_FIELD_KEYS.values())
    for comparison in _comparisons(node):
        if comparison.field.lower() not in _CUSTOM_FIELD_KEYS:
            what = f"unknown custom field property '{comparison.field}' (expected one of {known})"
            raise _error(param, text, comparison.pos, what)
    return _some_element("customFields", node, _fields(text, param, node, resolve))


def compile_order_by(text: str, fields: FieldResolver) -> str:
    """``orderBy`` as a SQL ORDER BY list (no parameters), ending with ``id`` ascending."""
    param = "orderBy"
    if not isinstance(text, str):
        raise ConditionError(f"{param}: expected text, got {type(text).__name__}", param=param)
    tokens = _tokenize(text, param) if text.strip() else [_Token("end", "", len(text))]
    terms: list[str] = []
    keys: list[_Field] = []
    i = 0
    while tokens[i].kind != "end":
        name = tokens[i]
        if name.kind != "name":
            raise _error(param, text, name.pos, "expected a field name")
        try:
            field = fields._field(name.text)
        except _UnknownField as exc:
            raise _error(param, text, name.pos, f"unknown field '{exc.args[0]}'") from None
        i += 1
        descending = False
        if tokens[i].kind not in (",", "end"):
            direction = tokens[i].text.lower()
            if tokens[i].kind != "name" or direction not in ("asc", "desc"):
                what = f"unknown sort direction {tokens[i].text!r} (expected asc or desc)"
                raise _error(param, text, tokens[i].pos, what)
            descending = direction == "desc"
            i += 1
        if tokens[i].kind == ",":
            if tokens[i + 1].kind == "end":
                raise _error(param, text, tokens[i + 1].pos, "expected a field name after ','")
            i += 1
        elif tokens[i].kind != "end":
            raise _error(param, text, tokens[i].pos, "expected ',' or the end after a sort key")
        keys.append(field)
        terms.extend(_sort_terms(field, descending))
    try:
        identity = fields._field("id")
    except _UnknownField:  # every record has an id, catalogued or not
        identity = _Json(DOC, (_json_path(("id",)),))
    if identity not in keys:
        terms.extend(_sort_terms(identity, False))
    return ", ".join(terms)


def _sort_terms(field: _Field, descending: bool) -> list[str]:
    # SQL Server puts NULL first ascending, last descending
    order = "DESC NULLS LAST" if descending else "ASC NULLS FIRST"
    if isinstance(field, _Column):
        key = field.name
        if field.base_type in ("VARCHAR", "TEXT", "STRING"):
            key = f"lower({key})"
        return [f"{key} {order}"]
    values = _coalesce([f"json_value({field.source}, {path})" for path in field.paths])
    return [f"TRY_CAST({values} AS DOUBLE) {order}", f"lower({values} ->> '$') {order}"]
