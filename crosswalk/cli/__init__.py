"""The ``crosswalk`` command line: run flows, run the demo, show status, see failures,
make the operator's decisions, check the configuration, serve the emulated systems.

One module per purpose: ``runs`` (run, demo, status), ``errors``, ``decisions`` (links,
exclude, conflicts), ``inbox`` (the web page), ``agreements``, ``tickets``, ``calls``,
``orders``, ``companies``, ``records`` (the record ids commands take), ``config`` and
``emulators``. At import only typer and rich are loaded: the configuration, the warehouse,
Prefect, dbt, the flows and the emulators are imported inside the commands that use them,
so ``crosswalk --help`` is instant and Prefect reads the settings a command sets for it.
"""

from __future__ import annotations

import atexit
import gc
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from crosswalk.config import ConfigError, Settings
    from crosswalk.runlock import WarehouseBusy


# typer 0.29 shows a required argument as {flow} in usage lines and <bool> beside every flag;
# click's convention reads as intended: FLOW, [FLOW], and nothing beside a flag.
def _usage_name(self: typer.core.TyperArgument) -> str:
    name = self.display_name_raw.upper()
    return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")


def _type_shown(self: typer.core.TyperOption, ctx) -> str | None:
    return None if self.is_flag else _option_type(self, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperArgument._usage_display_name = _usage_name
typer.core.TyperOption.display_type_rich = _type_shown

app = typer.Typer(
    help="Keep ConnectWise Manage, e-automate, Operate and Connect in step.",
    no_args_is_help=True,
    add_completion=False,
)
# Wide when piped or captured, so that tables in logs and e-mails keep whole words.
console = Console(width=None if sys.stdout.isatty() else 160)
# What must not mix with a command's output (`run --json` prints only JSON on stdout).
stderr = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="crosswalk.toml to use (else $CROSSWALK_CONFIG, else ./crosswalk.toml).",
    ),
]


def _config_failed(exc: ConfigError, where: str = "") -> typer.Exit:
    """Print a configuration error; the caller raises the returned exit (status 2)."""
    console.print(f"[red]{where}configuration error:[/red] {exc}", highlight=False)
    return typer.Exit(2)


BUSY_EXIT = 75  # EX_TEMPFAIL: a run holds the warehouse; try again later


def _busy(exc: WarehouseBusy) -> typer.Exit:
    """Print the one line naming the run that holds the warehouse (crosswalk/runlock.py);
    the caller raises the returned exit."""
    stderr.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(BUSY_EXIT)


def _settings(config: Path | None) -> Settings:
    from crosswalk.config import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        raise _config_failed(exc) from None


def _note_running(warehouse: Path) -> None:
    """When another process's run holds the warehouse, say so, and that what follows is
    the read copy its last run left (crosswalk/runlock.py); with no read copy yet (the
    first run on this warehouse), say that and exit: there is nothing to read."""
    from crosswalk.runlock import holder, read_copy

    running = holder(warehouse)
    if running is None:
        return
    copy = read_copy(warehouse)
    if not copy.exists():
        console.print(f"{running} is running now; nothing to show until a run has ended "
                      "(it leaves a read copy)", highlight=False, markup=False)  # fmt: skip
        raise typer.Exit(0)
    made = _when(datetime.fromtimestamp(copy.stat().st_mtime, UTC))
    console.print(f"{running} is running now; shown as the last run left it ({made})",
                  highlight=False, markup=False)  # fmt: skip


FULL_PASS_AFTER = 100  # passes of the middle generation before a full one (freeze_kept)


@contextmanager
def imports_kept() -> Iterator[None]:
    """What the block imports (Prefect, the flows) lives as long as the process: the
    garbage collector is off while it is made, and it is then kept out of the collector's
    passes (:func:`freeze_kept`). Measured on a first ``run all`` at medium scale: 17 full
    passes, each looking at every object the imports made, 4.2 s; 0.5 s of them before the
    first request."""
    gc.disable()
    try:
        yield
    finally:
        freeze_kept()
        gc.enable()


def freeze_kept() -> None:
    """What the process holds now is left out of the garbage collector's passes until the
    interpreter exits, whose last passes see it again (else DuckDB's bindings report
    their objects as leaked). From the second time in a process on (a command run again in
    one process, as the tests do), one full pass first, so that what earlier commands
    left, open connections included, is not frozen with it; the first time, what is
    frozen is what the imports made (a pass would cost 0.1 to 0.2 s before the first
    request).

    Full passes then wait for ``FULL_PASS_AFTER`` passes of the middle generation
    (Python's default: 10). A run's records and frames outlive the young passes while
    they are read, validated and landed, and with the imports frozen the collector finds
    them a large share of what it holds: a full pass came every few pages, each looking
    at everything dbt and Prefect had made since (service-sync's first run at large: 463
    full passes, 11.6 to 12.6 s; now 64, 2.5 to 2.8 s, and 233 to 248 s of wall time
    instead of 258 to 263). Nearly all of it is freed by reference counting; what only
    the collector frees (reference cycles) waits longer: that run's peak memory 1,717 to
    1,722 MiB against 1,689 to 1,711."""
    if gc.get_freeze_count():
        gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_AFTER)
    atexit.unregister(gc.unfreeze)  # once, however many commands a process runs
    atexit.register(gc.unfreeze)


def _when(moment: datetime | None) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if moment else ""


# Longer listings print as lines: a table of a quarter of a million tickets took rich over
# four minutes and 2.6 GB to lay out; lines stream, and go to grep and spreadsheets.
LISTING_ROWS = 5_000


def _show_listing(title: str, columns: Iterable[str], rows: list) -> None:
    """Print a listing: a table, one column per name, each value as plain text (empty for
    None); beyond ``LISTING_ROWS`` rows the title and then a line of tab-separated values
    per row after a header line (a value's tabs and line breaks as spaces)."""
    if len(rows) <= LISTING_ROWS:
        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(Text("" if v is None else str(v)) for v in row))
        console.print(table)
        return

    def line(values: Iterable) -> str:
        return "\t".join(" ".join(("" if v is None else str(v)).split()) for v in values)

    out = console.file
    out.write(f"{title} (more than {LISTING_ROWS:,}: one a line, tab-separated)\n")
    out.write(line(columns) + "\n")
    for row in rows:
        out.write(line(row) + "\n")


# The commands, registered once the helpers above exist for them to import.
from crosswalk.cli import (  # noqa: E402
    agreements,
    calls,
    companies,
    config,
    decisions,
    emulators,
    errors,
    inbox,
    orders,
    runs,
    tickets,
)

app.command()(runs.run)
app.command()(runs.demo)
app.command()(runs.status)
app.add_typer(emulators.app, name="emulators")
app.add_typer(config.app, name="config")
app.add_typer(errors.app, name="errors")
app.add_typer(decisions.links_app, name="links")
app.add_typer(decisions.exclude_app, name="exclude")
app.add_typer(decisions.conflicts_app, name="conflicts")
app.add_typer(agreements.app, name="agreements")
app.add_typer(tickets.app, name="tickets")
app.add_typer(calls.app, name="calls")
app.add_typer(orders.app, name="orders")
app.add_typer(companies.app, name="companies")
app.command()(inbox.inbox)
