"""The world's DuckDB file: the storage contract and batch writers (Arrow, <= 50k rows a batch)."""

import json
from pathlib import Path

import duckdb
import pyarrow as pa

BATCH = 50_000

# One table per PSA entity, the record as the API serves it in ``doc``.
ENTITY_TABLES = (
    "companies",
    "sites",
    "contacts",
    "agreements",
    "additions",
    "invoices",
    "tickets",
    "time_entries",
    "project_tickets",
    "projects",
    "sales_orders",
    "products",
    "members",
    "agreement_types",
    "billing_statuses",
    "boards",
    "board_statuses",
    "board_types",
    "priorities",
    "project_phases",
    "order_statuses",
    "product_types",
    "catalog_items",
)

# What the emulators find one record by (a write's load and save, a reference checked, a
# write's answer read back), made when a world is served so that worlds generated before
# have them too: without them each lookup scans its table (a PATCH at medium took 7.4 ms,
# with them 1.2).
INDEXES = (
    *(f"CREATE INDEX IF NOT EXISTS cw_{t}_id ON connectwise.{t} (id)" for t in ENTITY_TABLES),
    *(
        f"CREATE INDEX IF NOT EXISTS ea_{table}_key ON eautomate.{table} ({column})"
        for table, column in (
            ("customers", "customer_number"),
            ("technicians", "technician_number"),
            ("items", "item"),
            ("contracts", "contract_id"),
            ("calls", "call_number"),
            ("sales_orders", "so_number"),
        )
    ),
    # A call names its contract by number.
    "CREATE INDEX IF NOT EXISTS ea_contracts_number ON eautomate.contracts (contract_number)",
)

DDL = [
    "CREATE SCHEMA connectwise",
    "CREATE SCHEMA world",
    *(
        f"CREATE TABLE connectwise.{table} (id BIGINT NOT NULL, parent_id BIGINT,"
        " last_updated TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)"
        for table in ENTITY_TABLES
    ),
    "CREATE TABLE connectwise.audit_trail (type VARCHAR NOT NULL, record_id BIGINT NOT NULL,"
    " entered_at TIMESTAMP NOT NULL, doc VARCHAR NOT NULL)",
    "CREATE TABLE connectwise.refs (kind VARCHAR NOT NULL, id BIGINT NOT NULL, name VARCHAR,"
    " identifier VARCHAR, doc VARCHAR NOT NULL)",
    "CREATE TABLE world.meta (key VARCHAR NOT NULL, value VARCHAR NOT NULL)",
    """CREATE TABLE world.customers (
        customer_id BIGINT NOT NULL,
        customer_number VARCHAR NOT NULL,
        parent_customer_id BIGINT,
        name VARCHAR NOT NULL,
        address1 VARCHAR, address2 VARCHAR, city VARCHAR, state VARCHAR, zip VARCHAR,
        country VARCHAR, phone VARCHAR, fax VARCHAR, email VARCHAR, website VARCHAR,
        customer_type VARCHAR, branch VARCHAR, territory VARCHAR,
        is_active BOOLEAN NOT NULL,
        on_hold BOOLEAN NOT NULL,
        hold_code VARCHAR,
        bill_to_customer_id BIGINT,
        sync_to_cw BOOLEAN NOT NULL,
        sync_to_cw_property VARCHAR,
        cw_company_id BIGINT,
        cw_site_id BIGINT,
        cw_company_id_property VARCHAR,
        cw_site_id_property VARCHAR,
        created_at TIMESTAMP NOT NULL,
        last_update TIMESTAMP NOT NULL)""",
    """CREATE TABLE world.technicians (
        technician_id BIGINT NOT NULL,
        technician_number VARCHAR NOT NULL,
        first_name VARCHAR NOT NULL, last_name VARCHAR NOT NULL, email VARCHAR,
        branch VARCHAR, territory VARCHAR,
        is_active BOOLEAN NOT NULL,
        member_id BIGINT,
        last_update TIMESTAMP NOT NULL)""",
    """CREATE TABLE world.agreement_types (
        agreement_type_id BIGINT NOT NULL, name VARCHAR NOT NULL, has_template BOOLEAN NOT NULL,
        template_number VARCHAR, base_item_number VARCHAR, billing_cycle VARCHAR)""",
    """CREATE TABLE world.contract_templates (
        contract_number VARCHAR NOT NULL, agreement_type VARCHAR,
        customer_number VARCHAR NOT NULL, base_item_number VARCHAR NOT NULL,
        bill_contract BOOLEAN NOT NULL, tax_code VARCHAR NOT NULL,
        contract_type VARCHAR NOT NULL, billing_cycle VARCHAR)""",
    """CREATE TABLE world.items (
        item_number VARCHAR NOT NULL, description VARCHAR NOT NULL, item_kind VARCHAR NOT NULL,
        serialized BOOLEAN NOT NULL, cost DECIMAL(12, 2) NOT NULL, msrp DECIMAL(12, 2) NOT NULL,
        is_active BOOLEAN NOT NULL, cw_catalog_item_id BIGINT)""",
    """CREATE TABLE world.codes (
        list_type VARCHAR NOT NULL, code VARCHAR NOT NULL, description VARCHAR NOT NULL,
        cw_kind VARCHAR, cw_id BIGINT)""",
    """CREATE TABLE world.synced_tickets (
        ticket_id BIGINT NOT NULL, company_id BIGINT NOT NULL, call_status VARCHAR)""",
    """CREATE TABLE world.cases (
        system VARCHAR NOT NULL, entity VARCHAR NOT NULL, id BIGINT NOT NULL,
        case_name VARCHAR NOT NULL)""",
]


