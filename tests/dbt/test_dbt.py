"""dbt on landed fixture data: every model builds, every dbt test and unit test passes,
known customers come out mapped the way the rules say (golden rows), and money is DECIMAL
in every layer, by the column type of every raw table, staging view, intermediate model and
mart of the one build."""

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

from crosswalk import dbt
from crosswalk.config import PROJECT_ROOT, load_settings
from crosswalk.entities import validate
from crosswalk.sources import ExportFolder
from crosswalk.warehouse import Warehouse
from schemas import ENTITIES

from ..conftest import FIXTURES

pytestmark = pytest.mark.dbt


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Land every fixture entity without Prefect, then build the whole project once."""
    folder = tmp_path_factory.mktemp("dbt")
    (folder / "crosswalk.toml").write_text(
        '[warehouse]\npath = "warehouse.duckdb"\n'
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
            warehouse.land(
                entity.system,
                entity.name,
                entity.primary_key,
                checked.table,
                "run-1",
                checked.rejected,
            )
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    outcome = dbt.build(settings, ["package:crosswalk"])
    return warehouse, outcome


def test_every_model_and_test_succeeds(built):
    _, outcome = built
    assert outcome.ok
    assert outcome.statuses.get("success", 0) >= 10  # models
    assert outcome.statuses.get("pass", 0) >= 20  # data tests and the unit test


LAYERS = "starts_with(table_schema, 'raw_') OR table_schema IN ('staging', 'intermediate', 'marts')"
# A column named for money or a quantity of something priced.
MONEY = re.compile(
    r"(^|_)(amount|cost|price|total|subtotal|balance|tax|rate|hours|quantity|included)(_|$)"
)
SCORES = {"score", "suggestion_score"}  # a match's likelihood: the only floats allowed


@pytest.fixture(scope="module")
def columns(built) -> dict[tuple[str, str, str], str]:
    """(schema, table, column) -> DuckDB type, once every model is built."""
    warehouse, _ = built
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


def test_mapped_customers_golden_rows(built):
    warehouse, _ = built
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT customer_number, company_id, match_rule, match_reason "
            "FROM marts.mapped_customers ORDER BY customer_number"
        ).fetchall()
        findings = con.execute(
            "SELECT customer_number, finding_code, finding, fix FROM marts.mapped_customers "
            "WHERE finding_code IS NOT NULL"
        ).fetchall()
    assert [(number, company, rule) for number, company, rule, _ in rows] == [
        ("ACME01", 101, "custom_property"),  # the incumbent's ZCJ_CW_CompanyID link
        ("BRIG01", 102, "account_number"),
        ("CAFE01", 103, "company_identifier"),
        ("DELT01", None, None),
        ("EAGL01", 106, "account_number"),  # its property names 105, merged away
        ("FOXT01", 107, "company_identifier"),
        ("GLOB01", None, None),
        ("HOLL01", None, None),
    ]
    [(number, code, finding, fix)] = findings
    assert (number, code) == ("EAGL01", "link-deleted-company")
    assert finding == (
        'customer EAGL01 "Eagle Law LLP" is linked (custom_property) to PSA company 105 '
        '"Eagle Law", which is deleted (merged)'
    )
    assert '106 "' in fix and "carries the customer number" in fix
    reasons = {number: reason for number, _, _, reason in rows}
    assert (
        reasons["GLOB01"]
        == "customer number is the account number of 2 companies; link one by hand"
    )


def test_custom_properties_are_typed_columns(built):
    warehouse, _ = built
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT customer_number, cw_company_id_property, cw_site_id_property, "
            "sync_to_cw_property, is_parent FROM staging.stg_eautomate__customers "
            "WHERE customer_number IN ('ACME01', 'ACME01-1', 'DELT01') ORDER BY 1"
        ).fetchall()
    assert rows == [
        ("ACME01", "101", None, None, True),
        ("ACME01-1", None, "5001", None, False),
        ("DELT01", None, None, "No", True),
    ]


def test_sync_health_shows_the_running_run(built):
    warehouse, _ = built
    with warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT flow, status FROM marts.sync_health").fetchall() == [
            ("customer-sync", "running")
        ]


def test_filters_in_the_configuration_exclude_with_a_reason(built, tmp_path):
    warehouse, _ = built
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        f"[warehouse]\npath = {str(warehouse.path)!r}\n"
        '[flows.customer_sync]\ncustomer_types = ["MPS"]\nbranches = ["TPA", "O\'Hare"]\n'
        "locations = false\n"
    )
    outcome = dbt.build(load_settings(config), ["mapped_customers", "mapped_locations"])
    assert outcome.ok
    with warehouse.connect(read_only=True) as con:
        customers = dict(
            con.execute(
                "SELECT customer_number, exclusion_reason FROM marts.mapped_customers"
            ).fetchall()
        )
        locations = con.execute(
            "SELECT DISTINCT exclusion_reason FROM marts.mapped_locations"
        ).fetchall()
        types = dict(
            con.execute(
                "SELECT customer_number, (customer_type_code, branch_number) "
                "FROM staging.stg_eautomate__customers WHERE is_parent"
            ).fetchall()
        )
    for number, (kind, branch) in types.items():
        if number == "DELT01":
            assert customers[number] == "ZCJ_SyncToCW is No on the ERP customer"
        elif kind != "MPS":
            assert customers[number] == (
                f"customer type {kind or '(none)'} is not in flows.customer_sync.customer_types"
            )
        elif branch not in ("TPA", "O'Hare"):
            assert "is not in flows.customer_sync.branches" in customers[number]
        else:
            assert customers[number] is None
    assert any(reason is None for reason in customers.values())
    assert locations == [("flows.customer_sync.locations is false: customers only",)]


def test_a_warehouse_of_another_name_gets_its_own_manifest(built, tmp_path, capfd):
    """dbt-duckdb names the database after the file: a process that built warehouse.duckdb
    builds other.duckdb from a parse of its own, into other.duckdb; quietly (the first
    build of a warehouse lists its nodes, and dbt's ``ls`` prints them unless told not to)."""
    warehouse, _ = built
    other = tmp_path / "other.duckdb"
    shutil.copyfile(warehouse.path, other)
    config = tmp_path / "crosswalk.toml"
    config.write_text(f"[warehouse]\npath = {str(other)!r}\n")
    capfd.readouterr()
    assert dbt.build(load_settings(config), ["stg_eautomate__customers"]).ok
    assert "unique_id" not in capfd.readouterr().out
    with Warehouse(other).connect(read_only=True) as con:
        (catalog,) = con.execute(
            "SELECT DISTINCT table_catalog FROM information_schema.tables "
            "WHERE table_schema = 'staging' AND table_name = 'stg_eautomate__customers'"
        ).fetchone()
    assert catalog == "other"


def test_one_parse_serves_every_configuration_each_build_with_its_own_vars(built, tmp_path):
    """The vars are read as the models compile: a change of configuration builds from the
    manifest already parsed, and what it builds follows the new vars."""
    warehouse, _ = built
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse.path, copy)
    config = tmp_path / "crosswalk.toml"
    fields = {}
    parsed = len(dbt._manifests)
    for skipped in ("[]", '["fax", "website"]'):
        sync = f"[flows.customer_sync]\nskip_fields = {skipped}\n"
        config.write_text(f'[warehouse]\npath = "warehouse.duckdb"\n{sync}')
        assert dbt.build(load_settings(config), ["customer_field_sync"]).ok
        with Warehouse(copy).connect(read_only=True) as con:
            found = con.execute("SELECT DISTINCT field FROM marts.customer_field_sync")
            fields[skipped] = {field for (field,) in found.fetchall()}
    assert len(dbt._manifests) == parsed  # the copy is named as the fixture's: its parse serves
    assert {"fax", "website"} <= fields["[]"]
    assert fields['["fax", "website"]'] == fields["[]"] - {"fax", "website"}


