"""Test isolation: a private Prefect home, one temporary Prefect server per session, a
configuration per test that reads the bundled fixture exports into its own warehouse, and
a real SMTP server on loopback that keeps what it receives.

Under pytest-xdist (``make test`` runs two workers, ``--dist loadfile``) each worker is a
session of its own: this file runs in every worker, so each has its own Prefect home and
server, its own emulators and its own temporary folders; a module goes whole to one worker,
so its module-scoped world and runs are made once."""

import base64
import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path

# Before anything imports prefect: never the user's ~/.prefect or server.
_PREFECT_HOME = os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="crosswalk-prefect-")
os.environ.pop("PREFECT_API_URL", None)
for _name in ("CROSSWALK_CONFIG", "CROSSWALK_WAREHOUSE"):
    os.environ.pop(_name, None)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Prefect gives a temporary server 20 s to start; two suites side by side on two cores take
# longer (ENVIRONMENT.md section 3). At least 120 s for every process a test starts.
_startup = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
os.environ[_startup] = str(max(120, int(os.environ.get(_startup) or 0)))
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
os.environ.setdefault("DO_NOT_TRACK", "1")

import pytest  # noqa: E402

import emulators  # noqa: E402
from crosswalk.config import PROJECT_ROOT  # noqa: E402
from crosswalk.demo import CREDENTIALS as DEMO_CREDENTIALS  # noqa: E402

FIXTURES = Path(emulators.__file__).parent / "fixtures"
PROJECT = PROJECT_ROOT

# The modules that take longest, longest first (each module's setup, calls and teardown
# under `make test`, 2026-12-05: 135 s to 16 s); then the rest of tests/flows, tests/dbt,
# tests/clients, tests/emulators and tests/unit. test_faults.py is make test-cycles' (the
# `cycle` marker).
SLOW_FIRST = (
    "flows/test_faults.py",
    "flows/test_customer_sync.py",
    "flows/test_chaos.py",
    "flows/test_reliability.py",
    "dbt/test_dbt.py",
    "flows/test_service_sync.py",
    "flows/test_agreement_sync.py",
    "flows/test_charge_import.py",
    "flows/test_sales_order_sync.py",
    "flows/test_flows.py",
    "flows/test_demo.py",
    "flows/test_deployment.py",
    "flows/test_calls_to_tickets.py",
    "flows/test_customer_sweep.py",
    "flows/test_inbox_browser.py",
    "flows/test_cli.py",
)
LAYERS = ("flows", "dbt", "clients", "emulators", "unit")


def pytest_collection_modifyitems(config, items):
    """Under xdist, the modules in the order above: a worker takes the next module when it
    is done with one, so the long ones start first and the two workers end together. The
    tests of a module keep their order (later ones read what earlier ones did)."""
    if not hasattr(config, "workerinput"):
        return

    def rank(item) -> tuple[int, int]:
        module = Path(str(item.path)).relative_to(Path(__file__).parent).as_posix()
        layer = module.split("/", 1)[0]
        slow = SLOW_FIRST.index(module) if module in SLOW_FIRST else len(SLOW_FIRST)
        return slow, LAYERS.index(layer) if layer in LAYERS else len(LAYERS)

    items.sort(key=rank)


def pytest_collection_finish(session):
    """What collection imported (Prefect, the flows, the emulators) is frozen out of the
    garbage collector's passes, as ``crosswalk run`` freezes its imports
    (crosswalk.cli.imports_kept), and its full passes come far less often (what the tests
    import later, dbt above all, is not frozen): tests/flows/test_service_sync.py spent 3.4
    of its 42 s in the collector, 1.6 s so."""
    from crosswalk.cli import freeze_kept

    freeze_kept()
    gc.set_threshold(50_000, 20, 20)


