"""What the benchmarks share: a seeded world served in this process from a folder, with
Prefect kept in that folder, and a count of the requests each system answered; or served
from a process of its own (``apart``; the workspace operator's systems alone:
``workspace_apart``), so that the emulators do not share the GIL of the client they are
measured with."""

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from emulators import serve

print = functools.partial(print, flush=True)  # progress shows while it runs


@contextmanager
def world(data: Path, scale: str, seed: int) -> Iterator[serve.Emulators]:
    """The emulated systems over a fresh world in ``data``, every request kept."""
    os.environ.update(serve.CREDENTIALS)
    os.environ["PREFECT_HOME"] = str(data / "prefect")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.pop("PREFECT_API_URL", None)
    with serve.start(data / "emulators", seed=seed, scale=scale, port_base=0) as running:
        for server in running.servers.values():
            server.requests = type(server.requests)(maxlen=None)
        yield running


@contextmanager
def apart(data: Path, seed: int, scale: str, port: int) -> Iterator[str]:
    """The world in ``data`` (generated when missing) served by ``crosswalk emulators
    serve`` in a process of its own on ``port`` (ConnectWise; the others follow it); yields
    the ConnectWise URL once it answers, and stops the process afterwards."""
    serve.open_world(data, seed, scale)
    crosswalk = str(Path(sys.executable).parent / "crosswalk")
    command = [crosswalk, "emulators", "serve", "--data", str(data), "--seed", str(seed),
               "--scale", scale, "--port-base", str(port)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                requests.get(f"{url}/login/companyinfo/dealer", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


WORKSPACE_SERVER = """
import json, signal, sys, threading
from pathlib import Path
from crosswalk.cli import freeze_kept
from emulators.connect.app import Connect
from emulators.framework import EmulatorServer, Store
from emulators.operate.app import Operate
store = Store(Path(sys.argv[1]))
logs = Path(sys.argv[2])
servers = [EmulatorServer(system(store), log_folder=logs) for system in (Operate, Connect)]
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stopped.set())
print(json.dumps({s.system.name: s.start().url for s in servers}), flush=True)
freeze_kept()
stopped.wait()
for server in servers:
    server.stop()
store.close()
"""


@contextmanager
def workspace_apart(path: Path, logs: Path) -> Iterator[tuple[dict[str, str], int]]:
    """Operate and Connect serving the workspace world in ``path`` from a process of their
    own, each request logged to ``logs/<system>.log`` (what ``Busy`` reads); yields
    their URLs by system and the process's id (for ``cpu_seconds``), and stops the
    process afterwards."""
    command = [sys.executable, "-c", WORKSPACE_SERVER, str(path), str(logs)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(server.stdout.readline()), server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def cpu_seconds(pid: int) -> float:
    """The processor time process ``pid`` has used so far, all its threads (Linux's
    ``/proc``): what an emulator's work cost, whether or not a request waited for it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class Busy:
    """How long an emulator served apart spent answering requests, from its request log
    (``<data>/logs/<system>.log``, each line ending with its milliseconds): ``since``
    the last call, only requests of ``methods`` (``b"POST"``, ...) when given, how many in
    ``answered``. A client's seconds divided by this is how many times its rate the
    emulator could serve (issue 18 goal 5: at least five)."""

    def __init__(self, data: Path, system: str, methods: tuple[bytes, ...] | None = None):
        self.log = data / "logs" / f"{system}.log"
        self.start = self.log.stat().st_size if self.log.exists() else 0
        self.methods = methods
        self.answered = 0

    def since(self) -> float:
        with self.log.open("rb") as log:
            log.seek(self.start)
            text = log.read()
        self.start += len(text)
        lines = [
            line
            for line in text.splitlines()
            if line.endswith(b" ms")
            and (self.methods is None or line.split(b" ", 2)[1] in self.methods)
        ]
        self.answered = len(lines)
        return sum(float(line.rsplit(b" ", 2)[-2]) for line in lines) / 1000


def requests_answered(running: serve.Emulators) -> list[str]:
    """Per system, the requests answered since the last call: ConnectWise by HTTP method,
    the others by operation (e-automate POSTs every call); then forgets them."""
    lines = []
    for name, server in running.servers.items():
        methods = Counter(
            r.method if name == "connectwise" else r.path.rstrip("/").rsplit("/")[-1]
            for r in server.requests
        )
        if methods:
            calls = ", ".join(f"{m} {n}" for m, n in sorted(methods.items()))
            lines.append(f"  {name}: {sum(methods.values())} requests ({calls})")
        server.requests.clear()
    return lines


def mapped_then_twice(data: Path, running: serve.Emulators, flow) -> Path:
    """Map customers once with customer-sync (reading and mapping only), then run ``flow``
    twice, a first run and one with nothing changed, printing for each the wall time, the
    requests each system answered, the writes by action and the failures by code. Returns
    the configuration's path (its warehouse holds the end state)."""
    from flows.customer_sync.flow import customer_sync

    config = data / "crosswalk.toml"
    text = running.config.read_text(encoding="utf-8")
    config.write_text(text + "\n[flows.customer_sync]\npush = false\n", encoding="utf-8")
    began = time.perf_counter()
    mapped = customer_sync(config=str(config))
    print(f"customer mapping: {mapped.status} in {time.perf_counter() - began:.1f} s")
    for label in ("first run", "no-change run"):
        requests_answered(running)
        began = time.perf_counter()
        run = flow(config=str(config))
        seconds = time.perf_counter() - began
        print(f"\n{label}: {run.status} in {seconds:.1f} s; {len(run.planned)} writes; "
              f"landed {run.totals().landed} records; dbt {run.models}")  # fmt: skip
        for line in requests_answered(running):
            print(line)
        actions = Counter(w.action for w in run.planned)
        if actions:
            print("  writes: " + ", ".join(f"{a} {n}" for a, n in sorted(actions.items())))
        codes = Counter(f.code for f in run.failures.found.values())
        if codes:
            print("  failures: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))
        if run.notes:
            print("  " + "; ".join(run.notes))
    return config


def flow_bench(name: str, load_flow: Callable[[], Callable], reconcile: Callable) -> None:
    """A flow benchmark's command line: ``--scale``, ``--seed``, ``--keep DIR``; serves the
    world, maps customers and runs the flow twice (``mapped_then_twice``), then hands
    ``reconcile`` a read-only connection to the warehouse, whose marts hold the end state
    (they were built before the last run's empty push). ``load_flow`` imports the flow once
    the world has set Prefect up."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="a folder to keep the world and warehouse in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        data = args.keep or Path(folder)
        began = time.perf_counter()
        with world(data, args.scale, args.seed) as running:
            print(f"world ({args.scale}, seed {args.seed}): {time.perf_counter() - began:.1f} s")
            from crosswalk.config import load_settings
            from crosswalk.warehouse import Warehouse

            config = mapped_then_twice(data, running, load_flow())
            with Warehouse(load_settings(config).warehouse.path).connect(read_only=True) as con:
                reconcile(con)
