"""The workspace operator's side of the world: Operate and Connect records, the cases they
carry in the proportions declared, and calls with every edge case call-logs.md lists."""

import duckdb
import pytest

from emulators.world import generate, quota
from emulators.world.workspace import PERIOD_DAYS, SIZES


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("workspace") / "dealer.duckdb"
    generate(path, seed=1, scale="small")
    with duckdb.connect(str(path), read_only=True) as connection:
        yield connection


def scalar(con, sql):
    return con.execute(sql).fetchone()[0]


def cases(con, name):
    return {
        r[0]
        for r in con.execute(
            "SELECT id FROM world.cases WHERE case_name = ? ORDER BY id", [name]
        ).fetchall()
    }


def test_sizes_and_one_call_logger_per_format(con):
    size = SIZES["small"]
    assert scalar(con, "SELECT count(*) FROM operate.accounts") == size.accounts
    assert scalar(con, "SELECT count(*) FROM operate.locations") == size.locations
    assert con.execute("SELECT format FROM world.call_loggers ORDER BY location_id").fetchall() == [
        ("generic",),
        ("smdr",),
        ("cdr",),
    ]
    # The last location has no Connect site, and every location has accounts.
    assert con.execute(
        "SELECT connect_site_id, connect_call_logger FROM operate.locations ORDER BY id DESC"
    ).fetchone() == (None, False)
    assert scalar(con, "SELECT count(DISTINCT location_id) FROM operate.accounts") == size.locations


def test_exact_case_counts(con):
    at_logger = scalar(
        con,
        "SELECT count(*) FROM operate.accounts WHERE location_id IN "
        "(SELECT location_id FROM world.call_loggers)",
    )
    at_connect = scalar(
        con,
        "SELECT count(*) FROM operate.accounts a JOIN operate.locations l "
        "ON l.id = a.location_id WHERE l.connect_site_id IS NOT NULL",
    )
    assert len(cases(con, "account_code_missing")) == quota("account_code_missing", at_logger)
    assert len(cases(con, "account_code_special")) == quota("account_code_special", at_logger)
    assert len(cases(con, "account_send_to_connect")) == quota(
        "account_send_to_connect", at_connect
    )
    assert len(cases(con, "account_client_unlinked")) == 1
    assert len(cases(con, "account_send_without_site")) == 1
    assert cases(con, "account_custom_type") == {
        r[0]
        for r in con.execute(
            "SELECT id FROM operate.accounts WHERE type NOT IN ('Residential', 'Virtual')"
        ).fetchall()
    }


def test_codes_missing_and_special_are_on_calls_but_not_in_operate(con):
    for name in ("account_code_missing", "account_code_special"):
        for account in cases(con, name):
            code = scalar(
                con, f"SELECT any_value(account_code) FROM connect.extensions "
                f"WHERE account_id = {account} AND account_code IS NOT NULL",
            )  # fmt: skip
            stored = scalar(
                con,
                f"SELECT count(*) FROM operate.account_codes WHERE account_id = {account} "
                "AND application_id < 4",
            )
            assert code and stored == 0, (name, account)
            assert code.isalnum() == (name == "account_code_missing")
            assert (
                scalar(con, f"SELECT count(*) FROM connect.calls WHERE account_code = '{code}'") > 0
            )
    # Everyone else's code is stored, letters and digits only, unique per location.
    assert scalar(
        con, "SELECT count(*) FROM operate.account_codes WHERE NOT regexp_matches(code, "
        "'^[A-Za-z0-9]+$')",
    ) == 0  # fmt: skip
    assert (
        scalar(
            con,
            "SELECT count(*) FROM (SELECT a.location_id, c.application_id, c.code "
            "FROM operate.account_codes c JOIN operate.accounts a ON a.id = c.account_id "
            "GROUP BY ALL HAVING count(*) > 1)",
        )
        == 0
    )


def test_send_to_connect_cases(con):
    (unlinked,) = cases(con, "account_client_unlinked")
    assert con.execute(
        "SELECT a.connect_client_id, a.send_to_connect_requested, c.status "
        "FROM operate.accounts a JOIN connect.clients c ON c.billing_reference = a.id::VARCHAR "
        f"WHERE a.id = {unlinked}"
    ).fetchone() == (None, True, "Awaiting Provisioning")
    linked = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE c.billing_reference = a.id::VARCHAR) "
        "FROM operate.accounts a JOIN connect.clients c ON c.id::VARCHAR = a.connect_client_id"
    ).fetchone()
    assert linked[0] == linked[1] > 0


def test_calls_carry_every_edge_case(con):
    assert (
        scalar(con, "SELECT count(*) FROM connect.calls WHERE account_code IS NULL AND segment = 1")
        > 0
    )
    internal = con.execute(
        "SELECT count(*), max(cost) FROM connect.calls WHERE is_internal"
    ).fetchone()
    unanswered = con.execute(
        "SELECT count(*), max(cost), max(connected_seconds) FROM connect.calls "
        "WHERE disposition = 'NO ANSWER'"
    ).fetchone()
    assert internal[0] > 0 and internal[1] == 0
    assert unanswered[0] > 0 and unanswered[1:] == (0, 0)
    transferred = scalar(con, "SELECT count(*) FROM connect.calls WHERE segment = 2")
    assert transferred > 0
    assert scalar(
        con, "SELECT count(*) FROM connect.extensions WHERE name LIKE '%\"%'"
    ) > 0  # fmt: skip
    first, last = con.execute(
        "SELECT min(started_at)::DATE, max(started_at)::DATE FROM connect.calls"
    ).fetchone()
    assert (last - first).days == PERIOD_DAYS - 1
