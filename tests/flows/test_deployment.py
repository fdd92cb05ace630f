"""prefect.yaml as an operator uses it: a local Prefect server, the four deployments from
``prefect deploy --all``, a process worker, and one deployment run through it to the end.

Slow (a cold server start, about 40 s in all), so marked ``deployment``; it runs in
``make test`` all the same. Everything listens on 127.0.0.1; server and worker are
stopped by the process ids this test started (the worker needs two SIGINTs).
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
        self.started.append((process, signals_for(name)))
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
        for process, sequence in reversed(self.started):
            for sig, wait in sequence:
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


def signals_for(name: str) -> list[tuple[signal.Signals, float]]:
    if name == "worker":  # the first SIGINT asks, the second one insists (ENVIRONMENT.md)
        return [(signal.SIGINT, 2), (signal.SIGINT, 20)]
    return [(signal.SIGTERM, 20)]


def served_port(log: Path, server: subprocess.Popen, seconds: float = 150) -> int:
    """The port the server took (it was started on port 0), from its log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Prefect server exited"
        found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", log.read_text())
        if found:
            return int(found[1])
        time.sleep(0.5)
    raise AssertionError(f"the Prefect server named no port within {seconds} s")


def wait_healthy(api: str, server: subprocess.Popen, seconds: float = 150) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Prefect server exited"
        try:
            if requests.get(f"{api}/health", timeout=2).json() is True:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"the Prefect server was not healthy after {seconds} s")


def final_state(api: str, flow_run: str, timeout: float) -> str:
    """The type of the flow run's state once it is final (COMPLETED, FAILED, CRASHED,
    CANCELLED), read from the server every 2 s; a timeout is a failure naming the last."""
    deadline, state = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            found = requests.get(f"{api}/flow_runs/{flow_run}", timeout=10).json()
            state = (found.get("state") or {}).get("type")
        except (requests.RequestException, ValueError):
            pass  # a busy server: asked again
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        time.sleep(2)
    raise AssertionError(f"flow run {flow_run} not finished after {timeout} s: {state}")


def test_every_flow_deploys_from_prefect_yaml_and_one_runs_through_a_process_worker(
    tmp_path, credentials
):
    config = write_config(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore",
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        CROSSWALK_HOME=str(PROJECT),  # prefect.yaml's pull step: the project folder
        CROSSWALK_CONFIG=str(config),
    )
    processes = Processes(tmp_path, env)
    try:
        # No scheduler: the cron runs must not start while this test runs its own. Port 0:
        # the server binds a free port itself and its log (INFO) names it.
        server = processes.start(
            "server", "server", "start", "--host", "127.0.0.1", "--port", "0", "--no-ui",
            PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="INFO",
        )  # fmt: skip
        api = f"http://127.0.0.1:{served_port(tmp_path / 'server.log', server)}/api"
        processes.env["PREFECT_API_URL"] = api
        wait_healthy(api, server)
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
            "worker", "worker", "start", "--pool", pool["name"], PREFECT_WORKER_QUERY_SECONDS="2"
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
