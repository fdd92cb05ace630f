"""Failure-report e-mails through a real SMTP server on loopback, run after run: both
parts, grouping, escaping, the N-times rule, resolutions and outages announced once,
nothing for a clean run, and the outbox when the server is missing or fails."""

import logging
import ssl

import pytest

from crosswalk.codes import CODES, Code
from crosswalk.config import load_settings
from crosswalk.errors import (
    data_failure,
    list_errors,
)
from crosswalk.http import CredentialsRefused, SystemUnreachable
from crosswalk.pipeline import Run, file_report
from crosswalk.warehouse import Warehouse

from ..conftest import report_section, smtp_controller

LOG = logging.getLogger("test-report")
FLOW = "service-sync"
# service-sync raises no failures yet; these stand for codes it will, declared for the tests.
SERVICE_CODES = {
    "unmapped-member": ("psa-data", "ticket members not mapped to an e-automate technician"),
    "no-time": ("psa-data", "tickets without time entries"),
    "unmapped-customer": ("erp-data", "customers not mapped to a ConnectWise company"),
    "unmapped-location": ("erp-data", "locations not mapped to a ConnectWise site"),
}


@pytest.fixture(autouse=True)
def service_sync_codes(monkeypatch):
    for code, (owner, title) in SERVICE_CODES.items():
        monkeypatch.setitem(CODES, code, Code(code, FLOW, "test", owner, title, "Map it."))


def ticket(number, code="unmapped-member", summary="Copier jams", message=None, fix=None):
    return data_failure(
        "connectwise",
        "tickets",
        number,
        code,
        message or f"member on ticket #{number} is not mapped to an e-automate technician",
        fix or "Map the member to a technician in crosswalk.toml, then the call goes through.",
        label=f'ticket #{number} "{summary}"',
        url=f"https://cw.example/v4_6_release/services/system_io/router/openrecord.rails?recid={number}",
    )


def customer(number, name="Acme", code="unmapped-customer"):
    return data_failure(
        "eautomate",
        "customers",
        number,
        code,
        f"customer {number} is not mapped to a ConnectWise company",
        "Put the customer number in the company's Company ID in ConnectWise.",
        label=f'customer {number} "{name}"',
    )


class Runs:
    """Runs of one flow against one warehouse, reported the way the pipeline does."""

    def __init__(self, settings):
        self.settings = settings
        self.count = 0
        Warehouse(settings.warehouse.path).migrate()

    def __call__(self, *failures, looked_at=(), status="completed", error=None, plan=False):
        self.count += 1
        run = Run(f"run-{self.count:03d}", FLOW, self.settings, plan=plan)
        run.status, run.error = status, error
        for failure in failures:
            run.failures.add(failure)
        for system, entity, codes, ids in looked_at:
            run.failures.looked_at(system, entity, codes, ids)
        return file_report(run, LOG)


ALL_TICKETS = ("connectwise", "tickets", ["unmapped-member", "no-time"], None)
ALL_CUSTOMERS = ("eautomate", "customers", ["unmapped-customer"], None)


@pytest.fixture
def runs(tmp_path, make_config, credentials, smtp_server):
    config = make_config(tmp_path, report=report_section(smtp_server.port))
    return Runs(load_settings(config))


def parts(message):
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return plain, html


def test_report_arrives_with_both_parts_grouped_by_owner_and_code(runs, smtp_server):
    runs(
        ticket(305, summary="<script>alert('x')</script>"),
        ticket(301, code="no-time"),
        customer("ACME01", name='Fox & Tern "O\'Brien" <b>bold</b>'),
        looked_at=[ALL_TICKETS, ALL_CUSTOMERS],
    )
    (message,) = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert (
        message["Subject"] == "[crosswalk] service-sync completed: 3 new, 0 still open, 0 resolved"
    )
    assert message["To"] == "ops@example.com, billing@example.com"
    assert smtp_server.envelopes == [
        ("crosswalk@example.com", ["ops@example.com", "billing@example.com"])
    ]
    plain, html = parts(message)

    # Grouped by owner (PSA before ERP) then code; each line names the record and the fix.
    order = [
        plain.index("PSA data (ConnectWise Manage) / no-time"),
        plain.index("PSA data (ConnectWise Manage) / unmapped-member"),
        plain.index("ERP data (e-automate) / unmapped-customer"),
    ]
    assert order == sorted(order)
    assert "* ticket #301" in plain and "Fix:     Map the member" in plain
    assert "Open:    https://cw.example/" in plain

    # Escaped: names are text in HTML, never markup.
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Fox &amp; Tern &quot;O&#x27;Brien&quot; &lt;b&gt;bold&lt;/b&gt;" in html
    assert '<a href="https://cw.example/v4_6_release/' in html
    assert "ticket #305 \"<script>alert('x')</script>\"" in plain  # plain text is text


