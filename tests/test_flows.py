"""The flows end to end on the fixture exports: extract -> validate -> land -> dbt -> report.
Each runs twice; the second run must change nothing."""

import pytest
import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

from crosswalk.config import PROJECT_ROOT, ConfigError
from crosswalk.warehouse import Warehouse
from flows import FLOWS
from flows.charge_import.flow import charge_import
from flows.customer_sync.flow import customer_sync

from .conftest import FIXTURES


def test_every_prefect_yaml_entrypoint_is_a_flow():
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == set(FLOWS)
    for name, deployment in deployments.items():
        flow = load_flow_from_entrypoint(str(PROJECT_ROOT / deployment["entrypoint"]))
        assert isinstance(flow, Flow)
        assert flow.name == name
        assert deployment["schedules"] and deployment["concurrency_limit"]["limit"] == 1


def counts(run):
    return {
        f"{r.system}.{r.entity}": (r.read, r.landed, r.inserted, r.updated, r.quarantined)
        for r in run.landed
    }


@pytest.mark.flow
def test_customer_sync_lands_builds_and_a_rerun_changes_nothing(prefect_server, config_file):
    first = customer_sync(config=str(config_file))
    assert first.status == "completed" and first.models.ok
    assert counts(first) == {
        "connectwise.companies": (11, 10, 10, 0, 1),
        "eautomate.customers": (10, 9, 9, 0, 1),
    }
    second = customer_sync(config=str(config_file))
    for read, landed, inserted, updated, quarantined in counts(second).values():
        assert (inserted, updated) == (0, 0)
        assert read == landed + quarantined

    warehouse = Warehouse(config_file.parent / "warehouse.duckdb")
    with warehouse.connect(read_only=True) as con:
        runs = con.execute("SELECT status FROM sync.runs ORDER BY started_at").fetchall()
        landed = con.execute("SELECT count(*) FROM raw_connectwise.companies").fetchone()
        mapped = con.execute(
            "SELECT count(*) FROM marts.mapped_customers WHERE is_mapped"
        ).fetchone()
    assert runs == [("completed",), ("completed",)]
    assert landed == (10,) and mapped == (5,)
    assert warehouse.watermark("connectwise", "companies") == "2026-11-01T09:40:00+00:00"


@pytest.mark.flow
def test_only_changes_after_the_watermark_are_read(
    prefect_server, make_config, credentials, tmp_path
):
    exports = tmp_path / "exports"
    (exports / "operate").mkdir(parents=True)
    original = (FIXTURES / "operate" / "accounts.json").read_text()
    (exports / "operate" / "accounts.json").write_text(original)
    config = make_config(tmp_path, fixtures=exports)
    assert counts(charge_import(config=str(config)))["operate.accounts"] == (4, 3, 3, 0, 1)

    later = original.replace(
        '"updated_at": "2026-11-04T09:10:00Z"', '"updated_at": "2026-11-20T09:10:00Z"'
    )
    later = later.replace('"Café Hot Desk"', '"Café Hot Desk (renamed)"')
    (exports / "operate" / "accounts.json").write_text(later)
    # Watermark 09:15 less 5 minutes overlap: 09:10 and 09:15 rows are read again, not 09:00.
    read, _, inserted, updated, _ = counts(charge_import(config=str(config)))["operate.accounts"]
    assert (inserted, updated) == (0, 1)
    assert read < 4

    full = charge_import(config=str(config), full_refresh=True)
    assert counts(full)["operate.accounts"] == (4, 3, 0, 0, 1)


@pytest.mark.flow
def test_a_run_that_cannot_start_is_recorded_as_failed(
    prefect_server, make_config, credentials, tmp_path
):
    config = make_config(tmp_path, **{"systems.operate": ""})
    with pytest.raises(ConfigError, match=r"systems\.operate: missing, and charge-import needs it"):
        charge_import(config=str(config))
    with Warehouse(tmp_path / "warehouse.duckdb").connect(read_only=True) as con:
        ((status, message),) = con.execute("SELECT status, message FROM sync.runs").fetchall()
    assert status == "failed" and "systems.operate" in message


@pytest.mark.flow
def test_unreadable_export_fails_at_once_naming_file_and_line(
    prefect_server, make_config, credentials, tmp_path
):
    exports = tmp_path / "exports"
    (exports / "operate").mkdir(parents=True)
    (exports / "operate" / "accounts.json").write_text('[\n{"id": 1,\n')
    config = make_config(tmp_path, fixtures=exports)
    with pytest.raises(ValueError, match=r"accounts\.json: line 3: not valid JSON"):
        charge_import(config=str(config))
    with Warehouse(tmp_path / "warehouse.duckdb").connect(read_only=True) as con:
        assert con.execute("SELECT status FROM sync.runs").fetchall() == [("failed",)]
