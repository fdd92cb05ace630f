"""Start the emulated systems over one seeded world, and write a configuration for them.

``start()`` is what ``crosswalk emulators serve``, ``crosswalk demo``, the tests and the
benchmarks use: the world is generated into ``<data>/state.duckdb`` on first start and
reused afterwards (a stopped demo resumes with its changes), each system listens on
127.0.0.1 at ``port_base + offset`` (or a free port when ``port_base`` is 0), and
``<data>/crosswalk.toml``, written whole before any port answers, points crosswalk at
them with the demo credentials named by environment variable (DESIGN.md section 6).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crosswalk.demo import CLIENT_ID, CREDENTIALS
from emulators.connect.app import Connect
from emulators.connectwise.app import ConnectWise
from emulators.eautomate.app import EAutomate
from emulators.framework import EmulatorServer, Faults, Store
from emulators.operate.app import Operate
from emulators.world.workspace import PERIOD_START_TS

PERIOD_START = datetime.fromtimestamp(PERIOD_START_TS, UTC)
WORLD_FILE = "state.duckdb"  # not "world": the catalog would shadow the world schema
# The systems served, by port offset from the base port.
OFFSETS = {"connectwise": 0, "eautomate": 1, "operate": 2, "connect": 3}


@dataclass
class Emulators:
    data: Path
    store: Store
    servers: dict[str, EmulatorServer] = field(default_factory=dict)
    config: Path | None = None
    ca_bundle: Path | None = None

    def url(self, system: str) -> str:
        return self.servers[system].url

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        self.store.close()

    def __enter__(self) -> Emulators:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def open_world(data: Path, seed: int, scale: str) -> Path:
    """``<data>/state.duckdb``, generated when missing; refuses a different seed or scale."""
    from emulators import world

    path = data / WORLD_FILE
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        world.generate(path, seed=seed, scale=scale)
        return path
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        meta = dict(con.execute("SELECT key, value FROM world.meta").fetchall())
    if (meta.get("seed"), meta.get("scale")) != (str(seed), scale):
        raise ValueError(
            f"{path} holds the world of seed {meta.get('seed')} at scale {meta.get('scale')}, "
            f"not seed {seed} at scale {scale}; use another --data folder or delete it"
        )
    return path


def start(
    data: Path,
    *,
    seed: int = 1,
    scale: str = "small",
    port_base: int = 8700,
    faults: dict[str, float] | None = None,
    tls: bool = False,
) -> Emulators:
    """Serve every emulated system from ``data``; stop with ``.stop()`` or ``with``."""
    data = Path(data).resolve()
    world = open_world(data, seed, scale)
    store = Store(world)
    emulators = Emulators(data, store)
    context = None
    if tls:
        from emulators.tls import certificate, server_context

        context = server_context(data / "tls")
        emulators.ca_bundle = certificate(data / "tls")[0]
    try:
        systems = {
            "connectwise": ConnectWise(store),
            "eautomate": EAutomate(store),
            "operate": Operate(store),
            "connect": Connect(store),
        }
        for name, system in systems.items():
            port = port_base + OFFSETS[name] if port_base else 0
            emulators.servers[name] = EmulatorServer(
                system, port, Faults(seed, **(faults or {})), data / "logs", context
            )
        # Every port is bound but none answers yet: whoever waits for a port to answer
        # finds the configuration that names it already written.
        emulators.config = write_config(emulators)
        for server in emulators.servers.values():
            server.start()
    except BaseException:
        emulators.stop()
        raise
    return emulators


def write_config(emulators: Emulators) -> Path:
    """``<data>/crosswalk.toml``: every system pointed at its emulator, secrets by variable."""
    cw = emulators.url("connectwise")
    port = int(cw.rsplit(":", 1)[1])

    def url(offset: int, system: str = "") -> str:
        if system in emulators.servers:  # on a free port when port_base is 0
            return emulators.url(system) + "/"
        return f"http://127.0.0.1:{port + offset}/"

    names = "".join(f"#   {name}\n" for name in CREDENTIALS)
    layouts = ", ".join(
        f'"{location}" = "{layout}"'
        for location, layout in emulators.store.query(
            "SELECT location_id, format FROM world.call_loggers ORDER BY location_id"
        )
    )
    text = f"""# Written by `crosswalk emulators serve`: crosswalk against the emulated systems.
# Secrets are named, never written here; set these variables first (the serve command
# prints the demo values):
{names}
[warehouse]
path = "warehouse.duckdb"

[report]
# No SMTP server here: failure reports are written as .eml files to this folder.
outbox = "outbox"

[systems.connectwise]
base_url = "{cw}"
company = "dealer"
client_id = "{CLIENT_ID}"
public_key = {{ env = "CROSSWALK_CW_PUBLIC_KEY" }}
private_key = {{ env = "CROSSWALK_CW_PRIVATE_KEY" }}

[systems.eautomate]
base_url = "{url(1, "eautomate")}"
company_id = "dealer"
user = "api"
password = {{ env = "CROSSWALK_EA_PASSWORD" }}

[systems.operate]
base_url = "{url(2, "operate")}"
api_key = {{ env = "CROSSWALK_OPERATE_KEY" }}
approver_key = {{ env = "CROSSWALK_OPERATE_APPROVER_KEY" }}

[systems.connect]
base_url = "{url(3, "connect")}"
api_key = {{ env = "CROSSWALK_CONNECT_KEY" }}

[flows.charge_import]
# The world's calls start on this day; each call-logger location records in its format.
first_date = "{PERIOD_START:%Y-%m-%d}"
location_layouts = {{ {layouts} }}
"""
    path = emulators.data / "crosswalk.toml"
    # Whole or not at all: a reader never sees half a file (nor an earlier start's).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path
