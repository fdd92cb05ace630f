"""ConnectWise conditions, childConditions, customFieldConditions and orderBy compiled to
DuckDB SQL: which records each filter selects, in which order, and how bad input fails."""

import json
import random
from datetime import datetime

import duckdb
import pytest

from emulators.connectwise.conditions import (
    ConditionError,
    FieldResolver,
    Sql,
    compile_child_conditions,
    compile_conditions,
    compile_custom_field_conditions,
    compile_order_by,
)

RECORDS = [
    {
        "id": 1,
        "summary": "Printer offline",
        "recordType": "ServiceTicket",
        "company": {"id": 3, "identifier": "C1", "name": "Acme"},
        "board": {"id": 1, "name": "Help Desk"},
        "status": {"id": 1, "name": "New"},
        "closedFlag": False,
        "actualHours": 1.5,
        "types": [{"id": 1, "name": "Client"}],
        "integratorTags": ["vip", "east"],
        "customFields": [
            {"id": 4, "caption": "Contract Ref", "type": "Text", "entryMethod": "EntryField",
             "numberOfDecimals": 0, "value": "X1"},
        ],
        "_info": {"lastUpdated": "2024-05-01T10:00:00Z", "updatedBy": "admin1",
                  "dateEntered": "2024-04-01T08:00:00Z", "enteredBy": "admin1"},
    },
    {
        "id": 2,
        "summary": 'Toner for O"Brien & Sons',
        "recordType": "ServiceTicket",
        "company": {"id": 4, "identifier": "OBrien", "name": 'O"Brien & Sons'},
        "board": {"id": 2, "name": "Field Service"},
        "status": {"id": 2, "name": "Open"},
        "closedFlag": True,
        "actualHours": 0,
        "types": [{"id": 2, "name": "Vendor"}, {"id": 4, "name": "Prospect"}],
        "customFields": [
            {"id": 4, "caption": "Contract Ref", "type": "Text", "entryMethod": "EntryField",
             "numberOfDecimals": 0},
            {"id": 5, "caption": "Seats", "type": "Number", "entryMethod": "EntryField",
             "numberOfDecimals": 0, "value": 12},
        ],
        "_info": {"lastUpdated": "2024-05-02T12:30:00Z", "updatedBy": "admin2"},
    },
    {
        "id": 3,
        "summary": "Café setup for naïve user",
        "recordType": "ProjectTicket",
        "company": {"id": 5, "identifier": "Cafe", "name": "Café Ünïcode"},
        "board": {"id": 1, "name": "Help Desk"},
        "status": {"id": 3, "name": ">Closed"},
        "closedFlag": True,
        "actualHours": 2.25,
        "contact": {"id": 7, "name": "Émile"},
        "customFields": [
            {"id": 5, "caption": "Seats", "type": "Number", "entryMethod": "EntryField",
             "numberOfDecimals": 0, "value": "7"},
        ],
        "_info": {"lastUpdated": "2024-06-15T00:00:00Z", "updatedBy": "admin1"},
    },
    {
        "id": 4,
        "summary": "x' or 1=1 --",
        "recordType": "ServiceTicket",
        "company": {"id": 3, "identifier": "C1", "name": "Acme"},
        "status": {"id": 1, "name": "New"},
        "closedFlag": False,
        "actualHours": "n/a",
        "contact": {"id": 8, "name": "bob"},
        "_info": {"lastUpdated": "2023-12-31T23:59:59Z", "updatedBy": "integration"},
    },
    {
        "id": 5,
        "summary": '"; DROP TABLE tickets; --',
        "recordType": "ServiceTicket",
        "status": None,
        "closedFlag": False,
        "contact": {"id": 9, "name": "Alice"},
        "_info": {"lastUpdated": "2024-05-01T10:00:00.500Z"},
    },
    {
        "id": 6,
        "summary": "100% [done] under_score",
        "recordType": "ServiceTicket",
        "company": {"id": 6, "identifier": "Pct", "name": "Percent_Co"},
        "board": {"id": 2, "name": "Field Service"},
        "status": {"id": 2, "name": "Open"},
        "closedFlag": False,
        "actualHours": 10,
        "types": [{"id": 1, "name": "Client"}, {"id": 2, "name": "Vendor"}],
        "_info": {"lastUpdated": "2024-07-01T00:00:00Z"},
    },
    {
        "id": 7,
        "summary": "line one\nline two",
        "recordType": "ServiceTicket",
        "company": {"id": 7, "identifier": "NL", "name": "New\nLine Ltd"},
        "closedFlag": False,
        "actualHours": 0.5,
        "_info": {"lastUpdated": "2024-05-01T09:59:59Z"},
    },
    {
        "id": 8,
        "summary": "UPPER lower MiXeD",
        "recordType": "ServiceTicket",
        "company": {"id": 8, "identifier": "case", "name": "ACME"},
        "contact": {"id": 10, "name": "Zed"},
        "closedFlag": False,
        "actualHours": 3,
        "communicationItems": [
            {"type": {"id": 1, "name": "Email"}, "value": "zed@example.com",
             "communicationType": "Email"},
            {"type": {"id": 2, "name": "Direct"}, "value": "555-0100",
             "communicationType": "Phone"},
        ],
        "_info": {"lastUpdated": "2024-05-03T00:00:00Z"},
    },
    {
        "id": 9,
        "summary": "Time entry",
        "chargeToType": "ServiceTicket",
        "chargeToId": 1,
        "dateEntered": "2024-01-01T00:00:00Z",
        "enteredBy": "tech9",
        "actualHours": "42",
        "_info": {"lastUpdated": "2024-05-04T00:00:00Z", "dateEntered": "2024-02-02T00:00:00Z",
                  "enteredBy": "admin"},
    },
    {
        "id": 10,
        "summary": "Globex (Holdings) merger )",
        "company": {"id": 10, "identifier": "Globex", "name": "Globex (Holdings)"},
        "closedFlag": True,
        "actualHours": -3,
        "communicationItems": [
            {"value": "x@other.org", "communicationType": "Email"},
            {"value": "zed@example.com", "communicationType": "Phone"},
        ],
        "_info": {"lastUpdated": "2024-05-05T00:00:00Z"},
    },
    {
        "id": 11,
        "summary": "[literal] bracket a*b",
        "company": {"id": 11, "identifier": "Star", "name": "Star*Co"},
        "closedFlag": False,
        "actualHours": 1000.0,
        "_info": {"lastUpdated": "2024-05-06T00:00:00Z"},
    },
    {"id": 12},
]  # fmt: skip
ALL = [record["id"] for record in RECORDS]


