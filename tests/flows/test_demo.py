"""What `make demo` runs: every flow on an emulated world of its own, and what it tells the
user to do next (a module of its own: the longest test of the command line, run beside
the rest of it)."""

import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import load_settings
from crosswalk.errors import list_errors
from crosswalk.inbox import waiting as inbox_waiting
from crosswalk.warehouse import Warehouse, rows
from flows import FLOWS

runner = CliRunner()


@pytest.mark.flow
def test_demo_runs_every_flow_and_status_reports_them(prefect_server, tmp_path):
    data = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--data", str(data), "--scale", "small", "--seed", "3"])
    assert result.exit_code == 0, result.output
    for flow in ("customer-sync", "agreement-sync", "service-sync", "charge-import"):
        assert f"{flow}: completed" in result.output
    mapped, total = map(
        int, re.search(r"(\d+) of (\d+) ERP customers mapped", result.output).groups()
    )
    with duckdb.connect(str(data / "state.duckdb"), read_only=True) as con:
        (customers,) = con.execute(
            "SELECT count(*) FROM world.customers WHERE parent_customer_id IS NULL"
        ).fetchone()
    assert 0 < mapped < total == customers
    charged, sheets, waiting = map(
        int,
        re.search(
            r"charge-import: (\d+) calls charged \([\d.]+\) on (\d+) Operate batch sheets; "
            r"(\d+) calls \([\d.]+\) wait for a fix",
            result.output,
        ).groups(),
    )
    assert charged > 0 and sheets == 3 and waiting > 0
    # The next steps: how to call crosswalk, and the credentials the emulated systems accept.
    assert "export CROSSWALK_CW_PUBLIC_KEY=demo-public CROSSWALK_CW_PRIVATE_KEY=" in result.output
    assert re.search(r"\S*crosswalk run all --config \S+crosswalk\.toml", result.output)
    assert re.search(r"inbox: +\S*crosswalk inbox --config \S+\n +then open http://", result.output)

    status = runner.invoke(
        app,
        ["status", "--config", str(tmp_path / "demo" / "crosswalk.toml")],
        terminal_width=200,
    )
    assert status.exit_code == 0, status.output
    assert status.output.count("completed") == len(FLOWS)

    # No SMTP server in the demo: each report is an .eml file, and the summary says where.
    reports = re.search(r"reports: +(\S+) \((\d+) report e-mails saved as \.eml", result.output)
    assert reports, result.output
    assert len(list(Path(reports[1]).glob("*.eml"))) == int(reports[2]) >= 1

    # The errors view: calls waiting for an account code, with the problem and the fix.
    config = str(tmp_path / "demo" / "crosswalk.toml")
    errors = list_errors(Warehouse(load_settings(config).warehouse.path), "charge-import")
    error = next(e for e in errors if e.code == "account-code-unknown")
    listed = runner.invoke(
        app,
        ["errors", "list", "--all", "--flow", "charge-import", "--config", config],
        terminal_width=250,
    )
    assert listed.exit_code == 0, listed.output
    assert error.error_id[:8] in listed.output
    shown = runner.invoke(
        app, ["errors", "show", error.error_id[:8], "--config", config], terminal_width=200
    )
    assert shown.exit_code == 0, shown.output
    assert "carry account code" in shown.output
    assert "Add account code" in shown.output
    assert "1 of at most 3" in shown.output  # the demo's one report listed it

    # The inbox's Waiting page finds, for every record a flow holds back, the failure the
    # flow's run recorded for its cause (so the record shows that failure's fix and page).
    with Warehouse(load_settings(config).warehouse.path).connect(read_only=True) as con:
        held = {
            source.flow: inbox_waiting.read(lambda sql, params: rows(con, sql, params), source)
            for source in inbox_waiting.SOURCES
        }
    assert held["charge-import"], "the demo's calls wait for account codes"
    for flow, records in held.items():
        assert [r["record"] for r in records if r["error_id"] is None] == [], flow
