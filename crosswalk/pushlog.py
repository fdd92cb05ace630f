"""The push log (``sync.push_log``): every write to a system is recorded before the call
(its intent: system, action, the deterministic key that finds its result again, what was
sent) and after it (the outcome and the record it made), DESIGN.md section 5.

This module keeps the table; ``crosswalk.pushing`` is the one way flows write through it.
An intent without an outcome is a write whose result is not known: the run stopped
between the call and the record, or the call's answer was lost (:meth:`PushLog.pending`).
``finish``'s ``also`` writes what the outcome means (lines now charged, a link) in the
same transaction as the outcome, so the two never disagree. A push step holds one
warehouse connection for its duration.

A commit waits for the disk (an fsync of DuckDB's write-ahead log, several milliseconds),
so a write pays for one, not three: an intent is committed before its call is sent, and
with it whatever came before it (the previous write's outcome, its settled intents and
what they mean), which stays open until then. The step's end commits the last of them. A
crash before that commit loses at most the outcome of the one write in flight: the next
run settles it as it settles any intent without an outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
        self._open = False  # a transaction holding what is not yet committed
        # Targets whose outcome is not known: of earlier runs (read at the first settle),
        # and of this log's intents not finished yet. Only these are settled, so that a
        # write does not scan the whole log for intents that are not there.
        self._earlier: set[str] | None = None
        self._unfinished: dict[str, str] = {}  # push_id: target_key

    @classmethod
    @contextmanager
    def open(cls, warehouse: Warehouse, run_id: str, flow: str) -> Iterator[PushLog]:
        with warehouse.connect() as con:
            log = cls(con, run_id, flow)
            try:
                yield log
            except BaseException:
                with suppress(duckdb.Error):  # what the step's own error spoiled is lost
                    log.commit()
                raise
            log.commit()

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """The log's transaction (begun if none is open); committed at the end unless
        ``commit`` is false, when it stays open for the next intent to commit. An exception
        rolls it back, with what it held."""
        if not self._open:
            self.con.execute("BEGIN TRANSACTION")
            self._open = True
        try:
            yield self.con
        except BaseException:
            self._open = False
            self.con.execute("ROLLBACK")
            raise
        if commit:
            self.commit()

    def commit(self) -> None:
        """Commit what is open; a transaction a failed statement spoiled is rolled back."""
        if not self._open:
            return
        self._open = False
        try:
            self.con.execute("COMMIT")
        except duckdb.Error:
            self.con.execute("ROLLBACK")
            raise

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
        self._unfinished[push_id] = target_key
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
        means, in one transaction, committed with the next intent or at the step's end."""
        with self.transaction(commit=False) as con:
            if also is not None:
                also(con)
            con.execute(
                "UPDATE sync.push_log SET outcome = ?, target_id = ?, detail = ?, "
                "finished_at = ? WHERE push_id = ?",
                [outcome, None if target_id is None else str(target_id), detail, _now(), push_id],
            )
        self._unfinished.pop(push_id, None)

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
        """Close every unknown intent on ``target_key`` (what it did is now known);
        committed as ``finish`` is."""
        if self._earlier is None:
            self._earlier = {
                target
                for (target,) in self.con.execute(
                    "SELECT DISTINCT target_key FROM sync.push_log "
                    "WHERE flow = ? AND outcome IS NULL",
                    [self.flow],
                ).fetchall()
            }
        if target_key not in self._earlier and target_key not in self._unfinished.values():
            return 0
        self._earlier.discard(target_key)
        self._unfinished = {p: t for p, t in self._unfinished.items() if t != target_key}
        with self.transaction(commit=False) as con:
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
