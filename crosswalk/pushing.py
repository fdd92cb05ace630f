"""One way to write to a system (DESIGN.md section 5), for every flow.

A push step says what it wants written as a :class:`Write`: the system, the action, the
target (the deterministic key that finds the result again), the record it is for, each
field's value before and after, and the money it moves where it moves money. It hands
the write to its :class:`Pusher` with the call that sends it, and keeps only its own
rules: what to write, and how to find a record again.

    with Pusher.open(run) as pusher:
        pusher.recover({"create-company": find_company}, updates=("update-company",))
        pusher.update(write, lambda: cw.patch(path, id, patch), refused=failure_of)
        made = pusher.create(write, find=lambda: find_company(number),
                             send=lambda: cw.create(path, body)["id"], refused=failure_of)

What the pusher does with a write:

- In a plan run it sends nothing: every write is collected in ``run.planned``, which the
  CLI prints field by field (``--plan``) or as JSON lines (``--plan --json``).
- Otherwise the intent goes into ``sync.push_log`` before the call and the outcome after
  it, the outcome together with what it means (``also``) and the record the system
  answered (``lands``) in one transaction: a run stopped anywhere leaves the warehouse
  holding what each finished write made, so the next run's diff sends only what still
  differs. The answer is kept in ``sync.unlanded`` with the outcome and lands in its raw
  table with others (one merge per entity for :data:`LAND_EVERY` records: a merge of one
  row costs as much as one of hundreds); what a stopped run kept lands at the start of
  the next run that reads their entity (:func:`land_left`), before anything is read or
  built.
- A create is looked up by its key before it is sent and after any answer that was lost;
  it is sent again only when the lookup shows it was not made, and what is found is
  adopted, so a record is never made twice. One whose every answer was lost, and which
  is not found, is the record's transient failure (``write-outcome-unknown``): the batch
  goes on, and the next run proposes it again.
- At the start of a run, :meth:`Pusher.recover` settles every intent of an earlier run
  that has no outcome: a create that was made is adopted, an update is superseded (the
  new run's diff decides whether it is still needed).
- A write the system refuses becomes the flow's failure (with the record, the field and
  the fix, made by the push step's ``refused``) and the batch goes on.
- The writes sent are counted (:class:`~crosswalk.progress.Progress`): a bar on the
  command line's terminal, and a log line every few seconds and at the step's end.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import orjson

from crosswalk.entities import Entity, validate
from crosswalk.errors import Failure, Kind, Owner
from crosswalk.http import DataError, OutcomeUnknown
from crosswalk.progress import Progress
from crosswalk.pushlog import PushLog
from crosswalk.warehouse import Warehouse, land_into

if TYPE_CHECKING:
    from crosswalk.pipeline import Run

# What a refused write means to the flow: a failure, several, or none (the caller handles it).
Refused = Callable[[DataError], Failure | Iterable[Failure] | None]
Also = Callable[[duckdb.DuckDBPyConnection], None]
# A row of ``sync.unlanded``: its seq, the run that kept it, the entity, the records.
Kept = tuple[int, str, Entity, list[dict[str, Any]]]
T = TypeVar("T")

# Chaos runs only (bench/chaos.py, tests/flows/test_chaos.py): the process is killed at the
# Nth step boundary of a write it passes (counted over the process), N from this variable.
KILL_AT = "CROSSWALK_CHAOS_KILL_AT"
# The step boundaries of one write, in the order a write passes them.
BOUNDARIES = ("before-intent", "before-request", "before-outcome", "after-outcome")
# Kept answers land together once they hold this many records, and at the step's end
# (validating 2,000 costs a quarter to two fifths less a record than 250: e-automate calls
# 34 against 46 µs, ConnectWise tickets 18 against 31).
LAND_EVERY = 2_000
# A run keeps this many of its writes in memory; the rest wait in a temporary file.
WRITES_IN_MEMORY = 10_000


def _kill_group(where: str) -> None:
    """SIGKILL this process's whole group, as a crash or an operator's kill would."""
    os.killpg(os.getpgrp(), signal.SIGKILL)


@dataclass
class Chaos:
    """Where a chaos run dies: ``kill_at`` counts step boundaries from 1; ``kill`` is
    called with the boundary's name when it is reached (by default the group's SIGKILL)."""

    kill_at: int | None = None
    kill: Callable[[str], None] = _kill_group
    passed: int = 0

    def boundary(self, where: str) -> None:
        if self.kill_at is None:
            return
        self.passed += 1
        if self.passed == self.kill_at:
            self.kill(where)


chaos = Chaos(int(os.environ[KILL_AT]) if os.environ.get(KILL_AT) else None)


@dataclass(frozen=True)
class Write:
    """One write a run makes, or in a plan run would make.

    ``changes`` maps each field to its value before and after; ``money`` is what the write
    moves, when it moves money; ``key`` is what finds the result again after a crash (kept
    in the push log with the changes); ``detail`` is what else the log keeps of the
    request (the line hashes of a batch sheet), not shown in a plan.
    """

    system: str
    action: str
    target: str
    record: str
    changes: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    money: Decimal | None = None
    key: Mapping[str, Any] | None = None
    detail: Any = None

    def __str__(self) -> str:
        changes = "; ".join(
            f"{name}: {shown(before)} -> {shown(after)}"
            for name, (before, after) in self.changes.items()
        )
        money = f" [{self.money:.2f}]" if self.money is not None else ""
        return f"{self.system} {self.action} {self.target} ({self.record}){money}: {changes}"

    def payload(self) -> dict[str, Any]:
        """What the push log keeps of the write."""
        payload: dict[str, Any] = {
            "record": self.record,
            "changes": {name: list(values) for name, values in self.changes.items()},
        }
        if self.money is not None:
            payload["money"] = str(self.money)
        if self.key is not None:
            payload["key"] = dict(self.key)
        if self.detail is not None:
            payload["detail"] = self.detail
        return payload

    def to_json(self, flow: str) -> str:
        """One line of ``--plan --json``."""
        return json.dumps(
            {
                "flow": flow,
                "system": self.system,
                "action": self.action,
                "target": self.target,
                "record": self.record,
                "changes": {
                    name: {"before": before, "after": after}
                    for name, (before, after) in self.changes.items()
                },
                "money": None if self.money is None else str(self.money),
            },
            default=str,
            ensure_ascii=False,
        )


class Writes:
    """The writes a run made, or in a plan run would make, in order (``run.planned``).

    A large first run makes hundreds of thousands (service-sync at large: 717,951, about
    3 GB as objects), and a run reads them again only at its end (the CLI's listing, a
    flow's summary), so past the first ``in_memory`` they are pickled to a temporary file
    and read back one at a time; each is kept without its ``detail``, which only the push
    log keeps (a large first run's batch sheets name 2.8 million line hashes). Iterate,
    ``len``, compare with a list."""

    __hash__ = None  # type: ignore[assignment]  # equal by content, so not hashable

    def __init__(self, in_memory: int = WRITES_IN_MEMORY):
        self.in_memory = in_memory
        self._first: list[Write] = []
        self._rest: Any = None  # the temporary file, from the first write past in_memory
        self._count = 0

    def append(self, write: Write) -> None:
        if write.detail is not None:
            write = replace(write, detail=None)
        if len(self._first) < self.in_memory:
            self._first.append(write)
        else:
            if self._rest is None:  # lives as long as the run; deleted when collected
                self._rest = tempfile.TemporaryFile(prefix="crosswalk-writes-")  # noqa: SIM115
            self._rest.seek(0, os.SEEK_END)
            pickle.dump(write, self._rest, protocol=pickle.HIGHEST_PROTOCOL)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Write]:
        yield from self._first
        if self._rest is None:
            return
        # The file's position is shared with append and other readers: each read seeks
        # to its own (within the read buffer, no system call), and looks for the file's
        # end only on reaching the last it knew (so it sees, as a list's iterator does,
        # what was appended since it began).
        position = end = 0
        while position < end or position < (end := self._rest.seek(0, os.SEEK_END)):
            self._rest.seek(position)
            write = pickle.load(self._rest)
            position = self._rest.tell()
            yield write

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Writes | list):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Writes({len(self)} writes)"


def shown(value: Any) -> str:
    return "(empty)" if value in (None, "") else repr(value)


@dataclass(frozen=True)
class Sent:
    """What became of a write: ``planned`` (a plan run), ``done`` (``answer`` is the
    system's), ``adopted`` (the answer was lost; ``answer`` is what was read back) or
    ``failed`` (refused: ``error``)."""

    outcome: str
    answer: Any = None
    error: DataError | None = None


@dataclass(frozen=True)
class Made:
    """A record a create made (``created``) or found already made: its key in the system."""

    key: Any
    created: bool


class Pusher:
    """The writes of one push step, over the push log's one warehouse connection."""

    def __init__(self, run: Run, log: PushLog):
        self.run = run
        self.log = log
        self.con = log.con
        self._complete: set = set()  # raw tables known to hold the answers' columns
        self._kept: list[Kept] = []  # not landed yet
        self._kept_records = 0  # the records they hold
        # The writes sent; the records they are for are counted of their total (``each``).
        self.progress = Progress(f"{run.flow}: writes", _logger(), "writes")

    @classmethod
    @contextmanager
    def open(cls, run: Run) -> Iterator[Pusher]:
        with PushLog.open(run.warehouse, run.id, run.flow) as log:
            pusher = cls(run, log)
            try:
                yield pusher
                with log.transaction(commit=False):
                    pusher._land_kept()
            finally:
                pusher.progress.close(say=pusher.progress.done > 0)

    def written(self, entity: Entity, records: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Records as a system holds them after a write (one it made, or read back): they
        are kept now, with the step's next commit, so that a run stopped later leaves them
        in the warehouse and the next run diffs against them (a child collection read per
        changed parent is not read again for crosswalk's own write). A write's own answer
        is kept with its outcome: ``update(..., lands=...)``."""
        with self.log.transaction(commit=False) as con:
            self._keeping(entity, records)(con)

    def _keeping(self, entity: Entity, records: dict[str, Any] | list[dict[str, Any]]) -> Also:
        """Keep ``records`` in ``sync.unlanded`` on a connection, to land with the next
        batch."""
        records = [records] if isinstance(records, dict) else list(records)

        def keep(con: duckdb.DuckDBPyConnection) -> None:
            (seq,) = con.execute(
                "INSERT INTO sync.unlanded (run_id, entity, records) VALUES (?, ?, ?) "
                "RETURNING seq",
                [self.run.id, str(entity), orjson.dumps(records).decode()],
            ).fetchone()
            self._kept.append((seq, self.run.id, entity, records))
            self._kept_records += len(records)
            if self._kept_records >= LAND_EVERY:
                self._land_kept()

        return keep

    def _land_kept(self) -> None:
        """Land what this step kept, in the log's open transaction."""
        if self._kept:
            _land(self.con, self._kept, self._complete)
            self._kept.clear()
            self._kept_records = 0

    def each(self, records: Sequence[T], unit: str) -> Iterator[T]:
        """``records`` one at a time, counted of how many there are: the step's bar
        beside the writes' count (a record may ask for several writes, or none), and a
        log line every few seconds."""
        progress = Progress(f"{self.run.flow}: {unit}", _logger(), unit, total=len(records))
        try:
            for record in records:
                yield record
                progress.advance(1)
        finally:
            progress.close(say=False)

    @property
    def plan(self) -> bool:
        return self.run.plan

    def transaction(self):
        """One transaction on the step's connection (for what a write means, recorded
        outside a write)."""
        return self.log.transaction()

    def update(
        self,
        write: Write,
        send: Callable[[], Any],
        *,
        refused: Refused,
        also: Also | None = None,
        lost: Callable[[], Any] | None = None,
        lands: Entity | None = None,
        landed: Callable[[Any], Any] | None = None,
    ) -> Sent:
        """Send a write whose repeat does no harm (a PATCH, a property set, lines keyed by
        their hash). When its answer is lost, ``lost`` reads back what the system holds
        and the write counts as adopted; without ``lost`` the error goes on and the
        intent stays open, for the next run to settle as superseded. With ``lands``, the
        answer (or what was read back; ``landed`` of it, when given) lands as that
        entity's record in the outcome's transaction."""
        self.run.planned.append(write)
        if self.plan:
            return Sent("planned")
        chaos.boundary(BOUNDARIES[0])
        push = self.log.intend(write.system, write.action, write.target, write.payload())
        chaos.boundary(BOUNDARIES[1])
        try:
            answer = send()
        except OutcomeUnknown:
            if lost is None:
                raise
            answer = lost()
            sent = Sent("adopted", answer)
        except DataError as exc:
            chaos.boundary(BOUNDARIES[2])
            self._refused(push, exc, refused)
            chaos.boundary(BOUNDARIES[3])
            return Sent("failed", error=exc)
        else:
            sent = Sent("done", answer)
        chaos.boundary(BOUNDARIES[2])
        means = [also] if also is not None else []
        if lands is not None:
            means.append(self._keeping(lands, answer if landed is None else landed(answer)))
        if sent.outcome == "done":
            self.log.finish(push, "done", write.target, also=_together(means))
        else:
            self.log.finish(push, "adopted", answer, "answer lost; read back",
                            also=_together(means))  # fmt: skip
        self.progress.advance(1)
        chaos.boundary(BOUNDARIES[3])
        return sent

    def create(
        self,
        write: Write,
        *,
        find: Callable[[], Any],
        send: Callable[[], Any],
        refused: Refused,
        also: Callable[[duckdb.DuckDBPyConnection, Any], None] | None = None,
        look_first: bool = True,
        attempts: int = 6,
    ) -> Made | None:
        """Adopt the record ``find`` finds by the write's key, else send the create
        (``send`` returns the new record's key). An answer that is lost is looked up, and
        the create sent again only when nothing was made (``attempts`` sends in all; when
        the last answer is lost too and nothing is found, it is the record's transient
        failure). A plan run looks first too, and lists the create only when nothing is
        found. Returns None in a plan run, when the system refused the record, or when its
        outcome stayed unknown."""
        found = find() if look_first else None
        if found is not None:
            if self.plan:
                return None
            self.log.settle(write.target, "adopted", found)
            return Made(found, created=False)
        self.run.planned.append(write)
        if self.plan:
            return None
        chaos.boundary(BOUNDARIES[0])
        push = self.log.intend(write.system, write.action, write.target, write.payload())
        chaos.boundary(BOUNDARIES[1])
        try:
            made = _send_once(send, find, attempts)
        except OutcomeUnknown as exc:
            made = find()
            if made is None:
                chaos.boundary(BOUNDARIES[2])
                self.log.finish(push, "not-applied", None, "answers lost; nothing found")
                self.run.failures.add(_outcome_unknown(write, exc, attempts))
                return None
        except DataError as exc:
            chaos.boundary(BOUNDARIES[2])
            self._refused(push, exc, refused)
            chaos.boundary(BOUNDARIES[3])
            return None
        chaos.boundary(BOUNDARIES[2])
        self.log.finish(push, "done", made, also=None if also is None else lambda c: also(c, made))
        self.log.settle(write.target, "adopted", made)
        self.progress.advance(1)
        chaos.boundary(BOUNDARIES[3])
        return Made(made, created=True)

    def recover(
        self,
        creates: Mapping[str, Callable[[dict[str, Any]], Any]],
        updates: Iterable[str] = (),
        adopted: Callable[[dict[str, Any], Any], None] | None = None,
    ) -> None:
        """Settle the writes of earlier runs whose outcome is not known (the run stopped,
        or the answer was lost). A create (its action in ``creates``, with the lookup that
        finds what it made from the write's ``key``) is adopted when found, ``adopted``
        recording what that means, and is otherwise not applied: this run proposes it
        again. An update is superseded: this run's diff sends it again if still needed."""
        if self.plan:
            return
        for intent in self.log.pending(actions=(*creates, *updates)):
            look = creates.get(intent.action)
            if look is None:
                self.log.settle(intent.target_key, "superseded")
                continue
            made = look(intent.key)
            self.log.settle(intent.target_key, "not-applied" if made is None else "adopted", made)
            if made is not None and adopted is not None:
                adopted(intent.key, made)

    def _refused(self, push: str, exc: DataError, refused: Refused) -> None:
        self.log.finish(push, "failed", None, str(exc))
        failures = refused(exc)
        if isinstance(failures, Failure):
            failures = [failures]
        for failure in failures or ():
            self.run.failures.add(failure)


def _logger() -> logging.Logger | logging.LoggerAdapter:
    """The flow run's logger, or crosswalk's outside a run (a step's body called alone)."""
    from prefect.exceptions import MissingContextError
    from prefect.logging import get_run_logger

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("crosswalk.push")


def land_left(warehouse: Warehouse, entities: Iterable[Entity]) -> int:
    """Land the records of ``entities`` that a stopped run's writes returned and it kept
    but did not land (``sync.unlanded``), each as of the run that wrote it, before this
    run reads or builds anything: they are newer than the rows they replace, which the
    next read would otherwise diff against. A flow names what it lands and reads, so the
    records of an entity land before any run reads that entity again. Returns how many
    records landed."""
    known = {str(entity): entity for entity in entities}
    with warehouse.transaction() as con:
        rows = con.execute(
            "SELECT seq, run_id, entity, records FROM sync.unlanded "
            "WHERE entity IN (SELECT unnest(?)) ORDER BY seq",
            [list(known)],
        ).fetchall()
        kept = [(seq, run_id, known[name], orjson.loads(records))
                for seq, run_id, name, records in rows]  # fmt: skip
        _land(con, kept)
    return sum(len(records) for *_, records in kept)


def _land(con: duckdb.DuckDBPyConnection, kept: list[Kept], complete: set | None = None) -> None:
    """Land kept records, one merge per run and entity (the last record of a key wins), each
    as of the run that kept it, and delete their rows from ``sync.unlanded``."""
    batches: dict[tuple[str, Entity], list[dict[str, Any]]] = {}
    for _, run_id, entity, records in kept:
        batches.setdefault((run_id, entity), []).extend(records)
    for (run_id, entity), records in batches.items():
        checked = validate(entity, records)
        land_into(con, entity.system, entity.name, entity.primary_key, checked.table, run_id,
                  checked.rejected, complete=complete)  # fmt: skip
    con.execute("DELETE FROM sync.unlanded WHERE seq IN (SELECT unnest(?))",
                [[seq for seq, *_ in kept]])  # fmt: skip


def _outcome_unknown(write: Write, exc: OutcomeUnknown, attempts: int) -> Failure:
    return Failure(
        Kind.TRANSIENT, Owner.CONFIG, "write-outcome-unknown", write.system,
        write.action, write.target,
        f"{write.action} {write.target}: no answer came back from {attempts} sends and "
        f"the record is not there ({exc})",
        "Nothing, if the system answers again by the next run, which sends it again; if "
        "this stays, check the system's health and load.",
        label=write.record,
    )  # fmt: skip


def _together(means: list[Also]) -> Also | None:
    """One ``also`` doing each of ``means`` in order, on the outcome's connection."""
    if not means:
        return None

    def both(con: duckdb.DuckDBPyConnection) -> None:
        for mean in means:
            mean(con)

    return both


def _send_once(send: Callable[[], Any], find: Callable[[], Any], attempts: int) -> Any:
    """``send``; when its answer is lost, ``find`` tells whether it was made, and only when
    it was not is it sent again."""
    for _ in range(attempts - 1):
        try:
            return send()
        except OutcomeUnknown:
            made = find()
            if made is not None:
                return made
    return send()