def test_new_failures_come_before_still_open_ones(runs, smtp_server):
    runs(ticket(301), looked_at=[ALL_TICKETS])
    runs(ticket(301), ticket(302), customer("BRIG01"), looked_at=[ALL_TICKETS])
    second = smtp_server.messages[1]
    assert second["Subject"].endswith(": 2 new, 1 still open, 0 resolved")
    plain, html = parts(second)
    assert (
        plain.index("NEW FAILURES (2)") < plain.index("ticket #302") < plain.index("STILL OPEN (1)")
    )
    assert plain.index("STILL OPEN (1)") < plain.index("ticket #301")
    assert "in 2 of at most 3 reports" in plain
    assert html.index("New failures (2)") < html.index("Still open (1)")


def test_an_open_failure_is_in_at_most_n_emails_then_only_in_the_errors_view(runs, smtp_server):
    for _ in range(4):  # N + 1 runs, N = 3: the failure is found every time
        runs(ticket(301), looked_at=[ALL_TICKETS])
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects == [
        "[crosswalk] service-sync completed: 1 new, 0 still open, 0 resolved",
        "[crosswalk] service-sync completed: 0 new, 1 still open, 0 resolved",
        "[crosswalk] service-sync completed: 0 new, 1 still open, 0 resolved",
    ]
    (error,) = list_errors(Warehouse(runs.settings.warehouse.path), FLOW)
    assert (error.status, error.times_seen, error.times_reported) == ("open", 4, 3)

    # A new failure on a later run e-mails again; the old one is only counted, not listed.
    runs(ticket(301), ticket(999), looked_at=[ALL_TICKETS])
    plain, _ = parts(smtp_server.messages[-1])
    assert "ticket #999" in plain and "ticket #301" not in plain
    assert "1 open failure was in 3 reports already: no longer e-mailed" in plain
    assert smtp_server.messages[-1]["Subject"].endswith(": 1 new, 1 still open, 0 resolved")


def test_a_resolved_failure_is_announced_once(runs, smtp_server):
    runs(ticket(301), ticket(302), looked_at=[ALL_TICKETS])
    runs(ticket(302), looked_at=[ALL_TICKETS])  # 301 was looked at and is fine now
    second = smtp_server.messages[1]
    assert second["Subject"].endswith(": 0 new, 1 still open, 1 resolved")
    plain, html = parts(second)
    assert plain.index("RESOLVED SINCE THE LAST REPORT (1)") < plain.index("* ticket #301")
    assert "Resolved since the last report (1)" in html
    for _ in range(2):
        runs(ticket(302), looked_at=[ALL_TICKETS])
    assert all("#301" not in parts(m)[0] for m in smtp_server.messages[2:])
    assert len(smtp_server.messages) == 3  # 302 reached its 3 reports; 301 announced once
    runs(looked_at=[ALL_TICKETS])  # 302 resolved: announced, once
    runs(looked_at=[ALL_TICKETS])
    assert len(smtp_server.messages) == 4
    assert smtp_server.messages[3]["Subject"].endswith(": 0 new, 0 still open, 1 resolved")


def test_only_what_a_run_looked_at_is_resolved(runs, smtp_server):
    runs(ticket(301), ticket(302), customer("ACME01"), looked_at=[ALL_TICKETS, ALL_CUSTOMERS])
    # An incremental run that re-read ticket 302 only, and checked another code.
    runs(
        looked_at=[
            ("connectwise", "tickets", ["unmapped-member"], ["302"]),
            ("eautomate", "customers", ["unmapped-location"], None),
        ]
    )
    errors = {
        e.record_id: e.status
        for e in list_errors(Warehouse(runs.settings.warehouse.path), FLOW, "all")
    }
    assert errors == {"301": "open", "302": "resolved", "ACME01": "open"}


def test_a_failure_that_comes_back_is_new_again(runs, smtp_server):
    runs(ticket(301), looked_at=[ALL_TICKETS])
    runs(looked_at=[ALL_TICKETS])
    runs(ticket(301), looked_at=[ALL_TICKETS])
    assert [m["Subject"].split(": ")[1] for m in smtp_server.messages] == [
        "1 new, 0 still open, 0 resolved",
        "0 new, 0 still open, 1 resolved",
        "1 new, 0 still open, 0 resolved",
    ]
    (error,) = list_errors(Warehouse(runs.settings.warehouse.path), FLOW)
    assert (error.times_seen, error.times_reported, error.status) == (2, 1, "open")


def test_a_clean_run_sends_nothing(runs, smtp_server, tmp_path):
    filed = runs(looked_at=[ALL_TICKETS])
    assert smtp_server.messages == [] and filed.delivery is None
    assert not (tmp_path / "outbox").exists()
    assert "none sent: nothing new" in filed.markdown