def _keys(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            _keys(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys(item, found)
    return found


KEYS = _keys(RECORDS, set())
COLUMNS = {
    "id": ("id", "BIGINT"),
    "lastupdated": ("last_updated", "TIMESTAMP"),
    "_info/lastupdated": ("last_updated", "TIMESTAMP"),
}
WITH_COLUMNS = FieldResolver(COLUMNS, KEYS)
JSON_ONLY = FieldResolver({}, KEYS)
STRICT = FieldResolver(COLUMNS, KEYS, strict=True)


@pytest.fixture(scope="module")
def db():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (id BIGINT, last_updated TIMESTAMP, doc VARCHAR)")
    for record in RECORDS:
        stamp = record.get("_info", {}).get("lastUpdated")
        con.execute(
            "INSERT INTO t VALUES (?, TRY_CAST(? AS TIMESTAMP), ?)",
            [record["id"], stamp, json.dumps(record)],
        )
    yield con
    con.close()


def select(db, sql: Sql) -> list[int]:
    rows = db.execute(f"SELECT id FROM t WHERE {sql.text} ORDER BY id", sql.params).fetchall()
    return [row[0] for row in rows]


def ordered(db, order: str) -> list[int]:
    return [row[0] for row in db.execute(f"SELECT id FROM t ORDER BY {order}").fetchall()]


def but(*ids: int) -> list[int]:
    return [i for i in ALL if i not in ids]


CONDITIONS = [
    # comparison operators on a materialized BIGINT column
    ("id = 3", [3]),
    ("id != 3", but(3)),
    ("id <> 3", but(3)),
    ("id < 3", [1, 2]),
    ("id <= 3", [1, 2, 3]),
    ("id > 10", [11, 12]),
    ("id >= 10", [10, 11, 12]),
    ("id > -1", ALL),
    ('id = "5"', [5]),
    ("id = 5.0", [5]),
    ("id = 2.5", []),
    ('id > "abc"', []),
    ('id like "1%"', [1, 10, 11, 12]),
    ('id contains "2"', [2, 12]),
    # strings: quoting, escapes, case-insensitive values, accents significant
    ('summary = "Printer offline"', [1]),
    ('summary = "printer OFFLINE"', [1]),
    ("summary = 'Printer offline'", [1]),
    ('summary = ""', []),
    (r'company/name = "O\"Brien & Sons"', [2]),
    ('company/name = "O""Brien & Sons"', [2]),
    ("company/name = 'O\"Brien & Sons'", [2]),
    (r"summary = 'x\' or 1=1 --'", [4]),
    ("summary = 'x'' or 1=1 --'", [4]),
    ('summary = "x\' or 1=1 --"', [4]),
    (r'summary = "\"; DROP TABLE tickets; --"', [5]),
    ('company/name = "x\' or 1=1 --"', []),
    ('company/name = "café ünïcode"', [3]),
    ('company/name = "Cafe Unicode"', []),
    ('company/name = "Globex (Holdings)"', [10]),
    ('company/name = "New\nLine Ltd"', [7]),
    ('company/name = "acme"', [1, 4, 8]),
    ('company/name != "acme"', [2, 3, 6, 7, 10, 11]),
    ('summary >= "u"', [4, 8]),
    ('summary < "b"', [5, 6, 11]),
    ('contact/name = "ÉMILE"', [3]),
    # names: nesting, any case
    ("company/id = 3", [1, 4]),
    ("Company/ID = 3", [1, 4]),
    ("COMPANY/Identifier = 'c1'", [1, 4]),
    ('company/id = "3"', [1, 4]),
    ("company/id = +3", [1, 4]),
    ('_info/updatedBy = "integration"', [4]),
    ('updatedBy = "ADMIN1"', [1, 3]),
    # numbers: the literal decides; stored strings cast, non-numbers never match
    ("actualHours = 1.5", [1]),
    ("actualHours > 1", [1, 3, 6, 8, 9, 11]),
    ("actualHours < 0", [10]),
    ("actualHours = -3", [10]),
    ("actualHours = 42", [9]),
    ("actualHours = 0", [2]),
    ("actualHours >= 0 and actualHours <= 1", [2, 7]),
    ("actualHours != 0", [1, 3, 6, 7, 8, 9, 10, 11]),
    ("actualHours > .4 and actualHours < .6", [7]),
    ("actualHours in (0, 3, 1000)", [2, 8, 11]),
    ("summary = 5", []),
    # objects compare with nothing but null
    ("company = 3", []),
    ('company contains "acme"', []),
    ('company like "%"', []),
    ("company != null", [1, 2, 3, 4, 6, 7, 8, 10, 11]),
    # booleans
    ("closedFlag = true", [2, 3, 10]),
    ("closedFlag = false", [1, 4, 5, 6, 7, 8, 11]),
    ("ClosedFlag = FALSE", [1, 4, 5, 6, 7, 8, 11]),
    ("closedFlag != True", [1, 4, 5, 6, 7, 8, 11]),
    # null: absent or JSON null
    ("closedFlag = null", [9, 12]),
    ("board = NULL", [4, 5, 7, 8, 9, 10, 11, 12]),
    ("board != null", [1, 2, 3, 6]),
    ("status = null", [5, 7, 8, 9, 10, 11, 12]),
    ("status/name = null", [5, 7, 8, 9, 10, 11, 12]),
    ("status/name != null", [1, 2, 3, 4, 6]),
    ("id = null", []),
    ("lastUpdated = null", [12]),
    ("noSuchField = null", ALL),
    ("noSuchField = 1", []),
    ('noSuchField != "x"', []),
    # date-times: Z, naive, fractional, offsets, date-only, both _info spellings
    ("lastUpdated > [2024-05-03T00:00:00Z]", [3, 6, 9, 10, 11]),
    ("lastUpdated >= [2024-05-03T00:00:00Z]", [3, 6, 8, 9, 10, 11]),
    ("lastUpdated = [2024-05-01T10:00:00Z]", [1]),
    ("lastUpdated > [2024-05-01T10:00:00]", [2, 3, 5, 6, 8, 9, 10, 11]),
    ("lastUpdated > [2024-05-01T10:00:00.250Z]", [2, 3, 5, 6, 8, 9, 10, 11]),
    ("lastUpdated > [2024-05-01T10:00:00.750Z]", [2, 3, 6, 8, 9, 10, 11]),
    ("lastUpdated = [2024-05-01T10:00:00.5]", [5]),
    ("lastUpdated > [2024-05-01T12:00:00+02:00]", [2, 3, 5, 6, 8, 9, 10, 11]),
    ("lastUpdated < [2024-05-01 09:00:00-01:00]", [4, 7]),
    ("lastUpdated < [2024-05-01]", [4]),
    ("lastUpdated < [2024-05-02]", [1, 4, 5, 7]),
    ("_info/lastUpdated >= [2024-06-01]", [3, 6]),
    ("_Info/LASTUPDATED >= [ 2024-06-01 ]", [3, 6]),
    ('lastUpdated > "2024-06-01T00:00:00Z"', [3, 6]),
    ('lastUpdated like "2024-07%"', [6]),
    ('lastUpdated like "%T00:00:00Z"', [3, 6, 8, 9, 10, 11]),
    ("lastUpdated = 5", []),
    ("id = [2024-01-01]", []),
    ("dateEntered < [2024-01-15]", [9]),  # time entries: the top-level key wins
    ("dateEntered > [2024-03-01]", [1]),
    ("_info/dateEntered < [2024-03-01]", [9]),
    ("_info/dateEntered > [2024-03-01]", [1]),
    ('enteredBy = "tech9"', [9]),
    ('_info/enteredBy = "admin"', [9]),
    ('enteredBy = "admin1"', [1]),
    # contains: a plain substring, wildcards literal
    ('summary contains "printer"', [1]),
    ('summary contains "%"', [6]),
    ('summary contains "_"', [6]),
    ('summary contains "["', [6, 11]),
    ('summary contains ")"', [10]),
    ('summary contains "\'"', [4]),
    (r'summary contains "\""', [2, 5]),
    ("summary contains 100", [6]),
    ('company/name contains "CAF"', [3]),
    ('company/name contains "é ü"', [3]),
    ('summary not contains "e"', [4]),
    ('summary NOT CONTAINS "E"', [4]),
    # like: % * _ and [...] sets, whole-value match
    ('summary like "printer%"', [1]),
    ('summary like "PRINTER*"', [1]),
    ('summary like "%setup%"', [3]),
    ('summary like "printer"', []),
    ('summary like "Printer offlin_"', [1]),
    ('summary like "100[%]%"', [6]),
    ('summary like "100%"', [6]),
    ('summary like "%[[]done]%"', [6]),
    ('summary like "[[]literal]%"', [11]),
    ('summary like "[literal%"', [11]),
    ('summary like "%under[_]score"', [6]),
    ('summary like "%under_score"', [6]),
    ('summary like "%a[*]b"', [11]),
    ('summary like "%a*b"', [11]),
    ('summary like "[a-c]%"', [3]),
    ('summary like "[^a-z]%"', [5, 6, 11]),
    ('summary like "line one_line two"', [7]),
    ('summary like "%"', but(12)),
    ('summary like "x\' or 1=1 --"', [4]),
    (r'company/name like "O\"Brien%"', [2]),
    ('company/name like "%(holdings)"', [10]),
    ('summary not like "%e%"', [4]),
    ('summary Not Like "%E%"', [4]),
    # in / not in
    ('status/name in ("New","Open")', [1, 2, 4, 6]),
    ("status/name in ('new', 'OPEN')", [1, 2, 4, 6]),
    ('status/name not in ("New","Open")', [3]),
    ("board/id in (1)", [1, 3]),
    ('company/id in (3, "4")', [1, 2, 4]),
    ('status/name in ("New", null)', [1, 4, 5, 7, 8, 9, 10, 11, 12]),
    ('status/name not in ("New", null)', [2, 3, 6]),
    ("id IN (1,2)", [1, 2]),
    ("id not in (1, 2) and id < 5", [3, 4]),
    ("id in (1, 2.5, 3)", [1, 3]),
    # precedence, parentheses, keyword case, whitespace
    ("id = 1 or id = 2 and closedFlag = false", [1]),
    ("id = 1 or id = 2 and closedFlag = true", [1, 2]),
    ("(id = 1 or id = 2) and closedFlag = true", [2]),
    ("(id = 1 or id = 2) and closedFlag = false", [1]),
    ("id = 1 OR id = 2 AND closedFlag = FALSE", [1]),
    ("closedFlag = false and id = 1 or id = 2", [1, 2]),
    ("closedFlag = false and (id = 1 or id = 2)", [1]),
    ("((id = 1) or ((id = 3)))", [1, 3]),
    ("id<3 And(id>1 Or id=3)", [2]),
    (
        '(board/name = "Help Desk" and closedFlag = false) and '
        'lastUpdated > [2024-04-01T00:00:00Z] or summary contains "entry"',
        [1, 9],
    ),
    ('company/identifier="C1"', [1, 4]),
    ("id>10", [11, 12]),
    ("  id  =  1  ", [1]),
    ('summary="Printer offline"and id=1', [1]),
    ("id = 1\nor\tid = 2", [1, 2]),
    ("", ALL),
    ("   ", ALL),
]


@pytest.mark.parametrize("resolver", [WITH_COLUMNS, JSON_ONLY], ids=["columns", "json"])
@pytest.mark.parametrize(("conditions", "expected"), CONDITIONS)
def test_conditions_select(db, resolver, conditions, expected):
    assert select(db, compile_conditions(conditions, resolver)) == expected


@pytest.mark.parametrize(
    "conditions",
    [
        "lastUpdated > [2024-05-01T00:00:00Z]",
        "_info/lastUpdated > [2024-05-01T00:00:00Z]",
        "LastUpdated>[2024-05-01T00:00:00Z]",
    ],
)
def test_last_updated_uses_the_column(conditions):
    sql = compile_conditions(conditions, WITH_COLUMNS)
    assert sql.text == '("last_updated" > CAST(? AS TIMESTAMP))'
    assert sql.params == (datetime(2024, 5, 1),)


def test_json_fields_are_read_from_doc():
    sql = compile_conditions("Board/Id = 1 and closedflag = false", WITH_COLUMNS)
    assert '\'$."board"."id"\'' in sql.text
    assert "'$.\"closedFlag\"'" in sql.text
    assert sql.params == (1.0, False)


@pytest.mark.parametrize(
    "value",
    ['O"Brien & Sons', "x' or 1=1 --", '"; DROP TABLE t; --', "a) or (1=1", "100%", "a_b",
     "[x]", "line\nbreak", "Café Ünïcode", "\\", "' OR ''='", "?"],
)  # fmt: skip
def test_values_never_reach_sql_text(db, value):
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    for conditions in (
        f'company/name = "{escaped}"',
        f'summary contains "{escaped}"',
        f'summary like "{escaped}"',
        f'company/name in ("{escaped}", "{escaped}")',
    ):
        sql = compile_conditions(conditions, WITH_COLUMNS)
        if value not in ("?", "\\"):
            assert value not in sql.text
        assert sql.text.count("?") == len(sql.params)
        expected = [r["id"] for r in RECORDS if r.get("company", {}).get("name") == value]
        if conditions.startswith("company/name"):
            assert select(db, sql) == expected


CHILD_CONDITIONS = [
    ("types/id = 4", [2]),
    ("types/id = 1", [1, 6]),
    ('Types/Name = "vendor"', [2, 6]),
    ('types/id = 1 and types/name = "Vendor"', []),  # one element must satisfy the whole
    ('types/id = 2 and types/name = "Vendor"', [2, 6]),
    ("types/id = 1 or types/id = 4", [1, 2, 6]),
    ("types/id in (2, 4)", [2, 6]),
    ("types/id != 1", [2, 6]),
    ("types/id not in (1, 2)", [2]),
    (
        'communicationItems/value like "%@example.com" and '
        'communicationItems/communicationType = "Email"',
        [8],
    ),
    ('communicationItems/value like "%@example.com"', [8, 10]),
    ('communicationItems/type/name = "email"', [8]),
    ('communicationItems/type = null and communicationItems/value contains "@"', [10]),
    ('integratorTags = "VIP"', [1]),
    ("(types/id = 1)", [1, 6]),
    ("noSuchArray/id = 1", []),
    ("", ALL),
]


@pytest.mark.parametrize(("conditions", "expected"), CHILD_CONDITIONS)
def test_child_conditions_select(db, conditions, expected):
    assert select(db, compile_child_conditions(conditions, WITH_COLUMNS)) == expected


CUSTOM_FIELD_CONDITIONS = [
    ('caption = "Contract Ref" and value != null', [1]),
    ('caption = "Contract Ref"', [1, 2]),
    ('caption = "contract ref" and value = null', [2]),
    ('caption = "Seats" and value > 10', [2]),
    ('caption = "Seats" and value >= 7', [2, 3]),
    ('caption = "Seats" and value = "12"', [2]),
    ('value = "x1"', [1]),
    ("id = 5", [2, 3]),
    ('Caption like "contract%" and Type = "Text"', [1, 2]),
    ("entryMethod = 'EntryField' and numberOfDecimals = 0 and value = 7", [3]),
    ('caption = "Seats" or value = "X1"', [1, 2, 3]),
    ('caption = "Contract Ref" and caption = "Seats"', []),
]


@pytest.mark.parametrize(("conditions", "expected"), CUSTOM_FIELD_CONDITIONS)
def test_custom_field_conditions_select(db, conditions, expected):
    assert select(db, compile_custom_field_conditions(conditions)) == expected


def test_all_three_parameters_combine(db):
    parts = [
        compile_conditions("closedFlag = true", WITH_COLUMNS),
        compile_child_conditions("types/id = 4", WITH_COLUMNS),
        compile_custom_field_conditions('caption = "Seats"'),
    ]
    combined = Sql(" AND ".join(p.text for p in parts), sum((p.params for p in parts), ()))
    assert select(db, combined) == [2]


ORDER_BY = [
    ("", ALL),
    ("id desc", ALL[::-1]),
    ("ID DESC", ALL[::-1]),
    ("actualHours asc", [5, 12, 9, 4, 10, 2, 7, 1, 3, 8, 6, 11]),
    ("actualHours desc", [11, 6, 8, 3, 1, 7, 2, 10, 4, 9, 5, 12]),
    ("company/name", [5, 9, 12, 1, 4, 8, 3, 10, 7, 2, 6, 11]),
    ("Company/Name Asc", [5, 9, 12, 1, 4, 8, 3, 10, 7, 2, 6, 11]),
    ("company/name desc, id desc", [11, 6, 2, 7, 10, 3, 8, 4, 1, 12, 9, 5]),
    ("_info/lastUpdated desc", [6, 3, 11, 10, 9, 8, 2, 5, 1, 7, 4, 12]),
    ("lastUpdated asc", [12, 4, 7, 1, 5, 2, 8, 9, 10, 11, 3, 6]),
    ("contact/name asc", [1, 2, 6, 7, 9, 10, 11, 12, 5, 4, 8, 3]),
    ("closedFlag desc,id asc", [2, 3, 10, 1, 4, 5, 6, 7, 8, 11, 9, 12]),
    ("board/id desc, company/id asc", [2, 6, 1, 3, 5, 9, 12, 4, 7, 8, 10, 11]),
]


@pytest.mark.parametrize(("order_by", "expected"), ORDER_BY)
def test_order_by(db, order_by, expected):
    assert ordered(db, compile_order_by(order_by, WITH_COLUMNS)) == expected


def test_order_by_appends_id_even_when_strict_resolution_does_not_know_it(db):
    strict_without_catalog = FieldResolver({}, (), strict=True)
    assert ordered(db, compile_order_by("", strict_without_catalog)) == ALL


def test_order_by_appends_id_once():
    assert compile_order_by("company/name", WITH_COLUMNS).endswith(', "id" ASC NULLS FIRST')
    assert compile_order_by("id desc", WITH_COLUMNS) == '"id" DESC NULLS LAST'
    assert compile_order_by("", WITH_COLUMNS) == '"id" ASC NULLS FIRST'
    json_order = compile_order_by("lastUpdated desc", JSON_ONLY)
    assert json_order.endswith(", lower(json_value(doc, '$.\"id\"') ->> '$') ASC NULLS FIRST")


ERRORS = [
    ('identifier = and name = "x"', "expected a value after '='", 14, "'and name = \"x\"'"),
    ("id = 1 and", "expected a field name or '('", 11, "end"),
    ("(id = 1", "closing the '(' from position 1", 8, "end"),
    ("id = 1)", "unbalanced ')'", 7, "')'"),
    ("id == 1", "expected a value after '='", 5, "'= 1'"),
    ('id = "abc', "unterminated string", 6, "'\"abc'"),
    ("lastUpdated > [2024-13-01]", "invalid date-time", 15, "'[2024-13-01]'"),
    ("lastUpdated > [yesterday]", "invalid date-time", 15, "'[yesterday]'"),
    ("lastUpdated > [2024-05-01", "unclosed '['", 15, "'[2024-05-01'"),
    ("id 1", "expected an operator", 4, "'1'"),
    ("id not = 1", "expected contains, like or in after 'not'", 8, "'= 1'"),
    ("id in 1", "expected '(' after 'in'", 7, "'1'"),
    ("id in ()", "expected a value after '('", 8, "')'"),
    ("id in (1,)", "expected a value after ','", 10, "')'"),
    ("id in (1 2)", "expected ',' or ')' in the list", 10, "'2)'"),
    ("id > null", "null can only be compared with = or !=", 6, "'null'"),
    ("summary like true", "'like' needs a quoted text value", 14, "'true'"),
    ("summary contains [2024-01-01]", "'contains' needs a quoted text value", 18, None),
    ("id = 1 id = 2", "expected 'and', 'or' or the end", 8, "'id = 2'"),
    ("id = 12abc", "invalid number", 6, "'12abc'"),
    ("company/ = 1", "expected a field name after '/'", 9, "' = 1'"),
    ("id = 1 & id = 2", "unexpected character '&'", 8, "'& id = 2'"),
    ("id ! 1", "'!' must be followed by '='", 4, "'! 1'"),
    ("and = 1", "expected a field name or '('", 1, "'and = 1'"),
    ("id = foo", "expected a value after '='", 6, "'foo'"),
    ("id = 1 or not id = 2", "expected a field name or '('", 11, "'not id = 2'"),
    ("id = '\ud800'", "lone UTF-16 surrogate", 7, None),
    (
        "summary = 'a very long value that goes on and on' and",
        "expected a field name",
        54,
        "end",
    ),
    ("id = 1 or id = 2 or", "expected a field name", 20, "end"),
    ("name = 'abcdefghijklmnopqrstuvwxyz0123456789' x", "expected 'and', 'or'", 47, "'x'"),
    ("x = 1 and y = 'abcdefghijklmnopqrstuvwxyz0123456789'", None, None, None),
]


@pytest.mark.parametrize(("conditions", "what", "position", "snippet"), ERRORS)
def test_condition_errors_say_what_and_where(conditions, what, position, snippet):
    if what is None:  # a control: valid input compiles
        compile_conditions(conditions, WITH_COLUMNS)
        return
    with pytest.raises(ConditionError) as caught:
        compile_conditions(conditions, WITH_COLUMNS)
    message = str(caught.value)
    assert message.startswith("conditions: ")
    assert what in message
    assert f"at position {position}: " in message
    assert caught.value.position == position
    assert caught.value.param == "conditions"
    if snippet is not None:
        assert message.endswith(f"at position {position}: {snippet}")


def test_error_snippet_is_shortened():
    with pytest.raises(ConditionError) as caught:
        compile_conditions("id = 1 id = 2 and name = 'a long tail of text'", WITH_COLUMNS)
    assert str(caught.value).endswith('at position 8: "id = 2 and name = \'a lon..."')


def test_error_names_the_parameter_it_came_from():
    with pytest.raises(ConditionError, match=r"^search: expected a value"):
        compile_conditions("id =", WITH_COLUMNS, param="search")


def test_nesting_is_limited():
    fifty = "(" * 50 + "id = 1" + ")" * 50
    assert compile_conditions(fifty, WITH_COLUMNS).text == '("id" = CAST(? AS BIGINT))'
    alternating = "id = 1"
    for level in range(50):
        alternating = f"(id = {level} {'or' if level % 2 else 'and'} {alternating})"
    duckdb.connect().execute(
        f"SELECT 1 FROM (SELECT 1::BIGINT id, '{{}}' doc) WHERE "
        f"{compile_conditions(alternating, WITH_COLUMNS).text}",
        compile_conditions(alternating, WITH_COLUMNS).params,
    )
    with pytest.raises(ConditionError, match="more than 50 nested parentheses at position 51"):
        compile_conditions("(" + fifty + ")", WITH_COLUMNS)


def test_strict_fields(db):
    assert select(db, compile_conditions("lastUpdated > [2024-06-01]", STRICT)) == [3, 6]
    assert select(db, compile_conditions('_INFO/updatedby = "admin2"', STRICT)) == [2]
    assert select(db, compile_conditions("board/id = 2", STRICT)) == [2, 6]
    with pytest.raises(ConditionError) as caught:
        compile_conditions("id = 1 and company/nosuch = 1", STRICT)
    assert "unknown field 'company/nosuch'" in str(caught.value)
    assert "at position 12: 'company/nosuch = 1'" in str(caught.value)
    with pytest.raises(ConditionError, match="unknown field 'nosuch'"):
        compile_order_by("id, nosuch desc", STRICT)
    with pytest.raises(ConditionError, match="childConditions: unknown field 'nosuch/id'"):
        compile_child_conditions("nosuch/id = 1", STRICT)
    with pytest.raises(ConditionError, match="unknown field 'types/nosuch'"):
        compile_child_conditions("types/id = 1 and types/nosuch = 1", STRICT)


CHILD_ERRORS = [
    ("types/id = 1 and company/id = 3", "same array name: 'company/id' is not in 'types'", 18),
    ("types/id = ", "expected a value after '='", 12),
]


@pytest.mark.parametrize(("conditions", "what", "position"), CHILD_ERRORS)
def test_child_condition_errors(conditions, what, position):
    with pytest.raises(ConditionError) as caught:
        compile_child_conditions(conditions, WITH_COLUMNS)
    assert str(caught.value).startswith("childConditions: ")
    assert what in str(caught.value)
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("conditions", "what", "position"),
    [
        ('name = "x"', "unknown custom field property 'name'", 1),
        ('caption = "x" and customFields/caption = "x"', "property 'customFields/caption'", 19),
        ("caption = ", "expected a value", 11),
    ],
)
def test_custom_field_condition_errors(conditions, what, position):
    with pytest.raises(ConditionError) as caught:
        compile_custom_field_conditions(conditions)
    assert str(caught.value).startswith("customFieldConditions: ")
    assert what in str(caught.value)
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("order_by", "what", "position"),
    [
        ("id sideways", "unknown sort direction 'sideways' (expected asc or desc)", 4),
        ("id asc,", "expected a field name after ','", 8),
        (",id", "expected a field name", 1),
        ("id asc desc", "expected ',' or the end after a sort key", 8),
        ('"id"', "expected a field name", 1),
        ("id asc, , name", "expected a field name", 9),
        ("id [2024-01-01]", "unknown sort direction", 4),
        ("company/ desc", "expected a field name after '/'", 9),
    ],
)
def test_order_by_errors(order_by, what, position):
    with pytest.raises(ConditionError) as caught:
        compile_order_by(order_by, WITH_COLUMNS)
    assert str(caught.value).startswith("orderBy: ")
    assert what in str(caught.value)
    assert caught.value.position == position


