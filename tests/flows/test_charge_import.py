"""charge-import end to end on the small world: call logs in three formats downloaded
from Connect (and dropped in the inbox), matched to accounts, pushed to Operate batch
sheets exactly once, unmatched calls reported until their code exists, accounts sent to
Connect, and a crash at either write point repaired by the next run."""

from datetime import date
from decimal import Decimal
from email import message_from_bytes, policy

import pytest
import requests

from crosswalk.http import OutcomeUnknown
from crosswalk.operate import Operate
from crosswalk.warehouse import Warehouse
from emulators import serve
from flows.charge_import.flow import charge_import
from flows.charge_import.waiting import accounting

from ..conftest import seeded

pytestmark = pytest.mark.flow

OPERATE = {"Authorization": "Bearer demo-operate"}
BATCH = date(2026, 1, 5)
NOVEMBER = date(2025, 11, 30)
DECEMBER = date(2025, 12, 31)


@pytest.fixture
def world(tmp_path, small_world):
    """A world of its own: these tests write batch sheets, codes and clients."""
    data = seeded(tmp_path / "emulators", small_world)
    with serve.start(data, seed=7, scale="small", port_base=0) as running:
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


def connect_requests(world):
    requested = dict(
        operate(
            world,
            "SELECT w.case_name, list(w.id ORDER BY w.id) FROM world.cases w "
            "WHERE w.case_name LIKE 'account_send%' OR w.case_name = 'account_client_unlinked' "
            "GROUP BY 1",
        )
    )
    clients = operate(world, "SELECT count(*) FROM connect.clients")[0][0]
    return requested, clients


def check_sent_to_connect(world, config, requested, clients_before):
    """Requested accounts are Connect clients, linked back; the one already in Connect is
    adopted; the one whose location has no Connect site is reported."""
    (unlinked,) = requested["account_client_unlinked"]
    (siteless,) = requested["account_send_without_site"]
    accounts = {
        row[0]: row[1:]
        for row in operate(
            world,
            "SELECT a.id, a.connect_client_id, a.send_to_connect_requested, c.billing_reference, "
            "c.type, c.status, c.site_id = l.connect_site_id, "
            "date_diff('day', c.start_date, c.end_date), a.type "
            "FROM operate.accounts a JOIN operate.locations l ON l.id = a.location_id "
            "LEFT JOIN connect.clients c ON c.id::VARCHAR = a.connect_client_id "
            "WHERE a.id IN (SELECT unnest(?))",
            [requested["account_send_to_connect"] + [siteless]],
        )
    }
    created = [a for a in requested["account_send_to_connect"] if a != unlinked]
    for account in created:
        client, flag, reference, ctype, status, same_site, days, atype = accounts[account]
        assert client and flag is False and reference == str(account) and same_site
        assert status == "Awaiting Provisioning" and days in (365, 366)
        assert ctype == (atype if atype in ("Residential", "Virtual") else "Residential")
    assert accounts[unlinked][1:3] == (False, str(unlinked))
    assert accounts[siteless][:2] == (None, True)
    clients_after = operate(world, "SELECT count(*) FROM connect.clients")[0][0]
    assert clients_after == clients_before + len(created)  # the unlinked one adopted
    assert [r[4] for r in failures(config, "connect-site-missing")] == ["open"]
    return clients_after


def test_every_format_charged_once_accounts_sent_to_connect_and_a_rerun_changes_nothing(
    world, config
):
    requested, clients = connect_requests(world)
    first = run(config)
    sent = world.servers["operate"].requests
    looked = [r for r in sent if r.method == "GET" and "location_id=" in r.query]
    made = [r for r in sent if r.method == "POST" and r.path.rstrip("/").endswith("batch-sheets")]
    assert made and len(looked) == len(made)  # a key's sheets looked at once before its create
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
    clients = check_sent_to_connect(world, config, requested, clients)

    # An unchanged re-run charges nothing and sends nothing.
    second = run(config)
    assert sheet_lines(world) == lines
    assert operate(world, "SELECT count(*) FROM connect.clients")[0][0] == clients
    again = accounting(warehouse(config), second.id)
    assert again.charged == 0 and again.balanced


def requests_of(result):
    """What a run sent (or planned): per request, the lines it carries and their money."""
    return sorted(
        (w.system, w.action, w.record, dict(w.changes).get("lines"), w.money)
        for w in result.planned
    )


