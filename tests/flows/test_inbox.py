"""The operators' inbox over HTTP (WSGI calls, no browser) on a warehouse one customer-sync
built on the small world, once for the module: decisions go through crosswalk.decisions,
values are text, a POST needs its CSRF token, and off loopback it needs authentication."""

import html
import io
import os
import re
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

import pytest

from crosswalk import decisions
from crosswalk.config import ConfigError, load_settings
from crosswalk.inbox import check_exposure
from crosswalk.inbox.auth import hash_password, verify_password
from crosswalk.inbox.web import COOKIE, Inbox
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync

from ..conftest import release, run_holding

pytestmark = pytest.mark.flow
SCRIPT = "<script>alert(1)</script>"


class Browser:
    """Calls the WSGI application as a browser would: keeps the session cookie, reads the
    CSRF token of the last page, follows nothing by itself."""

    def __init__(self, app):
        self.app = app
        self.cookie = ""
        self.page = ""

    def request(self, method, path, form=None, headers=None):
        body = urlencode(form or {}, doseq=True).encode()
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "HTTP_COOKIE": self.cookie, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8765",
            **(headers or {}),
        }  # fmt: skip
        answer = {}

        def start_response(status, response_headers):
            answer["status"] = int(status.split()[0])
            answer["headers"] = response_headers

        self.page = b"".join(self.app(environ, start_response)).decode()
        for name, value in answer["headers"]:
            if name == "Set-Cookie":
                self.cookie = f"{COOKIE}={SimpleCookie(value)[COOKIE].value}"
        return answer["status"], dict(answer["headers"]), self.page

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, form, csrf=True):
        if csrf:
            form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', self.page)[1], **form}
        return self.request("POST", path, form)


@pytest.fixture(scope="module")
def built(emulated, tmp_path_factory, prefect_server):
    """A warehouse one customer-sync (reading and mapping, no pushes) built on the small
    world, with one customer renamed to a script and one conflict to settle."""
    from emulators.serve import CREDENTIALS

    os.environ.update(CREDENTIALS)
    folder = tmp_path_factory.mktemp("inbox")
    config = folder / "crosswalk.toml"
    config.write_text(emulated.config.read_text(encoding="utf-8"), encoding="utf-8")
    run = customer_sync(config=str(config))
    assert run.status == "completed", run.message
    settings = load_settings(config)
    with Warehouse(settings.warehouse.path).transaction() as con:
        (number,) = con.execute(
            "SELECT customer_number FROM marts.unmapped_customers ORDER BY 1 LIMIT 1"
        ).fetchone()
        for mart in ("unmapped_customers", "mapped_customers"):
            con.execute(f"UPDATE marts.{mart} SET customer_name = ? WHERE customer_number = ?",
                        [SCRIPT, number])  # fmt: skip
        decisions.raise_conflict(
            con, kind="customer", source_key="C-CONFLICT", target_key="77", field="phone",
            base_value="555-0100", erp_value="555-0101", psa_value=SCRIPT, run_id="test",
        )  # fmt: skip
    return settings


@pytest.fixture
def browser(built):
    return Browser(Inbox(built))


def query(settings, sql, params=None):
    with Warehouse(settings.warehouse.path).connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def suggestion_rows(page):
    return re.findall(r'name="customer" value="([^"]+)"><input type="hidden" name="company" '
                      r'value="(\d+)"><button>Confirm', page)  # fmt: skip


def test_today_counts_what_waits_and_links_to_it(browser):
    status, headers, page = browser.get("/")
    assert status == 200
    assert "Last run of each flow" in page and "customer-sync" in page
    assert 'href="/conflicts"' in page and 'href="/suggestions"' in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]


def test_confirming_a_suggestion_creates_the_link(browser, built):
    browser.get("/suggestions")
    customer, company = suggestion_rows(browser.page)[0]
    status, headers, _ = browser.post("/suggestions/link", {"customer": html.unescape(customer),
                                                             "company": company})  # fmt: skip
    assert (status, headers["Location"]) == (303, "/suggestions")
    assert query(built, "SELECT target_key, made_by, decided_by FROM sync.links "
                 "WHERE kind = 'customer' AND source_key = ?", [html.unescape(customer)]) == [
        (company, "operator", browser.app.local_user)]  # fmt: skip
    _, _, page = browser.get("/suggestions")
    assert "Linked customer" in page and (customer, company) not in suggestion_rows(page)


