"""crosswalk's own ConnectWise client against the emulator: discovery, forward-only
paging, safe quoting, writes, retries and typed errors."""

import uuid

import pytest
import requests

from crosswalk.connectwise import ConnectWise, literal
from crosswalk.http import (
    CredentialsRefused,
    DataError,
    HttpClient,
    NotFound,
    OutcomeUnknown,
    RetryPolicy,
    TransientError,
)

from ..conftest import CW_HEADERS


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def cw(cw_server, sleeps):
    return ConnectWise(
        cw_server.url,
        "dealer",
        "demo-public",
        "demo-private",
        CW_HEADERS["clientId"],
        retry=RetryPolicy(attempts=8, sleep=sleeps),
    )


def test_literal_quotes_strings_and_formats_values():
    from datetime import datetime

    assert literal('O"Brien & Sons') == r'"O\"Brien & Sons"'
    assert literal("back\\slash") == r'"back\\slash"'
    assert literal(True) == "true" and literal(None) == "null" and literal(12) == "12"
    assert literal(datetime(2026, 1, 2, 3, 4, 5)) == "[2026-01-02T03:04:05Z]"


def test_the_codebase_is_discovered_from_company_info(cw, cw_server):
    assert cw.api == f"{cw_server.url}/v4_6_release/apis/3.0"


def test_unknown_company_and_bad_keys_are_config_errors(cw_server):
    with pytest.raises(CredentialsRefused, match="unknown"):
        _ = ConnectWise(cw_server.url, "nobody", "a", "b", "c").api
    wrong = ConnectWise(cw_server.url, "dealer", "demo-public", "wrong", CW_HEADERS["clientId"])
    with pytest.raises(CredentialsRefused) as caught:
        wrong.count("company/companies")
    assert caught.value.status == 401 and "wrong" not in str(caught.value)


def test_a_netrc_entry_for_the_host_never_replaces_the_configured_keys(
    cw_server, tmp_path, monkeypatch
):
    """requests sends the credentials ``~/.netrc`` holds for a host in place of a
    session's ``Authorization`` header; crosswalk's clients send the configured ones."""
    netrc = tmp_path / "netrc"
    host = cw_server.url.split("://")[1].rsplit(":", 1)[0]
    netrc.write_text(f"machine {host} login someone password else\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))
    client = ConnectWise(
        cw_server.url, "dealer", "demo-public", "demo-private", CW_HEADERS["clientId"]
    )
    assert client.count("company/companies") > 0
    assert requests.utils.get_netrc_auth(cw_server.url) == ("someone", "else")  # it is read


def test_pages_read_everything_once_in_id_order(cw):
    cw.page_size = 100
    pages = list(cw.pages("service/tickets"))
    ids = [t["id"] for page in pages for t in page]
    assert ids == sorted(set(ids)) and len(ids) == cw.count("service/tickets")
    assert all(len(page) == 100 for page in pages[:-1])


@pytest.mark.parametrize(
    "name",
    ['O"Brien & Sons', "x' or 1=1 --", 'a" or name like "%', "Café Müller (GmbH) 100%", "back\\"],
)
def test_adversarial_values_match_only_themselves(cw, name):
    created = cw.create(
        "company/companies", {"identifier": f"Q{uuid.uuid4().hex[:8]}", "name": name}
    )
    found = cw.find("company/companies", name=name)
    assert created["id"] in [c["id"] for c in found]
    assert {c["name"] for c in found} == {name}


def test_writes_send_only_the_changes(cw, cw_server):
    company = cw.create(
        "company/companies", {"identifier": f"W{uuid.uuid4().hex[:8]}", "name": "W", "city": "X"}
    )
    changed = cw.patch("company/companies", company["id"], {"name": "W2", "city": None})
    assert changed["name"] == "W2" and "city" not in changed
    last = cw_server.requests[-1]
    assert last.method == "PATCH"
    cw.delete("company/companies", company["id"])
    assert cw.get("company/companies", company["id"])["deletedFlag"] is True
    with pytest.raises(NotFound):
        cw.get("company/companies", 99_999_999)


def test_validation_errors_carry_code_and_field_and_are_not_retried(cw):
    assert cw.api  # the codebase discovery call, before counting
    calls = cw.http.calls
    with pytest.raises(DataError) as caught:
        cw.create("company/companies", {"identifier": "X" * 31, "name": "long"})
    assert caught.value.status == 400 and caught.value.field == "identifier"
    assert caught.value.code == "InvalidObject"
    assert cw.http.calls == calls + 1


def test_throttling_is_waited_out_as_retry_after_says(cw, cw_server, sleeps):
    cw.count("company/companies")
    cw_server.faults.configure(seed=3, throttle=0.5, retry_after=2)
    for _ in range(5):
        cw.count("company/companies")
    assert sleeps and set(sleeps) == {2.0}


def test_server_errors_are_retried_for_reads_but_not_for_creates(cw, cw_server, sleeps):
    cw.count("company/companies")
    cw_server.faults.configure(error=1.0)
    with pytest.raises(TransientError):
        cw.count("company/companies")
    assert len(sleeps) == 7
    with pytest.raises(OutcomeUnknown):
        cw.create("company/companies", {"identifier": "NEVER", "name": "never"})


def test_a_dropped_connection_on_create_is_an_unknown_outcome(cw, cw_server):
    cw.count("company/companies")
    cw_server.faults.configure(drop=1.0)
    with pytest.raises(OutcomeUnknown):
        cw.create("company/companies", {"identifier": "NEVER2", "name": "never"})


def test_extraction_under_faults_reads_the_same_records(cw, cw_server):
    cw.page_size = 50
    clean = [t["id"] for page in cw.pages("service/tickets") for t in page]
    cw_server.faults.configure(seed=11, throttle=0.2, error=0.05, retry_after=0)
    faulty = [t["id"] for page in cw.pages("service/tickets") for t in page]
    assert faulty == clean
    assert cw_server.faults.injected["throttle"] > 0 and cw_server.faults.injected["error"] > 0


def test_an_unreachable_system_is_a_transient_error(sleeps, refused_port):
    client = HttpClient(
        "connectwise",
        f"http://127.0.0.1:{refused_port}",
        timeout=1,
        retry=RetryPolicy(attempts=2, sleep=sleeps),
    )
    with pytest.raises(TransientError, match="unreachable"):
        client.request("GET", "anything")
    with pytest.raises(TransientError):
        client.request("POST", "anything")  # nothing was sent, so it is not "unknown"


def test_the_request_budget_spaces_calls(cw_server):
    client = ConnectWise(
        cw_server.url, "dealer", "demo-public", "demo-private", CW_HEADERS["clientId"],
        per_minute=6000,
    )  # fmt: skip
    assert client.http.budget.interval == pytest.approx(0.01)
    assert isinstance(client.http.session, requests.Session)
