"""``crosswalk run``, ``crosswalk demo`` and ``crosswalk status``: run the flows, run them
against the emulated systems, and show how each flow's last run went.

Prefect and the flows are imported inside the commands, after the environment is set,
so that Prefect reads the settings meant for it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from crosswalk import progress
from crosswalk.cli import (
    ConfigOption,
    _busy,
    _config_failed,
    _note_running,
    _settings,
    console,
    imports_kept,
    stderr,
)
from crosswalk.cli.inbox import HOST as INBOX_HOST
from crosswalk.cli.inbox import PORT as INBOX_PORT
from crosswalk.cli.records import known
from crosswalk.demo import CREDENTIALS

if TYPE_CHECKING:
    from crosswalk.config import Settings
    from crosswalk.pipeline import Run

# Settings Prefect reads at import; the user's environment wins.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "DO_NOT_TRACK": "1",
}
# The last run of each flow, and its last plan apart (dbt_project/models/marts/sync_health.sql):
# a view, so it shows the runs recorded after the build that made it; only a warehouse no run
# has built lacks it.
HEALTH = "marts.sync_health"


VerboseOption = Annotated[
    bool, typer.Option("--verbose", help="Show Prefect's log of each flow and task run.")
]


def _prefect_environment(verbose: bool) -> None:
    """Prefect's settings, before Prefect is imported: its log (each task run, the
    temporary server and its docs link) only with ``verbose``, else warnings and errors."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
    else:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _run_flows(
    names: list[str],
    config: Path,
    plan: bool,
    full_refresh: bool,
    verbose: bool = False,
    **options: str,
) -> list[Run]:
    """Run the named flows in order (``options`` are flow parameters, for one flow); stop
    at the first that fails."""
    _prefect_environment(verbose)
    with imports_kept():
        server = _PrefectStart()  # boots beside the imports below, in its own process
        from prefect.flows import load_flow_from_entrypoint

        from crosswalk.config import ConfigError
        from flows import FLOWS

        flows = {name: load_flow_from_entrypoint(FLOWS[name]) for name in names}
    atexit.unregister(_stop_prefect_loop)  # once, however many commands a process runs
    atexit.register(_stop_prefect_loop)
    server.wait()
    if verbose:
        console.print(
            f"Prefect: imported in {server.imported:.1f} s; "
            + (
                f"its temporary server ready {server.seconds:.1f} s after the command "
                f"started, {server.waited:.1f} s of it waited for after the imports (a run "
                "against a running server, PREFECT_API_URL, waits for none)"
                if server.seconds is not None
                else "no temporary server started"
            ),
            highlight=False,
        )
    runs = []
    for name in names:
        flow = flows[name]
        with progress.terminal(console, f"[bold]{name}[/bold]: extract, land, build, report"):
            try:
                runs.append(
                    flow(config=str(config), plan=plan, full_refresh=full_refresh, **options)
                )
            except ConfigError as exc:
                raise _config_failed(exc, f"{name}: ") from None
            except Exception as exc:
                console.print(
                    f"[red]{name} failed:[/red] {type(exc).__name__}: {exc}", highlight=False
                )
                raise typer.Exit(1) from None
    return runs


class _PrefectStart:
    """Prefect's temporary server (when no PREFECT_API_URL names a running one), started
    at once rather than by the first flow run, so that its start (a process of its own)
    overlaps the command's imports; ``wait`` blocks until it answers, and the start is
    timed apart. The first flow run finds it running; should this start fail, that run
    starts it again and says why."""

    def __init__(self):
        self.began = time.perf_counter()
        self.seconds: float | None = None
        self.waited = 0.0
        self.thread = None
        from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

        self.imported = time.perf_counter() - self.began  # Prefect's own import, first of all
        if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
            return
        # Imported here, not in the thread: two threads importing one package can deadlock.
        from prefect.server.api.server import SubprocessASGIServer

        self.thread = threading.Thread(
            target=self._start, args=(SubprocessASGIServer(),), name="prefect-start", daemon=True
        )
        self.thread.start()

    def _start(self, server) -> None:
        try:
            server.start()
        except Exception:
            return
        self.seconds = time.perf_counter() - self.began

    def wait(self) -> None:
        if self.thread is not None:
            began = time.perf_counter()
            self.thread.join()
            self.waited = time.perf_counter() - began


