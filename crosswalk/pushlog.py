"""The push log (``sync.push_log``): every write to a system is recorded before the call
(its intent: system, action, the deterministic key that finds its result again, what was
sent) and after it (the outcome and the record it made), DESIGN.md section 5.

This module keeps the table; ``crosswalk.pushing`` is the one way flows write through it.
An intent without an outcome is a write whose result is not known: the run stopped
between the call and the record, or the call's answer was lost (:meth:`PushLog.pending`).
``finish``'s ``also`` writes what the outcome means (lines now charged, a link) in the
same transaction as the outcome, so the two never disagree. A push step holds one
warehouse connection for its duration and each record is its own transaction on it:
committed before the next call is sent.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from crosswalk.warehouse import Warehouse


@dataclass(frozen=True)
class Intent:
    push_id: str
    run_id: str
    system: str
    action: str
    target_key: str
    payload: Any
    intended_at: datetime

    @property
    def key(self) -> dict[str, Any]:
        """What finds the write's result again (``Write.key``)."""
        return (self.payload or {}).get("key") or {}


class PushLog:
    """The push log of one flow run, over one open warehouse connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, run_id: str, flow: str):
        self.con = con
        self.run_id = run_id
        self.flow = flow

    @classmethod
    @contextmanager
    def open(cls, warehouse: Warehouse, run_id: str, flow: str) -> Iterator[PushLog]:
        with warehouse.connect() as con:
            yield cls(con, run_id, flow)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One transaction on the log's connection; an exception rolls it back."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def intend(self, system: str, action: str, target_key: str, payload: Any = None) -> str:
        """Record that ``action`` on ``target_key`` is about to be sent; returns its id."""
        push_id = uuid.uuid4().hex
        with self.transaction() as con:
            con.execute(
                "INSERT INTO sync.push_log (push_id, run_id, flow, system, action, target_key, "
                "payload, intended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [push_id, self.run_id, self.flow, system, action, target_key,
                 None if payload is None else json.dumps(payload, default=str), _now()],
            )  # fmt: skip
        return push_id

    def finish(
        self,
        push_id: str,
        outcome: str,
        target_id: Any = None,
        detail: str | None = None,
        also: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> None:
        """The outcome (``done``, ``adopted``, ``failed``, ``not-applied``) and what it
        means, in one transaction."""
        with self.transaction() as con:
            if also is not None:
                also(con)
            con.execute(
                "UPDATE sync.push_log SET outcome = ?, target_id = ?, detail = ?, "
                "finished_at = ? WHERE push_id = ?",
                [outcome, None if target_id is None else str(target_id), detail, _now(), push_id],
            )

    def pending(self, actions: tuple[str, ...]) -> list[Intent]:
        """Intents of this flow (any run) for ``actions`` whose outcome is not known,
        oldest first."""
        rows = self.con.execute(
            "SELECT push_id, run_id, system, action, target_key, payload, intended_at "
            "FROM sync.push_log WHERE flow = ? AND outcome IS NULL "
            "AND action IN (SELECT unnest(?)) ORDER BY intended_at",
            [self.flow, list(actions)],
        ).fetchall()
        return [
            Intent(p, r, s, a, k, json.loads(payload) if payload else None, at)
            for p, r, s, a, k, payload, at in rows
        ]

    def settle(self, target_key: str, outcome: str, target_id: Any = None) -> int:
        """Close every unknown intent on ``target_key`` (what it did is now known)."""
        with self.transaction() as con:
            rows = con.execute(
                "UPDATE sync.push_log SET outcome = ?, target_id = ?, finished_at = ?, "
                "detail = 'settled by run ' || ? WHERE flow = ? AND target_key = ? "
                "AND outcome IS NULL RETURNING push_id",
                [outcome, None if target_id is None else str(target_id), _now(), self.run_id,
                 self.flow, target_key],
            ).fetchall()  # fmt: skip
        return len(rows)


def _now() -> datetime:
    return datetime.now(UTC)
