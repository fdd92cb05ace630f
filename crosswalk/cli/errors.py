"""``crosswalk errors``: the failures the flows found, open and resolved (sync.errors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crosswalk.cli import ConfigOption, _note_running, _settings, _when, console

if TYPE_CHECKING:
    from crosswalk.config import Settings
    from crosswalk.errors import ErrorRow
    from crosswalk.warehouse import Warehouse

app = typer.Typer(help="Failures the flows found, open and resolved.", no_args_is_help=True)


def _read_errors(settings: Settings, read: Callable[[Warehouse], list[ErrorRow]]):
    """``read(warehouse)`` on the warehouse, or exit saying why it cannot be read."""
    from crosswalk.warehouse import Warehouse

    warehouse = Warehouse(settings.warehouse.path)
    if not warehouse.path.exists():
        console.print(f"no runs yet: {warehouse.path} does not exist")
        raise typer.Exit(0)
    _note_running(warehouse.path)
    try:
        return read(warehouse)
    except Exception as exc:  # duckdb.IOException when a flow holds the file
        message = str(exc)
        if "sync.errors" in message or "errors does not exist" in message:
            console.print("no failures recorded yet")
            raise typer.Exit(0) from None
        console.print(f"[red]cannot read {warehouse.path}:[/red] {escape(message)}")
        raise typer.Exit(1) from None


@app.command("list")
def errors_list(
    config: ConfigOption = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow's failures.")] = None,
    state: Annotated[str, typer.Option("--status", help="open, resolved or all.")] = "open",
    every: Annotated[
        bool, typer.Option("--all", help="Every failure, one a row, instead of the summary.")
    ] = False,
) -> None:
    """Failures by flow, owner and code, counted; with --all each one: the record, the
    problem, the fix."""
    from crosswalk.codes import title
    from crosswalk.errors import count_errors, list_errors

    if state not in ("open", "resolved", "all"):
        console.print(f"[red]--status must be open, resolved or all, not {escape(state)!r}[/red]")
        raise typer.Exit(2)
    settings = _settings(config)
    read = list_errors if every else count_errors
    rows = _read_errors(settings, lambda wh: read(wh, flow, state))
    if not rows:
        console.print(
            f"no {'' if state == 'all' else state + ' '}failures"
            + (f" for {flow}" if flow else ""),
            highlight=False,
            markup=False,
        )
        return
    if not every:
        table = Table(title=f"crosswalk errors ({state}), by flow, owner and code")
        for column in ("flow", "owner", "code", "failures", "what"):
            table.add_column(column, no_wrap=column != "what", overflow="fold",
                             justify="right" if column == "failures" else "left")  # fmt: skip
        for flow_name, owner, code, count in rows:
            table.add_row(flow_name, owner, code, str(count), Text(title(code) or ""))
        console.print(table)
        console.print(
            f"{sum(row[3] for row in rows)} failure(s); each one: crosswalk errors list --all"
            + (f" --flow {flow}" if flow else " [--flow F]")
            + "; one in full: crosswalk errors show ID",
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
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "code"))
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


@app.command("show")
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
