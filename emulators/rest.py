"""The REST conventions essensys Operate and Connect share (specs/operate-connect.md):
Bearer keys, ``page``/``per_page`` paging with ``{"data", "meta"}``, ``updated_since``,
and ``{"error": {"code", "message", "fields"}}`` bodies, written once for both emulators.

A collection is a SQL select over the system's tables whose columns are the API's fields;
lists filter and page inside DuckDB and come back as JSON text built by DuckDB, so a page
of 500 records costs two queries and no per-record Python.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from emulators.framework import ApiError, Request, Response, Store, json_response

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 100
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def error(
    status: int, code: str, message: str, fields: Mapping[str, str] | None = None
) -> ApiError:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = dict(fields)
    return ApiError(status, {"error": body})


def invalid(fields: Mapping[str, str], message: str = "the request is not valid") -> ApiError:
    return error(422, "validation_failed", message, fields)


def not_found(what: str, record_id: Any) -> ApiError:
    return error(404, "not_found", f"{what} {record_id} does not exist")


def fault(kind: str, retry_after: int) -> Response:
    """Both systems' answers to an injected throttle or server error."""
    if kind == "throttle":
        body = error(429, "rate_limited", f"Too many requests; retry in {retry_after} s.").body
        return json_response(body, 429, {"Retry-After": str(retry_after)})
    return json_response(error(500, "server_error", "Internal server error.").body, 500)


def authenticate(request: Request, keys: Mapping[str, str]) -> str:
    """The role of the Bearer key (``keys``: key -> role), or 401."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    role = keys.get(token.strip()) if scheme.lower() == "bearer" else None
    if role is None:
        raise error(401, "unauthorized", "A valid API key is required (Authorization: Bearer).")
    return role


def stamp(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    """The current moment as stored: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def parse_moment(value: Any, name: str) -> datetime:
    """An ISO 8601 date-time (or date) as naive UTC, or 422 naming the field."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment
    raise invalid({name: f"must be an ISO 8601 date-time, got {value!r}"})


def parse_date(value: Any, name: str, status: int = 422) -> date:
    if isinstance(value, str) and DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    message = f"must be a date (YYYY-MM-DD), got {value!r}"
    if status == 400:
        raise error(400, "bad_request", f"{name} {message}", {name: message})
    raise invalid({name: message})


def body_object(request: Request, decimals: bool = False) -> dict[str, Any]:
    """The body, a JSON object; ``decimals``: its fractional numbers as Decimals."""
    bad = error(400, "bad_request", "The body must be a JSON object.")
    data = request.json(bad, decimals)
    if not isinstance(data, dict):
        raise bad
    return data


def record_id(text: str, what: str) -> int:
    if not text.isdigit():
        raise not_found(what, text)
    return int(text)


class System:
    """An emulated REST system over one ``Store``, its API keys, and the shared fault
    answers; subclasses set ``name`` and ``default_keys`` and answer ``handle``."""

    name = ""
    default_keys: Mapping[str, str] = {}

    def __init__(self, store: Store, keys: Mapping[str, str] | None = None):
        self.store = store
        self.keys = keys or self.default_keys

    def fault(self, kind: str, retry_after: int) -> Response:
        return fault(kind, retry_after)


@dataclass(frozen=True)
class Collection:
    """A list endpoint: ``source`` is a SELECT (or table) whose columns are the API's
    fields; ``filters`` maps query parameters to (column, SQL type); ``order`` sorts."""

    what: str  # singular, for messages: "account"
    source: str
    filters: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    order: str = "id"
    updated: str | None = "updated_at"

    def record(self, store: Store, record_id: int) -> Response:
        row = store.one(f"SELECT to_json(r) FROM ({self.source}) r WHERE id = ?", [record_id])
        if row is None:
            raise not_found(self.what, record_id)
        return json_response(row[0])

    def document(self, store: Store, record_id: int, cur=None) -> dict[str, Any]:
        sql = f"SELECT to_json(r) FROM ({self.source}) r WHERE id = ?"
        row = cur.execute(sql, [record_id]).fetchone() if cur else store.one(sql, [record_id])
        if row is None:
            raise not_found(self.what, record_id)
        return json.loads(row[0])

    def list(
        self, store: Store, request: Request, where: Sequence[str] = (), params: Sequence = ()
    ) -> Response:
        page, per_page = paging(request)
        clauses, values = list(where), list(params)
        for name, (column, sql_type) in self.filters.items():
            value = request.param(name)
            if value is None or value == "":
                continue
            if sql_type == "DATE":
                parse_date(value, name, status=400)
            elif sql_type == "BIGINT" and not value.lstrip("-").isdigit():
                raise error(400, "bad_request", f"{name} must be a whole number", {name: value})
            elif sql_type == "BOOLEAN" and value.lower() not in ("true", "false"):
                raise error(400, "bad_request", f"{name} must be true or false", {name: value})
            clauses.append(f"{column} = CAST(? AS {sql_type})")
            values.append(value)
        since = request.param("updated_since")
        if since and self.updated:
            try:
                moment = parse_moment(since, "updated_since")
            except ApiError:
                raise error(
                    400,
                    "bad_request",
                    f"updated_since must be an ISO 8601 date-time, got {since!r}",
                    {"updated_since": "not an ISO 8601 date-time"},
                ) from None
            clauses.append(f"CAST({self.updated} AS TIMESTAMP) >= ?")
            values.append(moment)
        condition = " AND ".join(f"({c})" for c in clauses) or "TRUE"
        rows = store.query(
            f"SELECT to_json(r) FROM ({self.source}) r WHERE {condition} "
            f"ORDER BY {self.order} LIMIT ? OFFSET ?",
            [*values, per_page, (page - 1) * per_page],
        )
        (total,) = store.one(f"SELECT count(*) FROM ({self.source}) r WHERE {condition}", values)
        meta = f'{{"page":{page},"per_page":{per_page},"total":{total}}}'
        return json_response('{"data":[' + ",".join(r[0] for r in rows) + '],"meta":' + meta + "}")


def next_id(cur, table: str) -> int:
    """The id a new record of ``table`` gets (inside the write transaction)."""
    return cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchall()[0][0]


def paging(request: Request) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1 to 500), or 400 naming the parameter."""
    values = {}
    for name, default, top in (("page", 1, None), ("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)):
        text = request.param(name)
        if text in (None, ""):
            values[name] = default
            continue
        if not text.isdigit() or int(text) < 1 or (top and int(text) > top):
            limit = f"1 to {top}" if top else "1 or more"
            raise error(
                400, "bad_request", f"{name} must be a whole number {limit}, got {text!r}",
                {name: f"a whole number {limit}"},
            )  # fmt: skip
        values[name] = int(text)
    return values["page"], values["per_page"]


def iso(column: str) -> str:
    """SQL for a stored naive-UTC timestamp as the API writes it."""
    return f"strftime({column}, '%Y-%m-%dT%H:%M:%SZ')"