def test_rejecting_a_suggestion_hides_it(browser, built):
    browser.get("/suggestions")
    customer, company = suggestion_rows(browser.page)[-1]
    status, _, _ = browser.post("/suggestions/reject", {"customer": html.unescape(customer),
                                                         "company": company})  # fmt: skip
    assert status == 303
    assert query(built, "SELECT rejected_by FROM sync.rejected_suggestions WHERE "
                 "customer_number = ? AND company_id = ?", [html.unescape(customer), company]
                 ) == [(browser.app.local_user,)]  # fmt: skip
    _, _, page = browser.get("/suggestions")
    assert (customer, company) not in suggestion_rows(page)


def test_excluding_a_customer_records_who_and_why_and_including_takes_it_back(browser, built):
    (number,) = query(built, "SELECT customer_number FROM marts.mapped_customers "
                      "WHERE NOT is_excluded ORDER BY 1 DESC LIMIT 1")[0]  # fmt: skip
    browser.get("/exclusions")
    status, _, _ = browser.post("/exclusions/add", {"customer": number, "reason": "billing only"})
    assert status == 303
    assert query(built, "SELECT reason, excluded_by FROM sync.exclusions WHERE record_key = ?",
                 [number]) == [("billing only", browser.app.local_user)]  # fmt: skip
    _, _, page = browser.get("/exclusions")
    assert number in page and "billing only" in page
    browser.post("/exclusions/remove", {"customer": number})
    assert query(built, "SELECT count(*) FROM sync.exclusions WHERE record_key = ?",
                 [number]) == [(0,)]  # fmt: skip


def test_an_unknown_customer_cannot_be_excluded(browser):
    browser.get("/exclusions")
    status, _, _ = browser.post("/exclusions/add", {"customer": "NOPE-1", "reason": "x"})
    assert status == 404


def test_a_script_name_renders_as_text(browser):
    for path in ("/suggestions", "/conflicts"):
        _, _, page = browser.get(path)
        assert SCRIPT not in page and html.escape(SCRIPT) in page, path


def test_a_post_without_the_csrf_token_is_refused(browser, built):
    browser.get("/exclusions")
    before = query(built, "SELECT count(*) FROM sync.exclusions")
    for form in ({"customer": "X", "reason": "r"}, {"customer": "X", "csrf": "forged"}):
        status, _, page = browser.post("/exclusions/add", form, csrf=False)
        assert status == 403 and "CSRF" in page
    assert query(built, "SELECT count(*) FROM sync.exclusions") == before


def test_a_conflict_is_resolved_through_decisions(browser, built):
    _, _, page = browser.get("/conflicts")
    (conflict,) = re.findall(r'name="take-(\d+)" value="psa"', page)
    status, _, _ = browser.post("/conflicts", {f"take-{conflict}": "value",
                                               f"value-{conflict}": "555-0199"})  # fmt: skip
    assert status == 303
    assert query(built, "SELECT resolution, resolved_value, resolved_by FROM sync.conflicts "
                 "WHERE conflict_id = ?", [int(conflict)]) == [
        ("value", "555-0199", browser.app.local_user)]  # fmt: skip


def test_a_fields_direction_is_set_for_good_from_the_conflicts_page(browser, built):
    """Per conflict field, for that customer or every customer (with a resolution in the
    same submit, or alone); any field from the form below; forgotten again. Each decision
    says who and when; a direction nobody can own is refused."""
    decisions_raised = []
    with Warehouse(built.warehouse.path).transaction() as con:
        for field in ("website", "fax"):
            decisions_raised.append(decisions.raise_conflict(
                con, kind="customer", source_key="C-OWNED", target_key="78", field=field,
                base_value="a", erp_value="b", psa_value="c", run_id="test",
            ))  # fmt: skip
    website, fax = decisions_raised
    browser.get("/conflicts")
    assert f'name="own-{website}"' in browser.page
    status, _, _ = browser.post(
        "/conflicts",
        {f"own-{website}": "psa:customer", f"take-{fax}": "erp", f"own-{fax}": "erp:all"},
    )
    assert status == 303
    _, _, page = browser.get("/conflicts")
    assert "1 field(s) decided; 2 field(s) given a direction for good" in page
    browser.post("/conflicts/owner", {"field": "address", "owner": "psa", "customer": ""})
    owners = query(built, "SELECT customer_number, field, owner, decided_by, note, "
                   "decided_at IS NOT NULL FROM sync.field_owners ORDER BY 1, 2")  # fmt: skip
    user = browser.app.local_user
    assert owners == [
        ("*", "address_line1", "psa", user, "set in the inbox", True),
        ("*", "address_line2", "psa", user, "set in the inbox", True),
        ("*", "fax", "erp", user, "set in the inbox", True),
        ("C-OWNED", "website", "psa", user, "set in the inbox", True),
    ]
    _, _, page = browser.get("/conflicts")
    assert "every customer" in page and "Forget (crosswalk.toml decides)" in page
    browser.post("/conflicts/owner", {"field": "website", "owner": "config",
                                      "customer": "C-OWNED"})  # fmt: skip
    assert "goes as crosswalk.toml says again" in browser.get("/conflicts")[2]
    for form in ({"field": "webiste", "owner": "psa"}, {"field": "fax", "owner": "both"},
                 {"field": "fax", "owner": "psa", "customer": "NOPE-1"}):  # fmt: skip
        assert browser.post("/conflicts/owner", form)[0] in (400, 404)
        browser.get("/conflicts")
    assert browser.post("/conflicts", {f"own-{website}": "psa:nobody"})[0] == 400
    configured = built.flows.customer_sync.model_copy(
        update={"field_owners": {"website": "erp", "C-OWNED": {"city": "psa"}}}
    )
    flows = built.flows.model_copy(update={"customer_sync": configured})
    _, _, page = Browser(Inbox(built.model_copy(update={"flows": flows}))).get("/conflicts")
    assert (
        '<td>C-OWNED</td><td>city</td>\n<td>PSA → ERP</td><td class="muted">crosswalk.toml' in page
    )
    assert "<td>every customer</td><td>website</td>\n<td>ERP → PSA</td>" in page
    assert len(query(built, "SELECT * FROM sync.field_owners")) == 3
    with Warehouse(built.warehouse.path).transaction() as con:
        for field in ("address", "fax"):
            decisions.reset_field_owner(con, field, customer=None)
        decisions.settle_conflicts(con, decisions_raised, "test")


