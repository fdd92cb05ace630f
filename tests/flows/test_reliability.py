"""Every flow on one small world of its own, as things go wrong around it (issue 19): two
runs started at once, the warehouse lost after a cycle, and no secret anywhere after faults
and failures. The tests run in order on the same world: the first cycle is the run that
wins the race, the second the one after the loss."""

import contextlib
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prefect.flows import load_flow_from_entrypoint
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.warehouse import Warehouse
from flows import FLOWS

pytestmark = pytest.mark.flow
WORLD, FOLDER = "reliability-world", "reliability"  # conftest serves the world


@pytest.fixture(scope="module", autouse=True)
def dbt_as_flows_run():
    """dbt's unit tests left out (tests/dbt runs them); its data tests run on every flow's
    data in the runs after the warehouse is lost, as a scheduled run's do (the other
    modules of this layer leave them out); its file log kept: the secret scan reads it."""
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


def flow(name: str):
    return load_flow_from_entrypoint(FLOWS[name])


def query(folder: Path, sql: str, params=()) -> list[tuple]:
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


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


def test_two_runs_at_once_one_runs_every_flow_and_the_other_refuses_naming_it(world, folder):
    """Two ``crosswalk run all --no-wait`` started together: one runs every flow and
    pushes, the other prints one line naming the running one, exits 75 and writes
    nothing; ``crosswalk status`` works all the while. What the one that ran shows, with
    Prefect's logging as a user's shell leaves it, is crosswalk's own lines: no INFO
    log, no Prefect banner, no report of objects left alive at exit."""
    from prefect.settings import PREFECT_API_URL

    config = configure(world, folder)
    # dbt's data tests run on this world in the loss test's runs of every flow; the race
    # is about the lock.
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"}
    env.update(PREFECT_API_URL=PREFECT_API_URL.value(), DBT_EXCLUDE_RESOURCE_TYPES="unit_test test")
    command = [CROSSWALK, "run", "all", "--config", str(config), "--no-wait"]
    both = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    during = []
    while any(p.poll() is None for p in both):
        status = runner.invoke(app, ["status", "--config", str(config)], terminal_width=200)
        during.append((status.exit_code, status.output))
        looked = time.monotonic()  # a look now and then, as a person would
        while time.monotonic() - looked < 10 and any(p.poll() is None for p in both):
            time.sleep(0.2)
    outputs = [(p.returncode, p.stdout.read().decode(), p.stderr.read().decode()) for p in both]
    assert sorted(code for code, _, _ in outputs) == [0, 75], outputs
    ran = both[[code for code, _, _ in outputs].index(0)]
    ((_, out, err),) = [o for o in outputs if o[0] == 0]
    for name in FLOWS:
        assert f"{name}: completed" in out + err
    assert "| INFO" not in out + err and "docs.prefect.io" not in out + err
    assert "nanobind" not in err, err  # DuckDB's bindings' report of objects left alive
    (refused,) = [err for code, _, err in outputs if code == 75]
    assert re.fullmatch(
        rf"all not started: [a-z-]+ \(pid {ran.pid}, since "
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC\) is running on \S+wh\.duckdb",
        refused.strip(),
    ), refused
    assert all(code == 0 for code, _ in during), during
    assert any(
        f"(pid {ran.pid}, since" in out and "is running now" in out and "crosswalk status" in out
        for _, out in during
    ), during

    runs = query(folder, "SELECT flow, status FROM sync.runs ORDER BY started_at")
    assert runs == [(name, "completed") for name in FLOWS]
    (pushed,) = query(folder, "SELECT count(*) FROM sync.push_log WHERE outcome = 'done'")
    assert pushed[0] > 0


