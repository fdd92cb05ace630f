"""Crash anywhere, every flow (issue 19): each flow that writes is killed at step boundaries
of its writes and at random moments, run again to the end and once more, and what the
systems then hold is compared with what a clean run of the same world left.

A flow joins by declaring a :class:`Chaotic`: the write requests it may send (``writes``),
the records its writes leave in the systems with their natural keys (``kept``), the
configuration it runs with, and its push steps (for the short version in the tests).

Two ways to kill, one comparison:

- :meth:`Bench.kill_chain` (``bench/chaos.py``) runs the whole flow as ``crosswalk run`` in
  a process group of its own, which is SIGKILLed at the Nth step boundary of a write
  (``crosswalk.pushing.KILL_AT``: before the intent, between intent and request, between
  request and outcome, after the outcome) or after a random time, its re-run killed again
  at the next point of the chain (one point: a single kill); then the flow runs again
  until it ends, then once more.
- :meth:`Bench.push_series` (``tests/flows/test_chaos.py``) runs only the push steps in
  this process, on models built once, and stops them at boundaries by an exception from
  the same hook; a few kills in a row, then the push to its end.

A point's figures: records duplicated, missing and extra against the clean run (by natural
key and the values compared), the writes of the last run (none is right), and the write
amplification: the writes of the killed run and its re-run over the clean run's writes
(1.0, plus at most the one write in flight at the kill).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from crosswalk.pushing import BOUNDARIES, KILL_AT
from emulators import serve

# Fields a system sets on every write (its clock, the ids of contract lines saved again):
# not what a flow decides, so not compared.
VOLATILE = frozenset(
    {"_info", "LastUpdate", "CreateDate", "updated_at", "created_at", "dateEntered", "DetailID"}
)
# e-automate POSTs every operation; these are the ones that change something.
ERP_WRITES = ("add", "save", "set", "renew", "terminate")


@dataclass(frozen=True)
class Kept:
    """One kind of record a flow's writes leave in a system: ``sql`` over the emulators'
    state returns each record's natural key, then the record as JSON."""

    name: str
    sql: str


@dataclass(frozen=True)
class Chaotic:
    """A flow that writes, as the chaos harness needs it."""

    flow: str
    # The write requests it may send: ``system METHOD path`` (REST, ids as ``*``) or
    # ``eautomate operation`` globs; any other write is counted as undeclared.
    writes: tuple[str, ...]
    kept: tuple[Kept, ...]
    # TOML appended to the emulators' configuration (a second [table] of a name replaces
    # nothing: name tables the configuration does not have).
    config: str = ""
    # Customers mapped first (customer-sync reading and mapping only): the flows whose
    # records go to mapped customers.
    mapped: bool = True
    # The flow's push steps on a run whose models are built (the short version).
    push: Callable[[Any], None] | None = None


def _step(name: str) -> Any:
    """A push task by ``module:name``, imported when it runs (after Prefect is set up)."""
    module, task = name.split(":")
    return getattr(importlib.import_module(module), task)


def _psa_and_erp(*steps: str) -> Callable[[Any], None]:
    """Push steps that write to ConnectWise and e-automate: ``task(run, cw, ea)``."""

    def push(run) -> None:
        from crosswalk.connectwise import ConnectWise
        from crosswalk.eautomate import EAutomate
        from crosswalk.pipeline import open_apis

        apis = open_apis(run, {"connectwise": ConnectWise, "eautomate": EAutomate})
        for step in steps:
            _step(step).fn(run, apis["connectwise"], apis["eautomate"])

    return push


def _charge_push(run) -> None:
    from datetime import UTC, datetime

    from crosswalk.connect import Connect
    from crosswalk.operate import Operate
    from crosswalk.pipeline import open_apis
    from flows.charge_import.charges import push_charges
    from flows.charge_import.clients import send_accounts_to_connect

    apis = open_apis(run, {"operate": Operate, "connect": Connect})
    today = datetime.now(UTC).date()
    push_charges.fn(run, apis["operate"], today, today)
    send_accounts_to_connect.fn(run, apis["operate"], apis["connect"])