def pytest_unconfigure(config):
    shutil.rmtree(_PREFECT_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect server for every test that runs a flow (about 12 s, once).

    Without flow-run heartbeats: they find crashed runs, which no test needs, and each flow
    run waits up to a second at its end for the heartbeat thread to notice it finished.
    Without the server's task-run recorder, event persister, triggers and event stream:
    they write and match the events of every task and flow run, which no test reads (flow
    runs, their logs and artifacts are kept): work the server did beside every flow test,
    on the same two cores.
    """
    from prefect.settings import (
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED,
        PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED,
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED,
        PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    quiet = {
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
        PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED: False,
        PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED: False,
        PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED: False,
        PREFECT_SERVER_EVENTS_STREAM_OUT_ENABLED: False,
    }
    with (
        temporary_settings(updates=quiet),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


@contextmanager
def instant_retries(attempts: int | None = None) -> Iterator[None]:
    """Clients back off from the emulators' faults without sleeping: each wait is chosen and
    logged as before (``crosswalk.http.Tally`` checks them), only not slept
    (tests/clients/test_connectwise_client.py checks the sleeps themselves); ``attempts``
    instead of the clients' own number of tries, when given."""
    from dataclasses import dataclass

    from crosswalk import http

    tries = attempts or http.RetryPolicy.attempts

    @dataclass
    class Instant(http.RetryPolicy):
        attempts: int = tries
        sleep: object = lambda seconds: None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(http, "RetryPolicy", Instant)
        yield


@pytest.fixture
def no_sleep():
    with instant_retries():
        yield


@pytest.fixture
def credentials(monkeypatch):
    for name, value in DEMO_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    return DEMO_CREDENTIALS


# A run in another process: it takes the warehouse's run lock, opens the file for writing
# (as a run's step does), says so, and keeps both until it is told to stop.
HOLDER = """
import sys, duckdb
from pathlib import Path
from crosswalk.runlock import one_run
path = Path(sys.argv[1])
with one_run(path, "customer-sync"):
    con = duckdb.connect(str(path))
    print("holding", flush=True)
    sys.stdin.readline()
    con.close()
"""


@contextmanager
def run_holding(warehouse: Path) -> Iterator[subprocess.Popen]:
    """A customer-sync in another process holding ``warehouse`` until the block ends or
    ``release`` ends it; yields its process."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "holding\n"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def release(process: subprocess.Popen) -> None:
    """The run ``run_holding`` started ends, and lets go of the warehouse."""
    process.stdin.write("\n")
    process.stdin.flush()
    process.wait()


def write_config(folder: Path, fixtures: Path = FIXTURES, **sections: str) -> Path:
    """A crosswalk.toml in ``folder``: the example's systems, a warehouse in ``folder``,
    ConnectWise, e-automate and Operate read from the exports in ``fixtures``; ``sections``
    replace whole [tables] by name."""
    text = (PROJECT / "crosswalk.example.toml").read_text(encoding="utf-8")
    for system in ("connectwise", "eautomate", "operate"):
        header = f"[systems.{system}]\n"
        text = text.replace(header, f"{header}fixtures = {str(fixtures)!r}\n")
    text = text.replace('path = "data/warehouse.duckdb"', 'path = "warehouse.duckdb"')
    for header, body in sections.items():
        start = text.index(f"[{header}]")
        end = text.find("\n[", start + 1)
        text = text[:start] + body + (text[end:] if end != -1 else "\n")
    path = folder / "crosswalk.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def make_config():
    return write_config


def counts(run) -> dict[str, tuple[int, int, int, int, int]]:
    """Per landed entity of a run: read, landed, inserted, updated, quarantined."""
    return {
        f"{r.system}.{r.entity}": (r.read, r.landed, r.inserted, r.updated, r.quarantined)
        for r in run.landed
    }


def land(config: Path, flow: str, full_refresh: bool = False):
    """A run of ``flow`` that stops at landing: the entities the flow lands (customer-sync
    and service-sync: their sweep only when due), each through ``extract_and_land``'s body,
    recorded in ``sync.runs``; no dbt, no push, no report, no Prefect server (``.fn`` with the run
    logger off). charge-import's call logs are not read."""
    from prefect.logging import disable_run_logger

    from crosswalk.config import load_settings
    from crosswalk.pipeline import extract_and_land, flow_run_recorded
    from crosswalk.sources import open_source
    from flows.agreement_sync.flow import ENTITIES as AGREEMENTS
    from flows.charge_import.flow import ENTITIES as CHARGES
    from flows.customer_sync.flow import MAPPING, reads
    from flows.customer_sync.sweep import SWEEP, due
    from flows.service_sync.flow import ENTITIES as SERVICE
    from flows.service_sync.flow import entities_due

    settings = load_settings(config)
    entities = {
        "customer-sync": lambda: reads(settings)[0],
        "agreement-sync": lambda: AGREEMENTS,
        "service-sync": lambda: SERVICE,
        "charge-import": lambda: CHARGES,
    }[flow]()
    mapping = () if flow == "charge-import" else MAPPING  # as the flows read it
    with (
        disable_run_logger(),
        flow_run_recorded(flow, settings, entities, False, full_refresh, mapping) as run,
    ):
        sources = {}
        now = {
            "customer-sync": lambda: due(
                run, entities, SWEEP, settings.flows.customer_sync.sweep_hours
            ),
            "service-sync": lambda: entities_due(run),
        }
        for entity in now.get(flow, lambda: entities)():
            if entity.system not in sources:
                sources[entity.system] = open_source(settings, entity.system, flow)
            run.landed.append(extract_and_land.fn(run, sources[entity.system], entity))
    return run


@pytest.fixture
def config_file(tmp_path, credentials) -> Path:
    return write_config(tmp_path)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """The small world of seed 7, generated once for the session; ``seeded`` copies it."""
    from emulators.world import generate

    path = tmp_path_factory.mktemp("small-world") / "generated.duckdb"
    generate(path, seed=7, scale="small")
    return path


def seeded(folder: Path, world: Path) -> Path:
    """``folder`` with its own copy of the generated ``world`` as the emulators' state:
    ``serve.start(folder, seed=7, scale="small")`` serves it as if it had generated it."""
    from emulators.serve import WORLD_FILE

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(world, folder / WORLD_FILE)
    return folder


@pytest.fixture(scope="session")
def emulated(tmp_path_factory, small_world):
    """The emulated systems over the small world (seed 7) on free ports, for the session.

    Tests that write make their own records (unique names), so they do not depend on
    one another; tests that inject faults clear them when done (``faults`` fixture).
    Its configuration reads and maps customers without pushing (``push = false``): the
    customer-sync push tests write to a world of their own.
    """
    from emulators import serve

    data = seeded(tmp_path_factory.mktemp("emulators"), small_world)
    with serve.start(data, seed=7, scale="small", port_base=0) as running:
        with running.config.open("a", encoding="utf-8") as config:
            config.write("\n[flows.customer_sync]\npush = false\n")
        yield running


@pytest.fixture
def cw_server(emulated):
    server = emulated.servers["connectwise"]
    server.faults.clear()
    yield server
    server.faults.clear()


@pytest.fixture
def cw_api(cw_server) -> str:
    return f"{cw_server.url}/v4_6_release/apis/3.0"


CW_HEADERS = {
    "Authorization": "Basic " + base64.b64encode(b"dealer+demo-public:demo-private").decode(),
    "clientId": "6f1c2a3e-0000-4000-8000-000000000001",
}


@pytest.fixture
def refused_port():
    """A port on which every connection is refused for the whole test: bound here and
    never listened on, so no other process can take it meanwhile."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: every message received, parsed, with its envelope."""

    def __init__(self):
        self.messages = []
        self.envelopes = []
        self.port = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def smtp_controller(handler, **options):
    """aiosmtpd's Controller on a port its socket took (port 0) before the server starts,
    so no port is guessed free and then lost to another process; ``.port`` is that port.
    It may take a minute to come up (aiosmtpd's default is 5 s) on a busy machine."""
    from aiosmtpd.controller import Controller

    class Bound(Controller):
        def __init__(self):
            super().__init__(handler, hostname="127.0.0.1", port=0, ready_timeout=60, **options)
            self._socket = socket.create_server(("127.0.0.1", 0))
            self.port = self._socket.getsockname()[1]

        def _create_server(self):
            return self.loop.create_server(
                self._factory_invoker, sock=self._socket, ssl=self.ssl_context
            )

    return Bound()


@contextmanager
def smtp_serving() -> Iterator[Inbox]:
    """A plain SMTP server on 127.0.0.1 and a port of its own, while in the block."""
    inbox = Inbox()
    controller = smtp_controller(inbox)
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    """A plain SMTP server on 127.0.0.1 and a port of its own; yields its Inbox."""
    with smtp_serving() as inbox:
        yield inbox


def report_section(
    port: int | None,
    max_times: int = 3,
    recipients: tuple[str, ...] = ("ops@example.com", "billing@example.com"),
    smtp: str = "",
) -> str:
    """A [report] table: SMTP on 127.0.0.1:``port`` without TLS (None: no server, outbox)."""
    listed = ", ".join(f'"{r}"' for r in recipients)
    text = f'[report]\nmax_times = {max_times}\noutbox = "outbox"\nrecipients = [{listed}]\n'
    if port is not None:
        text += (
            f'\n[report.smtp]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
            f'sender = "crosswalk <crosswalk@example.com>"\ntimeout_seconds = 10\n{smtp}'
        )
    return text


def inbox_get(settings, path: str, query: str = "") -> tuple[str, str]:
    """The inbox's answer to a GET through its WSGI application: status and page."""
    import io

    from crosswalk.inbox.web import Inbox

    answer = {}
    page = b"".join(Inbox(settings)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
         "wsgi.input": io.BytesIO()},
        lambda status, headers: answer.update(status=status),
    )).decode()  # fmt: skip
    return answer["status"], page
