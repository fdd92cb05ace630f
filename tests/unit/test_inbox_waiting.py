"""The inbox's Waiting page groups records by the failure they wait on, and those by owner
and code as the failure report does."""

import html
import re
from pathlib import Path

from crosswalk import codes, report
from crosswalk.config import load_settings
from crosswalk.inbox import pages, waiting
from crosswalk.warehouse import Warehouse, rows

from ..conftest import inbox_get

SERVICE = next(s for s in waiting.SOURCES if s.flow == "service-sync")


def record(ticket, code, company, error_id=None, owner=None, fix=None, waiting=1):
    return {
        "record_id": str(ticket), "record": f"ticket {ticket}", "code": code,
        "reason": "why", "measure": "1.00 hours", "cause_system": "connectwise",
        "cause_entity": "companies" if code == "ticket-company-unmapped" else "members",
        "cause_record": company, "cause_label": f"company {company}", "error_id": error_id,
        "owner": owner, "fix": fix, "waiting_on_cause": waiting,
    }  # fmt: skip


def test_records_group_under_their_failure_and_the_report_order():
    records = [
        record(1, "ticket-company-unmapped", "12", "e12", "psa-data", "Map company 12", 2),
        record(2, "ticket-company-unmapped", "12", "e12", "psa-data", "Map company 12", 2),
        record(3, "customer-inactive", "C7", "e7", "erp-data", "Reactivate C7"),
        record(4, "member-technician-missing", "jdoe"),  # not reported yet
    ]
    causes = waiting.causes(SERVICE, records)
    assert [(c.code, c.record_id, [r["record_id"] for r in c.records]) for c in causes] == [
        ("ticket-company-unmapped", "12", ["1", "2"]),
        ("customer-inactive", "C7", ["3"]),
        ("member-technician-missing", "jdoe", ["4"]),
    ]
    unreported = causes[-1]
    entry = codes.CODES["member-technician-missing"]
    assert (unreported.error_id, unreported.owner, unreported.fix) == (None, entry.owner, entry.fix)
    grouped = [(owner, code) for owner, code, _ in report.by_owner_and_code(causes)]
    assert grouped == [
        ("PSA data (ConnectWise Manage)", "member-technician-missing"),
        ("PSA data (ConnectWise Manage)", "ticket-company-unmapped"),
        ("ERP data (e-automate)", "customer-inactive"),
    ]


def test_every_code_a_source_names_is_one_its_flow_raises():
    for source in waiting.SOURCES:
        named = set(re.findall(r"'([a-z]+(?:-[a-z]+)+)'", source.sql))
        named -= {"in-sync"}  # an action, not a code
        assert named, source.flow
        wrong = sorted(c for c in named if c in codes.CODES and codes.CODES[c].flow != source.flow)
        unknown = sorted(c for c in named if c not in codes.CODES)
        assert (wrong, unknown) == ([], []), source.flow


CALLS = next(s for s in waiting.SOURCES if s.noun == "ERP calls for the PSA")
CALL_COLUMNS = ("call_number", "customer_number", "call_type", "hold_code", "summary",
                "call_date", "company_id", "company_identifier", "retry_asked_by", "action",
                "reason_code")  # fmt: skip


def calls_waiting(path: Path) -> Warehouse:
    """A warehouse whose service-sync holds back ERP calls: 1 and 2 for unmapped customers
    (two failures of one code), 3 refused; 4 held by hand and 5 going through do not wait."""
    warehouse = Warehouse(path)
    warehouse.migrate()
    calls = [
        ("1", "C1", "DISPATCH", None, "Jams", "2026-12-01", None, None, "pat", "failed",
         "call-customer-unmapped"),
        ("2", "C2", "DISPATCH", "CW", "Toner", "2026-12-01", 12, "C2-CO", None, "held", None),
        ("3", "C3", "METER", None, "Meter", "2026-12-02", 13, "C3-CO", None, "create-ticket",
         None),
        ("4", "C4", "DISPATCH", "CW", "By hand", "2026-12-02", 14, "C4-CO", None, "held", None),
        ("5", "C5", "DISPATCH", None, "Goes", "2026-12-02", 15, "C5-CO", None, "create-ticket",
         None),
    ]  # fmt: skip
    failures = [
        ("2", "call-customer-unmapped", "customer C2 is not mapped", "Map C2, retry 2"),
        ("3", "call-hold-rejected", "e-automate refused to hold call 3", "Fix 3"),
        ("3", "ticket-create-rejected", "ConnectWise refused the ticket: site", "Fix"),
    ]
    with warehouse.transaction() as con:
        con.execute("CREATE SCHEMA marts")
        columns = ", ".join(f"{c} {'DATE' if c == 'call_date' else 'VARCHAR'}"
                            for c in CALL_COLUMNS)  # fmt: skip
        con.execute(f"CREATE TABLE marts.call_ticket_sync ({columns})")
        marks = ", ".join("?" * len(CALL_COLUMNS))
        con.executemany(f"INSERT INTO marts.call_ticket_sync VALUES ({marks})", calls)
        for n, (call, code, message, fix) in enumerate(failures):
            con.execute(
                "INSERT INTO sync.errors VALUES (?, 'service-sync', 'data', 'erp-data', ?, "
                "'eautomate', 'calls', ?, NULL, NULL, ?, ?, 'open', now(), now() + ?::INTERVAL, "
                "1, 1, NULL, NULL, false, 'r1', 'r1', NULL)",
                [f"e{n}", code, call, message, fix, f"{n} seconds"],
            )  # fmt: skip
    return warehouse