def test_a_plan_lists_the_requests_the_run_then_sends(world, config):
    with_settings(config, "lines_per_request = 40")
    sheets = operate(world, "SELECT count(*) FROM operate.batch_sheets")
    clients = operate(world, "SELECT count(*) FROM connect.clients")
    plan = run(config, plan=True)
    assert operate(world, "SELECT count(*) FROM operate.batch_sheets") == sheets
    assert operate(world, "SELECT count(*) FROM connect.clients") == clients
    with warehouse(config).connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sync.push_log").fetchall() == [(0,)]
    planned = requests_of(plan)
    assert {(system, action) for system, action, *_ in planned} == {
        ("operate", "create-sheet"), ("operate", "append-lines"), ("connect", "create-client")
    }  # fmt: skip
    assert sum(money for *_, money in planned if money) > 0
    sent = requests_of(run(config))
    # A client's id is not known before it is made: its link to the account is not planned.
    links = [r for r in sent if r[1] == "link-account"]
    assert links and sorted(planned + links) == sent, set(planned + links) ^ set(sent)


def with_settings(config, text):
    """The configuration with more keys in [flows.charge_import]."""
    body = config.read_text()
    body = body.replace("[flows.charge_import]\n", "[flows.charge_import]\n" + text + "\n")
    config.write_text(body)
    return config


def charged_once(world, config):
    """Every line on Operate's sheets is there once, and recorded as charged once."""
    (lines, distinct) = operate(
        world, "SELECT count(*), count(DISTINCT source_line_hash) FROM operate.batch_sheet_lines"
    )[0]
    with warehouse(config).connect(read_only=True) as con:
        (recorded,) = con.execute("SELECT count(*) FROM sync.charged_lines").fetchall()[0]
        (to_charge,) = con.execute(
            "SELECT count(*) FROM intermediate.int_calls_matched WHERE decision = 'to_charge'"
        ).fetchall()[0]
    assert lines == distinct == recorded and to_charge == 0
    return lines


def check_special_code(world, config):
    """A code with characters Operate refuses is reported with Operate's reason."""
    (special, location, code), *_ = operate(
        world,
        "SELECT a.id, a.location_id, any_value(e.account_code) FROM world.cases w "
        "JOIN operate.accounts a ON a.id = w.id JOIN connect.extensions e ON e.account_id = a.id "
        "WHERE w.case_name = 'account_code_special' AND e.account_code IS NOT NULL "
        "GROUP BY ALL ORDER BY 1",
    )
    refused = requests.post(
        f"{world.url('operate')}/api/v1/accounts/{special}/account-codes",
        json={"application_id": location, "code": code},
        headers=OPERATE,
    )
    assert refused.status_code == 422
    assert "letters and digits only" in refused.json()["error"]["fields"]["code"]
    found = {r[0]: r for r in failures(config, "account-code-unsupported")}
    _, label, message, fix, _ = found[f"{location}|{location}|{code}"]
    assert code in label
    assert "which Operate refuses: account codes are letters and digits only" in message
    assert "Change the code in the call logger to letters and digits only" in fix
    suggestion = "".join(ch for ch in code if ch.isalnum())
    assert f"(for example {suggestion})" in fix


def test_an_overlapping_reimport_adds_no_line(world, config):
    first = run(config, until=NOVEMBER)
    november = charged_once(world, config)
    second = run(config, until=DECEMBER)  # from 28 November: three days read again
    books = accounting(warehouse(config), second.id)
    assert books.balanced and books.already_charged > 0
    assert charged_once(world, config) == november + books.charged
    with warehouse(config).connect(read_only=True) as con:
        windows = con.execute(
            "SELECT cursor_value FROM sync.watermarks WHERE system = 'calllogs' ORDER BY 1"
        ).fetchall()
    assert windows == [("2025-12-31",)] * 3
    assert accounting(warehouse(config), first.id).read == 0  # reads are kept for the last run
    downloads = sorted(p.name for p in (config.parent / "calllogs" / "downloads").iterdir())
    assert "location-1-20251128-20251228-generic.csv" in downloads


def failures(config, code):
    with warehouse(config).connect(read_only=True) as con:
        return con.execute(
            "SELECT record_id, label, message, fix, status FROM sync.errors WHERE code = ? "
            "ORDER BY record_id",
            [code],
        ).fetchall()