def test_two_warehouses_built_at_once_each_get_their_models(built, tmp_path):
    """Builds in one process take turns: neither sees the other's warehouse."""
    warehouse, _ = built
    configs = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        shutil.copyfile(warehouse.path, tmp_path / name / "warehouse.duckdb")
        (tmp_path / name / "crosswalk.toml").write_text('[warehouse]\npath = "warehouse.duckdb"\n')
        configs.append(load_settings(tmp_path / name / "crosswalk.toml"))
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda s: dbt.build(s, ["stg_eautomate__customers"]), configs))
    assert all(outcome.ok for outcome in outcomes)
    for settings in configs:
        with Warehouse(settings.warehouse.path).connect(read_only=True) as con:
            assert con.execute("SELECT count(*) FROM staging.stg_eautomate__customers").fetchone()


def copied(built, tmp_path) -> tuple[Warehouse, Path]:
    """A copy of the built warehouse in ``tmp_path``, and a configuration naming it."""
    warehouse, _ = built
    copy = Warehouse(tmp_path / "warehouse.duckdb")
    shutil.copyfile(warehouse.path, copy.path)
    config = tmp_path / "crosswalk.toml"
    config.write_text('[warehouse]\npath = "warehouse.duckdb"\n')
    return copy, config


def test_a_model_replaces_its_relation_in_one_statement_and_a_failed_one_keeps_it(built, tmp_path):
    """macros/materializations.sql: a view built where a table of its name stands (and a
    table where a view stands) replaces it; a model whose query fails leaves the relation
    it had, rows and all, and no relation of another name behind."""
    copy, config = copied(built, tmp_path)
    settings = load_settings(config)

    def relations() -> set[tuple[str, str, str]]:
        with copy.connect(read_only=True) as con:
            found = con.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables "
                "WHERE table_schema IN ('staging', 'intermediate', 'marts')"
            )
            return set(found.fetchall())

    before = relations()
    with copy.connect() as con:
        (mapped,) = con.execute("SELECT count(*) FROM marts.mapped_customers").fetchone()
        con.execute("DROP VIEW staging.stg_eautomate__customers")
        con.execute("CREATE TABLE staging.stg_eautomate__customers AS SELECT 1 AS stand_in")
        con.execute("DROP TABLE marts.mapped_customers")
        con.execute("CREATE VIEW marts.mapped_customers AS SELECT 1 AS stand_in")
    assert dbt.build(settings, ["stg_eautomate__customers", "mapped_customers"], tests=False).ok
    assert relations() == before
    with copy.connect() as con:
        assert con.execute("SELECT count(*) FROM marts.mapped_customers").fetchone() == (mapped,)
        con.execute("ALTER TABLE raw_eautomate.customers RENAME customer_name TO renamed")
    with pytest.raises(dbt.DbtBuildError, match="mapped_customers"):
        dbt.build(settings, ["mapped_customers"], tests=False)
    assert relations() == before
    with copy.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.mapped_customers").fetchone() == (mapped,)


