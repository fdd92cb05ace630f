"""The ``crosswalk`` command line: run flows, run the demo, show status.

Prefect and the flows are imported inside the commands, after the environment is set,
so ``crosswalk --help`` is instant and Prefect reads the settings meant for it.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crosswalk import decisions
from crosswalk.config import ConfigError, Settings, load_settings
from crosswalk.demo import CREDENTIALS
from crosswalk.warehouse import Warehouse

if TYPE_CHECKING:
    from crosswalk.errors import ErrorRow
    from crosswalk.pipeline import Run

app = typer.Typer(
    help="Keep ConnectWise Manage, e-automate, Operate and Connect in step.",
    no_args_is_help=True,
    add_completion=False,
)
emulators_app = typer.Typer(help="The emulated systems.", no_args_is_help=True)
config_app = typer.Typer(help="The configuration file.", no_args_is_help=True)
errors_app = typer.Typer(help="Failures the flows found, open and resolved.", no_args_is_help=True)
app.add_typer(emulators_app, name="emulators")
app.add_typer(config_app, name="config")
app.add_typer(errors_app, name="errors")
links_app = typer.Typer(
    help="Which ERP customer is which PSA company: see, confirm and break links.",
    no_args_is_help=True,
)
conflicts_app = typer.Typer(
    help="Fields both systems changed: see them, and pick the value that wins.",
    no_args_is_help=True,
)
exclude_app = typer.Typer(
    help="Leave an ERP customer out of the customer sync, or take it back.",
    no_args_is_help=True,
)
app.add_typer(links_app, name="links")
app.add_typer(exclude_app, name="exclude")
app.add_typer(conflicts_app, name="conflicts")
# Wide when piped or captured, so that tables in logs and e-mails keep whole words.
console = Console(width=None if sys.stdout.isatty() else 160)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="crosswalk.toml to use (else $CROSSWALK_CONFIG, else ./crosswalk.toml).",
    ),
]

# Settings Prefect reads at import; the user's environment wins.
PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "DO_NOT_TRACK": "1",
}


def _config_failed(exc: ConfigError, where: str = "") -> typer.Exit:
    """Print a configuration error; the caller raises the returned exit (status 2)."""
    console.print(f"[red]{where}configuration error:[/red] {exc}", highlight=False)
    return typer.Exit(2)


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise _config_failed(exc) from None


def _run_flows(
    names: list[str], config: Path, plan: bool, full_refresh: bool, **options: str
) -> list[Run]:
    """Run the named flows in order (``options`` are flow parameters, for one flow); stop
    at the first that fails."""
    for key, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    from prefect.flows import load_flow_from_entrypoint

    from flows import FLOWS

    runs = []
    for name in names:
        flow = load_flow_from_entrypoint(FLOWS[name])
        with console.status(f"[bold]{name}[/bold]: extract, land, build, report"):
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
            console.print(f"{run.flow} would write {len(run.planned)} times:", highlight=False)
            for planned in run.planned:
                console.print(f"  {planned}", highlight=False, soft_wrap=True)
        elif run.planned:
            console.print(
                f"{run.flow} wrote {len(run.planned)} times (sync.push_log)", highlight=False
            )


@app.command()
def run(
    flow: Annotated[
        str,
        typer.Argument(
            help="customer-sync, agreement-sync, service-sync, "
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
) -> None:
    """Run one flow, or all of them in dependency order."""
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
    options = {"customer": customer} if customer is not None else {}
    runs = _run_flows(names, settings.source, plan, full_refresh, **options)
    _print_runs(runs)


@app.command()
def demo(
    data: Annotated[
        Path,
        typer.Option(
            help="Folder for the demo's world, configuration, warehouse and Prefect state."
        ),
    ] = Path("data/demo"),
    scale: Annotated[str, typer.Option(help="World size: small, medium or large.")] = "medium",
    seed: Annotated[int, typer.Option(help="World seed.")] = 1,
) -> None:
    """Serve the emulated systems over a seeded world, run every flow once against them,
    and print what happened."""
    from emulators import serve

    data = data.resolve()
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("PREFECT_HOME", str(data / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
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

        runs = _run_flows(list(FLOWS), config, plan=False, full_refresh=False)
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
    console.print(
        f"\nwarehouse: {settings.warehouse.path}\nconfig:    {config}\n"
        f"reports:   {settings.report.outbox} ({written} report e-mails saved as .eml files; "
        "no SMTP server set)\n"
        f"next:      crosswalk status --config {config}\n"
        f"           crosswalk errors list --config {config}\n"
        f"explore:   crosswalk emulators serve --data {data} --scale {scale} --seed {seed}",
        highlight=False,
    )


@app.command()
def status(config: ConfigOption = None) -> None:
    """The last run of each flow: when, outcome, rows landed and quarantined, errors open."""
    settings = _settings(config)
    warehouse = Warehouse(settings.warehouse.path)
    if not warehouse.path.exists():
        console.print(f"no runs yet: {warehouse.path} does not exist")
        return
    try:
        with warehouse.connect(read_only=True) as con:
            rows = con.execute(
                """
                SELECT r.flow, r.status, r.started_at, r.finished_at,
                       coalesce(sum(e.rows_read), 0), coalesce(sum(e.rows_landed), 0),
                       coalesce(sum(e.rows_quarantined), 0), r.message
                FROM sync.runs r LEFT JOIN sync.run_entities e USING (run_id)
                WHERE r.started_at = (SELECT max(started_at) FROM sync.runs x
                                      WHERE x.flow = r.flow)
                GROUP BY ALL ORDER BY r.flow
                """
            ).fetchall()
            has_errors = con.execute(
                "SELECT count(*) FROM duckdb_tables() "
                "WHERE schema_name = 'sync' AND table_name = 'errors'"
            ).fetchone()[0]
            errors = (
                dict(
                    con.execute(
                        "SELECT flow, count(*) FROM sync.errors WHERE status = 'open' GROUP BY 1"
                    ).fetchall()
                )
                if has_errors
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
    ):
        table.add_column(column)
    for flow, state, started, finished, read, landed, quarantined, message in rows:
        table.add_row(
            flow,
            state,
            f"{started:%Y-%m-%d %H:%M:%S}",
            f"{finished:%Y-%m-%d %H:%M:%S}" if finished else "",
            str(read),
            str(landed),
            str(quarantined),
            "n/a" if errors is None else str(errors.get(flow, 0)),
            message or "",
        )
    console.print(table)


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the configuration and resolve every secret it names."""
    settings = _settings(config)
    names = [name for name, system in settings.systems if system]
    try:
        settings.resolve_secrets(names)
        settings.smtp_password()
    except ConfigError as exc:
        raise _config_failed(exc) from None
    console.print(
        f"{settings.source}: valid; systems: {', '.join(names)}; "
        f"warehouse: {settings.warehouse.path}",
        highlight=False,
    )


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else ""


