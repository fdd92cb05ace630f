"""Failures: one error model for every flow, kept in ``sync.errors``.

A failure says what is wrong, where, and who fixes it: its class (``data``, ``config``,
``transient``), its owner (PSA data, ERP data, Operate data, configuration), a code that
groups alike failures, the record (system, entity, id, a label people recognise, a link
where the system has one), the message and the fix. Its identity is a hash of flow,
system, entity, record id and code, so the same failure on a later run updates the same
row (``first_seen_at``, ``last_seen_at``, ``times_seen``) instead of piling up. Codes are
declared once, with their report heading and general fix, in
``dbt_project/seeds/failure_codes.csv`` (:mod:`crosswalk.codes`): a failure, or a
``looked_at``, with a code not declared there is refused with a ValueError.

Adding a failure from a flow is one line, on the run the flow is recording, once its code
is declared::

    run.failures.add(data_failure(
        "eautomate", "customers", "ACME01", "unmapped-parent",
        "parent customer ACME00 is not mapped to a PSA company",
        "Map ACME00 first; this location then goes through by itself.",
        label='customer ACME01 "Acme Annex"',
    ))

and, so that failures which no longer occur are resolved, the flow says what it looked
at: every record of an entity, or some records by id, for the codes it checks::

    run.failures.looked_at("eautomate", "customers", codes=["unmapped-parent"])
    run.failures.looked_at("eautomate", "customers", ["unmapped-parent"], record_ids=ids)

An open failure inside what a run looked at that the run did not find again becomes
resolved and is announced once. Nothing outside it is touched: an incremental extract
that did not re-read a record did not look at it. A plan run reads like a run and writes
nothing: it records what it finds and resolves what reading settles (a link finding gone
from the data), never what only a write settles (``codes.WRITE_STEPS``), so that
``errors list`` and the marts it built agree. The pipeline already does both for the
rows validation rejects (code ``invalid-record``) and for runs that cannot complete
(entity ``run``: the system was unreachable, credentials were refused, the configuration
is wrong).

:class:`ErrorBook` keeps ``sync.errors`` and the outage state of each flow
(``sync.outages``) and says what the run's report must contain; ``crosswalk.report``
renders it and ``crosswalk.mail`` delivers it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import pyarrow as pa

from crosswalk import records
from crosswalk.codes import CODES, check, settled_by_reading
from crosswalk.config import (
    SECRET_MIN_LENGTH,
    URL_USERINFO,
    ConfigError,
    SecretRef,
    Settings,
    resolved_secrets,
)
from crosswalk.http import CredentialsRefused, TransientError
from crosswalk.warehouse import Warehouse, registered

RUN = "run"  # the entity of failures that stopped a whole run
INVALID_RECORD = "invalid-record"


class Kind(StrEnum):
    DATA = "data"  # a record is wrong; someone fixes it in its system
    CONFIG = "config"  # crosswalk.toml, credentials or set-up; an administrator fixes it
    TRANSIENT = "transient"  # may pass by itself (system down, network); retried next run


class Owner(StrEnum):
    PSA = "psa-data"
    ERP = "erp-data"
    OPERATE = "operate-data"
    CONFIG = "configuration"


OWNER_TITLES = {
    Owner.PSA: "PSA data (ConnectWise Manage)",
    Owner.ERP: "ERP data (e-automate)",
    Owner.OPERATE: "Operate data (Operate and Connect)",
    Owner.CONFIG: "Configuration",
}
SYSTEM_OWNERS = {
    "connectwise": Owner.PSA,
    "eautomate": Owner.ERP,
    "operate": Owner.OPERATE,
    "connect": Owner.OPERATE,
    "calllogs": Owner.OPERATE,
}


@dataclass(frozen=True)
class Failure:
    """One thing that went wrong with one record (or with a whole run)."""

    kind: Kind
    owner: Owner
    code: str
    system: str
    entity: str
    record_id: str
    message: str
    fix: str
    label: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        check(self.code)

    @property
    def title(self) -> str:
        """How a report names the record: its label, else entity and id."""
        return self.label or f"{records.noun(self.system, self.entity)} {self.record_id}"

    def identity(self, flow: str) -> str:
        """Stable across runs: the same failure of the same record is the same row."""
        parts = (flow, self.system, self.entity, self.record_id, self.code)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def data_failure(
    system: str,
    entity: str,
    record_id: str | int,
    code: str,
    message: str,
    fix: str,
    *,
    label: str | None = None,
    url: str | None = None,
) -> Failure:
    """A record is wrong in ``system``; its owner is that system's data."""
    return Failure(
        Kind.DATA,
        SYSTEM_OWNERS.get(system, Owner.CONFIG),
        code,
        system,
        entity,
        str(record_id),
        message,
        fix,
        label,
        url,
    )