def _stop_prefect_loop() -> None:
    """Stop Prefect's background event loop as the process exits. The events worker a flow
    run starts leaves that loop a call to drain it, holding a copy of the run's context (the
    flow, its module, the modules it imports); the loop's thread is a daemon that Prefect
    3.8 never stops, so at exit the copy outlives Python's last garbage collection and
    DuckDB's bindings (nanobind) print a screen of "leaked" objects. Stopping the loop runs
    the call (the worker is drained by then) and drops it."""
    from prefect._internal.concurrency.threads import wait_for_global_loop_exit

    wait_for_global_loop_exit(timeout=5)


def _summary(runs: list[Run]) -> Table:
    table = Table(title="crosswalk run summary")
    table.add_column("flow")
    table.add_column("entity")
    for column in ("read", "landed", "new", "changed", "quarantined"):
        table.add_column(column, justify="right")
    for run in runs:
        for i, r in enumerate(run.landed):
            table.add_row(
                run.flow if i == 0 else "",
                f"{r.system}.{r.entity}",
                str(r.read),
                str(r.landed),
                str(r.inserted),
                str(r.updated),
                str(r.quarantined),
            )
    return table


def _writes(planned: list) -> str:
    return f"{len(planned)} write" + ("" if len(planned) == 1 else "s")


def _print_runs(runs: list[Run]) -> None:
    console.print(_summary(runs))
    for run in runs:
        console.print(
            f"{run.flow}: {run.status}"
            + (" (plan)" if run.plan else "")
            + f"; dbt build: {run.models}",
            highlight=False,
        )
        if run.plan:
            console.print(f"{run.flow} would make {_writes(run.planned)}:", highlight=False)
            for planned in run.planned:
                console.print(f"  {planned}", highlight=False, soft_wrap=True)
        elif run.planned:
            console.print(
                f"{run.flow} made {_writes(run.planned)} (sync.push_log)", highlight=False
            )
        for note in run.notes:
            console.print(f"{run.flow}: {note}", highlight=False)
        for line in run.rebuilt:
            console.print(f"{run.flow}: rebuilt from the systems: {line}", highlight=False)


def _print_writes(runs: list[Run]) -> None:
    """Every write the runs made (or planned), one JSON object per line, and nothing else
    on standard output: for scripts."""
    for run in runs:
        for write in run.planned:
            sys.stdout.write(write.to_json(run.flow) + "\n")
    sys.stdout.flush()