def test_a_build_is_kept_until_something_it_is_built_from_changes(built, tmp_path):
    """Built again only when the rows of a table a mart is made from, or the vars, changed;
    a run recorded in sync.runs (read only by views) is not such a change."""
    copy, config = copied(built, tmp_path)
    settings = load_settings(config)
    select = ["+mapped_customers"]
    first = dbt.build(settings, select)
    assert first.statuses.get("success", 0) and not first.kept

    copy.start_run("run-2", "customer-sync", plan=False, full_refresh=False)
    again = dbt.build(settings, select)
    assert not again.statuses and again.kept == first.statuses["success"]
    assert "kept" in str(again)

    with copy.connect() as con:
        con.execute(
            "UPDATE raw_eautomate.customers SET customer_name = 'Renamed' "
            "WHERE customer_number = 'ACME01'"
        )
    changed = dbt.build(settings, select, run_id="run-3")
    # Built again: the tables the ERP's customers are above; kept: the rest, and the views
    # (what they read kept its columns).
    assert changed.statuses.get("success", 0) and changed.kept
    assert changed.kept + changed.statuses["success"] == first.statuses["success"]
    assert "kept (built from what has not changed)" in str(changed)
    with copy.connect(read_only=True) as con:
        assert con.execute(
            "SELECT customer_name FROM marts.mapped_customers WHERE customer_number = 'ACME01'"
        ).fetchone() == ("Renamed",)
        rebuilt = {
            relation
            for (relation,) in con.execute(
                "SELECT relation FROM sync.model_relations WHERE run_id = 'run-3'"
            ).fetchall()
        }
    assert rebuilt == {"marts.mapped_customers"}
    assert dbt.build(settings, select).kept == first.statuses["success"]

    # Built without its tests (as after a push step's writes), then with them: the tests
    # run on what was built, and nothing is built again.
    with copy.connect() as con:
        con.execute(
            "UPDATE raw_eautomate.customers SET customer_name = 'Renamed again' "
            "WHERE customer_number = 'ACME01'"
        )
    assert dbt.build(settings, select, tests=False).statuses.get("success")
    tested = dbt.build(settings, select)
    assert "success" not in tested.statuses and tested.statuses.get("pass")
    assert tested.kept == first.statuses["success"]
    assert not dbt.build(settings, select).statuses

    # A build that fails leaves nothing recorded: put back as it was, the data is built again.
    acme = "FROM raw_eautomate.customers WHERE customer_number = 'ACME01'"
    with copy.connect() as con:
        con.execute(f"INSERT INTO raw_eautomate.customers SELECT * {acme}")
    with pytest.raises(dbt.DbtBuildError, match="unique"):
        dbt.build(settings, select)
    with copy.connect() as con:
        con.execute(f"DELETE FROM raw_eautomate.customers WHERE rowid = (SELECT max(rowid) {acme})")
    assert dbt.build(settings, select).statuses.get("success", 0)

    config.write_text(
        '[warehouse]\npath = "warehouse.duckdb"\n[flows.customer_sync]\nlocations = false\n'
    )
    assert dbt.build(load_settings(config), select).statuses.get("success", 0)
    assert dbt.build(load_settings(config), select).kept
    assert dbt.build(load_settings(config), select, full_refresh=True).statuses.get("success")


