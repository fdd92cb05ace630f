"""The keys that decide whether a dbt build is kept (crosswalk/dbt.py): what changes them
and what does not, on a DuckDB of a few rows; no dbt."""

import re

import duckdb
import pytest

from crosswalk import dbt
from crosswalk.config import PROJECT_ROOT
from crosswalk.warehouse import MIGRATIONS

MODELS = PROJECT_ROOT / "dbt_project" / "models"


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA sync")
        for ddl in MIGRATIONS:
            if "sync.model_relations" in ddl:
                con.execute(ddl)
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.tickets (id INTEGER, summary VARCHAR)")
        con.execute("INSERT INTO raw.tickets VALUES (1, 'a'), (2, 'b')")
        con.execute("CREATE TABLE sync.runs (run_id VARCHAR)")
        yield con


def node(relation: str, kind: str, parents: tuple[str, ...] = (), built: bool = True) -> dict:
    return {"relation": relation.split("."), "kind": kind, "parents": list(parents),
            "built": built and kind != "source"}  # fmt: skip


# raw.tickets -> stg (view) -> mart (table); sync.runs -> health (view)
GRAPH = {
    "source.tickets": node("raw.tickets", "source"),
    "source.runs": node("sync.runs", "source"),
    "model.stg": node("staging.stg", "view", ("source.tickets",)),
    "model.mart": node("marts.mart", "table", ("model.stg",)),
    "model.health": node("marts.health", "view", ("source.runs",)),
}


def test_a_table_is_keyed_by_the_rows_above_it_and_a_view_by_their_columns(con):
    before = dbt._keys(con, GRAPH, "code")
    con.execute("INSERT INTO sync.runs VALUES ('run-2')")
    after = dbt._keys(con, GRAPH, "code")
    assert after["source.runs"] != before["source.runs"]
    assert after["model.health"] == before["model.health"]  # read only by a view
    con.execute("UPDATE raw.tickets SET summary = 'changed' WHERE id = 2")
    changed = dbt._keys(con, GRAPH, "code")
    assert changed["model.mart"] != before["model.mart"]
    assert changed["model.stg"] == before["model.stg"]
    con.execute("ALTER TABLE sync.runs ADD COLUMN flow VARCHAR")
    assert dbt._keys(con, GRAPH, "code")["model.health"] != changed["model.health"]
    assert dbt._keys(con, GRAPH, "other code")["model.mart"] != changed["model.mart"]


def test_a_relation_another_selection_built_counts_as_it_was_recorded(con):
    graph = {**GRAPH, "model.mart": node("marts.mart", "table", ("model.stg",), built=False)}
    assert dbt._keys(con, graph, "code")["model.mart"] is None  # never recorded: unknown
    con.execute(
        "INSERT INTO sync.model_relations VALUES ('marts.mart', 'k1', true, 'run-1', now())"
    )
    assert dbt._keys(con, graph, "code")["model.mart"] == "k1"


def test_only_the_rows_models_read_count_when_the_source_names_them(con):
    rows = "id = 1"
    before = dbt._content(con, ["raw", "tickets"], rows)
    con.execute("UPDATE raw.tickets SET summary = 'changed' WHERE id = 2")
    assert dbt._content(con, ["raw", "tickets"], rows) == before
    con.execute("UPDATE raw.tickets SET summary = 'changed' WHERE id = 1")
    assert dbt._content(con, ["raw", "tickets"], rows) != before


def test_the_watermark_rows_a_build_is_keyed_by_are_the_ones_its_models_read():
    """sync.watermarks' ``rows_read`` (the sweep's) must cover every table that reads it:
    a new reader names its rows there."""
    readers = {
        path.stem
        for path in MODELS.rglob("*.sql")
        if "stg_sync__watermarks" in path.read_text(encoding="utf-8")
    }
    assert readers == {"int_companies_swept"}
    swept = (MODELS / "intermediate" / "int_companies_swept.sql").read_text(encoding="utf-8")
    sources = (MODELS / "staging" / "sync" / "_sync__sources.yml").read_text(encoding="utf-8")
    (rows_read,) = re.findall(r'rows_read: "(.*)"', sources)
    assert rows_read == "system = 'connectwise' and entity = 'company_ids'"
    assert "where system = 'connectwise' and entity = 'company_ids'" in swept
