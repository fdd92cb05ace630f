"""The flows end to end on the fixture exports: extract -> validate -> land -> dbt -> report.
Each runs twice; the second run must change nothing."""

import importlib

import pytest
import yaml
from prefect.flows import Flow, load_flow_from_entrypoint

from crosswalk.config import PROJECT_ROOT, ConfigError
from crosswalk.warehouse import Warehouse
from flows import FLOWS
from flows.charge_import.flow import charge_import
from flows.customer_sync.flow import customer_sync

from ..conftest import FIXTURES, counts, report_section


@pytest.fixture(scope="module", autouse=True)
def dbt_as_flows_run():
    """The twice-run test of each flow builds its models as a scheduled run does: with the
    dbt unit tests of the models it selects (tests/flows/conftest.py leaves them out
    elsewhere)."""
    yield


def test_every_prefect_yaml_entrypoint_is_a_flow():
    spec = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == set(FLOWS)
    for name, deployment in deployments.items():
        flow = load_flow_from_entrypoint(str(PROJECT_ROOT / deployment["entrypoint"]))
        assert isinstance(flow, Flow)
        assert flow.name == name
        assert deployment["schedules"] and deployment["concurrency_limit"]["limit"] == 1
        # A deployment's run, of any flow, holds the warehouse's run lock (crosswalk/runlock.py).
        assert flow.fn.__code__.co_qualname == "one_run_per_warehouse.<locals>.alone"


@pytest.mark.flow
def test_customer_sync_lands_builds_and_a_rerun_changes_nothing(prefect_server, config_file):
    first = customer_sync(config=str(config_file))
    assert first.status == "completed" and first.models.ok
    assert counts(first) == {
        "connectwise.companies": (11, 10, 10, 0, 1),
        "connectwise.sites": (0, 0, 0, 0, 0),  # the fixture exports hold no sites
        "eautomate.customers": (10, 9, 9, 0, 1),
        "eautomate.code_lists": (0, 0, 0, 0, 0),  # the fixture exports hold no code lists
        # The first run sweeps every company id; the narrow read passes the one row
        # whose full record is quarantined.
        "connectwise.company_ids": (11, 11, 11, 0, 0),
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
@pytest.mark.parametrize(
    ("name", "entity"),
    [("service-sync", "connectwise.tickets"), ("agreement-sync", "connectwise.agreements")],
)
def test_service_and_agreement_sync_land_build_and_a_rerun_changes_nothing(
    prefect_server, config_file, name, entity
):
    module, function = FLOWS[name].split(":")
    run_flow = getattr(importlib.import_module(module), function)
    first = run_flow(config=str(config_file))
    assert first.status == "completed" and first.models.ok
    read, landed, inserted, updated, quarantined = counts(first)[entity]
    assert read == landed + quarantined and inserted == landed > 0 and updated == 0
    second = run_flow(config=str(config_file))
    assert second.status == "completed" and second.models.ok
    for read, landed, inserted, updated, quarantined in counts(second).values():
        assert (inserted, updated) == (0, 0)
        assert read == landed + quarantined
    with Warehouse(config_file.parent / "warehouse.duckdb").connect(read_only=True) as con:
        runs = con.execute("SELECT flow, status FROM sync.runs ORDER BY started_at").fetchall()
    assert runs == [(name, "completed"), (name, "completed")]


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


def exports_with(tmp_path, accounts):
    """A copy of the Operate fixture exports with ``accounts`` instead."""
    import json

    exports = tmp_path / "exports"
    (exports / "operate").mkdir(parents=True)
    (exports / "operate" / "accounts.json").write_text(json.dumps(accounts))
    return exports


def operate_accounts():
    import json

    return json.loads((FIXTURES / "operate" / "accounts.json").read_text())


@pytest.mark.flow
def test_a_flow_emails_its_failures_and_publishes_the_same_report_as_an_artifact(
    prefect_server, make_config, credentials, tmp_path, smtp_server
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    accounts = operate_accounts()
    orphan = next(a for a in accounts if a["location_id"] is None)
    orphan["name"] = "<script>alert('owned')</script>"
    exports = exports_with(tmp_path, accounts)
    config = make_config(tmp_path, fixtures=exports, report=report_section(smtp_server.port))
    run = charge_import(config=str(config))

    (message,) = smtp_server.messages
    assert (
        message["Subject"] == "[crosswalk] charge-import completed: 1 new, 0 still open, 0 resolved"
    )
    assert message["X-Crosswalk-Run"] == run.id
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Operate data (Operate and Connect) / invalid-record" in plain
    assert f"* account {orphan['id']} \"<script>alert('owned')</script>\"" in plain
    assert "Problem: location_id: required, got null" in plain
    assert "<script>" not in html and "&lt;script&gt;alert(&#x27;owned&#x27;)" in html

    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["charge-import-report"]),
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]),
            )
        )
    assert artifact.type == "markdown"
    assert "## New failures (1)" in artifact.data and "\\<script\\>" in artifact.data
    assert "| operate.accounts | 4 | 3 | 3 | 0 | 1 |" in artifact.data
    assert f"E-mail: sent through 127.0.0.1:{smtp_server.port}" in artifact.data

    with Warehouse(tmp_path / "warehouse.duckdb").connect(read_only=True) as con:
        assert con.execute("SELECT kind, delivery, failures_new FROM sync.reports").fetchall() == [
            ("report", "smtp", 1)
        ]


@pytest.mark.flow
def test_a_flow_that_cannot_run_emails_once_when_it_starts_failing_and_once_when_it_recovers(
    prefect_server, make_config, credentials, tmp_path, smtp_server, monkeypatch
):
    from crosswalk.http import CredentialsRefused
    from crosswalk.sources import ExportFolder

    clean = [a for a in operate_accounts() if a["location_id"] is not None]
    config = make_config(
        tmp_path, fixtures=exports_with(tmp_path, clean), report=report_section(smtp_server.port)
    )

    def refused(self, entity, since, parents=None):
        raise CredentialsRefused("operate", "401 Unauthorized: API key not recognised")

    with monkeypatch.context() as patch:
        patch.setattr(ExportFolder, "pages", refused)
        for _ in range(2):
            with pytest.raises(CredentialsRefused):
                charge_import(config=str(config))
    assert len(smtp_server.messages) == 1  # once when it started failing, not per run
    for _ in range(2):
        assert charge_import(config=str(config)).status == "completed"

    started, recovered = smtp_server.messages  # the second clean run sent nothing
    assert started["Subject"] == (
        "[crosswalk] charge-import FAILED, could not complete (Operate refused the credentials): "
        "0 new, 0 still open, 0 resolved"
    )
    plain = started.get_body(("plain",)).get_content()
    assert "CredentialsRefused: 401 Unauthorized: API key not recognised" in plain
    assert "Check the Operate API credentials crosswalk.toml names under systems.operate" in plain
    assert recovered["Subject"].startswith(
        "[crosswalk] charge-import recovered after 2 failed runs"
    )
    with Warehouse(tmp_path / "warehouse.duckdb").connect(read_only=True) as con:
        statuses = con.execute("SELECT status FROM sync.runs ORDER BY started_at").fetchall()
        errors = con.execute("SELECT code, status, times_seen FROM sync.errors").fetchall()
    assert statuses == [("failed",), ("failed",), ("completed",), ("completed",)]
    assert errors == [("credentials-refused", "resolved", 2)]