def test_a_decision_while_a_run_holds_the_warehouse_says_which_and_keeps_the_form(
    browser, built, monkeypatch
):
    """While a run holds the warehouse the pages read the read copy its last run left; a
    decision waits a moment, then the page says in one line which run holds it, saves
    nothing, and gives the form back as sent; sent again after the run, it is saved."""
    monkeypatch.setattr("crosswalk.config.DECISION_WAIT_SECONDS", 0.5)
    form = {"field": "fax", "owner": "psa", "note": "the PSA keeps the fax numbers"}
    with run_holding(built.warehouse.path) as process:
        assert browser.get("/suggestions")[0] == 200
        customer, company = suggestion_rows(browser.page)[0]
        status, _, page = browser.post("/suggestions/link", {
            "customer": html.unescape(customer), "company": company})  # fmt: skip
        assert status == 503 and "decision not saved after waiting 0.5 s: customer-sync" in page
        assert browser.get("/conflicts")[0] == 200
        status, _, page = browser.post("/conflicts/owner", form)
        assert status == 503
        (line,) = re.findall(r'<p class="differs" role="alert">([^<]*)</p>', page)
        line = html.unescape(line)
        assert line.startswith(
            f"decision not saved after waiting 0.5 s: customer-sync (pid {process.pid}, since "
        )
        assert line.endswith(f"is running on {built.warehouse.path.resolve()}")
        kept = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))
        assert {k: html.unescape(v) for k, v in kept.items() if k != "csrf"} == form
        assert 'action="/conflicts/owner"' in page and 'href="/conflicts"' in page
        release(process)
    assert query(built, "SELECT count(*) FROM sync.field_owners WHERE field = 'fax'") == [(0,)]
    status, headers, _ = browser.post("/conflicts/owner", form)
    assert (status, headers["Location"]) == (303, "/conflicts")
    assert query(built, "SELECT owner, note FROM sync.field_owners WHERE field = 'fax'") == [
        ("psa", form["note"])]  # fmt: skip
    with Warehouse(built.warehouse.path).transaction() as con:
        decisions.reset_field_owner(con, "fax", customer=None)


def test_errors_filter_by_flow_owner_code_and_status(browser, built):
    flow, owner, code = query(built, "SELECT flow, owner, code FROM sync.errors "
                              "WHERE status = 'open' ORDER BY 1, 2, 3 LIMIT 1")[0]  # fmt: skip
    (count,) = query(built, "SELECT count(*) FROM sync.errors WHERE status = 'open' AND "
                     "flow = ? AND owner = ? AND code = ?", [flow, owner, code])[0]  # fmt: skip
    status, _, page = browser.get(f"/errors?flow={flow}&owner={owner}&code={code}")
    assert status == 200 and f"<p>{count} failure(s)" in page
    error_id = re.search(r'href="/errors/([0-9a-f]+)"', page)[1]
    status, _, page = browser.get(f"/errors/{error_id}")
    assert status == 200 and "first_seen_at" in page