CUSTOMERS = Kept("e-automate customers", "SELECT customer_number, doc FROM eautomate.customers")
PROPERTIES = Kept(
    "e-automate custom properties",
    "SELECT group_type || '/' || record_key || '/' || name, to_json(value) "
    "FROM eautomate.custom_values",
)

FLOWS: dict[str, Chaotic] = {
    c.flow: c
    for c in (
        Chaotic(
            "customer-sync",
            writes=(
                "connectwise PATCH *company/companies/*",
                "connectwise POST *company/companies*",
                "eautomate setCustomProperties",
                "eautomate saveCustomer",
                "eautomate addCustomer",
            ),
            kept=(
                Kept(
                    "ConnectWise companies",
                    "SELECT doc->>'identifier', doc FROM connectwise.companies",
                ),
                Kept(
                    "ConnectWise sites",
                    "SELECT parent_id || '/' || (doc->>'name'), doc FROM connectwise.sites",
                ),
                CUSTOMERS,
                PROPERTIES,
            ),
            mapped=False,
            push=_psa_and_erp("flows.customer_sync.push:push_customers"),
        ),
        Chaotic(
            "agreement-sync",
            writes=(
                "eautomate addContractFromTemplate",
                "eautomate saveContract",
                "eautomate terminateContract",
                "eautomate setCustomProperties",
                "connectwise PATCH *finance/agreements/*",
            ),
            kept=(
                Kept(
                    "e-automate contracts", "SELECT contract_number, doc FROM eautomate.contracts"
                ),
                Kept("ConnectWise agreements", "SELECT id, doc FROM connectwise.agreements"),
                PROPERTIES,
            ),
            push=_psa_and_erp("flows.agreement_sync.push:push_agreements"),
        ),
        Chaotic(
            "service-sync",
            writes=(
                "eautomate addCall",
                "eautomate saveCall",
                "connectwise POST *service/*",
                "connectwise PATCH *service/*",
                "connectwise PATCH *project/*",
            ),
            kept=(
                Kept("e-automate calls", "SELECT call_number, doc FROM eautomate.calls"),
                Kept("ConnectWise tickets", "SELECT id, doc FROM connectwise.tickets"),
                Kept(
                    "ConnectWise project tickets", "SELECT id, doc FROM connectwise.project_tickets"
                ),
            ),
            config='[flows.service_sync.to_psa]\ncall_types = ["DISPATCH", "METER"]\n',
            push=_psa_and_erp(
                "flows.service_sync.to_psa:push_calls_to_psa",
                "flows.service_sync.push:push_tickets",
            ),
        ),
        Chaotic(
            "sales-order-sync",
            writes=(
                "eautomate addItem",
                "eautomate saveSalesOrder",
                "connectwise PATCH *sales/orders/*",
            ),
            kept=(
                Kept(
                    "e-automate sales orders", "SELECT so_number, doc FROM eautomate.sales_orders"
                ),
                Kept("e-automate items", "SELECT item, doc FROM eautomate.items"),
                Kept("ConnectWise sales orders", "SELECT id, doc FROM connectwise.sales_orders"),
            ),
            push=_psa_and_erp("flows.sales_order_sync.push:push_sales_orders"),
        ),
        Chaotic(
            "charge-import",
            writes=(
                "operate POST *api/v1/batch-sheets*",
                "operate PATCH *api/v1/batch-sheets/*",
                "operate PATCH *api/v1/accounts/*",
                "connect POST *",
            ),
            kept=(
                # A sheet is per location, product group and day: a run after midnight
                # puts what is left on the next day's sheet. So the sheets are compared
                # summed over the days (and at most one a day), the lines without the day.
                Kept(
                    "Operate batch sheets",
                    "SELECT location_id || '/' || product_group_id, to_json(struct_pack("
                    "total := sum(total), line_count := sum(line_count), "
                    "most_a_day := max(sheets), kinds := list(DISTINCT kind ORDER BY kind))) "
                    "FROM (SELECT *, count(*) OVER (PARTITION BY location_id, "
                    "product_group_id, batch_date) AS sheets, reference_text || ' ' || "
                    "import_type || ' ' || completed || ' ' || approved AS kind "
                    "FROM operate.batch_sheets) GROUP BY location_id, product_group_id",
                ),
                Kept(
                    "Operate batch sheet lines",
                    "SELECT coalesce(l.source_line_hash, l.id::VARCHAR), to_json(struct_pack("
                    "s.location_id, s.product_group_id, l.account_id, "
                    "l.product_id, l.charge_date, l.quantity, l.unit_price, l.amount, "
                    "l.description)) FROM operate.batch_sheet_lines l "
                    "JOIN operate.batch_sheets s ON s.id = l.batch_sheet_id",
                ),
                Kept(
                    "Operate accounts",
                    "SELECT id, to_json(struct_pack(name, status, connect_client_id, "
                    "send_to_connect_requested)) FROM operate.accounts",
                ),
                Kept(
                    "Connect clients",
                    "SELECT coalesce(billing_reference, id::VARCHAR) || '/' || site_id, "
                    "to_json(struct_pack(name, type, status)) FROM connect.clients",
                ),
            ),
            mapped=False,
            push=_charge_push,
        ),
    )
}