@dataclass(frozen=True)
class Checked:
    """Part of what a run looked at: ``codes`` for all of ``system.entity`` (record_ids
    None) or for those records."""

    system: str
    entity: str
    codes: frozenset[str]
    record_ids: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for code in self.codes:
            check(code)


@dataclass
class Failures:
    """What one run found and what it looked at; see the module docstring."""

    found: dict[tuple[str, str, str, str], Failure] = field(default_factory=dict)
    checked: list[Checked] = field(default_factory=list)
    # Found before the run's own writes, which settled them: not for anyone to fix.
    fixed: dict[tuple[str, str, str, str], Failure] = field(default_factory=dict)

    def add(self, failure: Failure) -> None:
        """Found this failure (the same record and code twice in a run counts once)."""
        self.found[_key(failure)] = failure

    def fixed_by_run(self, failure: Failure) -> None:
        """This failure was there before the run's writes and they settled it: no longer
        one of the run's failures."""
        self.found.pop(_key(failure), None)
        self.fixed[_key(failure)] = failure

    def looked_at(
        self,
        system: str,
        entity: str,
        codes: Iterable[str],
        record_ids: Iterable[str | int] | None = None,
    ) -> None:
        """Checked ``codes`` on every record of the entity, or on ``record_ids``."""
        ids = None if record_ids is None else frozenset(str(r) for r in record_ids)
        self.checked.append(Checked(system, entity, frozenset(codes), ids))

    def __len__(self) -> int:
        return len(self.found)


def _key(failure: Failure) -> tuple[str, str, str, str]:
    return (failure.system, failure.entity, failure.record_id, failure.code)


# ---------------------------------------------------------------------------------------
# Runs that cannot complete


def run_failure(exc: BaseException, settings: Settings | None = None) -> Failure:
    """What stopped a run, as a failure of the run itself (entity ``run``)."""
    from crosswalk.dbt import DbtBuildError

    system = getattr(exc, "system", None) or "crosswalk"
    message = redact(f"{type(exc).__name__}: {exc}", settings)
    name = records.SYSTEM_NAMES.get(system, system)
    status = getattr(exc, "status_code", None) or getattr(
        getattr(exc, "response", None), "status_code", None
    )
    if isinstance(exc, ConfigError):
        kind, code = Kind.CONFIG, "config-invalid"
        fix = CODES[code].fix
    elif isinstance(exc, CredentialsRefused) or status in (401, 403):
        kind, code = Kind.CONFIG, "credentials-refused"
        fix = (
            f"Check the {name} API credentials crosswalk.toml names under systems.{system} "
            f"(the secrets, and that the API user still exists and has its rights)."
        )
    elif isinstance(exc, (TransientError, OSError, TimeoutError)):
        kind, code = Kind.TRANSIENT, "system-unreachable"
        fix = (
            f"Nothing, if {name} is back by the next run. Otherwise check that it is up and "
            f"that systems.{system}.base_url in crosswalk.toml is right."
        )
    elif isinstance(exc, DbtBuildError):
        kind, code = Kind.CONFIG, "models-failed"
        fix = CODES[code].fix
    else:
        kind, code = Kind.CONFIG, "run-failed"
        fix = CODES[code].fix
    return Failure(kind, Owner.CONFIG, code, system, RUN, "run", message, fix, label="the run")