def test_a_lost_warehouse_is_rebuilt_from_the_systems_and_nothing_is_made_twice(world, folder):
    """The warehouse deleted after the first cycle; every flow again, charge-import on
    the next day's batch sheets: the links come back from the systems, nothing is made
    twice, and each run says what it read back."""
    config = configure(world, folder)
    held = records_held(world)
    for path in [*folder.glob("wh.duckdb*"), *folder.glob("read-copy/*")]:
        path.unlink()
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    again = {}
    for name in FLOWS:
        options = {"batch_date": tomorrow} if name == "charge-import" else {}
        run = flow(name)(config=str(config), **options)
        assert run.status == "completed", (name, run.message)
        again[name] = run

    grown = {t: (held[t], n) for t, n in records_held(world).items() if n != held.get(t)}
    assert grown == {}
    made = query(
        folder,
        "SELECT flow, action, target_key FROM sync.push_log "
        "WHERE action LIKE 'create%' AND outcome = 'done'",
    )
    assert made == []
    customers = again["customer-sync"].rebuilt[0]
    assert re.match(r"[1-9]\d* ERP customers linked to PSA companies", customers)
    assert re.match(r"[1-9]\d* charged call lines read back from [1-9]\d* Operate batch",
                    again["charge-import"].rebuilt[0])  # fmt: skip
    assert all(run.rebuilt for run in again.values()), {n: r.rebuilt for n, r in again.items()}
    assert query(folder, "SELECT count(*) FROM sync.runs") == [(len(FLOWS),)]


FAULTS = {"throttle": 0.1, "error": 0.02, "drop": 0.01, "slow": 0.02}
WRONG_KEY = "wrong-operate-key-5150"  # a configured secret the system refuses


def test_no_secret_anywhere_after_faults_and_failures(world, folder, capfd, monkeypatch, no_sleep):
    """After the cycles above, customer-sync and charge-import again with faults on all
    four systems at once, then a run whose secret the system refuses: no configured secret
    value (nor ConnectWise's Basic token made of them) in the console, Prefect's logs and
    artifacts, the e-mails and files written, dbt's logs, or any table of the warehouse
    (push-log payloads included)."""
    from prefect.client.orchestration import get_client

    from crosswalk.config import load_settings
    from crosswalk.http import CredentialsRefused

    config = configure(world, folder)
    for server in world.servers.values():
        server.faults.configure(seed=19, retry_after=0, slow_seconds=0.1, **FAULTS)
    try:
        for name in ("customer-sync", "charge-import"):
            # A run the faults stop is one of the failures the scan is after.
            with contextlib.suppress(Exception):
                flow(name)(config=str(config))
    finally:
        for server in world.servers.values():
            server.faults.clear()
    assert sum(s.faults.state()["injected"]["error"] for s in world.servers.values()) > 0
    monkeypatch.setenv("CROSSWALK_OPERATE_KEY", WRONG_KEY)
    with pytest.raises(CredentialsRefused):
        flow("charge-import")(config=str(config))

    settings = load_settings(config)
    secrets = secret_values(settings) | {WRONG_KEY}
    captured = capfd.readouterr()
    places = {"console": captured.out + captured.err}
    with get_client(sync_client=True) as client:
        places["prefect logs"] = "\n".join(log.message for log in every_log(client))
        places["prefect artifacts"] = "\n".join(str(a.data) for a in client.read_artifacts())
    # crosswalk.toml is what crosswalk reads, not writes: refused when it holds a secret
    # (tests/unit/test_config.py); the emulators' comments in it name the demo values.
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith((".duckdb", ".toml")):
            places[str(path.relative_to(folder))] = path.read_text(errors="replace")
    places.update(warehouse_text(settings.warehouse.path))
    assert any(path.endswith(".eml") for path in places)  # the reports were written
    assert any(path.endswith("dbt.log") for path in places)
    assert WRONG_KEY not in places["sync.runs"] and "CredentialsRefused" in places["sync.runs"]
    assert places["sync.push_log"] and places["prefect logs"]
    found = {(where, secret) for where, text in places.items() for secret in secrets
             if secret in text}  # fmt: skip
    assert found == set()


def every_log(client) -> list:
    """Every log record the session's Prefect server holds, a page at a time."""
    logs, page = [], None
    while page is None or len(page) == 200:
        page = client.read_logs(limit=200, offset=len(logs))
        logs += page
    return logs


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
