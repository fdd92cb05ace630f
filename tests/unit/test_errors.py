"""The error model: identity, quarantined rows as failures (deduplicated across runs),
and what stopped a run, classified."""

from datetime import UTC, datetime

import requests

from crosswalk import report as render
from crosswalk.config import ConfigError, load_settings
from crosswalk.dbt import DbtBuildError
from crosswalk.entities import validate
from crosswalk.errors import (
    INVALID_RECORD,
    Checked,
    ErrorBook,
    Kind,
    Owner,
    data_failure,
    list_errors,
    quarantined,
    run_failure,
)
from crosswalk.http import CredentialsRefused, SystemUnreachable
from crosswalk.warehouse import Warehouse
from schemas import connectwise, eautomate

STAMP = {"_info": {"lastUpdated": "2026-11-01T09:00:00Z"}}


def test_identity_is_stable_and_names_flow_record_and_code():
    code = "link-unknown-company"
    a = data_failure("eautomate", "customers", "ACME01", code, "m", "f")
    same = data_failure("eautomate", "customers", "ACME01", code, "other words", "f")
    assert a.identity("customer-sync") == same.identity("customer-sync")
    assert len(a.identity("customer-sync")) == 16
    others = {
        a.identity("service-sync"),
        data_failure("eautomate", "customers", "ACME02", code, "m", "f").identity("customer-sync"),
        data_failure(
            "eautomate", "customers", "ACME01", "link-names-another-customer", "m", "f"
        ).identity("customer-sync"),
    }
    assert a.identity("customer-sync") not in others and len(others) == 3
    assert (a.kind, a.owner) == (Kind.DATA, Owner.ERP)
    assert data_failure("operate", "accounts", 1, INVALID_RECORD, "m", "f").owner == Owner.OPERATE
    assert data_failure("connect", "clients", 1, INVALID_RECORD, "m", "f").owner == Owner.OPERATE
    assert data_failure("connectwise", "tickets", 1, INVALID_RECORD, "m", "f").owner == Owner.PSA


def test_a_record_quarantined_on_every_run_is_one_failure_not_a_pile(
    tmp_path, make_config, credentials
):
    settings = load_settings(make_config(tmp_path))
    warehouse = Warehouse(settings.warehouse.path)
    warehouse.migrate()
    companies = [
        {"id": 111, "identifier": "BrokenStamp", "name": "No Date", "_info": {"lastUpdated": "?"}},
        {"id": 112, "identifier": "Fine", "name": "Fine Co", **STAMP},
    ]
    customers = [{"CustomerNumber": "", "CustomerName": "Nameless", "LastUpdate": "2026-11-01"}]
    book = ErrorBook(warehouse, "customer-sync")
    for run_id in ("run-1", "run-2", "run-3"):
        for entity, records in (
            (connectwise.companies, companies),
            (eautomate.customers, customers),
        ):
            checked = validate(
                entity, records, [f"{entity.name}.json#{i + 1}" for i in range(len(records))]
            )
            warehouse.land(
                entity.system,
                entity.name,
                entity.primary_key,
                checked.table,
                run_id,
                checked.rejected,
            )
        found = quarantined(warehouse, settings, run_id)
        assert len(found) == 2
        book.record(run_id, found, [])
    errors = {e.system: e for e in list_errors(warehouse, "customer-sync")}
    assert set(errors) == {"connectwise", "eautomate"}
    company, customer = errors["connectwise"], errors["eautomate"]
    assert (company.times_seen, company.first_run_id, company.last_run_id) == (3, "run-1", "run-3")
    assert company.code == INVALID_RECORD and company.record_id == "111"
    assert company.label == 'company BrokenStamp "No Date"'
    assert company.url.endswith("recordType=CompanyFV&recid=111")
    assert company.url.startswith("http://127.0.0.1:8700/v4_6_release/services/system_io/")
    assert "lastUpdated" not in company.message and "info__last_updated" in company.message
    assert customer.record_id.startswith("unkeyed-") and customer.times_seen == 3
    assert customer.label == 'customer (no customer number) "Nameless", customers.json#1'
    assert customer.url is None

    # A full read in which the company lands fine resolves it; the customer stays open.
    book.record("run-4", [], [Checked("connectwise", "companies", frozenset([INVALID_RECORD]))])
    assert [e.system for e in list_errors(warehouse, "customer-sync")] == ["eautomate"]


