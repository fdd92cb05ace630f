"""dbt, in-process, against the warehouse file named by the configuration.

``dbt_project/profiles.yml`` reads the warehouse path from ``CROSSWALK_WAREHOUSE``,
so dbt and the pipeline always agree on the file. dbt-duckdb keeps its connection
open after a run; closing it hands the file back to other processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from crosswalk.config import WAREHOUSE_ENV, Settings


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


def model_vars(settings: Settings) -> dict:
    """The settings models read (``var('customer_sync')``): filters, not secrets."""
    agreements = settings.flows.agreement_sync
    return {
        "customer_sync": settings.flows.customer_sync.model_dump(exclude={"recipients"}),
        "agreement_sync": agreements.model_dump(
            include={
                "invoice_statuses",
                "agreement_types",
                "default_template",
                "contract_prefix",
                "invoice_number_in",
            }
        ),
    }


def build(settings: Settings, select: Sequence[str], full_refresh: bool = False) -> DbtOutcome:
    """``dbt build --select ...``: models, seeds and tests, in dependency order."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    project = settings.dbt.project_dir
    work = settings.warehouse.path.parent / "dbt"
    args = [
        "build",
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--threads", str(settings.dbt.threads),
        "--no-send-anonymous-usage-stats",
        "--quiet",
        "--select", *select,
        # A test runs only when everything it reads is built: a code registry test of
        # another flow's mart is that flow's.
        "--indirect-selection", "cautious",
        "--vars", json.dumps(model_vars(settings)),
    ]  # fmt: skip
    if full_refresh:
        args.append("--full-refresh")
    try:
        with _environment(WAREHOUSE_ENV, str(settings.warehouse.path)):
            result = dbtRunner().invoke(args)
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
