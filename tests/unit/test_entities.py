"""Records -> validated batches: normalisation, reasons a person can act on, counts."""

import copy
import json
import random
import subprocess
import sys

import duckdb
import pytest

from crosswalk.entities import (
    Entity,
    _arrow_batch,
    _by_pandera,
    flatten,
    json_list,
    snake_case,
    validate,
)
from schemas import ENTITIES, connectwise, eautomate
from schemas.base import Field, Record, Text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("lastUpdated", "last_updated"),
        ("CustomerNumber", "customer_number"),
        ("Phone1", "phone1"),
        ("WebSite", "web_site"),
        ("_info", "info"),
        ("addressLine1", "address_line1"),
        ("send_to_connect_requested", "send_to_connect_requested"),
    ],
)
def test_snake_case(name, expected):
    assert snake_case(name) == expected


def test_flatten_joins_nested_objects_and_keeps_lists_as_json():
    record = {
        "id": 7,
        "status": {"id": 1, "name": "Active"},
        "_info": {"lastUpdated": "2026-01-01T00:00:00Z"},
        "types": [{"id": 1, "name": "Client"}],
    }
    row = flatten(record)
    assert row == {
        "id": 7,
        "status__id": 1,
        "status__name": "Active",
        "info__last_updated": "2026-01-01T00:00:00Z",
        "types": '[{"id":1,"name":"Client"}]',
    }


def test_lists_land_as_compact_json_text_with_sorted_keys_whatever_writes_it():
    """orjson writes them; what it refuses, json writes the same way."""
    assert json_list([{"b": 2.5, "a": "é\n"}, None, True]) == '[{"a":"é\\n","b":2.5},null,true]'
    assert json_list([10**20, {"z": 1, "y": [0.1]}]) == '[100000000000000000000,{"y":[0.1],"z":1}]'
    assert json_list(["\ud800"]) == json.dumps(["\ud800"], ensure_ascii=False)
    assert json_list([]) == "[]" and json_list(None) is None


def company(id_, name="Acme", stamp="2026-01-01T10:00:00Z", **extra):
    return {
        "id": id_,
        "identifier": f"C{id_}",
        "name": name,
        "_info": {"lastUpdated": stamp},
        **extra,
    }


def test_bad_rows_are_rejected_with_reasons_and_the_rest_land():
    records = [
        company(1),
        company(None),
        company(3, name="N" * 51, stamp="yesterday"),
        company(4, deletedFlag="perhaps"),
    ]
    checked = validate(connectwise.companies, records, sources=["a#1", "a#2", "a#3", "a#4"])
    assert checked.table.column("id").to_pylist() == [1]
    assert checked.table.num_rows + len(checked.rejected) == len(records)
    by_source = {r.source: r for r in checked.rejected}
    assert by_source["a#2"].reason == "id: required, got null"
    assert by_source["a#2"].key is None
    assert by_source["a#2"].record == records[1]  # the record as read, for the operator
    assert by_source["a#3"].key == "3"
    assert "info__last_updated: 'yesterday' is not a valid date-time" in by_source["a#3"].reason
    assert "name: 'NNNN" in by_source["a#3"].reason
    assert "longer than 50 characters" in by_source["a#3"].reason
    assert by_source["a#4"].reason.startswith("deleted_flag: 'perhaps'")


def test_a_text_field_with_no_text_among_the_rows_in_doubt_is_rejected_not_raised():
    """The rows in doubt go to pandera alone: when none of them holds text where a text
    column is (a name sent as an object beside one sent as null), each is rejected with
    its reason instead of the whole page failing."""
    records = [company(1), company(2, name={"first": "Bad"}), company(3, name=None)]
    checked = validate(connectwise.companies, records)
    assert checked.table.column("id").to_pylist() == [1]
    reasons = {r.key: r.reason for r in checked.rejected}
    assert reasons["2"] == "name: an object where a single value belongs"
    assert reasons["3"] == "name: required, got null"


def test_a_row_in_doubt_rejected_for_one_field_while_another_would_be_coerced():
    """A city sent as true (pandera makes it the text "True") on a row rejected for its
    date-time: the row is rejected with its reason, the others land."""
    records = [company(1), company(2, stamp="yesterday", city=True)]
    checked = validate(connectwise.companies, records)
    assert checked.table.column("id").to_pylist() == [1]
    [rejected] = checked.rejected
    assert rejected.reason == "info__last_updated: 'yesterday' is not a valid date-time"


def test_omitted_optional_fields_land_as_null_and_types_are_coerced():
    checked = validate(connectwise.companies, [company(1, deletedFlag=True)])
    row = checked.table.to_pylist()[0]
    assert row["zip"] is None and row["deleted_flag"] is True
    assert checked.table.schema == connectwise.companies.arrow_schema


def test_duplicate_keys_in_a_page_keep_the_last_read():
    checked = validate(
        connectwise.companies, [company(1, name="old"), company(1, name="new", stamp="2026-01-02")]
    )
    assert checked.table.column("name").to_pylist() == ["new"]


