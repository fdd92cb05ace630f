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
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosswalk.config import WAREHOUSE_ENV, Settings
from crosswalk.progress import Progress


class DbtBuildError(RuntimeError):
    """dbt reported failures; the message lists each failing model or test."""


@dataclass
class DbtOutcome:
    """Node statuses of one ``dbt build``: counts by status and the failures in words."""

    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        return (
            ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items())) or "nothing"
        )


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


def build(
    settings: Settings,
    select: Sequence[str],
    full_refresh: bool = False,
    tests: bool = True,
    progress: Progress | None = None,
) -> DbtOutcome:
    """``dbt build --select ...``: models, seeds and tests, in dependency order; without
    ``tests``, ``dbt run``: the models only (data its tests passed on, changed by the run's
    own writes). ``progress`` counts the nodes as they finish."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    project = settings.dbt.project_dir
    work = settings.warehouse.path.parent / "dbt"
    variables = json.dumps(model_vars(settings), sort_keys=True)
    common = [
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--threads", str(settings.dbt.threads),
        "--no-send-anonymous-usage-stats",
        "--quiet",
        "--vars", variables,
    ]  # fmt: skip
    # A test runs only when everything it reads is built: a registry test of another flow's
    # mart is that flow's to run.
    args = ["build" if tests else "run", *common, "--select", *select,
            "--indirect-selection", "cautious"]  # fmt: skip
    if full_refresh:
        args.append("--full-refresh")
    with _lock, _environment(WAREHOUSE_ENV, str(settings.warehouse.path)):
        try:
            # dbt-duckdb names the database after the file: the manifest's relations do too.
            key = (str(project), _fingerprint(project), variables, settings.warehouse.path.stem)
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
            # A build compiles into the nodes it is given: each gets its own copy.
            callbacks = [] if progress is None else [_counting(progress)]
            result = dbtRunner(manifest=manifest.deepcopy(), callbacks=callbacks).invoke(args)
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
    return outcome


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
    again (dbt's own output folders, if any, are left out)."""
    skip = {"target", "logs", "dbt_packages"}
    files = []
    for folder, dirs, names in os.walk(project):
        dirs[:] = sorted(d for d in dirs if not (folder == str(project) and d in skip))
        for name in sorted(names):
            stat = os.stat(os.path.join(folder, name))
            files.append((os.path.relpath(os.path.join(folder, name), project), stat.st_size,
                          stat.st_mtime_ns))  # fmt: skip
    return tuple(files)
