"""Writes docs/example-failure-report.eml: a customer-sync report as an operator gets it,
made by the real renderer from fixed data (tests check the file still matches).

    .venv/bin/python docs/example_report.py
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from crosswalk import mail
from crosswalk.errors import ErrorRow, Findings
from crosswalk.report import EntityCounts, Report

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE / "example-failure-report.eml"
RUN = "7c0f3a52-52d4-4b8e-9a35-1f0c2d9e8b41"
AT = datetime(2026, 11, 5, 9, 15, 7, tzinfo=UTC)
CW = "https://na.myconnectwise.net/v4_6_release/services/system_io/router/openrecord.rails"
FIX = (
    "Correct this {} in {} as the problem says and save it; the next run reads it again "
    "and syncs it."
)


def error(error_id, owner, system, entity, record_id, label, message, fix, **extra) -> ErrorRow:
    values = dict(
        error_id=error_id,
        flow="customer-sync",
        error_class="data",
        owner=owner,
        code="invalid-record",
        system=system,
        entity=entity,
        record_id=record_id,
        label=label,
        url=None,
        message=message,
        fix=fix,
        status="open",
        first_seen_at=AT,
        last_seen_at=AT,
        times_seen=1,
        times_reported=0,
        last_reported_at=None,
        resolved_at=None,
        is_resolution_announced=False,
        first_run_id=RUN,
        last_run_id=RUN,
        resolved_run_id=None,
    )
    values.update(extra)
    return ErrorRow(**values)


def example_report() -> Report:
    earlier = datetime(2026, 11, 5, 8, 45, 3, tzinfo=UTC)
    new = (
        error(
            "70f9f113c2343174",
            "psa-data",
            "connectwise",
            "companies",
            "111",
            'company BrokenStamp "Imported Without Date"',
            "info__last_updated: 'not a date' is not a valid date-time",
            FIX.format("company", "ConnectWise Manage"),
            url=f"{CW}?locale=en_US&companyName=dealer&recordType=CompanyFV&recid=111",
        ),
        error(
            "3513a564e9921de5",
            "erp-data",
            "eautomate",
            "customers",
            "unkeyed-5d1c0a7e9b2f",
            'customer (no customer number) "Customer Without Number", customers.json#10',
            "customer_number: required, got an empty value",
            FIX.format("customer", "e-automate"),
        ),
    )
    still_open = (
        error(
            "b41e07c9d2a85f36",
            "erp-data",
            "eautomate",
            "customers",
            "HOLLOWAYPRINTSHOP1",
            'customer HOLLOWAYPRINTSHOP1 "Holloway Print <Shop>"',
            "customer_number: 'HOLLOWAYPRINTSHOP1' is longer than 15 characters",
            FIX.format("customer", "e-automate"),
            first_seen_at=earlier,
            times_seen=3,
            times_reported=1,
            last_reported_at=earlier,
        ),
    )
    resolved = (
        error(
            "e2c95a0f61b7d348",
            "psa-data",
            "connectwise",
            "companies",
            "104",
            'company DeltaDental "Delta Dental Group"',
            "name: required, got an empty value",
            FIX.format("company", "ConnectWise Manage"),
            url=f"{CW}?locale=en_US&companyName=dealer&recordType=CompanyFV&recid=104",
            status="resolved",
            first_seen_at=earlier,
            times_seen=2,
            times_reported=2,
            resolved_at=AT,
            resolved_run_id=RUN,
        ),
    )
    findings = Findings(
        "customer-sync", RUN, 3, new=new, still_open=still_open, resolved=resolved, hidden=1
    )
    return Report(
        flow="customer-sync",
        run_id=RUN,
        status="completed",
        finished_at=AT,
        findings=findings,
        entities=(
            EntityCounts("connectwise.companies", 14, 13, 1, 2, 1),
            EntityCounts("eautomate.customers", 9, 7, 0, 3, 2),
        ),
        models="20 pass, 7 success",
    )


def example_message() -> bytes:
    message = mail.compose(
        example_report(),
        "crosswalk <crosswalk@dealer.example>",
        ["operations@dealer.example"],
        message_id="<example-customer-sync-7c0f3a52@crosswalk>",
    )
    return message.as_bytes()


if __name__ == "__main__":
    EXAMPLE.write_bytes(example_message())
    print(f"wrote {EXAMPLE}")
