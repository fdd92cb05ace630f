"""Start the emulated systems over one seeded world, and write a configuration for them.

``start()`` is what ``crosswalk emulators serve``, ``crosswalk demo``, the tests and the
benchmarks use: the world is generated into ``<data>/state.duckdb`` on first start and
reused afterwards (a stopped demo resumes with its changes), each system listens on
127.0.0.1 at ``port_base + offset`` (or a free port when ``port_base`` is 0), and
``<data>/crosswalk.toml`` points crosswalk at them with the demo credentials named by
environment variable (DESIGN.md section 6).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from emulators.connect.app import Connect
from emulators.connectwise.app import ConnectWise
from emulators.framework import EmulatorServer, Faults, Store
from emulators.operate.app import Operate
from emulators.world.workspace import PERIOD_START_TS

PERIOD_START = datetime.fromtimestamp(PERIOD_START_TS, UTC)
WORLD_FILE = "state.duckdb"  # not "world": the catalog would shadow the world schema
# The systems served today, by port offset; e-automate (+1) joins as its emulator lands.
OFFSETS = {"connectwise": 0, "operate": 2, "connect": 3}
CREDENTIALS = {
    "CROSSWALK_CW_PUBLIC_KEY": "demo-public",
    "CROSSWALK_CW_PRIVATE_KEY": "demo-private",
    "CROSSWALK_EA_PASSWORD": "demo",
    "CROSSWALK_OPERATE_KEY": "demo-operate",
    "CROSSWALK_OPERATE_APPROVER_KEY": "demo-operate-approver",
    "CROSSWALK_CONNECT_KEY": "demo-connect",
}
CLIENT_ID = "6f1c2a3e-0000-4000-8000-000000000001"


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


def export_erp_customers(world: Path, folder: Path) -> Path:
    """The world's ERP customers as an e-automate export (``<folder>/eautomate/
    customers.json``, the shape of the bundled fixture), so the demo's customer sync has
    the ERP side of the same world until the e-automate emulator serves it."""
    import duckdb

    target = folder / "eautomate" / "customers.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(world), read_only=True) as con:
        con.execute(
            f"""
            COPY (
                SELECT c.customer_number AS CustomerNumber, c.name AS CustomerName,
                       p.customer_number AS ParentLocationNumber, c.address1 AS Address,
                       c.city AS City, c.state AS State, c.zip AS Zip, c.country AS Country,
                       c.phone AS Phone1, c.is_active AS Active, c.on_hold AS OnHold,
                       c.customer_type AS CustomerTypeCode, c.branch AS BranchNumber,
                       c.territory AS TerritoryCode,
                       list_filter([
                           {{'Name': 'ZCJ_CW_CompanyID', 'Value': c.cw_company_id_property}},
                           {{'Name': 'ZCJ_CW_SiteAddressRecID', 'Value': c.cw_site_id_property}},
                           {{'Name': 'ZCJ_SyncToCW', 'Value': c.sync_to_cw_property}}
                       ], lambda p: p.Value IS NOT NULL) AS CustomProperties,
                       strftime(c.last_update, '%Y-%m-%dT%H:%M:%S') AS LastUpdate
                FROM world.customers c
                LEFT JOIN world.customers p ON p.customer_id = c.parent_customer_id
                ORDER BY c.customer_id
            ) TO '{target}' (FORMAT JSON, ARRAY true)
            """
        )
    return target


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
    export_erp_customers(world, data / "exports")
    store = Store(world)
    emulators = Emulators(data, store)
    context = None
    if tls:
        from emulators.tls import certificate, server_context

        context = server_context(data / "tls")
        emulators.ca_bundle = certificate(data / "tls")[0]
    systems = {
        "connectwise": ConnectWise(store),
        "operate": Operate(store),
        "connect": Connect(store),
    }
    try:
        for name, system in systems.items():
            port = port_base + OFFSETS[name] if port_base else 0
            server = EmulatorServer(
                system, port, Faults(seed, **(faults or {})), data / "logs", context
            )
            emulators.servers[name] = server.start()
    except BaseException:
        emulators.stop()
        raise
    emulators.config = write_config(emulators)
    return emulators


def write_config(emulators: Emulators) -> Path:
    """``<data>/crosswalk.toml``: every system pointed at its emulator, secrets by variable.

    Until its emulator lands, e-automate reads the world's customers exported by
    :func:`export_erp_customers`.
    """
    cw = emulators.url("connectwise")
    port = int(cw.rsplit(":", 1)[1])

    def url(offset: int, system: str = "") -> str:
        if system in emulators.servers:
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
base_url = "{url(1)}"
company_id = "dealer"
user = "api"
password = {{ env = "CROSSWALK_EA_PASSWORD" }}
fixtures = {str(emulators.data / "exports")!r}

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
    path.write_text(text, encoding="utf-8")
    return path
