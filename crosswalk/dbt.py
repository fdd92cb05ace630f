"""dbt, in-process, against the warehouse file named by the configuration.

``dbt_project/profiles.yml`` reads the warehouse path from ``CROSSWALK_WAREHOUSE``,
so dbt and the pipeline always agree on the file. dbt-duckdb keeps its connection
open after a run; closing it hands the file back to other processes.

A process parses the project once and builds from that manifest afterwards: parsing
costs more than building the few models of a run (bench/README.md, "dbt per flow run").
The parse depends only on the project's files, the models' vars and the warehouse's
database name, so a manifest is reused only while all three are the same. Each
warehouse keeps its own target and log folders, so processes building different
warehouses at once never share a file.

A build whose inputs did not change since the last build is not made again (``kept``):
the warehouse records, per selection, the graph it built (``sync.model_selections``) and,
per relation, the key of the inputs it was last built from (``sync.model_relations``).
A key covers everything a relation's rows follow from: the project's files, the vars,
dbt's version, the day (models read ``current_date``), and the rows and columns of every
source table above it (raw tables, operator decisions, sync state), through the keys of
the relations between. A view's rows are read live, so its key covers only the columns
of what it reads: ``sync.runs`` changing every run rebuilds nothing that merely shows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crosswalk.config import WAREHOUSE_ENV, Settings
from crosswalk.progress import Progress
from crosswalk.warehouse import columns_held


class DbtBuildError(RuntimeError):
    """dbt reported failures; the message lists each failing model or test."""


@dataclass
class DbtOutcome:
    """Node statuses of one ``dbt build``: counts by status and the failures in words."""

    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # Models and seeds not built again: nothing they are built from changed since (all of
    # the selection's, or the rest beside what was built).
    kept: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        if self.kept and not self.statuses:
            return f"nothing changed since the last build: {self.kept} models and seeds kept"
        done = [f"{n} {status}" for status, n in sorted(self.statuses.items())]
        if self.kept:
            done.append(f"{self.kept} models and seeds kept (built from what has not changed)")
        return ", ".join(done) or "nothing"


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for dbt's profile only while dbt runs."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


# The [flows.customer_sync] keys models read (macros/customer_sync_filter.sql,
# marts/customer_field_sync.sql, marts/mapped_locations.sql). Only these are passed: any
# change to dbt's vars forces a full parse, so settings models never read stay out.
MODEL_SETTINGS = {
    "customer_types",
    "branches",
    "territories",
    "contract_types",
    "locations",
    "skip_fields",
    "field_owners",
}
# The [flows.agreement_sync] keys models read (macros/agreement_sync.sql and its callers).
AGREEMENT_SETTINGS = {
    "invoice_statuses",
    "agreement_types",
    "default_template",
    "contract_prefix",
    "invoice_number_in",
}
# The [flows.service_sync] keys models read (macros/service_sync.sql and its callers).
SERVICE_SETTINGS = {
    "mode",
    "statuses",
    "first_date",
    "technicians",
    "contract_fallback",
    "call_type",
    "call_types",
    "bill_code",
    "bill_code_agreement",
    "bill_codes",
    "activity_code",
    "activity_codes",
    "call_status",
    "hours",
    "non_billable",
    "fixed_fee_item",
}
# The [flows.service_sync.to_psa] keys models read (marts/call_ticket_sync.sql).
TO_PSA_SETTINGS = {"call_types", "branches", "sent_hold_code"}

# The [flows.sales_order_sync] keys models read (macros/sales_order_sync.sql and its callers).
SALES_ORDER_SETTINGS = {
    "statuses",
    "item_templates",
    "item_template_prefix",
    "error_item",
    "hold_code",
    "customer_hold_code",
    "order_number_field",
}


def model_vars(settings: Settings) -> dict:
    """The settings models read (``var('customer_sync')``, ``var('agreement_sync')``,
    ``var('service_sync')`` with the dealer's time zone, ``var('sales_order_sync')``):
    filters, not secrets."""
    erp = settings.systems.eautomate
    service = settings.flows.service_sync.model_dump(include=SERVICE_SETTINGS, mode="json")
    service["time_zone"] = erp.time_zone if erp is not None else "UTC"
    service["to_psa"] = settings.flows.service_sync.to_psa.model_dump(include=TO_PSA_SETTINGS)
    return {
        "customer_sync": settings.flows.customer_sync.model_dump(include=MODEL_SETTINGS),
        "agreement_sync": settings.flows.agreement_sync.model_dump(include=AGREEMENT_SETTINGS),
        "service_sync": service,
        "sales_order_sync": settings.flows.sales_order_sync.model_dump(
            include=SALES_ORDER_SETTINGS
        ),
    }


# dbt keeps process-wide state (its adapter registry, flags, the profile's environment
# variable), so builds in one process take turns.
_lock = threading.Lock()
# Parsed manifests by what the parse depends on, least recently used first; a few MB each.
_manifests: dict[tuple, Any] = {}
_MANIFESTS_KEPT = 8
# The tag a partial build selects its nodes by (set on its own copy of the manifest only).
PART_TAG = "crosswalk-part-of-build"


def build(
    settings: Settings,
    select: Sequence[str],
    full_refresh: bool = False,
    tests: bool = True,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> DbtOutcome:
    """``dbt build --select ...``: models, seeds and tests, in dependency order; without
    ``tests``, ``dbt run``: the models only (data its tests passed on, changed by the run's
    own writes). Nothing is built when nothing the selection is built from changed since
    its last build (with tests, when that build ran them); ``full_refresh`` always builds.
    ``run_id`` is recorded with what was built; ``progress`` counts the nodes as they
    finish."""
    from crosswalk.warehouse import Warehouse

    project = settings.dbt.project_dir
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    variables = json.dumps(model_vars(settings), sort_keys=True)
    code = _code_key(project, variables, settings.warehouse.path.stem)
    # dbt's settings by environment (DBT_EXCLUDE_RESOURCE_TYPES...) can change what a build
    # does: a build made under others is another selection. Hashed: one may be a secret.
    by_env = sorted((k, v) for k, v in os.environ.items() if k.startswith("DBT_"))
    env = hashlib.sha256(json.dumps(by_env).encode()).hexdigest()[:16]
    selection = json.dumps(["build" if tests else "run", *select, f"env {env}"])
    # The selection's last build with this code, when known, says which of its relations
    # are built from something else now: only those are built again (each with what is
    # below it, whose keys follow). A build that stops half way leaves nothing recorded as
    # built before it: the records of what it will build go first (found by dbt ls when
    # the selection was not built yet and some relation is recorded).
    with warehouse.transaction() as con:
        last = None if full_refresh else _last_build(con, selection, code)
        stale, untested = (set(), set()) if last is None else _stale(con, last, code, tests)
        if last is not None and not stale and not untested:
            return DbtOutcome(kept=len(_made(last)))
        partial = last is not None and len(stale) < len(_made(last))
        if partial:
            _forget_relations(con, [_name(last[uid]["relation"]) for uid in stale])
        elif last is not None:
            _forget_relations(con, _made(last))
        known = last is not None or _forget(con, selection, code) or _none_recorded(con)

    def forget(relations: list[str]) -> None:
        with warehouse.transaction() as con:
            _forget_relations(con, relations)

    if partial:
        outcome, _ = _build(settings, select, variables, full_refresh, tests, None, progress,
                            only=(stale, untested, last))  # fmt: skip
        outcome.kept = len(_made(last)) - len(stale)
        with warehouse.transaction() as con:
            _record(con, selection, code, last, tests, run_id, only=stale | untested)
        return outcome
    outcome, graph = _build(
        settings, select, variables, full_refresh, tests, None if known else forget, progress
    )
    with warehouse.transaction() as con:
        _record(con, selection, code, graph, tests, run_id)
    return outcome


def _build(
    settings: Settings,
    select: Sequence[str],
    variables: str,
    full_refresh: bool,
    tests: bool,
    forget: Callable[[list[str]], None] | None = None,
    progress: Progress | None = None,
    only: tuple[set[str], set[str], dict] | None = None,
) -> tuple[DbtOutcome, dict]:
    """The dbt build itself; returns its outcome and the graph of what it built. Before
    it builds, ``forget`` is given the relations it will build. ``only``: of the
    selection, just these models and seeds, the tests of these others, and the tests
    ``_part`` adds (of the graph the selection's last build made, the third)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    project = settings.dbt.project_dir
    # dbt reuses its parse (partial_parse.msgpack) only for the warehouse it was made for.
    work = settings.warehouse.path.parent / "dbt" / settings.warehouse.path.stem
    common = [
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--no-send-anonymous-usage-stats",
        "--quiet",
        "--vars", variables,
    ]  # fmt: skip
    # A test runs only when everything it reads is built: a registry test of another flow's
    # mart is that flow's to run.
    args = ["build" if tests else "run", *common, "--threads", str(settings.dbt.threads),
            "--select", *select, "--indirect-selection", "cautious"]  # fmt: skip
    kinds = ["model", "seed", "snapshot"] if tests else ["model"]
    # ``ls`` prints what it lists even when quiet; its result is all that is wanted here.
    listing = ["ls", *common, "--log-level", "none", "--select", *select, "--resource-type",
               *kinds, "--output", "json", "--output-keys", "unique_id"]  # fmt: skip
    if full_refresh:
        args.append("--full-refresh")
    with _lock, _environment(WAREHOUSE_ENV, str(settings.warehouse.path)):
        try:
            # dbt-duckdb names the database after the file: the manifest's relations do too.
            # The vars are not in the key: models read them as they compile, in the build,
            # and no ref or config depends on them.
            key = (str(project), _fingerprint(project), settings.warehouse.path.stem)
            manifest = _manifests.pop(key, None)
            if manifest is None:
                parsed = dbtRunner().invoke(["parse", *common])
                if parsed.exception is not None or parsed.result is None:
                    problem = parsed.exception or "dbt parse returned no manifest"
                    raise DbtBuildError(f"dbt could not run: {problem}") from parsed.exception
                manifest = parsed.result
            _manifests[key] = manifest
            while len(_manifests) > _MANIFESTS_KEPT:
                del _manifests[next(iter(_manifests))]
            if forget is not None:
                listed = dbtRunner(manifest=manifest).invoke(listing)
                if listed.exception is not None or listed.result is None:
                    problem = listed.exception or "dbt ls returned nothing"
                    raise DbtBuildError(f"dbt could not run: {problem}") from listed.exception
                nodes = {json.loads(line)["unique_id"] for line in listed.result}
                graph = _graph(manifest, nodes)
                forget([_name(graph[uid]["relation"]) for uid in nodes if graph[uid]["relation"]])
            part = set()
            if only is not None:
                part = _part(manifest, *only, tests)
                if not part:  # kept relations whose tests were to run, and have none
                    return DbtOutcome(), {}
                args = [*args[: args.index("--select") + 1], f"tag:{PART_TAG}",
                        "--indirect-selection", "empty"]  # fmt: skip
            # A build compiles into the nodes it is given: each gets its own copy. A part
            # is selected by a tag on that copy: dbt would match each of 70 to 200 ``fqn:``
            # selectors against every node (0.1 to 0.3 s a build).
            given = manifest.deepcopy()
            for uid in part:
                given.nodes[uid].tags.append(PART_TAG)
            callbacks = [] if progress is None else [_counting(progress)]
            result = dbtRunner(manifest=given, callbacks=callbacks).invoke(args)
        finally:
            DuckDBConnectionManager.close_all_connections()
    if result.exception is not None:
        raise DbtBuildError(f"dbt could not run: {result.exception}") from result.exception
    outcome = DbtOutcome()
    for node in result.result or []:
        status = str(node.status)
        outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
        if status in ("error", "fail", "runtime error"):
            outcome.failures.append(f"{node.node.unique_id}: {status}: {node.message}")
    if outcome.failures:
        raise DbtBuildError("dbt build failed:\n" + "\n".join(outcome.failures))
    built = {r.node.unique_id for r in result.result or [] if r.node.resource_type in BUILT}
    return outcome, _graph(manifest, built)


def _part(manifest: Any, nodes: set[str], checked: set[str], graph: dict, tests: bool) -> set[str]:
    """``nodes`` (of the selection whose last build made ``graph``) and, with ``tests``,
    the tests a build of the whole selection would run that read one of them, one of
    ``checked`` (kept, but not tested yet), a view or a source (whose rows are read live,
    so may have changed)."""
    selected = {uid for uid, node in graph.items() if node["built"] or node["kind"] == "source"}
    live = {uid for uid, node in graph.items() if node["kind"] in (*LIVE, "source")}
    chosen = set(nodes)
    if tests:
        for uid, node in manifest.nodes.items():
            parents = set(getattr(node.depends_on, "nodes", []))
            if (
                node.resource_type == "test"
                and parents
                and parents <= selected
                and parents & (nodes | checked | live)
            ):
                chosen.add(uid)
    return chosen


def _project_files(project: Path) -> Iterator[Path]:
    """Every file of the project, in a stable order (dbt's own output folders, if any, left
    out)."""
    skip = {"target", "logs", "dbt_packages"}
    for folder, dirs, names in os.walk(project):
        dirs[:] = sorted(d for d in dirs if not (folder == str(project) and d in skip))
        for name in sorted(names):
            yield Path(folder, name)


def _counting(progress: Progress):
    """A dbt event callback: each node finished is one more done, of the total dbt names
    when it starts a node."""
    lock = threading.Lock()

    def on_event(event) -> None:
        name = event.info.name
        if name == "NodeFinished":
            with lock:
                progress.advance(1)
        elif name == "LogStartLine" and getattr(event.data, "total", None):
            progress.total = event.data.total

    return on_event


def _fingerprint(project: Path) -> tuple:
    """Every project file's name, size and modification time: an edited model is parsed
    again."""
    return tuple(
        (str(path.relative_to(project)), (stat := path.stat()).st_size, stat.st_mtime_ns)
        for path in _project_files(project)
    )


# --- Builds that cost what changed -------------------------------------------------------

# What a build makes a relation of; tests and unit tests only check.
BUILT = {"model", "seed", "snapshot"}
# Relations whose rows are read live: their key covers the columns of what they read.
LIVE = {"view", "ephemeral"}


def _code_key(project: Path, variables: str, database: str) -> str:
    """What every model's code follows from: the contents of the project's files, the
    vars, dbt's and dbt-duckdb's versions and the warehouse's database name."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for part in (version("dbt-core"), version("dbt-duckdb"), variables, database):
        digest.update(part.encode() + b"\0")
    for path in _project_files(project):
        digest.update(str(path.relative_to(project)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _graph(manifest: Any, built: set[str]) -> dict[str, dict]:
    """The nodes built and everything above them: per node its relation (schema and
    name), its kind (source, seed, or how a model is materialized), its parents, and
    whether this build built it."""
    graph: dict[str, dict] = {}
    todo = sorted(built)
    while todo:
        uid = todo.pop()
        if uid in graph:
            continue
        if uid in manifest.sources:
            source = manifest.sources[uid]
            graph[uid] = {"relation": [source.schema, source.identifier], "kind": "source",
                          "parents": [], "built": False,
                          "rows": source.meta.get("rows_read")}  # fmt: skip
            continue
        node = manifest.nodes[uid]
        kind = "seed" if node.resource_type == "seed" else node.config.materialized
        above = getattr(node.depends_on, "nodes", [])  # a seed depends on macros alone
        parents = [p for p in above if p in manifest.sources or p in manifest.nodes]
        relation = None if kind == "ephemeral" else [node.schema, node.alias]
        graph[uid] = {"relation": relation, "kind": kind, "parents": sorted(parents),
                      "built": uid in built}  # fmt: skip
        todo.extend(parents)
    return graph


def _name(relation: Sequence[str]) -> str:
    return ".".join(relation)


def _keys(con: Any, graph: dict[str, dict], code: str) -> dict[str, str | None]:
    """Per node the key its relation would be recorded with if built now: a table's (and
    a seed's) covers the rows of everything above it, a view's the columns. A relation
    this selection does not build counts as recorded by whoever built it last; None when
    no build recorded it (nothing can be said of what it holds)."""
    recorded = dict(con.execute("SELECT relation, input_key FROM sync.model_relations").fetchall())
    (today,) = con.execute("SELECT CAST(current_date AS VARCHAR)").fetchone()
    columns = columns_held(con)
    rows: dict[str, str | None] = {}  # what the relation's rows follow from
    shape: dict[str, str | None] = {}  # what its definition follows from

    def key(*parts: Any) -> str | None:
        if any(part is None for part in parts):
            return None
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def visit(uid: str) -> None:
        if uid in rows:
            return
        node = graph[uid]
        for parent in node["parents"]:
            visit(parent)
        parents_rows = [rows[p] for p in node["parents"]]
        parents_shape = [shape[p] for p in node["parents"]]
        kind, relation = node["kind"], node["relation"]
        if kind == "source":
            defined = columns.get(tuple(relation))  # as JSON, (name, type) pairs are lists
            content = _content(con, relation, node.get("rows"))
            shape[uid], rows[uid] = key(defined), key(defined, content)
        elif node["built"] or kind == "ephemeral":
            shape[uid] = key(code, uid, *parents_shape)
            rows[uid] = key(code, uid, today, *parents_rows)
            if kind == "seed":
                shape[uid] = rows[uid] = key(code, uid)
            elif kind not in LIVE:
                shape[uid] = rows[uid]
        else:  # built by another selection: as it was recorded then
            shape[uid] = recorded.get(_name(relation))
            rows[uid] = key(shape[uid], *parents_rows) if kind in LIVE else shape[uid]

    for uid in graph:
        visit(uid)
    return {uid: shape[uid] if graph[uid]["kind"] in LIVE else rows[uid] for uid in graph}


def _content(con: Any, relation: Sequence[str], rows_read: str | None = None) -> list:
    """The rows of a table, in a few bytes: how many, and the sum of their hashes; only
    those models read, when the source says which (``meta: rows_read``)."""
    table = ".".join(f'"{part}"' for part in relation)
    where = f" WHERE {rows_read}" if rows_read else ""
    count, hashed = con.execute(
        f"SELECT count(*), sum(hash(whole_row_)) FROM {table} whole_row_{where}"
    ).fetchone()
    return [count, str(hashed)]


def _last_build(con: Any, selection: str, code: str) -> dict | None:
    """The graph the selection's last build recorded, when it was built with ``code``."""
    found = con.execute(
        "SELECT project, graph FROM sync.model_selections WHERE selection = ?", [selection]
    ).fetchone()
    return json.loads(found[1]) if found is not None and found[0] == code else None


def _made(graph: dict) -> list[str]:
    """The relations a build made (its graph's built nodes that are not ephemeral)."""
    return [
        _name(node["relation"]) for node in graph.values() if node["built"] and node["relation"]
    ]


def _stale(con: Any, graph: dict, code: str, tests: bool) -> tuple[set[str], set[str]]:
    """The relations of the last build (its ``graph``) that are not recorded as built
    from what they would be built from now, or are gone; and, with ``tests``, those that
    are, but were built without their tests (a build after a push step's writes): only
    their tests are to run."""
    built = {uid: node for uid, node in graph.items() if node["built"] and node["relation"]}
    recorded = {
        relation: (key, tested)
        for relation, key, tested in con.execute(
            "SELECT relation, input_key, is_tested FROM sync.model_relations"
        ).fetchall()
    }
    existing = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
    }
    keys = _keys(con, graph, code)
    stale, untested = set(), set()
    for uid, node in built.items():
        key, tested = recorded.get(_name(node["relation"]), (None, False))
        if _name(node["relation"]) not in existing or key is None or key != keys[uid]:
            stale.add(uid)
        elif tests and not tested:
            untested.add(uid)
    return stale, untested


def _none_recorded(con: Any) -> bool:
    """No relation is recorded as built (a new warehouse): a build has nothing to forget."""
    return con.execute("SELECT count(*) = 0 FROM sync.model_relations").fetchone()[0]


def _forget_relations(con: Any, relations: Sequence[str]) -> None:
    for relation in relations:
        con.execute("DELETE FROM sync.model_relations WHERE relation = ?", [relation])


def _forget(con: Any, selection: str, code: str) -> bool:
    """Before a build: the records of the relations its last build made (with this code)
    go; False when there is no such build, so which relations it makes is not known."""
    graph = _last_build(con, selection, code)
    if graph is None:
        return False
    _forget_relations(con, _made(graph))
    return True


def _record(
    con: Any,
    selection: str,
    code: str,
    graph: dict,
    tests: bool,
    run_id: str | None,
    only: set[str] | None = None,
) -> None:
    """After a build: its graph, and per relation it built (``only`` these, when it built
    part of the graph) the key of what it was built from."""
    keys = _keys(con, graph, code)
    now = datetime.now(UTC)
    con.execute(
        "INSERT OR REPLACE INTO sync.model_selections VALUES (?, ?, ?, ?, ?)",
        [selection, code, json.dumps(graph), run_id, now],
    )
    for uid, node in graph.items():
        if only is not None and uid not in only:
            continue
        if node["built"] and node["relation"] and keys[uid] is not None:
            con.execute(
                "INSERT OR REPLACE INTO sync.model_relations VALUES (?, ?, ?, ?, ?)",
                [_name(node["relation"]), keys[uid], tests, run_id, now],
            )