def dumps(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class Rows:
    """Rows of one table gathered column-wise and inserted as an Arrow batch."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema) -> None:
        self.con, self.table, self.schema = con, table, schema
        self.columns: list[list] = [[] for _ in schema]
        self.count = 0

    def add(self, *values) -> None:
        for column, value in zip(self.columns, values, strict=True):
            column.append(value)
        self.count += 1
        if self.count % BATCH == 0:
            self.flush()

    def flush(self) -> None:
        if not self.columns[0]:
            return
        batch = pa.Table.from_arrays(
            [
                pa.array(column, type=f.type)
                for column, f in zip(self.columns, self.schema, strict=True)
            ],
            schema=self.schema,
        )
        self.con.register("_world_batch", batch)
        self.con.execute(f"INSERT INTO {self.table} SELECT * FROM _world_batch").fetchall()
        self.con.unregister("_world_batch")
        self.columns = [[] for _ in self.schema]


_ENTITY = pa.schema(
    [
        ("id", pa.int64()),
        ("parent_id", pa.int64()),
        ("last_updated", pa.timestamp("s")),
        ("doc", pa.string()),
    ]
)


class Records(Rows):
    """A PSA entity table: ``add(id, parent_id, last_updated_ts, doc)``; ids must ascend."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str) -> None:
        super().__init__(con, f"connectwise.{table}", _ENTITY)
        self.last_id = 0

    def put(self, id_: int, parent_id: int | None, last_updated: int, doc: dict) -> None:
        if id_ <= self.last_id:
            raise ValueError(f"{self.table}: id {id_} after {self.last_id}")
        self.last_id = id_
        ids, parents, stamps, docs = self.columns
        ids.append(id_)
        parents.append(parent_id)
        stamps.append(last_updated)
        docs.append(dumps(doc))
        self.count += 1
        if self.count % BATCH == 0:
            self.flush()


class Store:
    """Opens a fresh file, creates the schema, hands out writers, flushes and closes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        # A small buffer pool: the world is written once and read later, keep RSS flat.
        self.con = duckdb.connect(str(path), config={"memory_limit": "512MB"})
        for statement in DDL:
            self.con.execute(statement).fetchall()
        self.records = {table: Records(self.con, table) for table in ENTITY_TABLES}
        self.audit = Rows(
            self.con,
            "connectwise.audit_trail",
            pa.schema(
                [
                    ("type", pa.string()),
                    ("record_id", pa.int64()),
                    ("entered_at", pa.timestamp("s")),
                    ("doc", pa.string()),
                ]
            ),
        )
        self.cases = Rows(
            self.con,
            "world.cases",
            pa.schema(
                [
                    ("system", pa.string()),
                    ("entity", pa.string()),
                    ("id", pa.int64()),
                    ("case_name", pa.string()),
                ]
            ),
        )

    def case(self, name: str, system: str, entity: str, id_: int) -> None:
        self.cases.add(system, entity, id_, name)

    def audit_entry(self, type_: str, record_id: int, entered: int, doc: dict) -> None:
        self.audit.add(type_, record_id, entered, dumps(doc))

    def table(self, name: str, rows: list[tuple], schema: pa.Schema) -> None:
        """Insert a small table at once (truth tables, refs)."""
        writer = Rows(self.con, name, schema)
        for row in rows:
            writer.add(*row)
        writer.flush()

    def counts(self) -> dict[str, int]:
        """Rows per table, once every writer has flushed."""
        self.flush()
        return {
            table: self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            for table in self.tables()
        }

    def tables(self) -> list[str]:
        return [
            f"{schema}.{name}"
            for schema, name in self.con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
                " ORDER BY schema_name, table_name"
            ).fetchall()
        ]

    def flush(self) -> None:
        for writer in (*self.records.values(), self.audit, self.cases):
            writer.flush()

    def close(self) -> None:
        self.flush()
        self.con.execute("CHECKPOINT").fetchall()
        self.con.close()
