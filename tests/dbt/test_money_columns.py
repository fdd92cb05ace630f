"""Money and quantities are DECIMAL in every layer of the warehouse (issue 13): every raw
table, staging view, intermediate model and mart, after landing every fixture entity and
building the whole dbt project."""

import re
from pathlib import Path

import pyarrow as pa
import pytest

import emulators
from crosswalk import dbt
from crosswalk.config import load_settings
from crosswalk.entities import validate
from crosswalk.sources import ExportFolder
from crosswalk.warehouse import Warehouse
from schemas import ENTITIES

pytestmark = pytest.mark.dbt

FIXTURES = Path(emulators.__file__).parent / "fixtures"
LAYERS = "starts_with(table_schema, 'raw_') OR table_schema IN ('staging', 'intermediate', 'marts')"
# A column named for money or a quantity of something priced.
MONEY = re.compile(
    r"(^|_)(amount|cost|price|total|subtotal|balance|tax|rate|hours|quantity|included)(_|$)"
)
SCORES = {"score", "suggestion_score"}  # a match's likelihood: the only floats allowed


@pytest.fixture(scope="module")
def columns(tmp_path_factory) -> dict[tuple[str, str, str], str]:
    """(schema, table, column) -> DuckDB type, once every model is built."""
    folder = tmp_path_factory.mktemp("money")
    (folder / "crosswalk.toml").write_text(
        '[warehouse]\npath = "wh.duckdb"\n'
        '[systems.operate]\nbase_url = "http://127.0.0.1:8702/"\napi_key = { env = "K" }\n'
    )
    settings = load_settings(folder / "crosswalk.toml")
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    source = ExportFolder(FIXTURES)
    for entity in ENTITIES.values():
        warehouse.ensure_table(entity.system, entity.name, entity.arrow_schema)
        for page in source.pages(entity, since=None):
            checked = validate(entity, page.records, page.sources)
            warehouse.land(entity.system, entity.name, entity.primary_key, checked.table, "run-1")
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    assert dbt.build(settings, ["package:crosswalk"]).ok
    with warehouse.connect(read_only=True) as con:
        found = con.execute(
            "SELECT table_schema, table_name, column_name, data_type "
            f"FROM information_schema.columns WHERE {LAYERS}"
        ).fetchall()
    return {(schema, table, column): kind for schema, table, column, kind in found}


def test_every_money_column_is_decimal_in_every_layer(columns):
    money = {key: kind for key, kind in columns.items() if MONEY.search(key[2])}
    assert {schema for schema, *_ in money} >= {
        "raw_calllogs", "raw_connectwise", "raw_eautomate", "raw_operate",
        "staging", "intermediate", "marts",
    }  # fmt: skip
    assert money[("marts", "waiting_calls", "amount")].startswith("DECIMAL")
    assert money[("marts", "charge_lines", "amount")] == "DECIMAL(14,2)"
    assert {key: kind for key, kind in money.items() if not kind.startswith("DECIMAL")} == {}


def test_no_float_but_a_score(columns):
    floats = {key for key, kind in columns.items() if kind in ("DOUBLE", "FLOAT", "REAL")}
    assert {column for *_, column in floats} <= SCORES


def test_every_column_the_schemas_type_as_money_or_quantity_is_named_so(columns):
    """So the name rule above sees every one of them."""
    declared = {
        (f"raw_{entity.system}", entity.name, field.name)
        for entity in ENTITIES.values()
        for field in entity.arrow_schema
        if pa.types.is_decimal(field.type)
    }
    assert declared and all(MONEY.search(column) for *_, column in declared)
    assert {columns[key] for key in declared} == {"DECIMAL(18,4)", "DECIMAL(18,6)"}