def test_a_plan_run_resolves_what_reading_settles_not_what_a_write_does_and_emails_nothing(
    runs, smtp_server, monkeypatch
):
    title = SERVICE_CODES["no-time"][1]
    monkeypatch.setitem(CODES, "no-time", Code("no-time", FLOW, "push", "psa-data", title, "Log."))
    runs(ticket(301), ticket(303, code="no-time"), looked_at=[ALL_TICKETS])
    filed = runs(ticket(302), looked_at=[ALL_TICKETS], plan=True)
    assert len(smtp_server.messages) == 1 and filed.delivery is None
    wh = Warehouse(runs.settings.warehouse.path)
    # 301 is gone from the data the plan read; 303 only a write can settle.
    assert {e.record_id for e in list_errors(wh, FLOW)} == {"302", "303"}
    runs(ticket(302), ticket(303, code="no-time"), looked_at=[ALL_TICKETS])
    assert smtp_server.messages[-1]["Subject"].endswith(": 1 new, 1 still open, 1 resolved")


def test_a_flow_that_cannot_complete_emails_when_it_starts_failing_and_when_it_recovers(
    runs, smtp_server
):
    down = SystemUnreachable("connectwise", "connection refused by 127.0.0.1:8700")
    runs(status="failed", error=down)
    runs(status="failed", error=down)  # still down: no e-mail
    runs(status="failed", error=CredentialsRefused("connectwise", "401 Unauthorized"))
    runs(looked_at=[ALL_TICKETS])  # recovered
    runs(looked_at=[ALL_TICKETS])  # clean: no e-mail
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert subjects == [
        "[crosswalk] service-sync FAILED, could not complete (ConnectWise Manage unreachable): "
        "0 new, 0 still open, 0 resolved",
        "[crosswalk] service-sync recovered after 3 failed runs: 0 new, 0 still open, 0 resolved",
    ]
    assert [m["X-Crosswalk-Report"] for m in smtp_server.messages] == ["started", "recovered"]
    failing, _ = parts(smtp_server.messages[0])
    assert "WHY THE RUN COULD NOT COMPLETE" in failing
    assert "SystemUnreachable: connection refused by 127.0.0.1:8700" in failing
    assert "one when it recovers, not one per failed run" in failing
    recovered, _ = parts(smtp_server.messages[1])
    assert "after 3 failed runs since" in recovered
    assert "SystemUnreachable: connection refused" in recovered
    assert "CredentialsRefused: 401 Unauthorized" in recovered  # every cause it had
    assert list_errors(Warehouse(runs.settings.warehouse.path), FLOW) == []  # none open


def test_a_failed_run_still_reports_the_data_failures_it_found(runs, smtp_server):
    runs(
        ticket(301),
        status="failed",
        error=SystemUnreachable("eautomate", "timed out"),
        looked_at=[ALL_TICKETS],
    )
    (message,) = smtp_server.messages
    assert message["Subject"].startswith(
        "[crosswalk] service-sync FAILED, could not complete (e-automate unreachable): 1 new"
    )
    plain, _ = parts(message)
    assert plain.index("WHY THE RUN COULD NOT COMPLETE") < plain.index("NEW FAILURES (1)")


def test_no_secret_reaches_the_report_or_the_warehouse(runs, smtp_server):
    leak = RuntimeError("GET https://api:demo-private@cw.example/ refused key demo-private")
    runs(status="failed", error=leak)
    plain, html = parts(smtp_server.messages[0])
    (error,) = list_errors(Warehouse(runs.settings.warehouse.path), FLOW)
    for text in (plain, html, error.message, smtp_server.messages[0].as_string()):
        assert "demo-private" not in text
    assert "https://***@cw.example/ refused key ***" in error.message


def test_without_smtp_the_report_is_an_eml_file_in_the_outbox(tmp_path, make_config, credentials):
    config = make_config(tmp_path, report=report_section(None))
    filed = Runs(load_settings(config))(ticket(301))
    assert filed.delivery.method == "outbox" and filed.delivery.note is None
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert str(eml) == filed.delivery.destination
    assert eml.name.endswith("-service-sync-run-001.eml")
    assert b"Subject: [crosswalk] service-sync completed: 1 new" in eml.read_bytes()


def test_when_the_server_fails_the_report_goes_to_the_outbox_and_is_not_lost(
    tmp_path, make_config, credentials, caplog, refused_port
):
    config = make_config(tmp_path, report=report_section(refused_port))  # nobody listens
    runs = Runs(load_settings(config))
    with caplog.at_level(logging.WARNING, logger="test-report"):
        filed = runs(ticket(301))
    assert filed.delivery.method == "outbox"
    assert filed.delivery.note.startswith("SMTP 127.0.0.1:")
    assert "written to" in caplog.text and "SMTP 127.0.0.1:" in caplog.text
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    (error,) = list_errors(Warehouse(runs.settings.warehouse.path), FLOW)
    assert error.times_reported == 1  # it is in a report, in the outbox