def redact(text: str, settings: Settings | None = None) -> str:
    """``text`` without the values of the secrets the configuration names (by environment
    variable, or resolved from a Prefect Secret block in this process), and without
    credentials written into URLs."""
    text = URL_USERINFO.sub("***@", text)
    for value in _secret_values(settings):
        text = text.replace(value, "***")
    return text


def _secret_values(settings: Settings | None) -> list[str]:
    if settings is None:
        return []
    refs: list[SecretRef] = [
        ref for _, system in settings.systems if system for ref in system.secrets().values()
    ]
    if settings.report.smtp and settings.report.smtp.password:
        refs.append(settings.report.smtp.password)
    values = {os.environ.get(ref.env, "") for ref in refs if ref.env} | resolved_secrets()
    return sorted((v for v in values if len(v) >= SECRET_MIN_LENGTH), key=len, reverse=True)


# ---------------------------------------------------------------------------------------
# Validation rejects


def quarantined(warehouse: Warehouse, settings: Settings, run_id: str) -> list[Failure]:
    """The rows this run quarantined, one failure per record."""
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT system, entity, record_key, source, reason, record FROM sync.quarantine "
            "WHERE run_id = ? ORDER BY quarantined_at",
            [run_id],
        ).fetchall()
    found = Failures()
    for system, entity, key, source, reason, text in rows:
        record = json.loads(text)
        rid = records.record_id(key, record)
        name = records.SYSTEM_NAMES.get(system, system)
        noun = records.noun(system, entity)
        found.add(
            data_failure(
                system,
                entity,
                rid,
                INVALID_RECORD,
                reason,
                f"Correct this {noun} in {name} as the problem says and save it; the next "
                f"run reads it again and syncs it.",
                label=records.label(system, entity, record, rid, source),
                url=records.link(settings, system, entity, rid),
            )
        )
    return list(found.found.values())


# ---------------------------------------------------------------------------------------
# sync.errors


@dataclass(frozen=True)
class ErrorRow:
    """A failure as ``sync.errors`` keeps it."""

    error_id: str
    flow: str
    error_class: str
    owner: str
    code: str
    system: str
    entity: str
    record_id: str
    label: str | None
    url: str | None
    message: str
    fix: str
    status: str
    first_seen_at: datetime
    last_seen_at: datetime
    times_seen: int
    times_reported: int
    last_reported_at: datetime | None
    resolved_at: datetime | None
    is_resolution_announced: bool
    first_run_id: str
    last_run_id: str
    resolved_run_id: str | None

    @property
    def title(self) -> str:
        """How a report names the record: its label, else entity and id."""
        return self.label or f"{records.noun(self.system, self.entity)} {self.record_id}"


COLUMNS = ", ".join(f.name for f in fields(ErrorRow))


@dataclass(frozen=True)
class Outage:
    """A flow whose runs cannot complete: ``started`` is announced once, ``recovered``
    once; ``causes`` are the run failures (the current one, or all that it had)."""

    event: str  # "started" | "recovered"
    started_at: datetime
    failed_runs: int
    causes: tuple[ErrorRow, ...]


@dataclass(frozen=True)
class Section:
    """One section of a report (new, still open, resolved): the rows it lists, at most
    a report's ``max_per_group`` of each owner and code, and how many each owner and code
    has in all (``len``); ``ids`` are all of them, listed or not, since a report tells of
    every one (a large world has hundreds of thousands: they stay in the warehouse)."""

    rows: tuple[ErrorRow, ...] = ()
    sizes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, rows: Iterable[ErrorRow]) -> Section:
        """A section that lists all its rows."""
        rows = tuple(rows)
        sizes = Counter((r.owner, r.code) for r in rows)
        return cls(rows, dict(sizes), tuple(r.error_id for r in rows))

    def size(self, owner: str, code: str) -> int:
        return self.sizes.get((owner, code), 0)

    def __len__(self) -> int:
        return sum(self.sizes.values())

    def __iter__(self) -> Iterator[ErrorRow]:
        return iter(self.rows)