def test_account_codes_missing_waits_until_added_special_reported_with_operates_reason(
    world, config
):
    run(config)
    check_special_code(world, config)
    missing = operate(
        world,
        "SELECT a.id, a.location_id, e.account_code, count(c.call_id) FROM world.cases w "
        "JOIN operate.accounts a ON a.id = w.id "
        "JOIN connect.extensions e ON e.account_id = a.id "
        "LEFT JOIN connect.calls c ON c.site_id = e.site_id AND c.extension = e.extension "
        "AND c.account_code = e.account_code AND c.segment = 1 "
        "AND c.direction = 'O' AND NOT c.is_internal AND c.disposition = 'ANSWERED' "
        "WHERE w.case_name = 'account_code_missing' AND e.account_code IS NOT NULL "
        "GROUP BY ALL ORDER BY 1",
    )
    account, location, code, calls = missing[0]
    assert calls > 0
    found = {r[0]: r for r in failures(config, "account-code-unknown")}
    application = location  # the world's n-th call-logger location records in format n
    record = f"{location}|{application}|{code}"
    assert record in found
    _, label, message, fix, status = found[record]
    assert status == "open" and label.startswith(f'account code "{code}"')
    assert message.startswith(f"{calls} calls at ") and " waiting, 2025-1" in message
    assert f"Add account code {code} for application" in fix
    # The run's report (an .eml in the outbox: no SMTP server here) says the same.
    (email,) = (config.parent / "outbox").glob("*-charge-import-*.eml")
    report = message_from_bytes(email.read_bytes(), policy=policy.default)
    plain = report.get_body(("plain",)).get_content()
    assert "Operate data (Operate and Connect) / account-code-unknown" in plain
    assert label in plain and fix.split(" (Operate:")[0] in " ".join(plain.split())

    with warehouse(config).connect(read_only=True) as con:
        before = con.execute("SELECT count(*) FROM sync.charged_lines").fetchall()[0][0]
    added = requests.post(
        f"{world.url('operate')}/api/v1/accounts/{account}/account-codes",
        json={"application_id": application, "code": code},
        headers=OPERATE,
    )
    assert added.status_code == 201, added.text
    later = run(config)
    books = accounting(warehouse(config), later.id)
    with warehouse(config).connect(read_only=True) as con:
        now_charged = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE account_id = ?) FROM sync.charged_lines "
            "WHERE run_id = ?",
            [account, later.id],
        ).fetchall()[0]
        after = con.execute("SELECT count(*) FROM sync.charged_lines").fetchall()[0][0]
    assert now_charged == (calls, calls)
    assert after == before + calls and books.balanced
    assert {r[0]: r[4] for r in failures(config, "account-code-unknown")}[record] == "resolved"
    charged_once(world, config)


def killed_after(monkeypatch, method):
    """``Operate.<method>`` sends its request, then the process dies before the answer
    is recorded (the first time only)."""
    original = getattr(Operate, method)
    calls = []

    def send_then_die(self, *args):
        answer = original(self, *args)
        calls.append(answer)
        if len(calls) == 1:
            raise RuntimeError(f"killed after {method} returned")
        return answer

    monkeypatch.setattr(Operate, method, send_then_die)
    return calls


def one_sheet_per_key(world):
    return operate(
        world,
        "SELECT location_id, product_group_id, batch_date, count(*) FROM operate.batch_sheets "
        "GROUP BY ALL HAVING count(*) > 1",
    )


@pytest.mark.parametrize("method", ["create_sheet", "append_lines"])
def test_a_crash_between_a_write_and_its_record_charges_nothing_twice(
    world, config, monkeypatch, method
):
    with_settings(config, "lines_per_request = 40")
    with monkeypatch.context() as patch:
        calls = killed_after(patch, method)
        with pytest.raises(RuntimeError, match="killed after"):
            charge_import(config=str(config), batch_date=BATCH, until=DECEMBER)
    assert len(calls) == 1
    with warehouse(config).connect(read_only=True) as con:
        unknown = con.execute("SELECT action FROM sync.push_log WHERE outcome IS NULL").fetchall()
    assert unknown == [({"create_sheet": "create-sheet", "append_lines": "append-lines"}[method],)]

    rerun = run(config)
    assert one_sheet_per_key(world) == []
    # Everything is on a sheet once: the first 40 lines recorded before the crash when it
    # hit an append, the lines sent before the crash found on their sheet by the re-run.
    books = accounting(warehouse(config), rerun.id)
    before = 40 if method == "append_lines" else 0
    assert charged_once(world, config) == before + books.charged + books.charged_from_earlier
    with warehouse(config).connect(read_only=True) as con:
        settled = con.execute(
            "SELECT outcome FROM sync.push_log WHERE detail LIKE 'settled by run %'"
        ).fetchall()
    assert settled == [("adopted",)]