def _read_errors(settings: Settings, read: Callable[[Warehouse], list[ErrorRow]]):
    """``read(warehouse)`` on the warehouse, or exit saying why it cannot be read."""
    warehouse = Warehouse(settings.warehouse.path)
    if not warehouse.path.exists():
        console.print(f"no runs yet: {warehouse.path} does not exist")
        raise typer.Exit(0)
    try:
        return read(warehouse)
    except Exception as exc:  # duckdb.IOException when a flow holds the file
        message = str(exc)
        if "sync.errors" in message or "errors does not exist" in message:
            console.print("no failures recorded yet")
            raise typer.Exit(0) from None
        console.print(f"[red]cannot read {warehouse.path}:[/red] {escape(message)}")
        raise typer.Exit(1) from None


@errors_app.command("list")
def errors_list(
    config: ConfigOption = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow's failures.")] = None,
    state: Annotated[str, typer.Option("--status", help="open, resolved or all.")] = "open",
) -> None:
    """Failures by flow, owner and code: the record, the problem, the fix."""
    from crosswalk.errors import list_errors

    if state not in ("open", "resolved", "all"):
        console.print(f"[red]--status must be open, resolved or all, not {escape(state)!r}[/red]")
        raise typer.Exit(2)
    settings = _settings(config)
    rows = _read_errors(settings, lambda wh: list_errors(wh, flow, state))
    if not rows:
        console.print(
            f"no {'' if state == 'all' else state + ' '}failures"
            + (f" for {flow}" if flow else ""),
            highlight=False,
            markup=False,
        )
        return
    table = Table(title=f"crosswalk errors ({state}): {settings.warehouse.path}")
    columns = ["id", "flow", "status", "owner", "code", "record", "problem", "fix", "last seen"]
    columns.append("e-mailed")
    if state != "all":
        columns.remove("status")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        values = {
            "id": row.error_id[:8],
            "flow": row.flow,
            "status": row.status,
            "owner": row.owner,
            "code": row.code,
            "record": row.title,
            "problem": row.message,
            "fix": row.fix,
            "last seen": _when(row.last_seen_at),
            "e-mailed": f"{row.times_reported} of {settings.report.max_times}",
        }
        table.add_row(*(Text(values[column]) for column in columns))
    console.print(table)
    console.print(f"{len(rows)} failure(s); one in full: crosswalk errors show ID", highlight=False)


