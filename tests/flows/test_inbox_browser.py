"""The operators' inbox in a real headless Chromium (Selenium and the system's chromedriver),
on a small world of its own: one customer-sync builds the pages, an operator settles a
conflict field by field, sets a field's direction for good for one customer, confirms and
rejects suggestions, unlinks a wrong link and excludes a customer, and the next run carries
every decision out. A customer named like a script is shown as text, and a form without
its CSRF token is refused.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them): without
them the module is skipped, saying so; under CI (``CI=true``) it fails instead."""

import getpass
import os
import shutil
import threading

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from crosswalk import decisions
from crosswalk.config import load_settings
from crosswalk.inbox import make_server
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync

pytestmark = pytest.mark.flow
WORLD, FOLDER = "inbox-world", "inbox-browser"  # conftest serves the world
SCRIPT = "<script>alert(1)</script>"
COMPANIES = "company/companies"
USER = getpass.getuser()  # who decides on a loopback inbox without sign-in
LINKED = (
    "SELECT customer_number, company_id FROM marts.mapped_customers WHERE company_id IS NOT "
    "NULL AND NOT is_excluded AND finding_code IS NULL AND customer_number NOT IN "
    "(SELECT unnest(?)) ORDER BY 1"
)


def configure(world, folder) -> str:
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    path = folder / "crosswalk.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def query(folder, sql, params=None):
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def sync(world, folder):
    run = customer_sync(config=configure(world, folder))
    assert run.status == "completed", run.message
    return run