# ---------------------------------------------------------------------------------------
# TLS and login, against aiosmtpd with a certificate made for the test


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    from emulators.tls import certificate

    return certificate(tmp_path_factory.mktemp("tls"))


def tls_server(certificate, inbox, implicit=False):
    """aiosmtpd that needs STARTTLS (or speaks TLS at once) and a login, crosswalk/s3cret."""
    from aiosmtpd.smtp import AuthResult

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.login.decode())
        ok = (auth_data.login, auth_data.password) == (b"crosswalk", b"s3cret")
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535

    tls = (
        # aiosmtpd only counts STARTTLS as TLS; on an implicit-TLS port every byte is TLS.
        {"ssl_context": context, "server_hostname": "127.0.0.1", "auth_require_tls": False}
        if implicit
        else {"tls_context": context, "require_starttls": True}
    )
    controller = smtp_controller(inbox, authenticator=authenticator, auth_required=True, **tls)
    return controller, logins


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_and_login_with_the_password_from_its_reference(
    mode, certificate, tmp_path, make_config, credentials, monkeypatch
):
    from ..conftest import Inbox

    inbox = Inbox()
    controller, logins = tls_server(certificate, inbox, implicit=mode == "ssl")
    controller.start()
    try:
        monkeypatch.setenv("CROSSWALK_SMTP_PASSWORD", "s3cret")
        smtp = (
            f'user = "crosswalk"\npassword = {{ env = "CROSSWALK_SMTP_PASSWORD" }}\n'
            f'ca_file = "{certificate[0]}"\n'
        )
        section = report_section(controller.port, smtp=smtp).replace(
            'tls = "none"', f'tls = "{mode}"'
        )
        runs = Runs(load_settings(make_config(tmp_path, report=section)))
        filed = runs(ticket(301))
        assert filed.delivery.method == "smtp", filed.delivery
        assert logins == ["crosswalk"] and len(inbox.messages) == 1

        monkeypatch.setenv("CROSSWALK_SMTP_PASSWORD", "wrong-password")
        refused = runs(ticket(302))
        assert refused.delivery.method == "outbox"
        assert "SMTPAuthenticationError" in refused.delivery.note
        assert "wrong-password" not in refused.delivery.note
        assert (
            "wrong-password"
            not in (tmp_path / "outbox").joinpath(refused.delivery.destination).read_text()
        )
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_refused(certificate, tmp_path, make_config, credentials):
    from ..conftest import Inbox

    inbox = Inbox()
    controller, _ = tls_server(certificate, inbox)
    controller.start()
    try:
        section = report_section(controller.port).replace('tls = "none"', 'tls = "starttls"')
        filed = Runs(load_settings(make_config(tmp_path, report=section)))(ticket(301))
        assert filed.delivery.method == "outbox"
        assert "CERTIFICATE_VERIFY_FAILED" in filed.delivery.note
        assert inbox.messages == []
    finally:
        controller.stop()


def test_a_missing_smtp_password_sends_the_report_to_the_outbox_naming_the_variable(
    tmp_path, make_config, credentials, smtp_server, monkeypatch
):
    monkeypatch.delenv("CROSSWALK_SMTP_PASSWORD", raising=False)
    smtp = 'user = "crosswalk"\npassword = { env = "CROSSWALK_SMTP_PASSWORD" }\n'
    config = make_config(tmp_path, report=report_section(smtp_server.port, smtp=smtp))
    filed = Runs(load_settings(config))(ticket(301))
    assert filed.delivery.method == "outbox" and smtp_server.messages == []
    assert "environment variable CROSSWALK_SMTP_PASSWORD is not set" in filed.delivery.note


def test_every_failure_on_a_record_with_a_web_address_links_to_it(runs):
    """A ticket's failure made without a link gets one (ConnectWise opens records by type
    and id); an e-automate customer has no web address."""
    bare = data_failure(
        "connectwise", "tickets", 307, "no-time", "ticket #307 has no time entries", "Add time."
    )
    runs(bare, customer("ACME01"), looked_at=[ALL_TICKETS, ALL_CUSTOMERS])
    urls = {e.record_id: e.url for e in list_errors(Warehouse(runs.settings.warehouse.path))}
    assert urls["307"].endswith("recordType=ServiceFV&recid=307")
    assert urls["307"].startswith(runs.settings.systems.connectwise.base_url.split("/apis/")[0])
    assert urls["ACME01"] is None