def test_resolver_rejects_names_it_cannot_address():
    with pytest.raises(ValueError, match="not a JSON key"):
        FieldResolver({}, {"bad key"})
    for type_ in ("BIGINT; DROP TABLE t", "BIGINT OR TRUE", "DECIMAL(10, 2)"):
        with pytest.raises(ValueError, match="not a DuckDB type"):
            FieldResolver({"id": ("id", type_)})


def test_other_column_types_compare_by_the_literal():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 id, 1.25::DECIMAL(10,2) price, true paid, '{}' doc")
    resolver = FieldResolver({"price": ("price", "decimal(10,2)"), "paid": ("paid", "BOOLEAN")})
    for conditions, expected in [
        ("price = 1.25", [1]),
        ("price > 2", []),
        ('price = "1.25"', [1]),
        ('price like "1.2%"', [1]),
        ("paid = TRUE", [1]),
        ('paid = "false"', []),
        ("paid = 1", []),
        ("price = [2024-01-01]", []),
    ]:
        assert select(con, compile_conditions(conditions, resolver)) == expected, conditions


FUZZ_PIECES = [
    "id", "summary", "company/name", "Company/ID", "types/id", "caption", "value",
    "_info/lastUpdated", "lastUpdated", "nosuch", "customFields", "=", "!=", "<>", "<", "<=",
    ">", ">=", "contains",
    "like", "in", "not", "and", "or", "AND", "Or", "(", ")", ",", "null", "true", "False", "1",
    "-2.5", ".5", "007", '"a"', "'b'", '"O\\"Brien"', "'x'' y'", '""', "[2024-05-01T10:00:00Z]",
    "[2024-05-01]", "[2024-05-01T10:00:00.123+02:00]", "[bad]", '"%[[]_*"', '"[^a-c]"', '"[z-a]"',
    '"\\\\"', "asc", "desc", " ", "  ", "\n", "/", "[", "]", '"', "'", "é", "\x00", "!", "*", "%",
]  # fmt: skip
VALID = [
    'company/name = "Acme" and (closedFlag = false or id in (1, 2)) or summary like "%a%"',
    "lastUpdated > [2024-05-01T00:00:00Z] and board/id != 2",
    'types/id = 4 and types/name not in ("a", "b")',
    'caption = "Contract Ref" and value != null',
    "summary not contains 'x' or actualHours <= -1.5",
]


