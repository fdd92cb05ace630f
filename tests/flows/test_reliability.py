"""Every flow on one small world of its own, as things go wrong around it (issue 19): the
warehouse lost after a cycle, two runs started at once, and no secret anywhere after a
cycle with faults and failures. The tests run in order on the same world."""

import contextlib
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from prefect.flows import load_flow_from_entrypoint
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.warehouse import Warehouse
from flows import FLOWS

from ..conftest import CW_HEADERS

pytestmark = pytest.mark.flow
WORLD, FOLDER = "reliability-world", "reliability"  # conftest serves the world


@pytest.fixture(scope="module", autouse=True)
def dbt_as_flows_run():
    """dbt's unit tests left out (tests/dbt runs them), its file log kept: the secret scan
    reads it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test")
        patch.setenv("DBT_WRITE_JSON", "false")
        yield


SETTINGS = (
    '[flows.sales_order_sync]\nstatuses = ["New", "Ordered", "Received", "Delivered", "Closed"]\n'
)
CROSSWALK = str(Path(sys.executable).parent / "crosswalk")
runner = CliRunner()


def configure(world, folder, extra: str = "") -> Path:
    """The world's configuration, every flow on, on the module's warehouse."""
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    path = folder / "crosswalk.toml"
    path.write_text(f"{text}\n{SETTINGS}{extra}", encoding="utf-8")
    return path


def run_all(config: Path) -> list:
    runs = []
    for name, entrypoint in FLOWS.items():
        run = load_flow_from_entrypoint(entrypoint)(config=str(config))
        assert run.status == "completed", (name, run.message)
        runs.append(run)
    return runs


# The emulators' own bookkeeping, which a write adds to without making a record.
BOOKKEEPING = ("audit", "log", "request", "fault", "sequence")


def records_held(world) -> dict[str, int]:
    """How many records each table of the four systems holds."""
    tables = world.store.query(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema <> 'world'"
    )
    return {
        f"{schema}.{name}": world.store.one(f'SELECT count(*) FROM "{schema}"."{name}"')[0]
        for schema, name in tables
        if not any(word in name for word in BOOKKEEPING)
    }


def drift(world, company: int) -> None:
    """The PSA company's city changed in the PSA alone: customer-sync writes it back."""
    url = f"{world.url('connectwise')}/v4_6_release/apis/3.0/company/companies/{company}"
    answer = requests.patch(
        url, json=[{"op": "replace", "path": "city", "value": "Driftwood"}], headers=CW_HEADERS
    )
    answer.raise_for_status()


def test_a_lost_warehouse_is_rebuilt_from_the_systems_and_nothing_is_made_twice(world, folder):
    config = configure(world, folder)
    first = run_all(config)
    assert any(run.planned for run in first)  # the cycle wrote to the systems
    held = records_held(world)

    warehouse = Warehouse(folder / "wh.duckdb")
    for path in warehouse.path.parent.glob("wh.duckdb*"):
        path.unlink()
    again = run_all(config)

    grown = {t: (held[t], n) for t, n in records_held(world).items() if n != held.get(t)}
    assert grown == {}
    with warehouse.connect(read_only=True) as con:
        made = con.execute(
            "SELECT flow, action, target_key FROM sync.push_log "
            "WHERE action LIKE 'create%' AND outcome = 'done'"
        ).fetchall()
    assert made == []
    assert again