def _contract(number: str, customer: str, kind: str, status: str = "Active", **more) -> dict:
    return {
        "ContractID": len(number) * 1000 + sum(map(ord, number)),
        "ContractNumber": number,
        "CustomerNumber": customer,
        "BillToNumber": more.pop("bill_to", customer),
        "ContractType": kind,
        "Status": status,
        "IsTemplate": more.pop("template", False),
        "LastUpdate": "2026-01-01T00:00:00Z",
        **more,
    }


def test_contract_types_keep_customers_with_an_active_contract_of_one(built, tmp_path):
    warehouse, _ = built
    contracts = [
        _contract("C-ACME", "ACME01", "MPS"),
        _contract("C-BRIG", "BRIG01", "IT"),
        _contract("C-CAFE", "CAFE01", "MPS", status="Expired"),
        _contract("C-EAGL", "EAGL01", "MPS", ExpDate="2001-01-31"),
        _contract("C-FOXT", "FOXT01-1", "MPS", bill_to="FOXT01"),
        _contract("**MPS", "GLOB01", "MPS", template=True),
        _contract("C-HOLL", "HOLL01", "O'Care"),
    ]
    checked = validate(ENTITIES["eautomate.contracts"], contracts)
    assert not checked.rejected
    warehouse.land("eautomate", "contracts", ("contract_id",), checked.table, "run-2")
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        f"[warehouse]\npath = {str(warehouse.path)!r}\n"
        '[flows.customer_sync]\ncontract_types = ["MPS", "O\'Care"]\n'
    )
    outcome = dbt.build(load_settings(config), ["+mapped_customers"])
    assert outcome.ok
    with warehouse.connect(read_only=True) as con:
        reasons = dict(
            con.execute(
                "SELECT customer_number, exclusion_reason FROM marts.mapped_customers"
            ).fetchall()
        )
    no_contract = "no active contract of type MPS, O'Care (flows.customer_sync.contract_types)"
    assert reasons == {
        "ACME01": None,
        "BRIG01": no_contract,  # IT only
        "CAFE01": no_contract,  # expired
        "DELT01": "ZCJ_SyncToCW is No on the ERP customer",
        "EAGL01": no_contract,  # past its expiration date
        "FOXT01": None,  # a location's contract, billed to it
        "GLOB01": no_contract,  # a template is not a contract
        "HOLL01": None,
    }