def test_wrong_links_name_every_record_and_can_be_unlinked_and_reset(browser, built):
    findings = query(built, "SELECT customer_number, finding_code, finding FROM marts."
                     "mapped_customers WHERE finding_code IS NOT NULL ORDER BY 1")  # fmt: skip
    assert findings, "the small world has wrong links"
    _, _, page = browser.get("/links")
    for number, code, finding in findings:
        block = page.split(f'id="customer-{html.escape(number)}"', 1)[1].split("</div>", 1)[0]
        block = html.unescape(block)
        assert finding in block and code in block
        if code == "company-claimed-twice":  # the other customer is named, and listed
            assert "another customer" not in finding
            assert block.count("ERP customer ") >= 1 and "also on company" in block
    number = findings[0][0]
    status, headers, _ = browser.post("/links/unlink", {"customer": number, "back": "/links"})
    assert (status, headers["Location"]) == (303, "/links")
    assert query(built, "SELECT target_key, made_by, decided_by FROM sync.links WHERE "
                 "kind = 'customer' AND source_key = ?", [number]) == [
        ("", "operator", browser.app.local_user)]  # fmt: skip
    _, _, page = browser.get("/links")
    assert "no partner" in page and "Let the rules decide" in page
    browser.post("/links/reset", {"customer": number})
    assert query(built, "SELECT count(*) FROM sync.links WHERE kind = 'customer' "
                 "AND source_key = ?", [number]) == [(0,)]  # fmt: skip


def test_search_finds_companies_by_name_number_phone_and_postcode_and_links_one(browser, built):
    (customer,) = query(built, "SELECT customer_number FROM marts.unmapped_customers WHERE "
                        "customer_name <> ? ORDER BY 1 DESC LIMIT 1", [SCRIPT])[0]  # fmt: skip
    company, identifier, name, phone, postcode = query(built, (
        "SELECT company_id, identifier, company_name, phone_number, zip FROM "
        "staging.stg_connectwise__companies WHERE NOT is_deleted AND phone_number IS NOT NULL "
        "AND length(zip) >= 5 QUALIFY count(*) OVER (PARTITION BY zip) < 10 "
        "ORDER BY company_id LIMIT 1"))[0]  # fmt: skip
    found = r'name="target" value="(\d+)"'
    for text in (name, identifier, phone, postcode, str(company)):
        status, _, page = browser.get(f"/search?customer={customer}&q={quote(text)}")
        assert status == 200 and str(company) in re.findall(found, page), text
    _, _, page = browser.get("/search?customer=" + customer + "&q=zzzz-nothing-like-it")
    assert re.findall(found, page) == []
    browser.get(f"/search?customer={customer}&q={quote(identifier)}")
    back = f"/search?customer={customer}"
    form = {"customer": customer, "target": str(company), "back": back}
    status, headers, _ = browser.post("/links/set", form)
    assert (status, headers["Location"]) == (303, back)
    decided = query(built, "SELECT target_key, decided_by FROM sync.links WHERE "
                    "kind = 'customer' AND source_key = ?", [customer])  # fmt: skip
    assert decided == [(str(company), browser.app.local_user)]
    browser.get(back)
    assert browser.post("/links/set", {"customer": customer, "target": "999999999"})[0] == 404


def test_waiting_records_before_a_flow_ran_say_how_to_run_it(browser):
    status, _, page = browser.get("/waiting")
    assert status == 200
    for flow in ("agreement-sync", "service-sync", "sales-order-sync", "charge-import"):
        assert f"crosswalk run {flow}</code> builds what this reads" in page
    assert "service-sync: 0 ERP calls for the PSA wait" in page
    assert browser.get("/waiting?flow=nope")[0] == 404


def test_non_loopback_without_authentication_refuses_to_start(built):
    with pytest.raises(ConfigError, match="not a loopback address"):
        check_exposure(built, "0.0.0.0")
    check_exposure(built, "127.0.0.1")
    users = built.inbox.model_copy(update={"users": {"ops": hash_password("s3cret")}})
    check_exposure(built.model_copy(update={"inbox": users}), "0.0.0.0")


def test_with_users_a_page_needs_a_signed_in_user(built):
    stored = hash_password("s3cret")
    assert verify_password("s3cret", stored) and not verify_password("guess", stored)
    inbox = built.inbox.model_copy(update={"users": {"ops": stored}})
    browser = Browser(Inbox(built.model_copy(update={"inbox": inbox})))
    status, headers, _ = browser.get("/conflicts")
    assert (status, headers["Location"]) == (303, "/login?next=%2Fconflicts")
    browser.get("/login")
    assert browser.post("/login", {"user": "ops", "password": "guess"})[0] == 401
    status, headers, _ = browser.post("/login", {"user": "ops", "password": "s3cret",
                                                 "next": "/conflicts"})  # fmt: skip
    assert (status, headers["Location"]) == (303, "/conflicts")
    assert browser.get("/conflicts")[0] == 200