@dataclass(frozen=True)
class Findings:
    """What the run's report contains: new failures, still-open ones within their
    ``max_times`` reports, resolved ones not yet announced, and an outage event. A
    section given as rows lists them all."""

    flow: str
    run_id: str
    max_times: int
    new: Section = field(default_factory=Section)
    still_open: Section = field(default_factory=Section)
    resolved: Section = field(default_factory=Section)
    hidden: int = 0  # open, but already in max_times reports
    outage: Outage | None = None
    run_error: ErrorRow | None = None  # what stopped this run (also when not announced)

    def __post_init__(self) -> None:
        for name in ("new", "still_open", "resolved"):
            if not isinstance(rows := getattr(self, name), Section):
                object.__setattr__(self, name, Section.of(rows))

    @property
    def newsworthy(self) -> bool:
        return bool(self.new or self.still_open or self.resolved or self.outage)

    @property
    def open_count(self) -> int:
        return len(self.new) + len(self.still_open) + self.hidden


def _now() -> datetime:
    return datetime.now(UTC)


class ErrorBook:
    """``sync.errors`` and ``sync.outages`` for one flow."""

    def __init__(self, warehouse: Warehouse, flow: str, max_times: int = 3, max_listed: int = 50):
        self.warehouse = warehouse
        self.flow = flow
        self.max_times = max_times
        self.max_listed = max_listed  # rows a report lists of each owner and code

    def record(
        self,
        run_id: str,
        found: Sequence[Failure],
        checked: Sequence[Checked],
        *,
        failed: bool = False,
        plan: bool = False,
        now: datetime | None = None,
    ) -> Findings:
        """Store what the run found, resolve what it looked at and did not find again,
        follow the flow's outage state, and return what the report must say.

        ``found`` includes the run failure when the run could not complete (``failed``).
        A plan run stores what it found and resolves only what its reads looked at; it
        leaves run failures and the outage state to real runs.
        """
        now = now or _now()
        ids = {f.identity(self.flow) for f in found}
        if plan:
            read = (
                replace(c, codes=frozenset(filter(settled_by_reading, c.codes))) for c in checked
            )
            checked = [c for c in read if c.codes]
        with self.warehouse.transaction() as con:
            if found:
                self._upsert(con, run_id, found, now)
            self._resolve(con, run_id, ids, checked, failed or plan, now)
            if not plan:
                self._follow_outage(con, run_id, found, failed, now)
            return self._findings(con, run_id, failed, plan)

    def reported(
        self,
        findings: Findings,
        *,
        subject: str,
        recipients: Sequence[str],
        delivery: str,
        destination: str,
        note: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """The report went out: count it on each failure it listed, mark resolutions and
        outage events announced, and log it in ``sync.reports``."""
        now = now or _now()
        listed = [*findings.new.ids, *findings.still_open.ids]
        announced = list(findings.resolved.ids)
        outage = findings.outage
        kind = outage.event if outage else "report"
        if outage and outage.event == "started":
            listed += [r.error_id for r in outage.causes]
        if outage and outage.event == "recovered":
            announced += [r.error_id for r in outage.causes]
        with self.warehouse.transaction() as con:
            if listed:
                con.execute(
                    "UPDATE sync.errors SET times_reported = times_reported + 1, "
                    "last_reported_at = ? WHERE error_id IN (SELECT unnest(?))",
                    [now, listed],
                )
            if announced:
                con.execute(
                    "UPDATE sync.errors SET is_resolution_announced = true "
                    "WHERE error_id IN (SELECT unnest(?))",
                    [announced],
                )
            if outage and outage.event == "started":
                con.execute(
                    "UPDATE sync.outages SET is_announced = true WHERE flow = ?", [self.flow]
                )
            if outage and outage.event == "recovered":
                con.execute("DELETE FROM sync.outages WHERE flow = ?", [self.flow])
            con.execute(
                "INSERT INTO sync.reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    findings.run_id,
                    self.flow,
                    kind,
                    subject,
                    ", ".join(recipients),
                    delivery,
                    destination,
                    note,
                    len(findings.new),
                    len(findings.still_open),
                    len(findings.resolved),
                    now,
                ],
            )

    def _upsert(self, con, run_id: str, found: Sequence[Failure], now: datetime) -> None:
        """Insert new failures; a known one is seen again (and reopened if resolved)."""
        batch = pa.table(
            {
                "error_id": [f.identity(self.flow) for f in found],
                "error_class": [str(f.kind) for f in found],
                "owner": [str(f.owner) for f in found],
                "code": [f.code for f in found],
                "system": [f.system for f in found],
                "entity": [f.entity for f in found],
                "record_id": [f.record_id for f in found],
                "label": pa.array([f.label for f in found], pa.string()),
                "url": pa.array([f.url for f in found], pa.string()),
                "message": [f.message for f in found],
                "fix": [f.fix for f in found],
            }
        )
        with registered(con, "found_batch", batch):
            con.execute(
                """
                MERGE INTO sync.errors AS e
                USING (SELECT * FROM found_batch) AS f
                ON e.error_id = f.error_id
                WHEN MATCHED THEN UPDATE SET
                    error_class = f.error_class, owner = f.owner, label = f.label,
                    url = f.url, message = f.message, fix = f.fix,
                    last_seen_at = $now, last_run_id = $run,
                    times_seen = e.times_seen + 1,
                    status = 'open',
                    times_reported = CASE WHEN e.status = 'open'
                                          THEN e.times_reported ELSE 0 END,
                    last_reported_at = CASE WHEN e.status = 'open'
                                            THEN e.last_reported_at END,
                    resolved_at = NULL, resolved_run_id = NULL,
                    is_resolution_announced = false
                WHEN NOT MATCHED THEN INSERT VALUES (
                    f.error_id, $flow, f.error_class, f.owner, f.code, f.system, f.entity,
                    f.record_id, f.label, f.url, f.message, f.fix, 'open', $now, $now, 1, 0,
                    NULL, NULL, false, $run, $run, NULL)
                """,
                {"now": now, "run": run_id, "flow": self.flow},
            )

    def _resolve(
        self,
        con,
        run_id: str,
        ids: set[str],
        checked: Sequence[Checked],
        failed: bool,
        now: datetime,
    ) -> None:
        """Open failures inside what the run looked at that it did not find again; the
        run failures resolve when a run completes. A failure never reported is resolved
        without an announcement; run failures are announced with the recovery when the
        outage was announced."""
        resolve = """
            UPDATE sync.errors SET status = 'resolved', resolved_at = $now,
                resolved_run_id = $run, is_resolution_announced = (times_reported = 0)
            WHERE flow = $flow AND status = 'open'
              AND error_id NOT IN (SELECT unnest($ids::VARCHAR[]))
        """
        params = {"now": now, "run": run_id, "flow": self.flow, "ids": sorted(ids)}
        if not failed:  # the run completed: what stopped earlier runs is over
            con.execute(
                resolve.replace("(times_reported = 0)", "NOT $told") + f" AND entity = '{RUN}'",
                {**params, "told": self._outage_announced(con)},
            )
        scope = [
            (c.system, c.entity, code, rid)
            for c in checked
            for code in c.codes
            for rid in ([None] if c.record_ids is None else c.record_ids)
        ]
        if not scope:
            return
        system, entity, code, rid = (list(column) for column in zip(*scope, strict=True))
        batch = pa.table(
            {
                "system": pa.array(system, pa.string()),
                "entity": pa.array(entity, pa.string()),
                "code": pa.array(code, pa.string()),
                "record_id": pa.array(rid, pa.string()),
            }
        )
        with registered(con, "checked_batch", batch):
            con.execute(
                resolve
                + f""" AND entity <> '{RUN}' AND EXISTS (
                    SELECT 1 FROM checked_batch c
                    WHERE c.system = sync.errors.system AND c.entity = sync.errors.entity
                      AND c.code = sync.errors.code
                      AND (c.record_id IS NULL OR c.record_id = sync.errors.record_id))
                """,
                params,
            )

    def _follow_outage(
        self, con, run_id: str, found: Sequence[Failure], failed: bool, now: datetime
    ) -> None:
        """A failed run starts or continues the flow's outage; a completed one ends it."""
        if failed:
            cause = next((f for f in found if f.entity == RUN), None)
            error_id = cause.identity(self.flow) if cause else ""
            con.execute(
                """
                INSERT INTO sync.outages VALUES ($flow, $now, $run, $now, 1, $error, false,
                                                 NULL, NULL)
                ON CONFLICT (flow) DO UPDATE SET last_failed_at = $now,
                    failed_runs = sync.outages.failed_runs + 1, error_id = $error,
                    recovered_at = NULL, recovered_run_id = NULL
                """,
                {"flow": self.flow, "now": now, "run": run_id, "error": error_id},
            )
            return
        if self._outage_announced(con):
            con.execute(
                "UPDATE sync.outages SET recovered_at = ?, recovered_run_id = ? WHERE flow = ?",
                [now, run_id, self.flow],
            )
        else:  # nobody was told it started: nothing to announce
            con.execute("DELETE FROM sync.outages WHERE flow = ?", [self.flow])

    def _outage_announced(self, con) -> bool:
        """Whether the flow is in an outage that its recipients were told about."""
        (announced,) = con.execute(
            "SELECT coalesce(any_value(is_announced), false) FROM sync.outages WHERE flow = ?",
            [self.flow],
        ).fetchone()
        return announced

    def _findings(self, con, run_id: str, failed: bool, plan: bool) -> Findings:
        params = {"flow": self.flow, "max": self.max_times}
        sections = self._sections(con, params)
        run_errors = self._rows(
            con,
            f"flow = $flow AND entity = '{RUN}' "
            "AND (status = 'open' OR NOT is_resolution_announced)",
            {"flow": self.flow},
        )
        (hidden,) = con.execute(
            f"SELECT count(*) FROM sync.errors WHERE flow = $flow AND entity <> '{RUN}' "
            "AND status = 'open' AND times_reported >= $max",
            params,
        ).fetchone()
        outage = None
        if not plan:
            state = con.execute(
                "SELECT started_at, failed_runs, error_id, is_announced, recovered_at "
                "FROM sync.outages WHERE flow = ?",
                [self.flow],
            ).fetchone()
            if state:
                started_at, failed_runs, error_id, announced, recovered_at = state
                if recovered_at is not None:
                    causes = [r for r in run_errors if r.status == "resolved"]
                    outage = Outage("recovered", started_at, failed_runs, tuple(causes))
                elif failed and not announced:
                    causes = [r for r in run_errors if r.error_id == error_id]
                    outage = Outage("started", started_at, failed_runs, tuple(causes))
        current = next(
            (r for r in run_errors if r.status == "open" and r.last_run_id == run_id), None
        )
        return Findings(
            flow=self.flow,
            run_id=run_id,
            max_times=self.max_times,
            **sections,
            hidden=hidden,
            outage=outage,
            run_error=current if failed else None,
        )

    def _sections(self, con, params: dict[str, Any]) -> dict[str, Section]:
        """The report's sections: failures never reported (new), reported fewer than
        ``max_times`` times (still open), resolved and not announced. Counted and ranked
        in the warehouse: only the rows a report lists (``max_listed`` of each owner and
        code, first by record as the report orders them) are read as rows."""
        nouns = pa.table(
            {
                "system": [system for system, _ in records.KINDS],
                "entity": [entity for _, entity in records.KINDS],
                "noun": [kind.noun for kind in records.KINDS.values()],
            }
        )
        with registered(con, "record_nouns", nouns):
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE report_due AS
                SELECT error_id, owner, code, section, row_number() OVER (
                    PARTITION BY section, owner, code ORDER BY lower(title), record_id
                ) AS place
                FROM (
                    SELECT e.error_id, e.owner, e.code, e.record_id,
                        CASE WHEN e.status = 'resolved' THEN 'resolved'
                             WHEN e.times_reported = 0 THEN 'new'
                             ELSE 'still_open' END AS section,
                        coalesce(e.label, coalesce(n.noun, regexp_replace(e.entity, 's$', ''))
                                 || ' ' || e.record_id) AS title  -- ErrorRow.title
                    FROM sync.errors AS e
                    LEFT JOIN record_nouns AS n USING (system, entity)
                    WHERE e.flow = $flow AND e.entity <> '{RUN}'
                      AND (e.status = 'open' AND e.times_reported < $max
                           OR e.status = 'resolved' AND NOT e.is_resolution_announced)
                )
                """,
                params,
            )
        sizes: dict[str, dict[tuple[str, str], int]] = {}
        ids: dict[str, list[str]] = {}
        for section, owner, code, error_ids in con.execute(
            "SELECT section, owner, code, list(error_id) FROM report_due GROUP BY ALL"
        ).fetchall():
            sizes.setdefault(section, {})[owner, code] = len(error_ids)
            ids.setdefault(section, []).extend(error_ids)
        listed: dict[str, list[ErrorRow]] = {}
        for section, *row in con.execute(
            f"SELECT d.section, {', '.join(f'e.{c}' for c in COLUMNS.split(', '))} "
            "FROM report_due AS d JOIN sync.errors AS e USING (error_id) "
            "WHERE d.place <= $listed ORDER BY d.section, d.owner, d.code, d.place",
            {"listed": self.max_listed},
        ).fetchall():
            listed.setdefault(section, []).append(ErrorRow(*row))
        con.execute("DROP TABLE report_due")
        return {
            name: Section(
                tuple(listed.get(name, ())), sizes.get(name, {}), tuple(ids.get(name, ()))
            )
            for name in ("new", "still_open", "resolved")
        }

    @staticmethod
    def _rows(con, where: str, params: dict[str, Any]) -> list[ErrorRow]:
        result = con.execute(
            f"SELECT {COLUMNS} FROM sync.errors WHERE {where} "
            "ORDER BY owner, code, coalesce(label, record_id), record_id",
            params,
        ).fetchall()
        return [ErrorRow(*row) for row in result]


def _chosen(flow: str | None, status: str) -> tuple[str, list[str]]:
    """The errors of ``flow`` (or every flow) with ``status`` (open, resolved or all)."""
    where, params = ["true"], []
    if flow:
        where.append("flow = ?")
        params.append(flow)
    if status != "all":
        where.append("status = ?")
        params.append(status)
    return " AND ".join(where), params


def list_errors(
    warehouse: Warehouse, flow: str | None = None, status: str = "open"
) -> list[ErrorRow]:
    """Errors for ``crosswalk errors list --all``: by flow (or all), status open, resolved
    or all."""
    where, params = _chosen(flow, status)
    with warehouse.connect(read_only=True) as con:
        result = con.execute(
            f"SELECT {COLUMNS} FROM sync.errors WHERE {where} "
            "ORDER BY flow, status, owner, code, coalesce(label, record_id), record_id",
            params,
        ).fetchall()
    return [ErrorRow(*row) for row in result]


def count_errors(
    warehouse: Warehouse, flow: str | None = None, status: str = "open"
) -> list[tuple[str, str, str, int]]:
    """``crosswalk errors list``'s summary, counted in the warehouse (a large world keeps
    hundreds of thousands): (flow, owner, code, failures), in that order."""
    where, params = _chosen(flow, status)
    with warehouse.connect(read_only=True) as con:
        return con.execute(
            f"SELECT flow, owner, code, count(*) FROM sync.errors WHERE {where} "
            "GROUP BY ALL ORDER BY ALL",
            params,
        ).fetchall()


def find_error(warehouse: Warehouse, prefix: str) -> list[ErrorRow]:
    """Errors whose id starts with ``prefix`` (ids are 16 hex digits; a few suffice)."""
    with warehouse.connect(read_only=True) as con:
        result = con.execute(
            f"SELECT {COLUMNS} FROM sync.errors WHERE starts_with(error_id, ?) "
            "ORDER BY error_id LIMIT 10",
            [prefix.strip().lower()],
        ).fetchall()
    return [ErrorRow(*row) for row in result]
