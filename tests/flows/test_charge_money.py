"""charge-import's money on the small world (issue 13): half cents in every call-log
layout, the generic logger's own costs (0.285) and smdr and cdr calls rated at a product
price of 0.0125 a minute, are charged as Operate rounds them, half up to the cent; every
batch sheet's total is what crosswalk sent, so no sheet is reported as changed by hand."""

from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from crosswalk.warehouse import Warehouse
from emulators import serve
from flows.charge_import.flow import charge_import

from ..conftest import seeded

pytestmark = pytest.mark.flow

CENT = Decimal("0.01")
RATE = Decimal("0.0125")  # a minute: 2 minutes are 0.025, 6 are 0.075
BATCH, DECEMBER = date(2026, 1, 5), date(2025, 12, 31)


@pytest.fixture
def world(tmp_path, small_world):
    """A world of its own: the test changes a product's price and writes batch sheets."""
    data = seeded(tmp_path / "emulators", small_world)
    with serve.start(data, seed=7, scale="small", port_base=0) as running:
        with running.store.write() as cur:
            cur.execute("UPDATE operate.products SET unit_price = ? WHERE id = 1", [RATE])
        yield running


@pytest.fixture
def config(prefect_server, world, tmp_path, credentials):
    path = tmp_path / "crosswalk.toml"
    text = world.config.read_text(encoding="utf-8")
    path.write_text(text.replace('path = "warehouse.duckdb"', f'path = "{tmp_path}/wh.duckdb"'))
    return path


def test_half_cents_are_charged_as_operate_rounds_them_and_every_sheet_agrees(world, config):
    result = charge_import(config=str(config), batch_date=BATCH, until=DECEMBER)
    assert result.status == "completed", result.message
    lines = world.store.query(
        "SELECT source_line_hash, batch_sheet_id, quantity, unit_price, amount "
        "FROM operate.batch_sheet_lines"
    )
    sheets = world.store.query("SELECT id, line_count, total FROM operate.batch_sheets")
    with Warehouse(config.parent / "wh.duckdb").connect(read_only=True) as con:
        charged = {h: (s, a) for h, s, a in con.execute(
            "SELECT line_hash, batch_sheet_id, amount FROM sync.charged_lines"
        ).fetchall()}  # fmt: skip
        calls = {h: (layout, cost) for h, layout, cost in con.execute(
            "SELECT line_hash, layout, cost FROM raw_calllogs.calls"
        ).fetchall()}  # fmt: skip
        mismatches = con.execute(
            "SELECT message FROM sync.errors WHERE code = 'batch-sheet-total-mismatch'"
        ).fetchall()
        waiting = con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'waiting_calls' AND column_name = 'amount'"
        ).fetchall()
    assert lines and len(charged) == len(lines)

    half_cents, float_would_differ = Counter(), 0
    for line_hash, sheet, quantity, unit_price, amount in lines:
        layout, cost = calls[line_hash]
        exact = quantity * unit_price
        assert amount == exact.quantize(CENT, rounding=ROUND_HALF_UP), (layout, exact)
        assert charged[line_hash] == (sheet, amount)  # crosswalk's amount is Operate's
        if layout == "generic":  # the cost as the log wrote it, sent as it was
            assert (quantity, unit_price) == (1, cost)
        else:  # rated: started minutes at the product's price
            assert unit_price == RATE
        if exact * 100 % 1 == Decimal("0.5"):
            half_cents[layout] += 1
        float_would_differ += round(float(quantity) * float(unit_price), 2) != float(amount)
    assert set(half_cents) == {"generic", "smdr", "cdr"}, half_cents
    assert float_would_differ > 0  # this world holds the lines a float charges a cent short

    assert mismatches == []
    by_sheet = Counter()
    for sheet, amount in charged.values():
        by_sheet[sheet] += amount
    assert {s: (n, t) for s, n, t in sheets} == {
        s: (sum(1 for x, _ in charged.values() if x == s), by_sheet[s]) for s in by_sheet
    }
    assert waiting and waiting[0][0].startswith("DECIMAL")