@pytest.fixture(scope="module")
def chrome():
    """Headless Chromium through the system's chromedriver."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        reason = ("no chromium and chromedriver on this machine: apt-get install chromium "
                  "chromium-driver (what .ci/run does)")  # fmt: skip
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,900"):  # fmt: skip
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def inbox(world, folder, apis, chrome):
    """One customer-sync on the world, a conflict on two fields of one linked customer
    (its ERP and PSA values differ on both), and the inbox served on a free port."""
    cw, ea = apis
    sync(world, folder)
    number, company = query(folder, LINKED, [[]])[0]
    ea.save_customer(number, {"Phone1": "(727) 555-4141", "City": "Erpville"})
    cw.patch(COMPANIES, company, {"phoneNumber": "(727) 555-4242", "city": "Psaville"})
    settings = load_settings(folder / "crosswalk.toml")
    with Warehouse(settings.warehouse.path).transaction() as con:
        for field, erp, psa in (("phone", "(727) 555-4141", "(727) 555-4242"),
                                ("city", "Erpville", "Psaville")):  # fmt: skip
            decisions.raise_conflict(
                con, kind="customer", source_key=number, target_key=str(company), field=field,
                base_value=None, erp_value=erp, psa_value=psa, run_id="browser-test",
            )  # fmt: skip
    server = make_server(settings, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "customer": number,
           "company": company, "used": {number}}  # fmt: skip
    server.shutdown()
    server.server_close()


def open_page(chrome, inbox, path):
    chrome.get(inbox["url"] + path)
    return chrome


def form_values(form) -> dict:
    return {
        i.get_attribute("name"): i.get_attribute("value")
        for i in form.find_elements(By.CSS_SELECTOR, "input[type=hidden]")
    }


def notice(chrome) -> str:
    """The notice of the page a submit leads to: waited for, since a click returns before
    the browser has loaded the answer (on a busy machine, the old page is still there)."""
    WebDriverWait(chrome, 30).until(lambda page: page.find_elements(By.CSS_SELECTOR, "p.notice"))
    return chrome.find_element(By.CSS_SELECTOR, "p.notice").text


def test_a_conflict_is_settled_field_by_field_with_one_submit(chrome, inbox, folder):
    open_page(chrome, inbox, "/conflicts")
    ids = dict(query(folder, "SELECT field, conflict_id FROM sync.conflicts WHERE source_key = ?",
                     [inbox["customer"]]))  # fmt: skip
    chrome.find_element(By.CSS_SELECTOR, f"input[name=take-{ids['phone']}][value=erp]").click()
    chrome.find_element(By.CSS_SELECTOR, f"input[name=take-{ids['city']}][value=psa]").click()
    chrome.find_element(By.XPATH, "//button[text()='Decide the chosen fields']").click()
    assert "2 field(s) decided" in notice(chrome)
    decided = query(folder, "SELECT field, resolution, resolved_by FROM sync.conflicts "
                    "WHERE source_key = ? ORDER BY field", [inbox["customer"]])  # fmt: skip
    assert decided == [("city", "psa", USER), ("phone", "erp", USER)]


def test_a_fields_direction_is_set_for_good_for_one_customer(chrome, inbox, folder, apis):
    """PSA -> ERP for one customer's fax, from the form under the conflicts; the PSA's fax
    then changes, and the next run carries it into the ERP."""
    cw, _ = apis
    number, company = query(folder, LINKED, [sorted(inbox["used"])])[0]
    open_page(chrome, inbox, "/conflicts")
    form = chrome.find_elements(By.CSS_SELECTOR, "form[action='/conflicts/owner']")[-1]
    Select(form.find_element(By.NAME, "field")).select_by_visible_text("fax")
    Select(form.find_element(By.NAME, "owner")).select_by_value("psa")
    form.find_element(By.NAME, "customer").send_keys(number)
    form.find_element(By.XPATH, ".//button[text()='Set for good']").click()
    assert f"The fax of customer {number} always goes PSA -> ERP" in notice(chrome)
    assert query(folder, "SELECT customer_number, field, owner, decided_by FROM "
                 "sync.field_owners") == [(number, "fax", "psa", USER)]  # fmt: skip
    assert number in chrome.find_element(By.ID, "owners").find_element(
        By.XPATH, "following-sibling::table").text  # fmt: skip
    cw.patch(COMPANIES, company, {"faxNumber": "(727) 555-8888"})
    inbox["owned"] = number
    inbox["used"].add(number)


def test_a_wrong_link_is_unlinked(chrome, inbox, folder):
    open_page(chrome, inbox, "/links")
    finding = chrome.find_element(By.CSS_SELECTOR, "div.finding[id^=customer-]")
    number = finding.get_attribute("id").removeprefix("customer-")
    assert number in finding.text and "Fix:" in finding.text
    finding.find_element(By.XPATH, ".//button[text()='Unlink (no partner)']").click()
    assert f"Unlinked customer {number}" in notice(chrome)
    assert query(folder, "SELECT target_key, decided_by FROM sync.links WHERE kind = 'customer' "
                 "AND source_key = ?", [number]) == [("", USER)]  # fmt: skip
    inbox["unlinked"] = number
    inbox["used"].add(number)


def test_a_suggestion_is_confirmed_and_another_rejected(chrome, inbox, folder):
    def rows():
        """The Confirm forms of suggestions for customers no other test used."""
        open_page(chrome, inbox, "/suggestions")
        forms = chrome.find_elements(By.CSS_SELECTOR, "form[action='/suggestions/link']")
        found = [(form_values(f), f) for f in forms]
        return [(v, f) for v, f in found if v.get("company") and v["customer"] not in inbox["used"]]

    confirmed, form = rows()[0]
    form.find_element(By.TAG_NAME, "button").click()
    assert "Linked customer" in notice(chrome)
    inbox["used"].add(confirmed["customer"])
    rejected, _ = rows()[-1]
    reject = chrome.find_elements(By.CSS_SELECTOR, "form[action='/suggestions/reject']")
    [form] = [f for f in reject if form_values(f)["customer"] == rejected["customer"]
              and form_values(f)["company"] == rejected["company"]]  # fmt: skip
    form.find_element(By.TAG_NAME, "button").click()
    assert "will not be suggested again" in notice(chrome)
    inbox["confirmed"], inbox["rejected"] = confirmed, rejected
    inbox["used"].add(rejected["customer"])


def test_a_customer_is_excluded_with_a_reason(chrome, inbox, folder):
    number, _ = query(folder, LINKED, [sorted(inbox["used"])])[-1]
    open_page(chrome, inbox, "/exclusions")
    chrome.find_element(By.NAME, "customer").send_keys(number)
    chrome.find_element(By.NAME, "reason").send_keys("billing only")
    chrome.find_element(By.XPATH, "//button[text()='Exclude from customer-sync']").click()
    assert f"Customer {number} is excluded" in notice(chrome)
    inbox["excluded"] = number


def test_a_form_without_its_csrf_token_is_refused(chrome, inbox, folder):
    before = query(folder, "SELECT count(*) FROM sync.exclusions")
    open_page(chrome, inbox, "/exclusions")
    chrome.execute_script(
        "document.querySelector('form[action=\"/exclusions/add\"] input[name=csrf]').remove()"
    )
    chrome.find_element(By.NAME, "customer").send_keys(inbox["customer"])
    chrome.find_element(By.NAME, "reason").send_keys("forged")
    chrome.find_element(By.XPATH, "//button[text()='Exclude from customer-sync']").click()
    # The click may return before the answer arrives: wait for the page it brings.
    WebDriverWait(chrome, 30).until(lambda page: page.title != "Exclusions · crosswalk inbox")
    assert "Forbidden" in chrome.title and "CSRF" in chrome.page_source
    assert query(folder, "SELECT count(*) FROM sync.exclusions") == before


def test_the_next_run_carries_out_every_decision(chrome, inbox, world, folder, apis):
    """Both conflict fields written where each lacks its value, the confirmed link made,
    the rejected pair no longer suggested, the unlinked customer without a company, the
    excluded one left out; and a customer renamed to a script is shown as text."""

    cw, ea = apis
    (renamed,) = query(folder, "SELECT customer_number FROM marts.unmapped_customers WHERE "
                       "customer_number NOT IN (SELECT unnest(?)) ORDER BY 1 LIMIT 1",
                       [sorted(inbox["used"])])[0]  # fmt: skip
    ea.save_customer(renamed, {"CustomerName": SCRIPT})
    sync(world, folder)

    company = cw.get(COMPANIES, inbox["company"])
    assert "".join(c for c in company["phoneNumber"] if c.isdigit()).endswith("7275554141")
    assert ea.customer(inbox["customer"])["City"] == "Psaville"
    assert ea.customer(inbox["owned"])["Fax"] == "(727) 555-8888"
    confirmed, rejected = inbox["confirmed"], inbox["rejected"]
    assert query(folder, "SELECT company_id::VARCHAR, match_rule FROM marts.mapped_customers "
                 "WHERE customer_number = ?", [confirmed["customer"]]) == [
        (confirmed["company"], "link")]  # fmt: skip
    assert query(folder, "SELECT count(*) FROM marts.customer_suggestions WHERE "
                 "customer_number = ? AND company_id::VARCHAR = ?",
                 [rejected["customer"], rejected["company"]]) == [(0,)]  # fmt: skip
    assert query(folder, "SELECT company_id, match_rule FROM marts.mapped_customers WHERE "
                 "customer_number = ?", [inbox["unlinked"]]) == [(None, "unlinked")]  # fmt: skip
    assert query(folder, "SELECT is_excluded FROM marts.mapped_customers WHERE "
                 "customer_number = ?", [inbox["excluded"]]) == [(True,)]  # fmt: skip

    open_page(chrome, inbox, "/suggestions")
    with pytest.raises(NoAlertPresentException):
        chrome.switch_to.alert.text  # noqa: B018 (the script did not run)
    assert f"{renamed} {SCRIPT}" in chrome.find_element(By.TAG_NAME, "body").text
    hidden = [form_values(f) for f in chrome.find_elements(
        By.CSS_SELECTOR, "form[action='/suggestions/reject']")]  # fmt: skip
    assert {"customer": rejected["customer"], "company": rejected["company"]} not in [
        {k: v for k, v in h.items() if k in ("customer", "company")} for h in hidden]  # fmt: skip
    assert query(folder, "SELECT count(*) FROM sync.conflicts WHERE settled_at IS NULL "
                 "AND source_key = ?", [inbox["customer"]]) == [(0,)]  # fmt: skip
