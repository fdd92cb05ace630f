"""prefect.yaml as an operator uses it: a Prefect server, the deployments from ``prefect
deploy --all``, a process worker, and one deployment run through it to the end.

The server is the session's (tests/conftest.py ``prefect_server``: Prefect's own server on
loopback, started once per worker; its scheduler does not run, so no cron run starts while
this test runs its own). Marked ``deployment``; it runs in ``make test`` all the same. The
worker is stopped by the process id this test started (it needs two SIGINTs).
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from crosswalk.warehouse import Warehouse

from ..conftest import PROJECT, write_config

pytestmark = pytest.mark.deployment

PREFECT = str(Path(sys.executable).parent / "prefect")
SCHEDULES = {
    "customer-sync": ("*/15 * * * *", "CANCEL_NEW"),
    "service-sync": ("5-59/15 * * * *", "CANCEL_NEW"),
    "sales-order-sync": ("10-59/15 * * * *", "CANCEL_NEW"),
    "agreement-sync": ("30 1 * * *", "ENQUEUE"),
    "charge-import": ("0 5 * * *", "ENQUEUE"),
}


# The worker asks to stop at the first SIGINT and insists at the second (ENVIRONMENT.md).
STOP = ((signal.SIGINT, 2), (signal.SIGINT, 20))


class Processes:
    """Background processes this test started, their output in files, stopped by PID."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env, self.started = folder, env, []

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [PREFECT, *args],
            cwd=PROJECT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal for pytest never reaches them
        )
        self.started.append(process)
        return process

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PREFECT, *args],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )

    def stop(self) -> None:
        for process in reversed(self.started):
            for sig, wait in STOP:
                if process.poll() is not None:
                    break
                process.send_signal(sig)
                try:
                    process.wait(wait)
                except subprocess.TimeoutExpired:
                    continue
            if process.poll() is None:  # still there: end its own process group
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def final_state(api: str, flow_run: str, timeout: float) -> str:
    """The type of the flow run's state once it is final (COMPLETED, FAILED, CRASHED,
    CANCELLED), read from the server every second; a timeout is a failure naming the last."""
    deadline, state = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            found = requests.get(f"{api}/flow_runs/{flow_run}", timeout=10).json()
            state = (found.get("state") or {}).get("type")
        except (requests.RequestException, ValueError):
            pass  # a busy server: asked again
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(1)
    raise AssertionError(f"flow run {flow_run} not finished after {timeout} s: {state}")


def test_every_flow_deploys_from_prefect_yaml_and_one_runs_through_a_process_worker(
    prefect_server, tmp_path, credentials
):
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    config = write_config(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_API_URL=api,
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore",
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        CROSSWALK_HOME=str(PROJECT),  # prefect.yaml's pull step: the project folder
        CROSSWALK_CONFIG=str(config),
    )
    processes = Processes(tmp_path, env)
    try:
        pool = yaml.safe_load((PROJECT / "prefect.yaml").read_text())["definitions"]["work_pool"]
        created = processes.run("work-pool", "create", pool["name"], "--type", "process")
        assert created.returncode == 0, created.stdout + created.stderr
        deployed = processes.run("--no-prompt", "deploy", "--all")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr

        deployments = requests.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        found = {
            d["name"]: (
                [s["schedule"]["cron"] for s in d["schedules"]],
                d["global_concurrency_limit"]["limit"],
                d["concurrency_options"]["collision_strategy"],
                d["work_pool_name"],
            )
            for d in deployments
        }
        assert found == {
            name: ([cron], 1, strategy, pool["name"])
            for name, (cron, strategy) in SCHEDULES.items()
        }

        processes.start(
            "worker", "worker", "start", "--pool", pool["name"], PREFECT_WORKER_QUERY_SECONDS="1"
        )
        ran = processes.run("deployment", "run", "charge-import/charge-import")
        assert ran.returncode == 0, ran.stdout + ran.stderr + processes.logs()
        (flow_run,) = re.findall(r"UUID: ([0-9a-f-]{36})", ran.stdout)
        # Its state from the API, not `--watch`: on a loaded machine the server's event
        # stream can close before the run ends, and the watch then fails a good run.
        state = final_state(api, flow_run, timeout=300)
        assert state == "COMPLETED", state + processes.logs()
    finally:
        processes.stop()

    with Warehouse(tmp_path / "warehouse.duckdb").connect(read_only=True) as con:
        runs = con.execute("SELECT flow, status, is_plan FROM sync.runs").fetchall()
        landed = con.execute("SELECT count(*) FROM raw_operate.accounts").fetchone()
    assert runs == [("charge-import", "completed", False)]
    assert landed == (3,)
    # The worker's run reported too: no SMTP in this configuration, so to the outbox.
    assert len(list((tmp_path / "data" / "outbox").glob("*-charge-import-*.eml"))) == 1