def write_label(system: str, method: str, path: str) -> str | None:
    """``system METHOD path`` of a request that writes (ids as ``*``), or None for a read;
    e-automate's by operation."""
    if system == "eautomate":
        operation = path.rstrip("/").rsplit("/", 1)[-1]
        return f"eautomate {operation}" if operation.startswith(ERP_WRITES) else None
    if method in ("GET", "HEAD"):
        return None
    parts = ["*" if p.isdigit() else p for p in path.strip("/").split("/")]
    return f"{system} {method} {'/'.join(parts)}"


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@dataclass
class Held:
    """What the systems hold of one flow's records: per kind, (natural key, record) rows."""

    rows: dict[str, Counter] = field(default_factory=dict)

    def against(self, clean: Held) -> Found:
        found = Found()
        for name, rows in clean.rows.items():
            mine = self.rows.get(name, Counter())
            keys, clean_keys = Counter(), Counter()
            for (key, _), n in mine.items():
                keys[key] += n
            for (key, _), n in rows.items():
                clean_keys[key] += n
            found.duplicates += sum(max(0, n - max(clean_keys[k], 1)) for k, n in keys.items())
            missing, extra = rows - mine, mine - rows
            found.missing += sum(missing.values())
            found.extra += sum(extra.values())
            if missing or extra:
                found.kinds.append(name)
                found.samples += [(name, "clean", *row) for row in sorted(missing)[:2]]
                found.samples += [(name, "here", *row) for row in sorted(extra)[:2]]
        return found


@dataclass
class Found:
    duplicates: int = 0
    missing: int = 0
    extra: int = 0
    kinds: list[str] = field(default_factory=list)
    # A few of the records that differ: (kind, "clean" or "here", key, record).
    samples: list[tuple[str, ...]] = field(default_factory=list)


@dataclass
class Ran:
    """One run of a flow: how it ended (``killed`` by the chaos), its writes by label."""

    returncode: int
    killed: bool
    writes: Counter
    seconds: float
    output: str = ""


@dataclass
class Point:
    """One kill point and what came of it."""

    where: str
    killed: int  # the kills the point's runs took (a chain's, each of its runs)
    found: Found
    writes: int
    last_writes: int
    reruns: int
    undeclared: Counter