FUZZ_FIELDS = ["id", "summary", "company/name", "actualHours", "closedFlag", "lastUpdated",
               "types/id", "caption", "value", "noSuch/field"]  # fmt: skip
FUZZ_VALUES = ["1", "-2.5", '"a%_[[]b"', "'O''Brien'", "true", "FALSE", "[2024-05-01T10:00:00Z]",
               "[2024-05-01]", '"x\\"y"', '"é"']  # fmt: skip


def _random_condition(rng: random.Random, depth: int = 0) -> str:
    """A well-formed condition of random shape, so the fuzz also compiles and runs a lot."""
    if depth < 3 and rng.random() < 0.4:
        parts = [_random_condition(rng, depth + 1) for _ in range(rng.randint(2, 3))]
        joined = f" {rng.choice(['and', 'OR', 'And'])} ".join(parts)
        return f"({joined})" if rng.random() < 0.5 else joined
    field, value = rng.choice(FUZZ_FIELDS), rng.choice(FUZZ_VALUES)
    op = rng.choice(["=", "!=", "<", ">=", "contains", "not like", "in", "not in", "= null"])
    if op in ("contains", "not like") and value[0] not in "\"'0123456789-":
        value = '"v"'
    if op in ("in", "not in"):
        value = "(" + ", ".join([*rng.sample(FUZZ_VALUES, rng.randint(1, 3)), "null"]) + ")"
    return f"{field} {op}" if op == "= null" else f"{field} {op} {value}"