def test_cursor_is_the_latest_valid_value():
    records = [company(1, stamp="2026-01-03T00:00:00Z"), company(2, stamp="2026-01-05T00:00:00Z")]
    assert validate(connectwise.companies, records).cursor == "2026-01-05T00:00:00+00:00"


def test_empty_customer_number_is_reported_as_empty():
    record = {"CustomerNumber": "", "CustomerName": "X", "LastUpdate": "2026-01-01T00:00:00"}
    (rejected,) = validate(eautomate.customers, [record]).rejected
    assert rejected.reason == "customer_number: required, got an empty value"


def test_every_declared_entity_has_its_key_and_cursor_in_its_model():
    for name, entity in ENTITIES.items():
        columns = set(entity.schema.columns)
        assert set(entity.primary_key) <= columns, name
        assert entity.cursor is None or entity.cursor in columns, name
        assert not any(entity.schema.columns[k].nullable for k in entity.primary_key), name


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_the_arrow_path_reads_each_declaration_as_the_pandera_model_does(name):
    """The columns, their order, nullability and checks the Arrow path reads from a
    declaration are the ones pandera builds from it."""
    entity = ENTITIES[name]
    pandera = entity.schema.columns
    assert list(entity.columns) == list(pandera) == entity.arrow_schema.names
    for column in entity.columns.values():
        declared = pandera[column.name]
        assert column.nullable == declared.nullable, column.name
        assert [(c.name, c.statistics) for c in column.checks] == [
            (c.name, c.statistics) for c in declared.checks
        ], column.name


def test_a_model_configured_with_a_rule_across_rows_is_refused_by_name():
    """The Arrow path checks values one row at a time: a rule it would not apply (unique
    rows, a check of the whole frame) is refused where the model is declared."""

    class Pairs(Record):
        left: Text = Field(nullable=False)

        class Config:
            unique = ("left",)

    with pytest.raises(TypeError, match=r"Pairs.Config: only \['coerce', 'strict'\] are read"):
        _ = Entity("test", "pairs", Pairs, ("left",)).columns


