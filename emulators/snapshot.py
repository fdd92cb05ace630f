"""What the emulated systems hold, by natural key, to compare two runs of the same world.

``state(store)`` reads every record of the four systems: each table's rows keyed by the
table's natural key (``NATURAL_KEYS``; by default its first column, the id the system
gave it), each row as canonical JSON without the moments the system stamps on a change
(when a write happened is not what it wrote). ``compare(expected, found)`` names, per
table, the keys held twice, the ones missing, the extra ones and the ones that differ.

A flow that writes a new kind of record joins by naming that table's natural key here
when its first column is not one.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulators.framework import Store

SYSTEMS = ("connectwise", "eautomate", "operate", "connect")

# Tables whose first column is not what tells one record from another.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "connectwise.audit_trail": ("type", "record_id", "doc"),
    "connectwise.refs": ("kind", "id"),
    "eautomate.calls": ("call_number",),
    "eautomate.codes": ("list_type", "code"),
    "eautomate.contract_invoices": ("contract_id", "invoice_number"),
    "eautomate.custom_attributes": ("group_type", "name"),
    "eautomate.custom_values": ("group_type", "record_key", "name"),
    "eautomate.items": ("item",),
    "eautomate.customers": ("customer_number",),
    "eautomate.contracts": ("contract_number",),
    "connect.calls": ("site_id", "call_id", "segment"),
    "connect.extensions": ("site_id", "extension"),
    "operate.batch_sheet_lines": ("source_line_hash",),
    "operate.batch_sheets": ("location_id", "product_group_id", "batch_date", "id"),
}
# Stamped by the system at each change: left out of the comparison.
VOLATILE = re.compile(
    r"^(_?info|last_?updated|last_?update|updated_?(at|by)|created_?at|entered_?(at|date)|"
    r"date_?entered|entered_?by|reference_?date)$",
    re.IGNORECASE,
)


def _plain(value: Any) -> Any:
    """``value`` without volatile keys; JSON text is read as the object it holds."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not VOLATILE.match(k)}
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
        key = NATURAL_KEYS.get(name, columns[:1])
        rows = Counter()
        for values in store.query(f'SELECT * FROM "{schema}"."{table}"'):
            record = _plain(dict(zip(columns, values, strict=True)))
            identity = json.dumps([record.get(k) for k in key], default=str)
            rows[(identity, json.dumps(record, default=str, sort_keys=True))] += 1
        found[name] = rows
    return found


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
        rows_of = {key: row for key, row in want}
        found_rows = {key: row for key, row in got}
        sections = {
            "duplicates": sorted(k for k, n in keys.items() if n > max(held[k], 1)),
            "missing": sorted(set(rows_of) - set(found_rows)),
            "extra": sorted(set(found_rows) - set(rows_of)),
            "changed": sorted(
                k for k in set(rows_of) & set(found_rows) if rows_of[k] != found_rows[k]
            ),
        }
        for name, keys_found in sections.items():
            if keys_found:
                getattr(difference, name)[table] = keys_found
    return difference
