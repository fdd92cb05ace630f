"""charge-import end to end on the small world: call logs in three formats downloaded
from Connect (and dropped in the inbox), matched to accounts, pushed to Operate batch
sheets exactly once, unmatched calls reported until their code exists, accounts sent to
Connect, and a crash at either write point repaired by the next run."""

from datetime import date

import duckdb
import pytest
import requests

from crosswalk.warehouse import Warehouse
from emulators import serve
from flows.charge_import.flow import charge_import
from flows.charge_import.waiting import accounting

pytestmark = pytest.mark.flow

OPERATE = {"Authorization": "Bearer demo-operate"}
BATCH = date(2026, 1, 5)
NOVEMBER = date(2025, 11, 30)
DECEMBER = date(2025, 12, 31)


@pytest.fixture
def world(tmp_path):
    """A world of its own: these tests write batch sheets, codes and clients."""
    with serve.start(tmp_path / "emulators", seed=7, scale="small", port_base=0) as running:
        yield running


@pytest.fixture
def config(prefect_server, world, tmp_path, credentials):
    path = tmp_path / "crosswalk.toml"
    text = world.config.read_text(encoding="utf-8")
    path.write_text(text.replace('path = "warehouse.duckdb"', f'path = "{tmp_path}/wh.duckdb"'))
    return path


def run(config, until=DECEMBER, **kwargs):
    result = charge_import(config=str(config), batch_date=BATCH, until=until, **kwargs)
    assert result.status == "completed", result.message
    return result


def operate(world, sql, params=None):
    """Read Operate's state directly from the emulator's store."""
    return world.store.query(sql, params)


def sheet_lines(world):
    return operate(
        world,
        "SELECT s.location_id, count(*), count(DISTINCT l.source_line_hash), sum(l.amount) "
        "FROM operate.batch_sheet_lines l JOIN operate.batch_sheets s ON s.id = l.batch_sheet_id "
        "GROUP BY 1 ORDER BY 1",
    )


def warehouse(config) -> Warehouse:
    return Warehouse(config.parent / "wh.duckdb")


def test_every_format_is_charged_once_and_every_call_accounted_for(world, config):
    first = run(config)
    with warehouse(config).connect(read_only=True) as con:
        landed = dict(
            con.execute("SELECT layout, count(*) FROM raw_calllogs.calls GROUP BY 1").fetchall()
        )
    assert set(landed) == {"generic", "smdr", "cdr"}
    expected = dict(
        operate(
            world,
            "SELECT f.format, count(DISTINCT c.call_id) FROM connect.calls c "
            "JOIN world.call_loggers f ON f.site_id = c.site_id GROUP BY 1",
        )
    )
    assert landed == expected
    books = accounting(warehouse(config), first.id)
    assert books.balanced, books
    assert books.charged > 0 and books.waiting and books.skipped
    assert set(books.skipped) == {
        "unanswered call",
        "internal call",
        "zero value (the device import map ignores zero values)",
    }
    lines = sheet_lines(world)
    assert {location for location, *_ in lines} == {1, 2, 3}
    assert all(count == distinct for _, count, distinct, _ in lines)
    assert sum(count for _, count, _, _ in lines) == books.charged
    sheets = operate(world, "SELECT completed, approved, batch_date FROM operate.batch_sheets")
    assert sheets and all(s == (False, False, BATCH) for s in sheets)

    # An unchanged re-run charges nothing and sends nothing.
    second = run(config)
    assert sheet_lines(world) == lines
    again = accounting(warehouse(config), second.id)
    assert again.charged == 0 and again.balanced