def run(
    flow: Annotated[
        str,
        typer.Argument(
            help="customer-sync, agreement-sync, service-sync, sales-order-sync, "
            "charge-import, or all (in that order)."
        ),
    ],
    config: ConfigOption = None,
    plan: Annotated[
        bool, typer.Option("--plan", help="Write nothing to any system; show what would change.")
    ] = False,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Forget watermarks and read everything again.")
    ] = False,
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer",
            help="customer-sync: push only this ERP customer and its locations (or location).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="--customer: take the number even though no run has landed it."
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print each write (with --plan: each write it would make) as one JSON object "
            "per line, and nothing else.",
        ),
    ] = False,
    wait: Annotated[
        bool | None,
        typer.Option(
            "--wait/--no-wait",
            help="When another run holds the warehouse: wait for it (at most [warehouse] "
            "wait_minutes) or give up at once. Default: [warehouse] when_busy (wait).",
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Run one flow, or all of them in dependency order; one run at a time per warehouse."""
    from flows import FLOWS

    if flow != "all" and flow not in FLOWS:
        console.print(f"[red]unknown flow {flow!r}[/red]; choose one of: {', '.join(FLOWS)}, all")
        raise typer.Exit(2)
    settings = _settings(config)
    names = [name for name in FLOWS if flow in (name, "all")]
    if flow == "all":
        names = [n for n in names if getattr(settings.flows, n.replace("-", "_")).enabled]
    if customer is not None and flow != "customer-sync":
        console.print("[red]--customer goes with customer-sync[/red]")
        raise typer.Exit(2)
    options = {}
    if customer is not None:
        known(settings, "customer or location", customer, force)
        options["customer"] = customer
    with _alone(settings, flow, wait):
        runs = _run_flows(names, settings.source, plan, full_refresh, verbose, **options)
    (_print_writes if as_json else _print_runs)(runs)


@contextmanager
def _alone(settings: Settings, flow: str, wait: bool | None) -> Iterator[None]:
    """Hold the warehouse's run lock for the whole command (``run all``: across its
    flows), or exit with one line naming the run that holds it."""
    from crosswalk.runlock import WarehouseBusy, one_run

    place = settings.warehouse
    minutes = place.minutes_to_wait if wait is None else place.wait_minutes if wait else 0
    try:
        with one_run(
            place.path, flow, minutes, lambda line: stderr.print(line, markup=False, soft_wrap=True)
        ):
            yield
    except WarehouseBusy as exc:
        raise _busy(exc) from None


def demo(
    data: Annotated[
        Path,
        typer.Option(
            help="Folder for the demo's world, configuration, warehouse and Prefect state."
        ),
    ] = Path("data/demo"),
    scale: Annotated[str, typer.Option(help="World size: small, medium or large.")] = "medium",
    seed: Annotated[int, typer.Option(help="World seed.")] = 1,
    verbose: VerboseOption = False,
) -> None:
    """Serve the emulated systems over a seeded world, run every flow once against them,
    and print what happened."""
    from crosswalk.warehouse import Warehouse
    from emulators import serve

    data = data.resolve()
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT_HOME", str(data / "prefect"))
    console.print(f"preparing the {scale} world (seed {seed}) in {data} ...", highlight=False)
    try:
        running = serve.start(data, seed=seed, scale=scale, port_base=0)
    except (ValueError, OSError) as exc:
        console.print(f"[red]cannot start the emulated systems:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with running:
        config = running.config
        settings = _settings(config)
        from flows import FLOWS

        runs = _run_flows(list(FLOWS), config, plan=False, full_refresh=False, verbose=verbose)
    _print_runs(runs)
    with Warehouse(settings.warehouse.path).connect(read_only=True) as con:
        mapped, total = con.execute(
            "SELECT count(*) FILTER (WHERE is_mapped), count(*) FROM marts.mapped_customers"
        ).fetchone()
        reasons = con.execute(
            "SELECT system || '.' || entity, reason, count(*) FROM sync.quarantine "
            "WHERE run_id IN (SELECT unnest(?)) GROUP BY ALL ORDER BY 3 DESC, 1, 2",
            [[r.id for r in runs]],
        ).fetchall()
        charged = con.execute(
            "SELECT count(*), count(DISTINCT batch_sheet_id), coalesce(sum(amount), 0) "
            "FROM sync.charged_lines"
        ).fetchone()
        waiting = con.execute(
            "SELECT coalesce(sum(calls), 0), coalesce(sum(amount), 0) FROM marts.waiting_calls"
        ).fetchone()
        (written,) = con.execute(
            "SELECT count(*) FROM sync.reports WHERE delivery = 'outbox' "
            "AND run_id IN (SELECT unnest(?))",
            [[r.id for r in runs]],
        ).fetchone()
    console.print(
        f"\nmarts.mapped_customers: {mapped} of {total} ERP customers mapped to a PSA company."
    )
    console.print(
        f"charge-import: {charged[0]} calls charged ({charged[2]:.2f}) on {charged[1]} Operate "
        f"batch sheets; {waiting[0]} calls ({waiting[1]:.2f}) wait for a fix "
        "(crosswalk errors list).",
        highlight=False,
    )
    if reasons:
        console.print("\nQuarantined this run (kept in sync.quarantine with the record):")
        for entity, reason, count in reasons:
            console.print(f"  {count:>5} x {entity}: {reason}", highlight=False, markup=False)
    cli = _command()
    exports = " ".join(f"{key}={value}" for key, value in CREDENTIALS.items())
    console.print(
        f"\nwarehouse: {settings.warehouse.path}\nconfig:    {config}\n"
        f"reports:   {settings.report.outbox} ({written} report e-mails saved as .eml files; "
        "no SMTP server set)\n"
        f"next:      {cli} status --config {config}\n"
        f"           {cli} errors list --config {config}\n"
        f"inbox:     {cli} inbox --config {config}\n"
        f"           then open http://{INBOX_HOST}:{INBOX_PORT}/ (what waits, and every decision)\n"
        f"explore:   {cli} emulators serve --data {data} --scale {scale} --seed {seed}\n"
        "           then, in another shell, with the credentials the emulated systems accept:\n"
        f"           export {exports}\n"
        f"           {cli} run all --config {config}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if cli != "crosswalk":
        console.print(
            f"\ncrosswalk is not on the PATH: run {cli}, or `source {Path(cli).parent}/activate` "
            "first and then just `crosswalk`.",
            highlight=False,
            markup=False,
        )


def _command() -> str:
    """How to call this crosswalk: ``crosswalk`` when the PATH finds this one, else its
    path (relative to the working directory when inside it)."""
    installed = Path(sys.executable).parent / "crosswalk"
    found = shutil.which("crosswalk")
    if found and Path(found).resolve() == installed.resolve():
        return "crosswalk"
    try:
        return str(installed.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(installed)


def status(config: ConfigOption = None) -> None:
    """The last run of each flow: when, outcome, rows landed and quarantined, errors open;
    a plan run, which writes nothing, is shown apart and never as a flow's last run."""
    from crosswalk.warehouse import Warehouse

    settings = _settings(config)
    warehouse = Warehouse(settings.warehouse.path)
    if not warehouse.path.exists():
        console.print(f"no runs yet: {warehouse.path} does not exist")
        return
    _note_running(warehouse.path)
    try:
        with warehouse.connect(read_only=True) as con:
            present = {
                f"{schema}.{name}"
                for schema, name in con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() "
                    "UNION ALL SELECT schema_name, view_name FROM duckdb_views()"
                ).fetchall()
            }
            if HEALTH not in present:
                console.print(
                    f"no dbt build yet: {warehouse.path} has no {HEALTH}, which a flow run "
                    "builds; run one (crosswalk run all), and if it stops before its build, "
                    "crosswalk errors list says why",
                    highlight=False,
                )
                return
            rows = con.execute(
                "SELECT flow, status, started_at, finished_at, rows_read, rows_landed, "
                "rows_quarantined, message, last_plan_started_at, last_plan_status "
                f"FROM {HEALTH} ORDER BY flow"
            ).fetchall()
            errors = (
                dict(
                    con.execute(
                        "SELECT flow, count(*) FROM sync.errors WHERE status = 'open' GROUP BY 1"
                    ).fetchall()
                )
                if "sync.errors" in present
                else None
            )
    except Exception as exc:  # duckdb.IOException when a flow holds the file
        console.print(f"[red]cannot read {warehouse.path}:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    table = Table(title=f"crosswalk status: {warehouse.path}")
    for column in (
        "flow",
        "status",
        "started",
        "finished",
        "read",
        "landed",
        "quarantined",
        "errors open",
        "message",
        "last plan",
    ):
        table.add_column(column, no_wrap=column == "last plan")
    for (flow, state, started, finished, read, landed, quarantined, message, plan_started,
         plan_state) in rows:  # fmt: skip
        table.add_row(
            flow,
            state,
            f"{started:%Y-%m-%d %H:%M:%S}" if started else "",
            f"{finished:%Y-%m-%d %H:%M:%S}" if finished else "",
            str(read),
            str(landed),
            str(quarantined),
            "n/a" if errors is None else str(errors.get(flow, 0)),
            message or "",
            f"{plan_started:%Y-%m-%d %H:%M} {plan_state}" if plan_started else "",
        )
    console.print(table)
