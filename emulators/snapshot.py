"""What the emulated systems hold, by natural key, to compare two runs of the same world.

``state(store)`` reads every record of the four systems: each table's rows keyed by the
table's natural key (``NATURAL_KEYS``; by default its first column, the id the system
gave it), each row as canonical JSON without the moments the system stamps on a change
(when a write happened is not what it wrote). ``compare(expected, found)`` names, per
table, the keys held twice, the ones missing, the extra ones and the ones that differ.

A record crosswalk makes is keyed by what crosswalk makes it for (the key it writes into
it), never by the number the system hands out: e-automate numbers sales orders and calls
from counters its emulator keeps in memory, Connect its clients, so a number says in
which order a process made records, not which record it is. A record made twice is then
a key held twice, not an extra number.

A flow that writes a new kind of record joins by naming that table's natural key here
when its first column is not one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulators.framework import Store

SYSTEMS = ("connectwise", "eautomate", "operate", "connect")

# The key crosswalk opens the description of an e-automate record it makes with (a sales
# order's ``[CW SO #<order>]``, a call's ``[CW #<ticket>]``), or a sales order's PO when
# the key goes there (``CW-SO-<order>``).
_KEY_TAG = re.compile(r"^\[CW [^\]]*\]")
_KEY_PO = re.compile(r"^CW-SO-\d+$")


def _tag(doc: dict) -> str | None:
    found = _KEY_TAG.match(doc.get("Description") or "")
    if found:
        return found.group(0)
    po = doc.get("PONumber") or ""
    return po if _KEY_PO.match(po) else None


def _sales_order(record: dict) -> tuple:
    """A sales order by the PSA order it is for; one without that key by its number (the
    world made it, in the same order for every copy)."""
    return (_tag(record["doc"]) or record["so_number"],)


def _call(record: dict) -> tuple:
    """A call by its ticket and, for a project invoice's call, the invoice (its PO); a
    ticket's follow-up calls share that key, and are told apart by their content."""
    tag = _tag(record["doc"])
    return (tag, record["doc"].get("PONumber")) if tag else (record["call_number"],)


# Tables whose first column is not what tells one record from another: columns, or what
# finds the key in the record.
NATURAL_KEYS: dict[str, tuple[str, ...] | Callable[[dict], tuple]] = {
    "connectwise.audit_trail": ("type", "record_id", "doc"),
    "connectwise.refs": ("kind", "id"),
    "eautomate.calls": _call,
    "eautomate.codes": ("list_type", "code"),
    "eautomate.contract_invoices": ("contract_id", "invoice_number"),
    "eautomate.custom_attributes": ("group_type", "name"),
    "eautomate.custom_values": ("group_type", "record_key", "name"),
    "eautomate.items": ("item",),
    "eautomate.customers": ("customer_number",),
    "eautomate.contracts": ("contract_number",),
    "eautomate.sales_orders": _sales_order,
    "connect.calls": ("site_id", "call_id", "segment"),
    # Connect refuses a second client with a billing reference (the Operate account) on a site.
    "connect.clients": ("billing_reference", "site_id"),
    "connect.extensions": ("site_id", "extension"),
    "operate.batch_sheet_lines": ("source_line_hash",),
    "operate.batch_sheets": ("location_id", "product_group_id", "batch_date"),
}
# Stamped by the system at each change: left out of the comparison. e-automate stamps a
# record it makes with its ``CreateDate``, the moment of the write.
VOLATILE = re.compile(
    r"^(_?info|last_?updated|last_?update|updated_?(at|by)|created_?at|create_?date|"
    r"entered_?(at|date)|date_?entered|entered_?by|reference_?date)$",
    re.IGNORECASE,
)
# Columns of one table that are the moment of the write all the same, left out too:
# charge-import starts a Connect client when it sends it and ends it a year later
# (README, the charge import), so two cycles' clients start at their own cycle's moment.
STAMPED: dict[str, frozenset[str]] = {
    "connect.clients": frozenset({"start_date", "end_date"}),
}


def _plain(value: Any, stamped: frozenset[str] = frozenset()) -> Any:
    """``value`` without volatile keys (nor, at its top, the ``stamped`` ones); JSON text
    is read as the object it holds."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {
            k: _plain(v) for k, v in value.items() if not VOLATILE.match(k) and k not in stamped
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def state(store: Store) -> dict[str, Counter[tuple[str, str]]]:
    """Per ``system.table``, a count of (natural key, row) pairs: a record held twice
    counts two."""
    tables = store.query(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN "
        f"({', '.join(repr(s) for s in SYSTEMS)}) ORDER BY 1, 2"
    )
    found: dict[str, Counter[tuple[str, str]]] = {}
    for schema, table in tables:
        name = f"{schema}.{table}"
        columns = [row[0] for row in store.query(f'DESCRIBE "{schema}"."{table}"')]
        key = NATURAL_KEYS.get(name, tuple(columns[:1]))
        identify = key if callable(key) else lambda record, key=key: [record.get(k) for k in key]
        stamped = STAMPED.get(name, frozenset())
        rows = Counter()
        for values in store.query(f'SELECT * FROM "{schema}"."{table}"'):
            record = _plain(dict(zip(columns, values, strict=True)), stamped)
            identity = json.dumps(list(identify(record)), default=str)
            rows[(identity, json.dumps(record, default=str, sort_keys=True))] += 1
        found[name] = rows
    return found


def _by_key(rows: Counter[tuple[str, str]]) -> dict[str, list[str]]:
    """Each key's rows, sorted: the records one key holds (a ticket's follow-up calls)
    compare whatever order the table returns them in."""
    found: dict[str, list[str]] = {}
    for (key, row), n in rows.items():
        found.setdefault(key, []).extend([row] * n)
    return {key: sorted(held) for key, held in found.items()}


@dataclass
class Difference:
    """Per table, the natural keys held twice (or more), missing, extra and changed."""

    duplicates: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def none(self) -> bool:
        return not (self.duplicates or self.missing or self.extra or self.changed)

    def counts(self) -> dict[str, int]:
        return {
            "duplicates": sum(map(len, self.duplicates.values())),
            "missing": sum(map(len, self.missing.values())),
            "extra": sum(map(len, self.extra.values())),
            "changed": sum(map(len, self.changed.values())),
        }


def compare(
    expected: dict[str, Counter[tuple[str, str]]], found: dict[str, Counter[tuple[str, str]]]
) -> Difference:
    difference = Difference()
    for table in sorted(set(expected) | set(found)):
        want, got = expected.get(table, Counter()), found.get(table, Counter())
        held = Counter(key for key, _ in want.elements())
        keys = Counter(key for key, _ in got.elements())
        rows_of, found_rows = _by_key(want), _by_key(got)
        doubled = {k for k, n in keys.items() if n > max(held[k], 1)}
        sections = {
            "duplicates": sorted(doubled),
            "missing": sorted(set(rows_of) - set(found_rows)),
            "extra": sorted(set(found_rows) - set(rows_of)),
            "changed": sorted(  # a key held twice is listed once, as held twice
                k for k in set(rows_of) & set(found_rows) - doubled if rows_of[k] != found_rows[k]
            ),
        }
        for name, keys_found in sections.items():
            if keys_found:
                getattr(difference, name)[table] = keys_found
    return difference
