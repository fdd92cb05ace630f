"""Rendering, without a network: subjects, grouping, escaping in every format, and the
example e-mail in docs/ is what the renderer makes today."""

import importlib.util
from dataclasses import replace
from email import message_from_bytes, policy

from crosswalk import report as render
from crosswalk.config import PROJECT_ROOT
from crosswalk.errors import Findings, Outage, data_failure

spec = importlib.util.spec_from_file_location(
    "example_report", PROJECT_ROOT / "docs" / "example_report.py"
)
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)


def row(error_id="0" * 16, **changes):
    base = example.example_report().findings.new.rows[0]
    return replace(base, error_id=error_id, **changes)


def report_with(*new, **findings):
    base = example.example_report()
    return replace(base, findings=Findings("customer-sync", base.run_id, 3, new=new, **findings))


def test_the_example_email_in_docs_is_what_the_renderer_makes():
    """If this fails after a deliberate change: .venv/bin/python docs/example_report.py"""
    assert example.EXAMPLE.read_bytes() == example.example_message()
    message = message_from_bytes(example.EXAMPLE.read_bytes(), policy=policy.default)
    assert (
        message["Subject"] == "[crosswalk] customer-sync completed: 2 new, 2 still open, 1 resolved"
    )
    assert message.get_body(("plain",)) and message.get_body(("html",))


def test_groups_follow_owner_then_code_then_record():
    rows = [
        row("1" * 16, owner="configuration", code="config-invalid", label="the run"),
        row("2" * 16, owner="operate-data", code="invalid-record", label="account 404"),
        row("3" * 16, owner="erp-data", code="unmapped-customer", label="customer B"),
        row("4" * 16, owner="erp-data", code="invalid-record", label="customer Z"),
        row("5" * 16, owner="erp-data", code="invalid-record", label="customer A"),
        row("6" * 16, owner="psa-data", code="wrong-link", label="company X"),
    ]
    groups = [
        (owner, code, [r.label for r in group])
        for owner, code, group in render.by_owner_and_code(rows)
    ]
    assert groups == [
        ("PSA data (ConnectWise Manage)", "wrong-link", ["company X"]),
        ("ERP data (e-automate)", "invalid-record", ["customer A", "customer Z"]),
        ("ERP data (e-automate)", "unmapped-customer", ["customer B"]),
        ("Operate data (Operate and Connect)", "invalid-record", ["account 404"]),
        ("Configuration", "config-invalid", ["the run"]),
    ]


def test_values_are_text_in_html_and_markdown():
    hostile = row(
        label='customer <script>alert("x")</script> [click](javascript:alert(1)) | *bold*',
        message="name: '<img src=x onerror=alert(1)>' is\nlonger\x00 than 50",
        url="javascript:alert(1)",
    )
    report = report_with(hostile)
    html = render.html_body(report)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "href" not in html  # not an http(s) address: never a link

    markdown = render.markdown(report)
    line = next(line for line in markdown.splitlines() if "script" in line)
    assert line.count("|") - line.count("\\|") == 5  # the table keeps its four cells
    assert "\\<script\\>" in line and "\\[click\\](javascript:alert(1))" in line
    assert "\\*bold\\*" in line

    plain = render.text(report)
    assert "is longer  than 50" not in plain and "is longer than 50" in plain  # one line
    assert "\x00" not in plain and "javascript:alert(1)\n" not in plain  # no Open: line


def test_links_only_for_http_addresses():
    linked = report_with(row(url="https://cw.example/openrecord.rails?recid=1&x=<y>"))
    assert '<a href="https://cw.example/openrecord.rails?recid=1&amp;x=&lt;y&gt;">' in (
        render.html_body(linked)
    )


def test_subjects_say_flow_outcome_and_counts():
    cause = row(
        code="system-unreachable", system="connectwise", entity="run", owner="configuration"
    )
    base = example.example_report()
    started = replace(
        base,
        status="failed",
        findings=Findings(
            "customer-sync", base.run_id, 3, outage=Outage("started", base.finished_at, 1, (cause,))
        ),
    )
    assert render.subject(started) == (
        "[crosswalk] customer-sync FAILED, could not complete (ConnectWise Manage unreachable): "
        "0 new, 0 still open, 0 resolved"
    )
    recovered = replace(
        started,
        status="completed",
        findings=replace(started.findings, outage=Outage("recovered", base.finished_at, 4, ())),
    )
    assert render.subject(recovered).startswith(
        "[crosswalk] customer-sync recovered after 4 failed runs: "
    )
    still = replace(
        started, findings=replace(started.findings, outage=None, run_error=cause, new=(row(),))
    )
    assert render.subject(still) == (
        "[crosswalk] customer-sync still failing (ConnectWise Manage unreachable): "
        "1 new, 0 still open, 0 resolved"
    )
    plan = replace(base, plan=True)
    assert render.subject(plan).startswith("[crosswalk] customer-sync (plan) completed: ")


