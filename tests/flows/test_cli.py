"""The command line as a user meets it (what `make demo` runs: test_demo.py)."""

import re

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import load_settings
from crosswalk.errors import list_errors
from crosswalk.warehouse import Warehouse

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


def test_status_before_any_dbt_build_and_of_an_unreadable_file(config_file):
    warehouse = Warehouse(load_settings(config_file).warehouse.path)
    warehouse.migrate()
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    result = runner.invoke(app, ["status", "--config", str(config_file)], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "no dbt build yet" in result.output and "marts.sync_health" in result.output
    warehouse.path.write_bytes(b"not a DuckDB file")
    unreadable = runner.invoke(app, ["status", "--config", str(config_file)])
    assert unreadable.exit_code == 1 and "cannot read" in unreadable.output


@pytest.mark.dbt
def test_status_shows_sync_health_and_the_open_errors(config_file):
    from crosswalk import dbt
    from crosswalk.errors import ErrorBook, data_failure
    from crosswalk.warehouse import LandResult

    settings = load_settings(config_file)
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    warehouse.finish_run("run-1", "failed", [], "ConnectWise did not answer")
    warehouse.start_run("run-2", "customer-sync", plan=False, full_refresh=False)
    warehouse.finish_run("run-2", "completed", [
        LandResult("eautomate", "customers", read=5, landed=4, quarantined=1),
        LandResult("connectwise", "companies", read=3, landed=3),
    ])  # fmt: skip
    failure = data_failure("eautomate", "customers", "X1", "link-unknown-company", "No.", "Fix.")
    ErrorBook(warehouse, "customer-sync").record("run-2", [failure], [])
    assert dbt.build(settings, ["+sync_health"]).ok
    warehouse.start_run("run-3", "service-sync", plan=False, full_refresh=False)  # after it

    result = runner.invoke(app, ["status", "--config", str(config_file)], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert [row[:2] + row[4:-1] for row in status_rows(result.output)] == [
        ["customer-sync", "completed", "8", "7", "1", "1", ""],
        ["service-sync", "running", "0", "0", "0", "0", ""],
    ]


def status_rows(output: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if line.startswith("│") and "-" in line.split("│")[1]
    ]


@pytest.mark.dbt
def test_a_plan_run_is_shown_as_a_plan_and_never_as_the_last_run(config_file):
    from crosswalk import dbt

    settings = load_settings(config_file)
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    warehouse.finish_run("run-1", "failed", [], "ConnectWise did not answer")
    warehouse.start_run("plan-1", "customer-sync", plan=True, full_refresh=False)
    warehouse.finish_run("plan-1", "completed", [])
    warehouse.start_run("plan-2", "charge-import", plan=True, full_refresh=False)
    warehouse.finish_run("plan-2", "completed", [])
    assert dbt.build(settings, ["+sync_health"]).ok
    with warehouse.connect(read_only=True) as con:
        health = con.execute(
            "SELECT flow, run_id, status, last_plan_run_id FROM marts.sync_health ORDER BY 1"
        ).fetchall()
    assert health == [
        ("charge-import", None, "no run yet", "plan-2"),
        ("customer-sync", "run-1", "failed", "plan-1"),
    ]
    result = runner.invoke(app, ["status", "--config", str(config_file)], terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "last plan" in result.output
    rows = {row[0]: row for row in status_rows(result.output)}
    assert rows["customer-sync"][1] == "failed" and rows["customer-sync"][-1].endswith("completed")
    assert rows["charge-import"][1:3] == ["no run yet", ""]


def test_errors_before_any_run_and_unknown_ids(config_file):
    result = runner.invoke(app, ["errors", "list", "--config", str(config_file)])
    assert result.exit_code == 0 and "no runs yet" in result.output
    bad = runner.invoke(app, ["errors", "list", "--status", "closed", "--config", str(config_file)])
    assert bad.exit_code == 2 and "open, resolved or all" in bad.output


def test_errors_list_and_show_print_values_as_text(tmp_path, make_config, credentials):
    from crosswalk.config import load_settings
    from crosswalk.errors import ErrorBook, data_failure
    from crosswalk.warehouse import Warehouse

    config = make_config(tmp_path)
    warehouse = Warehouse(load_settings(config).warehouse.path)
    warehouse.migrate()
    failure = data_failure(
        "eautomate", "customers", "X1", "link-broken", "[red]not markup[/red] <b>", "Fix it.",
        label="customer X1 \"[bold]Evil[/bold]\"",
    )  # fmt: skip
    ErrorBook(warehouse, "customer-sync").record("run-1", [failure], [])
    listed = runner.invoke(
        app, ["errors", "list", "--all", "--config", str(config)], terminal_width=250
    )
    assert listed.exit_code == 0, listed.output
    assert "[bold]Evil[/bold]" in listed.output and "[red]not markup[/red] <b>" in listed.output
    error_id = failure.identity("customer-sync")
    shown = runner.invoke(app, ["errors", "show", error_id[:6], "--config", str(config)])
    assert shown.exit_code == 0 and error_id in shown.output
    missing = runner.invoke(app, ["errors", "show", "ffffffff", "--config", str(config)])
    assert missing.exit_code == 1 and "no error with id 'ffffffff'" in missing.output


@pytest.mark.flow
def test_operators_link_break_and_exclude_without_e_mailing_anyone(prefect_server, config_file):
    from flows.customer_sync.flow import customer_sync

    config = str(config_file)
    customer_sync(config=config)
    wide = {"terminal_width": 250}
    findings = runner.invoke(app, ["links", "list", "--findings", "--config", config], **wide)
    assert findings.exit_code == 0, findings.output
    assert "EAGL01" in findings.output and "customers: 1" in findings.output
    (wrong_link,) = [
        e
        for e in list_errors(Warehouse(load_settings(config).warehouse.path), "customer-sync")
        if e.code == "link-deleted-company"
    ]
    assert wrong_link.record_id == "EAGL01" and "106" in wrong_link.fix

    for command in (
        ["links", "unlink", "ACME01", "--note", "not the same business"],
        ["links", "set", "DELT01", "104"],
        ["exclude", "add", "BRIG01", "--reason", "billing only"],
    ):
        result = runner.invoke(app, [*command, "--config", config])
        assert result.exit_code == 0, result.output
    customer_sync(config=config)

    listed = runner.invoke(app, ["links", "list", "--config", config], **wide)
    assert listed.exit_code == 0 and "ACME01" in listed.output
    with Warehouse(load_settings(config).warehouse.path).connect(read_only=True) as con:
        rows = dict(
            con.execute(
                "SELECT customer_number, (company_id, match_rule) FROM marts.mapped_customers "
                "WHERE customer_number IN ('ACME01', 'DELT01')"
            ).fetchall()
        )
    assert rows == {"ACME01": (None, "unlinked"), "DELT01": (104, "link")}
    excluded = runner.invoke(app, ["exclude", "list", "--config", config], **wide)
    assert "billing only" in excluded.output and "ZCJ_SyncToCW is No" in excluded.output
    reset = runner.invoke(app, ["links", "reset", "ACME01", "--config", config])
    assert reset.exit_code == 0

    shown = runner.invoke(app, ["links", "show", "DELT01", "--config", config], **wide)
    assert shown.exit_code == 0, shown.output
    for expected in ("-> 104", "made by", "operator", "company 104", "link", "ZCJ_SyncToCW"):
        assert expected in shown.output
    unlinked = runner.invoke(app, ["links", "show", "ACME01", "--config", config], **wide)
    assert "none: the rules decide" in unlinked.output  # reset above
    missing = runner.invoke(app, ["links", "show", "NOPE", "--config", config])
    assert missing.exit_code == 1 and "no customer or location 'NOPE'" in missing.output


@pytest.mark.flow
def test_links_show_finds_a_location_by_its_number(prefect_server, config_file):
    """A location number shows the location, called a location, with or without
    --location; a customer number with --location shows the customer."""
    from flows.customer_sync.flow import customer_sync

    config = str(config_file)
    customer_sync(config=config)
    wide = {"terminal_width": 250}
    for args in (["ACME01-1"], ["ACME01-1", "--location"]):
        shown = runner.invoke(app, ["links", "show", *args, "--config", config], **wide)
        assert shown.exit_code == 0, shown.output
        assert "location ACME01-1" in shown.output and "customer ACME01-1" not in shown.output
        assert "link-unknown-site: location ACME01-1" in shown.output
    parent = runner.invoke(app, ["links", "show", "ACME01", "--location", "--config", config])
    assert parent.exit_code == 0 and "customer ACME01" in parent.output


def test_links_add_and_break_are_the_old_names_of_set_and_unlink(tmp_path, make_config):
    config = str(make_config(tmp_path))
    helped = runner.invoke(app, ["links", "--help"], terminal_width=200)
    names = set(re.findall(r"^│ (\w+)", helped.output, re.MULTILINE))
    assert {"list", "show", "set", "unlink", "reset", "suggestions"} <= names
    assert not names & {"add", "break"}
    for command in (["links", "add", "X1", "7", "--force"], ["links", "break", "X2", "--force"]):
        assert runner.invoke(app, [*command, "--config", config]).exit_code == 0
    with Warehouse(load_settings(config).warehouse.path).connect(read_only=True) as con:
        rows = con.execute(
            "SELECT source_key, target_key, made_by FROM sync.links ORDER BY 1"
        ).fetchall()
    assert rows == [("X1", "7", "operator"), ("X2", "", "operator")]


@pytest.mark.dbt
def test_companies_show_gives_fields_sites_and_the_erp_records_mapped(config_file):
    from crosswalk import dbt

    from ..conftest import land

    land(config_file, "customer-sync")
    assert dbt.build(load_settings(config_file), ["+mapped_customers", "+mapped_locations"]).ok
    config = str(config_file)
    with Warehouse(load_settings(config).warehouse.path).transaction() as con:
        con.execute(  # a site of company 101, as ConnectWise would serve it
            "INSERT INTO raw_connectwise.sites (id, name, company__id, city) "
            "VALUES (501, 'Acme Warehouse', 101, 'Leeds')"
        )
    shown = runner.invoke(app, ["companies", "show", "101", "--config", config], terminal_width=250)
    assert shown.exit_code == 0, shown.output
    assert "PSA company 101" in shown.output and "ACME01" in shown.output
    assert re.search(r"501 +│ Acme Warehouse", shown.output)
    mapped = shown.output.split("ERP records mapped to it: ")[1]
    assert mapped.startswith("2") and "customer │ ACME01" in mapped and "ACME01-1" in mapped
    typo = runner.invoke(app, ["companies", "show", "1011", "--config", config])
    assert typo.exit_code == 1 and "no PSA company '1011'" in typo.output