def test_two_runs_at_once_one_pushes_and_the_other_refuses_naming_it(world, folder):
    """Two ``crosswalk run customer-sync`` started together (with ``--no-wait``): one runs
    and pushes the one change there is, the other prints one line naming it and exits 75;
    ``crosswalk status`` works all the while."""
    from prefect.settings import PREFECT_API_URL

    config = configure(world, folder)
    warehouse = Warehouse(folder / "wh.duckdb")
    with warehouse.connect(read_only=True) as con:
        (company,) = con.execute(
            "SELECT min(company_id) FROM marts.mapped_customers WHERE is_mapped"
        ).fetchone()
        (runs_before,) = con.execute("SELECT count(*) FROM sync.runs").fetchone()
    drift(world, company)

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    command = [CROSSWALK, "run", "customer-sync", "--config", str(config), "--no-wait"]
    both = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    during = []
    while any(p.poll() is None for p in both):
        status = runner.invoke(app, ["status", "--config", str(config)], terminal_width=200)
        during.append((status.exit_code, status.output))
        time.sleep(0.5)
    outputs = [(p.returncode, *(stream.read().decode() for stream in (p.stdout, p.stderr)))
               for p in both]  # fmt: skip
    codes = sorted(code for code, _, _ in outputs)
    assert codes == [0, 75], outputs
    ran = both[[code for code, _, _ in outputs].index(0)]
    (refused,) = [err for code, _, err in outputs if code == 75]
    line = " ".join(refused.split())  # rich wraps at the terminal's width
    assert re.fullmatch(
        rf"customer-sync not started: customer-sync \(pid {ran.pid}, since "
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC\) is running on \S+wh\.duckdb",
        line,
    ), refused
    assert all(code == 0 for code, _ in during), during
    assert any(f"customer-sync (pid {ran.pid}" in out and "is running now" in out
               and "crosswalk status" in out for _, out in during), during  # fmt: skip

    with warehouse.connect(read_only=True) as con:
        (runs_after,) = con.execute("SELECT count(*) FROM sync.runs").fetchone()
        pushed = con.execute(
            "SELECT count(*) FROM sync.push_log WHERE flow = 'customer-sync' "
            "AND action = 'update-company' AND target_key = ? AND run_id = "
            "(SELECT max_by(run_id, started_at) FROM sync.runs)",
            [f"company {company}"],
        ).fetchone()
    assert runs_after == runs_before + 1
    assert pushed == (1,)


FAULTS = {"throttle": 0.2, "error": 0.05, "drop": 0.01, "slow": 0.01}
WRONG_KEY = "wrong-operate-key-5150"  # a configured secret the system refuses


def test_no_secret_anywhere_after_a_cycle_with_faults_and_failures(
    world, folder, capfd, monkeypatch
):
    """Every flow with faults on all four systems at once, then a run whose secret the
    system refuses: no configured secret value (nor ConnectWise's Basic token made of
    them) in the console, Prefect's logs and artifacts, the e-mails and files written,
    dbt's logs, or any table of the warehouse (push-log payloads included)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterTimestamp

    from crosswalk.config import load_settings
    from crosswalk.http import CredentialsRefused
    from flows.charge_import.flow import charge_import

    started = datetime.now(UTC)
    config = configure(world, folder)
    for server in world.servers.values():
        server.faults.configure(seed=19, slow_seconds=0.2, **FAULTS)
    try:
        for entrypoint in FLOWS.values():
            # A run the faults stop is one of the failures the scan is after.
            with contextlib.suppress(Exception):
                load_flow_from_entrypoint(entrypoint)(config=str(config))
    finally:
        for server in world.servers.values():
            server.faults.clear()
    monkeypatch.setenv("CROSSWALK_OPERATE_KEY", WRONG_KEY)
    with pytest.raises(CredentialsRefused):
        charge_import(config=str(config))

    settings = load_settings(config)
    secrets = secret_values(settings) | {WRONG_KEY}
    captured = capfd.readouterr()
    places = {"console": captured.out + captured.err}
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            log_filter=LogFilter(timestamp=LogFilterTimestamp(after_=started)), limit=10_000
        )
        places["prefect logs"] = "\n".join(log.message for log in logs)
        places["prefect artifacts"] = "\n".join(
            str(artifact.data) for artifact in client.read_artifacts()
        )
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith(".duckdb"):
            places[str(path.relative_to(folder))] = path.read_text(errors="replace")
    places.update(warehouse_text(settings.warehouse.path))
    assert any(path.endswith(".eml") for path in places)  # the reports were written
    assert any("dbt.log" in path for path in places)
    assert "sync.push_log" in places and places["prefect logs"]
    found = {(where, secret) for where, text in places.items() for secret in secrets
             if secret in text}  # fmt: skip
    assert found == set()


def secret_values(settings) -> set[str]:
    """Every secret the configuration names, as set now, and ConnectWise's Basic token."""
    import base64

    resolved = settings.resolve_secrets([name for name, system in settings.systems if system])
    values = {v.get_secret_value() for found in resolved.values() for v in found.values()}
    cw = settings.systems.connectwise
    pair = f"{cw.company}+{resolved['connectwise']['public_key'].get_secret_value()}:"
    pair += resolved["connectwise"]["private_key"].get_secret_value()
    return values | {base64.b64encode(pair.encode()).decode()}


def warehouse_text(path: Path) -> dict[str, str]:
    """Every table of the warehouse as text, by name."""
    with Warehouse(path).connect(read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal"
        ).fetchall()
        return {
            f"{schema}.{name}": str(con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall())
            for schema, name in tables
        }