def test_unmapped_customers_are_the_unmapped_ones_not_excluded(built, tmp_path):
    warehouse, _ = built
    config = tmp_path / "crosswalk.toml"
    config.write_text(f"[warehouse]\npath = {str(warehouse.path)!r}\n")  # no filters
    assert dbt.build(load_settings(config), ["mapped_customers+"]).ok
    with warehouse.connect(read_only=True) as con:
        unmapped = con.execute(
            "SELECT customer_number, unmapped_reason FROM marts.unmapped_customers "
            "ORDER BY customer_number"
        ).fetchall()
        expected = con.execute(
            "SELECT customer_number, coalesce(finding, match_reason) FROM marts.mapped_customers "
            "WHERE NOT is_mapped AND NOT is_excluded ORDER BY customer_number"
        ).fetchall()
    assert unmapped == expected and unmapped


def test_every_mart_and_every_mart_column_is_documented(built):
    import yaml

    warehouse, _ = built
    with warehouse.connect(read_only=True) as con:
        built_columns = dict(
            con.execute(
                "SELECT table_name, list(column_name ORDER BY ordinal_position) "
                "FROM information_schema.columns WHERE table_schema = 'marts' GROUP BY 1"
            ).fetchall()
        )
    marts = PROJECT_ROOT / "dbt_project" / "models" / "marts"
    documented = {
        model["name"]: model
        for model in yaml.safe_load((marts / "_marts__models.yml").read_text())["models"]
    }
    assert set(built_columns) == {p.stem for p in marts.glob("*.sql")} == set(documented)
    for name, columns in built_columns.items():
        model = documented[name]
        assert model.get("description"), name
        described = {c["name"]: c.get("description") for c in model.get("columns", [])}
        assert [c for c in columns if not described.get(c)] == [], name
        assert set(described) <= set(columns), name


def test_unmapped_customers_group_by_a_stable_unmapped_code(built):
    warehouse, _ = built
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT customer_number, unmapped_code, finding_code, unmapped_reason "
            "FROM marts.unmapped_customers ORDER BY 1"
        ).fetchall()
    assert rows and all(code for _, code, _, _ in rows)
    for number, code, finding, reason in rows:
        assert code == (finding or code) and number not in code
        if code == "no-match":
            assert reason.startswith("no company has this customer number")


def test_make_docs_generate_builds_dbts_docs_against_the_warehouse(built, tmp_path):
    import json
    import subprocess

    warehouse, _ = built
    docs = tmp_path / "docs"
    made = subprocess.run(
        ["make", "docs-generate", f"WAREHOUSE={warehouse.path}", f"DOCS_DIR={docs}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    catalog = json.loads((docs / "catalog.json").read_text())
    mart = catalog["nodes"]["model.crosswalk.unmapped_customers"]
    assert "unmapped_code" in {name.lower() for name in mart["columns"]}
    manifest = json.loads((docs / "manifest.json").read_text())
    node = manifest["nodes"]["model.crosswalk.unmapped_customers"]
    assert node["columns"]["unmapped_code"]["description"]
    missing = subprocess.run(
        ["make", "docs-generate", f"WAREHOUSE={tmp_path / 'none.duckdb'}"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode != 0 and "no warehouse at" in missing.stdout
