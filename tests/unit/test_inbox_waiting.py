"""The inbox's Waiting page groups records by the failure they wait on, and those by owner
and code as the failure report does."""

import re

from crosswalk import codes, report
from crosswalk.inbox import waiting

SERVICE = next(s for s in waiting.SOURCES if s.flow == "service-sync")


def record(ticket, code, company, error_id=None, owner=None, fix=None):
    return {
        "record_id": str(ticket), "record": f"ticket {ticket}", "code": code,
        "reason": "why", "measure": "1.00 hours", "cause_system": "connectwise",
        "cause_entity": "companies" if code == "ticket-company-unmapped" else "members",
        "cause_record": company, "cause_label": f"company {company}", "error_id": error_id,
        "owner": owner, "fix": fix,
    }  # fmt: skip


def test_records_group_under_their_failure_and_the_report_order():
    records = [
        record(1, "ticket-company-unmapped", "12", "e12", "psa-data", "Map company 12"),
        record(2, "ticket-company-unmapped", "12", "e12", "psa-data", "Map company 12"),
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
