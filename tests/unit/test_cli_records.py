"""Typos refused: every command that takes a record id looks it up among the records the
flows landed, refuses one it does not know with the nearest matches (exit 1), and takes
it with --force, saying so."""

import shutil

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.cli.records import nearest
from crosswalk.config import load_settings
from crosswalk.warehouse import Warehouse

from ..conftest import DEMO_CREDENTIALS, land, write_config

runner = CliRunner()


@pytest.fixture(scope="module")
def landed_once(tmp_path_factory):
    """A warehouse with the fixture exports landed as customer-sync and agreement-sync land
    them, made once for the module."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in DEMO_CREDENTIALS.items():
            patch.setenv(name, value)
        config = write_config(tmp_path_factory.mktemp("landed"))
        land(config, "customer-sync")
        land(config, "agreement-sync")
    return load_settings(config).warehouse.path


@pytest.fixture
def landed(config_file, landed_once):
    """The test's own copy of that warehouse, under the test's configuration."""
    shutil.copyfile(landed_once, load_settings(config_file).warehouse.path)
    return str(config_file)


def invoke(*args: str):
    return runner.invoke(app, list(args), terminal_width=250)


def links(config: str) -> list[tuple]:
    with Warehouse(load_settings(config).warehouse.path).connect(read_only=True) as con:
        return con.execute("SELECT kind, source_key, target_key FROM sync.links").fetchall()


def test_nearest_matches_by_id_or_by_name():
    candidates = {"ACME01": "Acme Print", "WALS02": "Walsh & Sons", "101": "ACME01 Acme"}
    assert nearest("ACME1", candidates)[0] == "ACME01"
    assert nearest("walsh & son", candidates) == ["WALS02"]
    assert nearest("NOSUCH", candidates) == []


def test_links_set_refuses_an_unknown_customer_naming_the_nearest(landed):
    result = invoke("links", "set", "ACME1", "101", "--config", landed)
    assert result.exit_code == 1
    assert "no ERP customer 'ACME1'" in result.output and "nearest: ACME01" in result.output
    assert "--force" in result.output
    assert links(landed) == []


def test_links_set_refuses_an_unknown_company(landed):
    result = invoke("links", "set", "ACME01", "999999", "--config", landed)
    assert result.exit_code == 1 and "no PSA company '999999'" in result.output
    typo = invoke("links", "set", "ACME01", "1011", "--config", landed)
    assert typo.exit_code == 1 and "nearest: 101 (ACME01" in typo.output
    assert links(landed) == []


def test_links_set_a_location_to_an_unknown_site_is_refused(landed):
    result = invoke("links", "set", "ACME01-1", "5", "--location", "--config", landed)
    assert result.exit_code == 1 and "no PSA site '5'" in result.output
    parent = invoke("links", "set", "ACME01", "5", "--location", "--config", landed)
    assert parent.exit_code == 1 and "no ERP location 'ACME01'" in parent.output


def test_links_set_with_force_takes_an_id_not_landed_and_says_so(landed):
    result = invoke("links", "set", "ACME01", "999999", "--force", "--config", landed)
    assert result.exit_code == 0, result.output
    assert "--force: PSA company '999999' is not in the warehouse" in result.output
    assert links(landed) == [("customer", "ACME01", "999999")]


def test_links_known_records_go_through(landed):
    assert invoke("links", "set", "ACME01", "101", "--config", landed).exit_code == 0
    assert invoke("links", "unlink", "DELT01", "--config", landed).exit_code == 0
    assert invoke("links", "unlink", "DELT1", "--config", landed).exit_code == 1
    assert sorted(links(landed)) == [("customer", "ACME01", "101"), ("customer", "DELT01", "")]
    reset = invoke("links", "reset", "DELT01", "--config", landed)
    assert reset.exit_code == 0 and "the rules decide again" in reset.output
    nothing = invoke("links", "reset", "BRIG01", "--config", landed)
    assert nothing.exit_code == 0 and "no decision to forget" in nothing.output
    typo = invoke("links", "reset", "BRIG1", "--config", landed)
    assert typo.exit_code == 1 and "nearest: BRIG01" in typo.output


def test_run_customer_refuses_an_unknown_customer_before_running(landed):
    result = invoke("run", "customer-sync", "--plan", "--customer", "NOSUCH99", "--config", landed)
    assert result.exit_code == 1
    assert "no ERP customer or location 'NOSUCH99'" in result.output


def test_exclusions_refuse_unknown_customers(landed):
    result = invoke("exclude", "add", "BRIG1", "--config", landed)
    assert result.exit_code == 1 and "nearest: BRIG01" in result.output
    assert invoke("exclude", "add", "BRIG01", "--config", landed).exit_code == 0
    assert invoke("exclude", "remove", "BRIG01", "--config", landed).exit_code == 0
    again = invoke("exclude", "remove", "BRIG01", "--config", landed)
    assert again.exit_code == 0 and "was not excluded" in again.output
    typo = invoke("exclude", "remove", "BRIG1", "--config", landed)
    assert typo.exit_code == 1 and "no ERP customer 'BRIG1'" in typo.output


def test_agreement_commands_refuse_unknown_agreements_and_contracts(landed):
    link = invoke("agreements", "link", "2011", "CW-2011-01", "--config", landed)
    assert link.exit_code == 1 and "no PSA agreement '2011'" in link.output
    assert "nearest: 201" in link.output
    contract = invoke("agreements", "link", "201", "CW-2011-01", "--config", landed)
    assert contract.exit_code == 1 and "no ERP contract 'CW-2011-01'" in contract.output
    forced = invoke("agreements", "link", "201", "CW-2011-01", "--force", "--config", landed)
    assert forced.exit_code == 0 and "--force: ERP contract" in forced.output
    for command in ("show", "unlink"):
        shown = invoke("agreements", command, "9999", "--config", landed)
        assert shown.exit_code == 1 and "no PSA agreement '9999'" in shown.output
        assert "--force" not in shown.output


def test_before_any_run_an_id_is_refused_unless_forced(config_file):
    config = str(config_file)
    result = invoke("links", "set", "X1", "7", "--config", config)
    assert result.exit_code == 1
    assert "no customer-sync has landed any yet" in " ".join(result.output.split())
    assert invoke("links", "set", "X1", "7", "--force", "--config", config).exit_code == 0


def test_an_unreadable_warehouse_is_said_so_not_taken_for_an_empty_one(config_file):
    path = load_settings(config_file).warehouse.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a DuckDB file")
    result = invoke("links", "set", "ACME01", "101", "--config", str(config_file))
    assert result.exit_code == 1 and "cannot read" in result.output
    assert "landed any yet" not in result.output


def test_conflicts_own_refuses_a_field_or_an_owner_it_does_not_know(config_file):
    for field, owner in (("webiste", "psa"), ("fax", "both")):
        result = invoke("conflicts", "own", field, owner, "--config", str(config_file))
        assert result.exit_code == 2
        said = " ".join(result.output.split())
        assert f"owned by erp or psa (config: crosswalk.toml decides), not {field!r}" in said