def test_what_stopped_a_run_is_classified_with_a_fix(tmp_path, make_config, credentials):
    settings = load_settings(make_config(tmp_path))
    down = run_failure(SystemUnreachable("operate", "connection refused"), settings)
    assert (down.kind, down.owner, down.code, down.system, down.entity) == (
        Kind.TRANSIENT, Owner.CONFIG, "system-unreachable", "operate", "run",
    )  # fmt: skip
    assert "systems.operate.base_url" in down.fix
    refused = run_failure(CredentialsRefused("connectwise", "401"), settings)
    assert (refused.kind, refused.code) == (Kind.CONFIG, "credentials-refused")
    response = requests.Response()
    response.status_code = 403
    http = run_failure(requests.HTTPError("403 Forbidden", response=response), settings)
    assert http.code == "credentials-refused"
    assert run_failure(requests.ConnectionError("reset"), settings).code == "system-unreachable"
    assert run_failure(TimeoutError("slow"), settings).kind == Kind.TRANSIENT
    config = run_failure(ConfigError("systems.operate: missing"), settings)
    assert (config.kind, config.code) == (Kind.CONFIG, "config-invalid")
    assert "crosswalk config check" in config.fix
    assert run_failure(DbtBuildError("dbt build failed"), settings).code == "models-failed"
    assert run_failure(ZeroDivisionError("x"), settings).code == "run-failed"
    # One row per flow and cause: the same outage on every run is the same failure.
    assert down.identity("charge-import") == run_failure(
        SystemUnreachable("operate", "timed out"), settings
    ).identity("charge-import")


def test_a_report_reads_only_the_failures_it_lists_and_tells_of_all(tmp_path):
    """A large world has hundreds of thousands of open failures: the report lists a few of
    each owner and code, first by record as it orders them, and counts the rest; every one
    counts as reported, and every resolution as announced, listed or not."""
    warehouse = Warehouse(tmp_path / "w.duckdb")
    warehouse.migrate()
    book = ErrorBook(warehouse, "service-sync", max_times=2, max_listed=3)
    unmapped = [
        data_failure("connectwise", "tickets", n, "ticket-company-unmapped", "m", "f")
        for n in range(7)
    ]
    unlabelled = data_failure("eautomate", "customers", "B", INVALID_RECORD, "m", "f")
    labelled = data_failure("eautomate", "customers", "Z", INVALID_RECORD, "m", "f", label="a")
    found = [*unmapped, unlabelled, labelled]
    findings = book.record("run-1", found, [])
    new = findings.new
    assert len(new) == 9 and new.size(Owner.PSA, "ticket-company-unmapped") == 7
    assert [r.record_id for r in new if r.code == "ticket-company-unmapped"] == ["0", "1", "2"]
    assert [r.title for r in new if r.code == INVALID_RECORD] == ["a", "customer B"]
    assert len(new.ids) == 9 and not findings.still_open and not findings.resolved

    report = render.Report(
        "service-sync", "run-1", "completed", datetime.now(UTC), findings, group_limit=3
    )
    plain = render.text(report)
    assert "PSA data (ConnectWise Manage) / ticket-company-unmapped" in plain
    assert "... and 4 more (PSA data (ConnectWise Manage), ticket-company-unmapped)" in plain
    assert render.subject(report).endswith(": 9 new, 0 still open, 0 resolved")

    book.reported(findings, subject="s", recipients=[], delivery="outbox", destination="d")
    told = {e.record_id: e.times_reported for e in list_errors(warehouse, "service-sync")}
    assert told == {**{str(n): 1 for n in range(7)}, "B": 1, "Z": 1}

    # Seen again, all are still open; fixed, the tickets resolve, every one announced.
    again = book.record("run-2", found, [])
    assert (len(again.new), len(again.still_open)) == (0, 9)
    book.reported(again, subject="s", recipients=[], delivery="outbox", destination="d")
    checked = Checked("connectwise", "tickets", frozenset(["ticket-company-unmapped"]))
    settled = book.record("run-3", [unlabelled, labelled], [checked])
    assert len(settled.resolved) == 7 and len(settled.resolved.rows) == 3
    assert (len(settled.still_open), settled.hidden) == (0, 2)
    book.reported(settled, subject="s", recipients=[], delivery="outbox", destination="d")
    assert not book.record("run-4", [unlabelled, labelled], []).newsworthy