class Bench:
    """The emulated systems of one world in this process, a folder, and one flow's state
    before its run (``prepare``), restored before every run that must start from it."""

    def __init__(self, data: Path, running: serve.Emulators, prefect_api: str | None = None):
        self.data = data
        self.running = running
        self.prefect_api = prefect_api
        for server in running.servers.values():
            server.requests = type(server.requests)(maxlen=None)

    # --- the flow's starting state ------------------------------------------------------

    def config(self, chaotic: Chaotic, push: bool = True) -> Path:
        text = self.running.config.read_text(encoding="utf-8")
        extra = chaotic.config
        if not push:
            extra += "\n[flows.customer_sync]\npush = false\n"
        path = self.data / f"{chaotic.flow}{'' if push else '-mapping'}.toml"
        path.write_text(text + "\n" + extra, encoding="utf-8")
        return path

    @property
    def warehouse(self) -> Path:
        return self.data / "warehouse.duckdb"

    def prepare(self, chaotic: Chaotic, pristine: Path) -> None:
        """From the ``pristine`` world and no warehouse: map customers when the flow needs
        them, then keep the world and the warehouse as the flow's start."""
        self.running.restore(pristine)
        for path in (self.warehouse, Path(f"{self.warehouse}.wal")):
            path.unlink(missing_ok=True)
        if chaotic.mapped:
            mapping = Chaotic("customer-sync", (), ())
            ran = self.run(mapping, config=self.config(chaotic, push=False))
            if ran.returncode != 0:
                raise RuntimeError(f"mapping customers failed:\n{ran.output[-2000:]}")
        self.keep_start()

    def keep_start(self) -> None:
        """The world and the warehouse as they are now: where every run starts from."""
        self.running.store.save(self.data / "start.duckdb")
        if self.warehouse.exists():
            shutil.copyfile(self.warehouse, self.data / "start-warehouse.duckdb")

    def restore(self) -> None:
        self.running.restore(self.data / "start.duckdb")
        for path in (self.warehouse, Path(f"{self.warehouse}.wal")):
            path.unlink(missing_ok=True)
        kept = self.data / "start-warehouse.duckdb"
        if kept.exists():
            shutil.copyfile(kept, self.warehouse)

    def held(self, chaotic: Chaotic) -> Held:
        held = Held()
        for kept in chaotic.kept:
            rows = Counter()
            for key, doc in self.running.store.query(kept.sql):
                record = json.dumps(_stable(json.loads(doc)), sort_keys=True, default=str)
                rows[(str(key), record)] += 1
            held.rows[kept.name] = rows
        return held

    def writes(self) -> Counter:
        """The write requests answered since the last call, by label; then forgets them."""
        found = Counter()
        for name, server in self.running.servers.items():
            for request in server.requests:
                label = write_label(name, request.method, request.path)
                if label is not None:
                    found[label] += 1
            server.requests.clear()
        return found

    # --- whole runs, killed by SIGKILL --------------------------------------------------

    def run(
        self,
        chaotic: Chaotic,
        *,
        kill_at: int | None = None,
        kill_after: float | None = None,
        config: Path | None = None,
    ) -> Ran:
        """``crosswalk run <flow>`` in a process group of its own: killed by the pusher at
        the ``kill_at``-th step boundary of a write, or by this process after
        ``kill_after`` seconds."""
        env = {**os.environ, **serve.CREDENTIALS, "PREFECT_HOME": str(self.data / "prefect")}
        env.pop(KILL_AT, None)
        if self.prefect_api:
            env["PREFECT_API_URL"] = self.prefect_api
        if kill_at is not None:
            env[KILL_AT] = str(kill_at)
        command = [sys.executable, "-m", "crosswalk.cli", "run", chaotic.flow,
                   "--config", str(config or self.config(chaotic))]  # fmt: skip
        self.writes()
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        try:
            output, _ = process.communicate(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        _reap(process.pid)
        seconds = time.perf_counter() - began
        killed = process.returncode == -signal.SIGKILL
        return Ran(process.returncode, killed, self.writes(), seconds,
                   output.decode(errors="replace"))  # fmt: skip

    def clean(self, chaotic: Chaotic) -> tuple[Ran, Held, int]:
        """A run from the start to its end: what it wrote, what the systems then hold,
        and the step boundaries its writes passed (four a write sent)."""
        self.restore()
        intents = self._intents()
        ran = self.run(chaotic)
        if ran.returncode != 0:
            raise RuntimeError(f"the clean run of {chaotic.flow} failed:\n{ran.output[-3000:]}")
        return ran, self.held(chaotic), (self._intents() - intents) * len(BOUNDARIES)

    def kill_chain(
        self, chaotic: Chaotic, clean: Held, points: list[dict], *, clean_writes: int = 0,
        reruns: int = 3,
    ) -> Point:  # fmt: skip
        """From the start: a run killed at the first of ``points`` (a boundary,
        ``kill_at``, or a moment, ``kill_after``), its re-run killed at the next, and so on
        (a crash while recovering from one); then runs until one ends (at most ``reruns``),
        then once more; compared with the clean run. A re-run sends only what is left, so
        a later boundary is taken within the writes the clean run made that are not sent
        yet (``clean_writes``); a run that ends before its kill ends the chain."""
        self.restore()
        writes, undeclared, wheres, killed, done, count = Counter(), Counter(), [], 0, False, 0
        for point in points:
            kill_at, kill_after = point.get("kill_at"), point.get("kill_after")
            if kill_at is not None and writes:
                left = max(1, clean_writes - sum(writes.values()))
                kind = (kill_at - 1) % len(BOUNDARIES)
                kill_at = (kill_at - 1) // len(BOUNDARIES) % left * len(BOUNDARIES) + kind + 1
            crashed = self.run(chaotic, kill_at=kill_at, kill_after=kill_after)
            writes += crashed.writes
            wheres.append(
                f"boundary {kill_at} ({BOUNDARIES[(kill_at - 1) % len(BOUNDARIES)]})"
                if kill_at is not None
                else f"after {kill_after:.1f} s"
            )
            killed += crashed.killed
            if not crashed.killed:  # it ended before its kill: the chain's re-run
                done, count = crashed.returncode == 0, 1
                break
        where = ", then ".join(wheres)
        while not done and count < reruns:
            again = self.run(chaotic)
            writes += again.writes
            done, count = again.returncode == 0, count + 1
        if not done:
            raise RuntimeError(f"{chaotic.flow} did not end after {where}:\n{again.output[-3000:]}")
        last = self.run(chaotic)
        for label, n in (writes + last.writes).items():
            if not any(fnmatch(label, pattern) for pattern in chaotic.writes):
                undeclared[label] += n
        return Point(where, killed, self.held(chaotic).against(clean),
                     sum(writes.values()), sum(last.writes.values()), count,
                     undeclared)  # fmt: skip

    def _intents(self) -> int:
        if not self.warehouse.exists():
            return 0
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            try:
                return con.execute("SELECT count(*) FROM sync.push_log").fetchone()[0]
            except duckdb.CatalogException:
                return 0

    # --- the short version: push steps in this process ----------------------------------

    def push_series(self, push: Callable[[], None], kills: list[int]) -> Point:
        """From the start (models built): ``push`` (the flow's push steps in a run of
        their own) stopped at each boundary of ``kills`` in turn (each counted in the push
        it stops, from 1), then pushed to its end; the point's writes are the series'."""
        from crosswalk import pushing

        self.restore()
        self.writes()
        killed = 0
        for kill_at in kills:
            with _hooked(pushing, pushing.Chaos(kill_at, _stop)):
                try:
                    push()
                except Stopped:
                    killed += 1
        push()
        writes = self.writes()
        return Point(f"{len(kills)} boundaries", killed == len(kills), Found(),
                     sum(writes.values()), 0, 1, Counter())  # fmt: skip


class Stopped(BaseException):
    """The short version's kill: raised at a boundary, caught by no one but the harness."""


def _stop(where: str) -> None:
    raise Stopped(where)


@contextmanager
def _hooked(module, hook) -> Iterator[None]:
    before = module.chaos
    module.chaos = hook
    try:
        yield
    finally:
        module.chaos = before


def _reap(group: int) -> None:
    """Whatever of the killed group is left (a Prefect server it started): killed too."""
    with suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def kill_points(boundaries: int, count: int, seed: int, seconds: float) -> list[dict]:
    """``count`` kill points: every fifth after a random time within the clean run's
    ``seconds``, the rest at step boundaries, each of the four kinds in turn at random
    writes (all of a kind when there are few)."""
    rng = random.Random(seed)
    writes = max(1, boundaries // len(BOUNDARIES))
    points = []
    for i in range(count):
        if i % 5 == 4 or not boundaries:
            points.append({"kill_after": rng.uniform(0.5, seconds)})
            continue
        kind = len(points) % len(BOUNDARIES)
        points.append({"kill_at": rng.randrange(writes) * len(BOUNDARIES) + kind + 1})
    return points
