"""Money as exact decimals (issue 13), without a network: numbers read as they were
written, landed as DECIMAL with a reason for what cannot be, sent as exact JSON numbers,
and money landed as DOUBLE before made DECIMAL in place."""

import json
from decimal import Decimal
from types import MappingProxyType

import numpy as np
import pyarrow as pa
import pytest
import requests

from crosswalk import money
from crosswalk.entities import validate
from crosswalk.http import HttpClient
from crosswalk.warehouse import Warehouse
from schemas import ENTITIES, operate


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.285, Decimal("0.285")),  # its binary value is 0.28499999999999997558...
        (2.675, Decimal("2.675")),
        (np.float64(0.285), Decimal("0.285")),
        (1927.3, Decimal("1927.3")),
        (7, Decimal(7)),
        (np.int64(7), Decimal(7)),
        (" 0.2850 ", Decimal("0.2850")),
        ("-1.5", Decimal("-1.5")),
        (Decimal("0.125"), Decimal("0.125")),
        (None, None),
        (float("nan"), None),
    ],
)
def test_a_number_is_the_decimal_it_was_written_as(value, expected):
    number = money.decimal(value)
    assert number == expected and (number is None or str(number) == str(expected))


@pytest.mark.parametrize("value", ["abc", "", "1,5", True, float("inf"), "NaN", [1]])
def test_what_is_not_a_finite_number_is_refused(value):
    with pytest.raises(ValueError):
        money.decimal(value)


@pytest.mark.parametrize(
    ("text", "places"),
    [("0.285", 3), ("0.28500", 3), ("100", 0), ("1E+2", 0), ("0.000", 0), ("-0.0049", 4)],
)
def test_places_ignores_trailing_zeros(text, places):
    assert money.places(Decimal(text)) == places


def test_json_carries_decimals_as_their_exact_digits():
    body = {
        "lines": [{"quantity": Decimal("1.000"), "unit_price": Decimal("0.2850")}],
        "name": 'Café "x"',
        "total": Decimal("12345678901234.5678"),  # more digits than a float keeps
        "n": None,
        "ok": True,
        "count": 3,
    }
    text = money.dumps(body)
    assert '"quantity":1.000' in text and '"unit_price":0.2850' in text
    assert json.loads(text, parse_float=Decimal) == body
    assert json.loads(text)["name"] == 'Café "x"'
    for bad in (Decimal("NaN"), Decimal("-Infinity"), float("nan"), float("inf")):
        with pytest.raises(ValueError):
            money.dumps({"lines": [{"x": bad, "y": None}]})
    assert money.dumps({1: (2.5, None), "m": MappingProxyType({"k": "v"})}) == (
        '{"1":[2.5,null],"m":{"k":"v"}}'
    )
    with pytest.raises(TypeError):
        money.dumps({"x": {1, 2}})
    # What orjson refuses goes by json, a value at a time, as before.
    odd = {"big": 2**70, "text": "lone \ud800", "price": Decimal("1.50")}
    assert json.loads(money.dumps(odd), parse_float=Decimal) == odd
    with pytest.raises(ValueError):
        money.dumps({"big": 2**70, "x": Decimal("Infinity")})


class Recorder(requests.Session):
    """A session that keeps what it would send and answers 200 with ``{}``."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def request(self, method, url, **kwargs):
        self.sent.append(kwargs)
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        return response


def test_a_request_body_sends_decimals_exactly():
    session = Recorder()
    client = HttpClient("operate", "http://operate.invalid", session=session)
    client.request("POST", "lines", json={"unit_price": Decimal("0.2850")}, expected=(200,))
    (sent,) = session.sent
    assert sent["data"] == b'{"unit_price":0.2850}'
    assert sent["headers"]["Content-Type"] == "application/json"


def product(unit_price, id=1):
    return {"id": id, "name": f"P{id}", "product_group_id": 1, "unit_price": unit_price}


def test_landed_money_is_the_decimal_as_written_and_what_is_not_is_quarantined():
    records = [
        product(0.285, 1),  # a JSON float
        product("0.0125", 2),
        product(2, 3),
        product(Decimal("1927.30"), 4),
        product(0.12345, 5),  # more places than DECIMAL(18, 4) keeps: never rounded
        product("abc", 6),
        product(None, 7),
        product("12345678901234567.5", 8),  # more digits than DECIMAL(18, 4) holds
    ]
    checked = validate(operate.products, records)
    assert checked.table.schema.field("unit_price").type == pa.decimal128(18, 4)
    landed = checked.table.to_pydict()
    assert dict(zip(landed["id"], landed["unit_price"], strict=True)) == {
        1: Decimal("0.2850"),
        2: Decimal("0.0125"),
        3: Decimal("2.0000"),
        4: Decimal("1927.3000"),
    }
    assert [r.reason for r in checked.rejected] == [
        "unit_price: 0.12345 has more than 4 decimal places",
        "unit_price: 'abc' is not a number",
        "unit_price: required, got null",
        "unit_price: 12345678901234567.5 is not a valid number of DECIMAL(18, 4)",
    ]


def test_hours_and_quantities_are_decimal_too_and_not_money():
    time_entry = ENTITIES["connectwise.time_entries"].arrow_schema
    additions = ENTITIES["connectwise.additions"].arrow_schema
    assert time_entry.field("actual_hours").type == money.QUANTITY
    assert additions.field("quantity").type == money.QUANTITY
    assert additions.field("unit_price").type == money.AMOUNT


def test_money_landed_as_double_becomes_decimal_in_place(tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    wh.migrate()
    old = pa.schema([("id", pa.int64()), ("unit_price", pa.float64())])
    wh.ensure_table("operate", "products", old)
    doubles = pa.table({"id": [1, 2], "unit_price": [0.285, 2.675]}, schema=old)
    wh.land("operate", "products", ["id"], doubles, "run-1")
    with wh.connect() as con:
        con.execute("CREATE VIEW prices AS SELECT unit_price FROM raw_operate.products")
    new = pa.schema([("id", pa.int64()), ("unit_price", money.AMOUNT)])
    wh.ensure_table("operate", "products", new)
    with wh.connect(read_only=True) as con:
        assert con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'products' AND column_name = 'unit_price'"
        ).fetchall() == [("DECIMAL(18,4)",)]
        assert con.execute("SELECT unit_price FROM prices ORDER BY 1").fetchall() == [
            (Decimal("0.2850"),),
            (Decimal("2.6750"),),
        ]
    decimals = pa.table({"id": [1, 2], "unit_price": [Decimal("0.285"), Decimal("2.675")]}, new)
    again = wh.land("operate", "products", ["id"], decimals, "run-2")
    assert (again.inserted, again.updated) == (0, 0)