def test_erp_calls_for_the_psa_wait_on_the_failure_of_each_call(tmp_path):
    """A call the next run fails (its reason, before any failure is recorded), one held on
    the sent hold after a FAIL (its open failure, though its customer is mapped since), one
    every run tries again (the ticket refused, before the hold refused); a call held by hand
    and one whose ticket the next run makes do not wait."""
    warehouse = calls_waiting(tmp_path / "wh.duckdb")
    with warehouse.connect(read_only=True) as con:
        records = waiting.read(lambda sql, params: rows(con, sql, params), CALLS)
    found = {(c.code, c.record_id): c for c in waiting.causes(CALLS, records)}
    assert sorted(found) == [
        ("call-customer-unmapped", "1"), ("call-customer-unmapped", "2"),
        ("ticket-create-rejected", "3"),
    ]  # fmt: skip
    (unmapped,) = found["call-customer-unmapped", "1"].records
    assert unmapped["reason"] == ("customer C1 is not mapped to a PSA company; a retry was "
                                  "asked by pat")  # fmt: skip
    assert found["call-customer-unmapped", "1"].fix == codes.CODES["call-customer-unmapped"].fix
    held = found["call-customer-unmapped", "2"]
    assert (held.error_id, held.fix, held.title) == ("e0", "Map C2, retry 2", "call 2 (C2)")
    assert held.records[0]["reason"] == (
        "customer C2 was not mapped; it is now (company C2-CO); held on CW until the hold "
        "is released or the call retried"
    )
    refused = found["ticket-create-rejected", "3"].records[0]
    assert refused["reason"] == "ConnectWise refused the ticket: site; every run tries it again"
    assert refused["measure"] == "METER call of 2026-12-02"


def test_a_bounded_read_lists_the_first_of_each_cause_and_counts_all(tmp_path):
    """A large world holds hundreds of thousands of records back: the Waiting page reads
    the first few of each cause with how many wait on it, and the counts (per flow, per
    owner of the causes) come from the warehouse, not from every record read as a row."""
    warehouse = Warehouse(tmp_path / "wh.duckdb")
    warehouse.migrate()
    values = [
        *((n, "ticket-company-unmapped", "companies", "12") for n in range(1, 8)),
        (8, "ticket-company-unmapped", "companies", "13"),
        (3, "member-technician-missing", "members", "jdoe"),  # ticket 3 waits twice
        (9, "customer-inactive", "customers", "C7"),
    ]
    rows_sql = ", ".join(
        f"('{n}', 'ticket {n:02d}', '{code}', 'why', NULL, 'connectwise', '{entity}', "
        f"'{cause}', '{entity} {cause}')"
        for n, code, entity, cause in values
    )
    source = waiting.Source(
        "service-sync", "tickets",
        f"SELECT * FROM (VALUES {rows_sql}) AS t(record_id, record, code, reason, measure, "
        "cause_system, cause_entity, cause_record, cause_label)",
    )  # fmt: skip
    with warehouse.transaction() as con:  # company 12's failure, reported to the ERP's owner
        con.execute(
            "INSERT INTO sync.errors VALUES ('e12', 'service-sync', 'data', 'erp-data', "
            "'ticket-company-unmapped', 'connectwise', 'companies', '12', NULL, NULL, 'm', "
            "'Map 12', 'open', now(), now(), 1, 1, NULL, NULL, false, 'r1', 'r1', NULL)"
        )
    with warehouse.connect(read_only=True) as con:
        read = lambda sql, params: rows(con, sql, params)  # noqa: E731
        causes = {
            c.record_id: c for c in waiting.causes(source, waiting.read(read, source, first=3))
        }
        assert {k: (c.waiting, [r["record_id"] for r in c.records]) for k, c in causes.items()} == {
            "12": (7, ["1", "2", "3"]), "13": (1, ["8"]), "jdoe": (1, ["3"]), "C7": (1, ["9"]),
        }  # fmt: skip
        assert causes["12"].error_id == "e12" and causes["12"].fix == "Map 12"
        assert len(waiting.read(read, source)) == 10
        assert waiting.held(read, source) == 9
        # Company 12's tickets under its failure's owner, the others under their code's,
        # as the causes of every record read say.
        by_owner: dict[str, set] = {}
        for cause in waiting.causes(source, waiting.read(read, source)):
            by_owner.setdefault(cause.owner, set()).update(r["record_id"] for r in cause.records)
        assert waiting.held_per_owner(read, source) == {"erp-data": 8, "psa-data": 2}
        assert {owner: len(ids) for owner, ids in by_owner.items()} == {
            "erp-data": 8,
            "psa-data": 2,
        }


def test_the_waiting_page_lists_the_first_failures_of_a_code_and_the_first_records_of_each(
    tmp_path, make_config, monkeypatch
):
    """What the page does not list it counts, and says where the rest are."""
    settings = load_settings(make_config(tmp_path))
    calls_waiting(settings.warehouse.path)
    monkeypatch.setattr(pages, "WAITING_CAUSES", 1)
    status, page = inbox_get(settings, "/waiting", "flow=service-sync")
    assert status.startswith("200")
    section = page.split("ERP calls for the PSA wait</h2>", 1)[1]
    assert "service-sync: 3 ERP calls for the PSA wait" in page
    assert "<code>call-customer-unmapped</code> (2)" in section
    assert section.count("call-customer-unmapped") == 1 + 1  # the heading, the errors link
    assert "... and 1 more failures of this code, not listed here" in section
    assert html.escape("/errors?flow=service-sync&code=call-customer-unmapped") in section
    assert "<code>ticket-create-rejected</code> (1)" in section
