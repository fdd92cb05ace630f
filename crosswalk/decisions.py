"""Operator decisions (placeholder until the cli-package branch lands its module)."""

from __future__ import annotations

from collections.abc import Iterable


def set_link(
    con,
    kind: str,
    number: str,
    target: str,
    *,
    made_by: str,
    note: str | None = None,
    run_id: str | None = None,
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO sync.links (kind, source_system, source_key, target_system, "
        "target_key, made_by, note, created_at, run_id, broken_at, broken_reason) "
        "VALUES (?, 'eautomate', ?, 'connectwise', ?, ?, ?, now(), ?, NULL, NULL)",
        [kind, number, target, made_by, note, run_id],
    )


def raise_conflict(
    con,
    *,
    kind,
    source_key,
    target_key,
    field,
    base_value,
    erp_value,
    psa_value,
    run_id,
    conflict_id: int | None = None,
) -> int:
    if conflict_id is not None:
        con.execute(
            "UPDATE sync.conflicts SET erp_value = ?, psa_value = ? WHERE conflict_id = ?",
            [erp_value, psa_value, conflict_id],
        )
        return conflict_id
    return con.execute(
        "INSERT INTO sync.conflicts (kind, source_key, target_key, field, base_value, "
        "erp_value, psa_value, raised_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?) "
        "RETURNING conflict_id",
        [kind, source_key, target_key, field, base_value, erp_value, psa_value, run_id],
    ).fetchone()[0]


def settle_conflicts(
    con, conflict_ids: Iterable[int], run_id: str, resolution: str | None = None
) -> None:
    con.execute(
        "UPDATE sync.conflicts SET settled_at = now(), settled_by_run = ?, "
        "resolution = coalesce(resolution, ?) WHERE conflict_id IN (SELECT unnest(?))",
        [run_id, resolution, list(conflict_ids)],
    )
