"""What an operator reads: errors list counts by flow, owner and code unless --all, and
cuts nothing; --help shows usage and flags the way click users know; a plan's writes are
counted in words."""

import os
import re

from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.cli.runs import _writes
from crosswalk.config import load_settings
from crosswalk.errors import ErrorBook, data_failure
from crosswalk.warehouse import Warehouse

runner = CliRunner()


def record_failures(config) -> None:
    warehouse = Warehouse(load_settings(config).warehouse.path)
    warehouse.migrate()
    sheets = [
        data_failure("operate", "batch_sheets", n, "batch-sheet-total-mismatch", "Off.", "Fix.")
        for n in range(30)
    ]
    blank = data_failure("calllogs", "calls", "c1", "account-code-blank", "Blank.", "Fix.")
    link = data_failure("eautomate", "customers", "ACME01", "link-broken", "Gone.", "Fix.")
    ErrorBook(warehouse, "charge-import").record("run-1", [*sheets, blank], [])
    ErrorBook(warehouse, "customer-sync").record("run-2", [link], [])


def test_errors_list_summarises_by_flow_owner_and_code_and_cuts_no_code(config_file):
    record_failures(config_file)
    listed = runner.invoke(app, ["errors", "list", "--config", str(config_file)])
    assert listed.exit_code == 0, listed.output
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in listed.output.splitlines()
        if line.startswith("│") and line.split("│")[1].strip()
    ]
    assert [row[:4] for row in rows] == [
        ["charge-import", "operate-data", "account-code-blank", "1"],
        ["charge-import", "operate-data", "batch-sheet-total-mismatch", "30"],
        ["customer-sync", "erp-data", "link-broken", "1"],
    ]
    assert "32 failure(s); each one: crosswalk errors list --all" in listed.output
    assert "Off." not in listed.output  # the rows only with --all


def test_errors_list_all_shows_every_failure_with_whole_codes(config_file):
    record_failures(config_file)
    listed = runner.invoke(app, ["errors", "list", "--all", "--config", str(config_file)])
    assert listed.exit_code == 0, listed.output
    assert listed.output.count("batch-sheet-total-mismatch") == 30
    assert "32 failure(s)" in listed.output


def test_help_shows_arguments_in_capitals_and_no_type_on_flags():
    shown = runner.invoke(app, ["run", "--help"], terminal_width=200)
    assert shown.exit_code == 0
    assert "run [OPTIONS] FLOW" in shown.output
    assert "{" not in shown.output and "<bool>" not in shown.output
    assert re.search(r"--customer +<str>", shown.output)  # an option with a value keeps it
    links = runner.invoke(app, ["links", "set", "--help"], terminal_width=200)
    assert "links set [OPTIONS] CUSTOMER TARGET" in links.output


def test_a_plans_writes_read_would_make_n_writes():
    assert _writes([]) == "0 writes" and _writes(["w"]) == "1 write"
    assert _writes(["w", "w"]) == "2 writes"


def test_flags_have_no_negative_twin():
    shown = runner.invoke(app, ["links", "list", "--help"], terminal_width=200)
    assert "--unlinked" in shown.output and "--no-unlinked" not in shown.output


def test_operator_output_is_quiet_unless_verbose(monkeypatch):
    from crosswalk.cli.runs import _prefect_environment

    monkeypatch.delenv("PREFECT_LOGGING_LEVEL", raising=False)
    _prefect_environment(verbose=False)
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "WARNING"
    _prefect_environment(verbose=True)
    assert os.environ["PREFECT_LOGGING_LEVEL"] == "INFO"


def test_a_listing_too_long_for_a_table_prints_a_line_per_row(monkeypatch, capsys):
    """Past ``LISTING_ROWS`` rows a listing is tab-separated lines after its title and
    header: a table of 243,500 tickets took rich over four minutes and 2.6 GB."""
    import crosswalk.cli as cli

    rows = [(n, f"ticket\t{n}\nsecond line", None) for n in range(4)]
    monkeypatch.setattr(cli, "LISTING_ROWS", 3)
    cli._show_listing("tickets: 4", ("ticket", "summary", "call"), rows)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "tickets: 4 (more than 3: one a line, tab-separated)"
    assert lines[1:3] == ["ticket\tsummary\tcall", "0\tticket 0 second line\t"]
    assert len(lines) == 2 + 4
    monkeypatch.setattr(cli, "LISTING_ROWS", 4)
    cli._show_listing("tickets: 4", ("ticket", "summary", "call"), rows)
    table = capsys.readouterr().out
    assert "tickets: 4" in table and "┃ ticket ┃" in table and "more than" not in table