@errors_app.command("show")
def errors_show(
    error_id: Annotated[str, typer.Argument(help="The error id, or its first few characters.")],
    config: ConfigOption = None,
) -> None:
    """One failure in full: record, link, problem, fix, when seen and reported."""
    from crosswalk.errors import find_error

    settings = _settings(config)
    rows = _read_errors(settings, lambda wh: find_error(wh, error_id))
    if not rows:
        console.print(f"no error with id {escape(error_id)!r}")
        raise typer.Exit(1)
    if len(rows) > 1:
        console.print(f"{escape(error_id)!r} matches several errors; give more of the id:")
        for row in rows:
            console.print(Text(f"  {row.error_id}  {row.flow}  {row.code}  {row.title}"))
        raise typer.Exit(2)
    (row,) = rows
    table = Table(show_header=False, title=f"error {row.error_id}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in (
        ("flow", row.flow),
        ("status", row.status),
        ("class", row.error_class),
        ("owner", row.owner),
        ("code", row.code),
        ("record", row.title),
        ("system", f"{row.system} {row.entity} {row.record_id}"),
        ("link", row.url or ""),
        ("problem", row.message),
        ("fix", row.fix),
        ("first seen", f"{_when(row.first_seen_at)} (run {row.first_run_id})"),
        ("last seen", f"{_when(row.last_seen_at)} (run {row.last_run_id})"),
        ("times seen", str(row.times_seen)),
        ("times e-mailed", f"{row.times_reported} of at most {settings.report.max_times}"),
        ("resolved", _when(row.resolved_at)),
    ):
        table.add_row(name, Text(value))
    console.print(table)


LocationOption = Annotated[
    bool, typer.Option("--location", help="An ERP location and a PSA site, not a parent.")
]


