"""The command line as a user meets it, including what `make demo` runs."""

import re

import duckdb
import pytest
from typer.testing import CliRunner

from crosswalk.cli import app

runner = CliRunner()


def test_unknown_flow_is_refused(config_file):
    result = runner.invoke(app, ["run", "nightly", "--config", str(config_file)])
    assert result.exit_code == 2
    assert "unknown flow 'nightly'" in result.output


def test_bad_config_exits_2_naming_the_key(tmp_path, make_config):
    config = make_config(tmp_path, dbt="[dbt]\nthreads = 0\n")
    result = runner.invoke(app, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert "dbt.threads" in result.output


def test_config_check_names_a_missing_secret(config_file, monkeypatch):
    monkeypatch.delenv("CROSSWALK_EA_PASSWORD")
    result = runner.invoke(app, ["config", "check", "--config", str(config_file)])
    assert result.exit_code == 2
    assert "CROSSWALK_EA_PASSWORD is not set" in " ".join(result.output.split())


def test_status_before_any_run(config_file):
    result = runner.invoke(app, ["status", "--config", str(config_file)])
    assert result.exit_code == 0
    assert "no runs yet" in result.output


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
    assert "1 x operate.accounts: location_id: required, got null" in result.output

    status = runner.invoke(
        app,
        ["status", "--config", str(tmp_path / "demo" / "crosswalk.toml")],
        terminal_width=200,
    )
    assert status.exit_code == 0, status.output
    assert status.output.count("completed") == 4


@pytest.mark.flow
def test_run_all_with_plan(prefect_server, config_file):
    result = runner.invoke(
        app, ["run", "all", "--plan", "--config", str(config_file)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "customer-sync: completed (plan)" in result.output
    assert "charge-import: completed (plan)" in result.output