def test_the_artifact_has_the_landing_table_and_the_same_sections():
    markdown = render.markdown(example.example_report(), "sent through mail:587")
    assert "| connectwise.companies | 14 | 13 | 1 | 2 | 1 |" in markdown
    assert markdown.index("## New failures (2)") < markdown.index("## Still open (1")
    assert markdown.index("## Still open (1") < markdown.index("## Resolved since the last report")
    assert "| record | problem it had | resolved | error |" in markdown
    assert "E-mail: sent through mail:587" in markdown


def test_a_long_group_lists_its_first_lines_and_counts_the_rest():
    rows = [row(f"{i:016x}", label=f"customer C{i:03d}") for i in range(7)]
    report = replace(report_with(*rows), group_limit=5)
    plain, html, markdown = render.text(report), render.html_body(report), render.markdown(report)
    assert "customer C004" in plain and "customer C005" not in plain
    more = "... and 2 more (PSA data (ConnectWise Manage), invalid-record), not listed here"
    assert more in plain and more in html and "crosswalk errors list --flow customer-sync" in html
    assert "customer C005" not in markdown and "and 2 more" in markdown
    assert render.subject(report).endswith(": 7 new, 0 still open, 0 resolved")


def test_failures_the_run_fixed_itself_are_listed_apart_as_fixed_by_this_run():
    fixed = data_failure(
        "eautomate", "locations", "PELI02-06", "link-site-of-another-company",
        'location PELI02-06 "Pelican South" is linked (custom_property) to PSA site 5301',
        "Point ZCJ_CW_SiteAddressRecID at a site of PSA company 553", label='location PELI02-06',
    )  # fmt: skip
    report = replace(report_with(row()), fixed=(fixed,))
    assert render.subject(report) == (
        "[crosswalk] customer-sync completed: 1 new, 0 still open, 0 resolved, 1 fixed by this run"
    )
    plain = render.text(report)
    to_fix, _, done = plain.partition("FIXED BY THIS RUN (1)")
    assert "PELI02-06" not in to_fix
    assert "* location PELI02-06 (e-automate locations PELI02-06)" in done
    assert 'Was:     location PELI02-06 "Pelican South" is linked' in done
    assert "Fix:" not in done  # nothing to do
    assert "Fixed by this run (1)" in render.html_body(report)
    assert "## Fixed by this run (1)" in render.markdown(report)
    assert render.subject(report_with(row())).endswith("0 resolved")  # said only when some
    many = replace(report, fixed=(fixed, replace(fixed, record_id="X2")), group_limit=1)
    assert (
        "... and 1 more (ERP data (e-automate), link-site-of-another-company), not listed "
        "here: this run's writes in sync.push_log" in render.text(many)
    )


def test_with_an_inbox_each_failure_links_to_its_inbox_page():
    failure = row("ab" * 8, label="customer A")
    plain = replace(report_with(failure), inbox_url="https://inbox.example/")
    link = "https://inbox.example/errors/" + "ab" * 8
    assert f"  Inbox:   {link}" in render.text(plain)
    assert f'<a href="{link}">' in render.html_body(plain)
    assert "Inbox:" not in render.text(report_with(failure))


def test_what_a_run_read_back_into_a_lost_warehouse_is_said_in_every_format():
    line = "12 ERP customers linked to PSA companies (ZCJ_CW_CompanyID, <Company ID>)"
    report = replace(report_with(row()), rebuilt=(line,))
    plain = render.text(report)
    assert "REBUILT FROM THE SYSTEMS" in plain and f"* {line}" in plain
    assert "<li>12 ERP customers linked to PSA companies (ZCJ_CW_CompanyID, &lt;Company" in (
        render.html_body(report)
    )
    assert "## Rebuilt from the systems" in render.markdown(report)
    assert "Rebuilt" not in render.text(report_with(row()))  # said only when some