def _fuzz_inputs(rng: random.Random) -> list[str]:
    inputs = [_random_condition(rng) for _ in range(400)]
    for _ in range(600):
        inputs.append(" ".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 12))))
    for text in [*VALID, *inputs[:20]]:
        inputs.extend(text[:cut] for cut in range(len(text) + 1))
        for _ in range(40):
            chars = list(text)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(chars))
                action = rng.random()
                if action < 0.4:
                    del chars[at]
                elif action < 0.8:
                    chars.insert(at, rng.choice(FUZZ_PIECES))
                else:
                    chars[at] = chr(rng.randint(0, 0x2FF))
            inputs.append("".join(chars))
    for _ in range(200):
        inputs.append("".join(chr(rng.randint(0, 0x3FF)) for _ in range(rng.randint(0, 30))))
    return inputs


def test_fuzz_only_condition_errors_and_every_compiled_sql_runs(db):
    rng = random.Random(20240501)
    compiled = failed = 0
    for text in _fuzz_inputs(rng):
        for compile_ in (
            lambda s: compile_conditions(s, WITH_COLUMNS),
            lambda s: compile_conditions(s, JSON_ONLY),
            lambda s: compile_conditions(s, STRICT),
            lambda s: compile_child_conditions(s, WITH_COLUMNS),
            compile_custom_field_conditions,
        ):
            try:
                sql = compile_(text)
            except ConditionError as exc:
                assert exc.position is None or 1 <= exc.position <= len(text) + 1, text
                failed += 1
                continue
            compiled += 1
            select(db, sql)
        try:
            order = compile_order_by(text, WITH_COLUMNS)
        except ConditionError:
            failed += 1
            continue
        compiled += 1
        ordered(db, order)
    assert compiled > 1000 and failed > 1000  # both paths exercised