def _mart(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a mart the last customer-sync built, or exit saying why there are none."""
    warehouse = Warehouse(settings.warehouse.path)
    if not warehouse.path.exists():
        console.print(f"no runs yet: {warehouse.path} does not exist")
        raise typer.Exit(0)
    try:
        with warehouse.connect(read_only=True) as con:
            return con.execute(sql, params or []).fetchall()
    except Exception as exc:  # no mart before the first customer-sync; or the file is busy
        console.print(f"[red]cannot read the mapping:[/red] {escape(str(exc))}")
        console.print("run `crosswalk run customer-sync` first")
        raise typer.Exit(1) from None


@contextmanager
def _deciding(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction on the warehouse for an operator's decision (crosswalk.decisions)."""
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    with warehouse.transaction() as con:
        yield con


@links_app.command("list")
def links_list(
    config: ConfigOption = None,
    location: LocationOption = False,
    unlinked: Annotated[bool, typer.Option(help="Only records without a link.")] = False,
    findings: Annotated[bool, typer.Option(help="Only links that contradict the data.")] = False,
) -> None:
    """Each ERP customer (or location) with its PSA partner, the rule and the reason; a
    link in sync.links shows who made it and whether it is broken."""
    settings = _settings(config)
    kind = "location" if location else "customer"
    mart, partner = (
        ("marts.mapped_locations", "site_id")
        if location
        else ("marts.mapped_customers", "company_id")
    )
    where = []
    if unlinked:
        where.append("NOT m.is_mapped")
    if findings:
        where.append("m.finding_code IS NOT NULL")
    rows = _mart(
        settings,
        f"SELECT m.customer_number, m.customer_name, m.{partner}, "
        "coalesce(m.match_rule, ''), coalesce(m.finding, m.match_reason), coalesce(m.fix, ''), "
        "l.made_by, l.broken_at "
        f"FROM {mart} AS m LEFT JOIN sync.links AS l "
        "ON l.kind = ? AND l.source_key = m.customer_number "
        + (f"WHERE {' AND '.join(where)} " if where else "")
        + "ORDER BY m.customer_number",
        [kind],
    )
    table = Table(title=f"{'locations' if location else 'customers'}: {len(rows)}")
    columns = ("customer", "name", "site" if location else "company", "rule", "why", "fix", "link")
    for column in columns:
        table.add_column(column, overflow="fold")
    for number, name, target, rule, why, fix, made_by, broken_at in rows:
        link = f"{made_by}, broken {broken_at:%Y-%m-%d}" if broken_at else made_by
        table.add_row(
            *(
                Text(str(v if v is not None else ""))
                for v in (number, name, target, rule, why, fix, link)
            )
        )
    console.print(table)


@links_app.command("show")
def links_show(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    location: LocationOption = False,
) -> None:
    """One customer (or location) in full: its link, how and when it was made and by whom,
    the matched company or site, findings, exclusion, and suggestions."""
    settings = _settings(config)
    kind = "location" if location else "customer"
    columns = "match_rule, match_reason, finding_code, finding, fix, is_excluded, exclusion_reason"
    if location:
        sql = (
            "SELECT customer_name, site_id, site_name, company_id, "
            f"{columns} FROM marts.mapped_locations WHERE customer_number = ?"
        )
    else:
        sql = (
            "SELECT customer_name, company_id, company_name, company_identifier, "
            f"{columns} FROM marts.mapped_customers WHERE customer_number = ?"
        )
    found = _mart(settings, sql, [customer])
    if not found:
        console.print(f"no {kind} {escape(customer)!r} in the last customer-sync")
        raise typer.Exit(1)
    (
        (name, target, target_name, more, rule, reason, code, finding, fix, excluded, why_excluded),
    ) = found
    if target is None:
        partner = "none"
    elif location:
        partner = f'site {target} "{target_name}" of company {more}'
    else:
        partner = f'company {target} {more} "{target_name}"'
    links = _mart(
        settings,
        "SELECT target_key, made_by, note, created_at, broken_at, broken_reason "
        "FROM sync.links WHERE kind = ? AND source_key = ?",
        [kind, customer],
    )
    table = Table(show_header=False, title=f"{kind} {customer}")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    fields = [
        ("name", name),
        ("site" if location else "company", partner),
        ("rule", rule),
        ("why", reason),
    ]
    if links:
        ((linked_to, made_by, note, created_at, broken_at, broken_reason),) = links
        fields += [
            ("sync.links", f"-> {linked_to}" if linked_to else "unlinked (no rule links it)"),
            ("made by", f"{made_by}, {_when(created_at)}" + (f": {note}" if note else "")),
        ]
        if broken_at:
            fields.append(("broken", f"{_when(broken_at)}: {broken_reason}"))
    else:
        fields.append(("sync.links", "none: the rules decide"))
    if code:
        fields += [("finding", f"{code}: {finding}"), ("fix", fix)]
    fields.append(("excluded", why_excluded if excluded else "no"))
    if not location:
        suggestions = _mart(
            settings,
            "SELECT company_id, company_name, score, evidence FROM marts.customer_suggestions "
            "WHERE customer_number = ? ORDER BY suggestion_rank",
            [customer],
        )
        for n, (company, company_name, score, evidence) in enumerate(suggestions, 1):
            fields.append(
                (f"suggestion {n}", f'company {company} "{company_name}", {score}: {evidence}')
            )
    for field_name, value in fields:
        table.add_row(field_name, Text(str(value if value is not None else "")))
    console.print(table)


@links_app.command("suggestions")
def links_suggestions(config: ConfigOption = None) -> None:
    """Likely partners for unlinked customers, with the evidence; confirm with `links set`."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT customer_number, customer_name, company_id, company_name, score, evidence "
        "FROM marts.customer_suggestions ORDER BY customer_number, suggestion_rank",
    )
    table = Table(title=f"suggestions: {len(rows)}")
    for column in ("customer", "name", "company", "company name", "score", "evidence"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))
    console.print(table)


@links_app.command("set")
def links_set(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    target: Annotated[int, typer.Argument(help="The PSA company (or site) id.")],
    config: ConfigOption = None,
    location: LocationOption = False,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
) -> None:
    """Link a customer to a company (or a location to a site) by hand; it wins over rules,
    and the next customer-sync writes it into the ERP's custom property."""
    with _deciding(_settings(config)) as con:
        decisions.set_link(
            con,
            "location" if location else "customer",
            customer,
            str(target),
            made_by="operator",
            note=note or None,
        )
    console.print(
        f"linked {customer} -> {'site' if location else 'company'} {target}; "
        "the next `crosswalk run customer-sync` applies it",
        highlight=False,
    )


@links_app.command("unlink")
def links_unlink(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    location: LocationOption = False,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
) -> None:
    """Break a wrong link: no rule links this record again until `links set` or `links reset`."""
    with _deciding(_settings(config)) as con:
        decisions.unlink(con, "location" if location else "customer", customer, note=note or None)
    console.print(f"unlinked {customer}; no rule will link it again", highlight=False)


# The names before issue 5's set / unlink; they still work, unlisted.
links_app.command("add", hidden=True)(links_set)
links_app.command("break", hidden=True)(links_unlink)


@links_app.command("reset")
def links_reset(
    customer: Annotated[str, typer.Argument(help="The ERP customer (or location) number.")],
    config: ConfigOption = None,
    location: LocationOption = False,
) -> None:
    """Forget what an operator decided for this record: the rules decide again."""
    with _deciding(_settings(config)) as con:
        decisions.reset_link(con, "location" if location else "customer", customer)
    console.print(f"{customer}: the rules decide again", highlight=False)


@exclude_app.command("add")
def exclude_add(
    customer: Annotated[str, typer.Argument(help="The ERP customer number.")],
    config: ConfigOption = None,
    reason: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
) -> None:
    """Leave a customer out of the customer sync; it is listed as excluded, never skipped
    silently."""
    with _deciding(_settings(config)) as con:
        decisions.exclude(con, "customer-sync", "eautomate", customer, reason or None)
    console.print(f"{customer} is excluded from customer-sync", highlight=False)


@exclude_app.command("remove")
def exclude_remove(
    customer: Annotated[str, typer.Argument(help="The ERP customer number.")],
    config: ConfigOption = None,
) -> None:
    """Take a customer back into the customer sync."""
    with _deciding(_settings(config)) as con:
        decisions.include(con, "customer-sync", customer)
    console.print(f"{customer} is back in customer-sync", highlight=False)


@exclude_app.command("list")
def exclude_list(config: ConfigOption = None) -> None:
    """Excluded customers and why: by an operator, or by ZCJ_SyncToCW = No."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT customer_number, customer_name, exclusion_reason FROM marts.mapped_customers "
        "WHERE is_excluded ORDER BY customer_number",
    )
    table = Table(title=f"excluded from customer-sync: {len(rows)}")
    for column in ("customer", "name", "why"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))
    console.print(table)


@conflicts_app.command("list")
def conflicts_list(
    config: ConfigOption = None,
    all_: Annotated[bool, typer.Option("--all", help="Settled ones too.")] = False,
) -> None:
    """Fields changed in both e-automate and ConnectWise since they last agreed."""
    settings = _settings(config)
    rows = _mart(
        settings,
        "SELECT conflict_id, kind, source_key, target_key, field, erp_value, psa_value, "
        "coalesce(resolution || coalesce(': ' || resolved_value, ''), '') || CASE "
        "WHEN settled_at IS NOT NULL THEN ' (settled)' WHEN resolved_at IS NOT NULL "
        "THEN ' (next run)' ELSE 'open' END FROM sync.conflicts "
        + ("" if all_ else "WHERE settled_at IS NULL ")
        + "ORDER BY conflict_id",
    )
    table = Table(title=f"customer-sync conflicts: {len(rows)}")
    for column in ("id", "kind", "ERP record", "PSA record", "field", "e-automate", "ConnectWise",
                   "state"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(table)
    if rows and not all_:
        console.print("settle one: crosswalk conflicts resolve ID --take erp|psa (or --value TEXT)")


@conflicts_app.command("resolve")
def conflicts_resolve(
    conflict: Annotated[int, typer.Argument(help="The conflict's id (conflicts list).")],
    config: ConfigOption = None,
    take: Annotated[
        str | None, typer.Option(help="erp: keep the e-automate value; psa: the ConnectWise one.")
    ] = None,
    value: Annotated[str | None, typer.Option(help="Neither: this value, on both sides.")] = None,
) -> None:
    """Pick the value a conflicting field gets; the next customer-sync writes it to the side
    that lacks it and remembers it, so the conflict does not come back."""
    if (take is None) == (value is None) or take not in (None, "erp", "psa"):
        console.print("[red]give --take erp, --take psa, or --value TEXT[/red]")
        raise typer.Exit(2)
    settings = _settings(config)
    found = _mart(
        settings,
        "SELECT source_key, field, settled_at FROM sync.conflicts WHERE conflict_id = ?",
        [conflict],
    )
    if not found or found[0][2] is not None:
        console.print(f"[red]no open conflict {conflict}[/red] (crosswalk conflicts list)")
        raise typer.Exit(1)
    with _deciding(settings) as con:
        decisions.resolve_conflict(con, conflict, take=take, value=value, by=getpass.getuser())
    chosen = f"the {take.upper()} value" if take else repr(value)
    console.print(
        f"conflict {conflict} ({found[0][0]} {found[0][1]}): {chosen}; the next "
        "`crosswalk run customer-sync` writes it",
        highlight=False,
    )


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@emulators_app.command("serve")
def emulators_serve(
    data: Annotated[Path, typer.Option(help="State folder.")] = Path("data/emulators"),
    seed: Annotated[int, typer.Option(help="World seed.")] = 1,
    scale: Annotated[str, typer.Option(help="small, medium or large.")] = "small",
    port_base: Annotated[
        int, typer.Option(help="ConnectWise port; e-automate +1, Operate +2, Connect +3.")
    ] = 8700,
    faults: Annotated[
        str,
        typer.Option(help="Fault rates, e.g. throttle=0.2,error=0.05,slow=0.01,drop=0.01."),
    ] = "",
    tls: Annotated[bool, typer.Option(help="Serve https with a self-signed certificate.")] = False,
) -> None:
    """Serve the emulated systems on 127.0.0.1 until interrupted (Ctrl-C or SIGTERM)."""
    import signal
    import threading

    from emulators import serve
    from emulators.framework import parse_faults
    from emulators.world import SCALES

    if scale not in SCALES:
        console.print(f"[red]unknown scale {scale!r}[/red]; choose one of: {', '.join(SCALES)}")
        raise typer.Exit(2)
    try:
        rates = parse_faults(faults)
        console.print(f"preparing the {scale} world (seed {seed}) in {data} ...")
        running = serve.start(
            data, seed=seed, scale=scale, port_base=port_base, faults=rates, tls=tls
        )
    except (ValueError, OSError) as exc:
        console.print(f"[red]cannot serve:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with running:
        for name, server in running.servers.items():
            console.print(f"{name:12} {server.url}", highlight=False)
        console.print(f"\nconfig: {running.config}", highlight=False)
        console.print("set the credentials it names first:", highlight=False)
        for key, value in CREDENTIALS.items():
            console.print(f"  export {key}={value}", highlight=False, markup=False)
        if running.ca_bundle:
            console.print(f"  export REQUESTS_CA_BUNDLE={running.ca_bundle}", highlight=False)
        console.print(
            f"then: crosswalk run all --config {running.config}\n"
            f"logs: {running.data / 'logs'}; stop with Ctrl-C",
            highlight=False,
        )
        signal.signal(signal.SIGTERM, _interrupted)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopped; state kept in " + str(running.data), highlight=False)