@pytest.mark.parametrize("method", ["create_sheet", "append_lines"])
def test_answers_lost_within_a_run_are_read_back_and_recorded_once(
    world, config, monkeypatch, method
):
    """Operate applies a request whose answer is lost (twice): the run reads the sheet
    back, records what it holds, and records the request's own lines only where they are
    not recorded yet (the other requests' lines it records without looking)."""
    with_settings(config, "lines_per_request = 40")
    original, lost = getattr(Operate, method), []

    def applied_answer_lost(self, *args):
        answer = original(self, *args)
        if len(lost) < 2:
            lost.append(answer["id"])
            raise OutcomeUnknown("operate", "the connection dropped before the answer")
        return answer

    monkeypatch.setattr(Operate, method, applied_answer_lost)
    result = run(config)
    assert len(lost) == 2
    books = accounting(warehouse(config), result.id)
    assert books.balanced and charged_once(world, config) == books.charged > 40
    assert one_sheet_per_key(world) == []
    with warehouse(config).connect(read_only=True) as con:
        outcomes = con.execute(
            "SELECT outcome, count(*) FROM sync.push_log GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert all(outcome for outcome, _ in outcomes)  # a create found again is done
    assert (("adopted", 2) in outcomes) == (method == "append_lines")


def test_inbox_files_any_layout_bad_lines_quarantined_with_file_and_line(world, config):
    inbox = config.parent / "inbox"
    with_settings(config, f'inbox = "{inbox}"')
    config.write_text(
        config.read_text() + "\n[flows.charge_import.layouts.us_switchboard]\n"
        'device = "Switchboard"\n'
        'delimiter = ";"\n'
        'columns = ["Date", "Time", "Ext", "Number", "Seconds", "Charge"]\n'
        'start = ["Date", "Time"]\n'
        'start_format = "%m/%d/%Y %H:%M"\n'
        'extension = "Ext"\n'
        'dialled_number = "Number"\n'
        'billable = "Seconds"\n'
        'cost = "Charge"\n'
        'outbound = { column = "Number", matches = "^0" }\n'
    )
    folder = inbox / "1" / "us_switchboard"
    folder.mkdir(parents=True)
    (folder / "switchboard.txt").write_text(
        "Date;Time;Ext;Number;Seconds;Charge\n"
        "12/01/2025;09:15;2000;02079460001;125;0.31\n"
        "12/01/2025;09:20;2000;07700900002;60;0.12\n"
        "13/01/2025;09:25;2000;07700900003;60;0.12\n"
        "12/01/2025;09:30;2000;07700900004;sixty;0.12\n"
        "12/01/2025;09:35;2000;07700900005\n"
        "Total;;;;;0.67\n"
    )
    first = run(config)
    with warehouse(config).connect(read_only=True) as con:
        rejected = con.execute(
            "SELECT source, reason FROM sync.quarantine WHERE system = 'calllogs' ORDER BY 1"
        ).fetchall()
        board = con.execute(
            "SELECT account_id, amount FROM sync.charged_lines c "
            "JOIN raw_calllogs.calls USING (line_hash) WHERE layout = 'us_switchboard' "
            "ORDER BY amount"
        ).fetchall()
    assert rejected == [
        ("switchboard.txt:4", "Date Time '13/01/2025 09:25' is not a date-time in the format "
         "%m/%d/%Y %H:%M"),
        ("switchboard.txt:5", "Seconds 'sixty' is not a duration in seconds"),
        ("switchboard.txt:6", "4 fields where the layout has 6"),
    ]  # fmt: skip
    (mapped,) = operate(
        world,
        "SELECT a.id FROM operate.device_import_maps m JOIN operate.account_codes c "
        "ON c.code = m.account_code JOIN operate.accounts a ON a.id = c.account_id "
        "WHERE m.device_name = 'Switchboard'",
    )[0]
    assert board == [(mapped, Decimal("0.12")), (mapped, Decimal("0.31"))]  # the map's account
    assert not list(folder.iterdir())
    assert (inbox / "imported" / "1" / "us_switchboard" / "switchboard.txt").exists()
    books = accounting(warehouse(config), first.id)
    assert books.quarantined == 3 and books.balanced