def test_a_run_reads_its_first_page_without_pandas_or_pandera():
    """What a run imports before its first request (the models, the pipeline, every flow)
    holds neither; validating a page whose rows Arrow vouches for does not bring pandera
    (pyarrow brings pandas when it first makes an array of Python values); a doubtful row
    does."""
    script = """
import sys
import crosswalk.pipeline, schemas
import flows.customer_sync.flow, flows.agreement_sync.flow, flows.service_sync.flow
import flows.sales_order_sync.flow, flows.charge_import.flow
print(sorted({"pandas", "pandera"} & set(sys.modules)))
from crosswalk.entities import validate
from schemas import connectwise
stamp = {"lastUpdated": "2026-01-01T10:00:00Z"}
page = [{"id": 1, "identifier": "C1", "name": "A", "_info": stamp}]
assert validate(connectwise.companies, page).table.num_rows == 1
print("pandera" in sys.modules)
page[0]["name"] = "N" * 51
assert validate(connectwise.companies, page).rejected
print("pandera" in sys.modules)
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[:3] == ["[]", "False", "True"]


def test_a_child_entity_holds_its_parent_entity_of_the_same_system():
    assert connectwise.sites.parent is connectwise.companies
    assert connectwise.additions.parent is connectwise.agreements
    for name, entity in ENTITIES.items():
        if entity.parent is not None:
            assert ENTITIES[str(entity.parent)] is entity.parent, name
            assert entity.parent.system == entity.system, name


ODD_VALUES = [
    None, "", "x" * 300, "Active", 0, -1, 7, 1.5, 0.285, 1e16, 10**20, True, "12.50",
    "2026-01-01T10:00:00Z", "2026-01-01T10:00:00.5+05:30", "2026-01-01T10:00:00",
    "2026-01-01", "2026-02-30T00:00:00Z", "9999-01-01T00:00:00Z", "yesterday",
    {"id": 1}, [3, 1], [{"b": 2, "a": "é"}], "bell\x07", "tab\tand\r\nline ends", "é\x7f",
]  # fmt: skip
FLAG_VALUES = [None, True, False, "perhaps", {"id": 1}]


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_the_arrow_path_lands_and_rejects_exactly_as_the_pandera_model(name):
    """Every declared column given every kind of odd value, one record each, beside the
    fixture records: the same rows land with the same values, the same rows are rejected
    with the same reasons."""
    entity = ENTITIES[name]

    def key(column: str, i: int):
        if entity.arrow_schema.field(column).type == "int64":
            return i + 1
        (length,) = [
            c.statistics.get("exact_value") for c in entity.schema.columns[column].checks
        ] or [None]
        return f"{i + 1}".zfill(length or 1)

    base = {column: None for column in entity.schema.columns}
    if entity.cursor:
        base[entity.cursor] = "2026-01-01T00:00:00Z"
    cases = [
        (column, value)
        for column in entity.schema.columns
        # pandera cannot coerce the accepted rows of a flag column that also held 1 beside
        # text (it raises, on main too): flags get the other odd values.
        for value in (
            FLAG_VALUES if entity.arrow_schema.field(column).type == "bool" else ODD_VALUES
        )
    ]
    records = [
        {**base, **{k: key(k, i) for k in entity.primary_key}, column: value}
        for i, (column, value) in enumerate(cases)
    ]
    records += [
        {**r, **{k: key(k, len(cases) + i) for k in entity.primary_key}}
        for i, r in enumerate([base] * 3)
    ]
    fast, slow = validate(entity, records), _by_pandera(entity, records, None)
    assert fast.table.equals(slow.table)
    assert fast.rejected == slow.rejected
    assert fast.cursor == slow.cursor
    assert fast.rejected
    assert _arrow_batch(entity, records) is not None  # the batch took the Arrow path


@pytest.mark.parametrize(
    "stamps",
    [
        ["2026-01-01T10:00:00Z", "2026-07-01T10:00:00.25-04:00", None],
        ["2026-01-01T10:00:00Z", "9999-01-01T00:00:00Z"],  # beyond pandas' range
        ["2026-01-01T10:00:00Z", "2026-02-30T00:00:00Z"],  # no such day
    ],
)
def test_date_times_that_all_carry_their_offset_land_and_reject_as_the_pandera_model(stamps):
    records = [company(i + 1, stamp=stamp) for i, stamp in enumerate(stamps)]
    fast = validate(connectwise.companies, records)
    slow = _by_pandera(connectwise.companies, records, None)
    assert fast.table.equals(slow.table) and fast.rejected == slow.rejected
    assert fast.table.num_rows + len(fast.rejected) == len(records)


def test_nested_objects_lists_and_missing_fields_flatten_as_flatten_does():
    records = [
        company(1, status={"id": 1, "name": "Active"}, types=[{"name": "B"}, {"id": 2}]),
        company(2, status=None, types=None),
        company(3, status="Active"),  # a value where others hold an object
        {**company(4), "_info": None},
    ]
    fast = validate(connectwise.companies, records)
    slow = _by_pandera(connectwise.companies, records, None)
    assert fast.table.equals(slow.table) and fast.rejected == slow.rejected
    assert fast.table.column("types").to_pylist()[:2] == [
        '[{"name":"B"},{"id":2}]',
        None,
    ]


@pytest.mark.parametrize("second", ["Status", "status__name"])
def test_two_keys_that_make_one_column_land_as_flatten_lands_them(second):
    """``status`` and ``Status`` (or ``status__name``) both make ``status__name``: the
    batch is left to pandera, whose flatten keeps the key written last in the record."""
    later = {"name": "Held"} if second == "Status" else "Held"
    records = [
        company(1, status={"name": "Active"}, **{second: later}),
        company(2, status={"name": "Active"}),
    ]
    fast = validate(connectwise.companies, records)
    assert fast.table.column("status__name").to_pylist() == ["Held", "Active"]
    slow = _by_pandera(connectwise.companies, records, None)
    assert fast.table.equals(slow.table) and fast.rejected == slow.rejected


@pytest.fixture(scope="module")
def world_records(small_world) -> dict[str, list[dict]]:
    """Up to 12 records of each declared entity the small world holds, as served."""
    found = {}
    with duckdb.connect(str(small_world), read_only=True) as con:
        tables = set(
            con.execute(
                "SELECT schema_name, table_name FROM duckdb_columns() WHERE column_name = 'doc'"
            ).fetchall()
        )
        for name, entity in ENTITIES.items():
            table = (entity.system, entity.resource or entity.name)
            if table in tables:
                rows = con.execute(f"SELECT doc FROM {'.'.join(table)} ORDER BY rowid LIMIT 12")
                found[name] = [json.loads(doc) for (doc,) in rows.fetchall()]
    return found


def test_records_with_odd_values_anywhere_are_rejected_with_reasons_never_fail_a_page(
    world_records,
):
    """Each entity's records from the world, one to four fields or fields of nested
    objects replaced by ``ODD_VALUES``, four times: validation lands or rejects each row
    with a reason, never raising for the page (it did, for a name sent as an object
    beside one sent as null, and for a row rejected while another of its values would
    have been coerced)."""
    odd = random.Random(18)
    assert len(world_records) >= 20
    for name, records in world_records.items():
        fields = sorted({key for record in records for key in record})
        for _ in range(4):
            batch = copy.deepcopy(records)
            for _ in range(odd.randint(1, 4)):
                record = odd.choice(batch)
                key = odd.choice(fields)
                inner = record.get(key)
                if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                    inner = inner[0]
                if isinstance(inner, dict) and inner and odd.random() < 0.6:
                    inner[odd.choice(sorted(inner))] = odd.choice(ODD_VALUES)
                else:
                    record[key] = odd.choice(ODD_VALUES)
            checked = validate(ENTITIES[name], batch)
            assert checked.table.num_rows + len(checked.rejected) <= len(batch), name
            assert all(rejected.reason for rejected in checked.rejected), name
