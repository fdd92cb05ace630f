"""crosswalk's own e-automate client: the transport seam, fault mapping, retries that know
what is safe to repeat, delta reads, bulk details in chunks of 500, partial saves,
contracts from templates, calls, and the dealer's time zone."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosswalk.config import ConfigError, parse_settings
from crosswalk.eautomate import EVERYTHING, AuthInfo, EAutomate, JsonTransport
from crosswalk.http import (
    CredentialsRefused,
    DataError,
    NotFound,
    OutcomeUnknown,
    RetryPolicy,
    TransientError,
)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def ea_server(emulated):
    server = emulated.servers["eautomate"]
    server.faults.clear()
    yield server
    server.faults.clear()


def connect(server, sleeps, password="demo", attempts=8, **kwargs) -> EAutomate:
    transport = JsonTransport(
        server.url,
        AuthInfo("api", password, "dealer"),
        retry=RetryPolicy(attempts=attempts, sleep=sleeps),
    )
    return EAutomate(transport, **kwargs)


@pytest.fixture
def client(ea_server, sleeps):
    return connect(ea_server, sleeps)


class Recording:
    """A transport that answers from a table and records what it was asked."""

    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    def call(self, operation, params, *, idempotent):
        self.sent.append((operation, dict(params), idempotent))
        answer = self.answers[operation]
        return answer(params) if callable(answer) else answer


def new_customer(client, **fields):
    return client.add_customer(
        {
            "CustomerNumber": f"K{uuid.uuid4().hex[:8].upper()}",
            "CustomerName": "Client Co",
            **fields,
        }
    )


# --- the seam ---------------------------------------------------------------------------


def test_any_transport_serves_the_client_reads_marked_safe_creates_not():
    transport = Recording(
        {
            "getCurrentTimeStamp": {"TimeStamp": "2026-11-20T09:00:00"},
            "getCustomerList": {
                "TimeStamp": "2026-11-20T09:00:01",
                "Details": [{"CustomerNumber": "A"}],
            },
            "addCustomer": {"CustomerNumber": "JD00"},
            "saveCustomer": lambda params: params["Customer"],
            "setCustomProperties": [],
        }
    )
    client = EAutomate(transport)
    changes = client.changes("customers", None)
    assert changes.stamp == "2026-11-20T09:00:00" and changes.rows == [{"CustomerNumber": "A"}]
    client.add_customer({"CustomerName": "John Doe"})
    saved = client.save_customer("JD00", {"City": "Tampa"})
    client.set_custom_properties("Customer", "JD00", {"ZCJ_CW_CompanyID": "250", "ZCJ_Old": None})
    assert [(op, safe) for op, _, safe in transport.sent] == [
        ("getCurrentTimeStamp", True),  # the stamp first, then the list
        ("getCustomerList", True),
        ("addCustomer", False),
        ("saveCustomer", True),
        ("setCustomProperties", True),
    ]
    assert transport.sent[1][1] == {"TimeStamp": EVERYTHING}
    # The stamp taken before the first list serves the next ones of the run: it is an
    # earlier cursor for them, never a later one.
    assert client.changes("customers", "2026-11-20T08:00:00").stamp == "2026-11-20T09:00:00"
    assert [op for op, _, _ in transport.sent].count("getCurrentTimeStamp") == 1
    assert saved == {"City": "Tampa", "CustomerNumber": "JD00"}  # only what changes is sent
    assert transport.sent[4][1]["Properties"] == [
        {"Name": "ZCJ_CW_CompanyID", "Value": "250"},
        {"Name": "ZCJ_Old", "Value": ""},
    ]


def test_details_fall_back_to_one_read_per_record_without_a_bulk_operation():
    def bulk(params):
        raise DataError("eautomate", "no such operation", code="UnknownOperation")

    def single(params):
        if params["CallNumber"] == "3":
            raise NotFound("eautomate", "Call not found.", code="NotFound")
        return {"CallNumber": params["CallNumber"]}

    transport = Recording({"getCallDataList": bulk, "getCall": single})
    client = EAutomate(transport, chunk=2)
    pages = list(client.details("calls", ["1", "2", "3", "4"]))
    assert pages == [[{"CallNumber": "1"}, {"CallNumber": "2"}], [{"CallNumber": "4"}]]
    assert [op for op, _, _ in transport.sent].count("getCallDataList") == 1  # asked once


# --- faults -----------------------------------------------------------------------------


def test_refused_credentials_never_show_the_password(ea_server, sleeps):
    client = connect(ea_server, sleeps, password="wrong-secret")
    with pytest.raises(CredentialsRefused) as caught:
        client.current_timestamp()
    assert caught.value.code == "InvalidLogin" and "wrong-secret" not in str(caught.value)
    assert not sleeps


def test_client_faults_are_data_errors_naming_record_and_field_never_retried(client, ea_server):
    number = new_customer(client)["CustomerNumber"]
    before = client.transport.http.calls
    with pytest.raises(DataError) as caught:
        client.save_customer(number, {"CustomerName": "N" * 101})
    error = caught.value
    assert error.field == "CustomerName" and number in str(error) and error.code == "Validation"
    assert error.status == 500 and client.transport.http.calls == before + 1
    with pytest.raises(NotFound):
        client.customer("NO-SUCH")
    with pytest.raises(DataError, match="at most 500"):
        client.read("getCustomerDataList", CustomerNumbers=[str(i) for i in range(501)])


def test_server_faults_and_dropped_connections_are_retried_for_reads(client, ea_server, sleeps):
    clean = client.changes("customers", None).rows
    ea_server.faults.configure(seed=4, error=0.25, drop=0.25)
    for _ in range(4):
        assert client.changes("customers", None).rows == clean
    assert ea_server.faults.injected["error"] and ea_server.faults.injected["drop"]
    assert sleeps


def test_server_busy_waits_as_retry_after_says(client, ea_server, sleeps):
    ea_server.faults.configure(seed=3, throttle=0.5, retry_after=2)
    for _ in range(6):
        client.read("getCurrentTimeStamp")
    assert sleeps and set(sleeps) == {2.0}


def test_creates_are_not_repeated_when_the_outcome_is_unknown(client, ea_server):
    ea_server.faults.configure(seed=1, error=1.0)
    before = client.transport.http.calls
    with pytest.raises(OutcomeUnknown):
        client.add_customer({"CustomerName": "Maybe Made"})
    assert client.transport.http.calls == before + 1
    ea_server.faults.configure(error=0.0, drop=1.0)
    with pytest.raises(OutcomeUnknown):
        client.add_call({"CustomerNumber": "X", "Description": "x", "UseUnknownEquipment": True})


def test_saves_are_safe_to_repeat_and_are_retried(client, ea_server):
    number = new_customer(client)["CustomerNumber"]
    ea_server.faults.configure(seed=5, error=0.5)
    for city in ("Ocala", "Tampa", "Miami"):
        assert client.save_customer(number, {"City": city})["City"] == city
    assert ea_server.faults.injected["error"]


def test_a_fault_that_outlasts_the_retries_is_transient(ea_server, sleeps):
    client = connect(ea_server, sleeps, attempts=3)
    ea_server.faults.configure(seed=1, error=1.0)
    with pytest.raises(TransientError) as caught:
        client.current_timestamp()
    assert caught.value.code == "ServerError" and len(sleeps) == 2


# --- delta reads and bulk details -------------------------------------------------------


def test_changes_since_a_stamp_see_writes_after_it(client):
    stamp = client.current_timestamp()
    number = new_customer(client)["CustomerNumber"]
    rows = client.changes("customers", stamp).rows
    assert [r["CustomerNumber"] for r in rows] == [number]


def test_bulk_details_go_500_keys_a_call(client, ea_server):
    numbers = [r["CustomerNumber"] for r in client.changes("customers", None).rows]
    keys = numbers + [f"NONE{i}" for i in range(1203 - len(numbers))]
    before = client.transport.http.calls
    pages = list(client.details("customers", keys))
    assert len(pages) == client.transport.http.calls - before == 3  # 500, 500, 203 keys
    assert [c["CustomerNumber"] for page in pages for c in page] == numbers
    smaller = connect(ea_server, Sleeps(), chunk=100)
    assert [len(page) for page in smaller.details("customers", numbers[:250])] == [100, 100, 50]
    assert smaller.transport.http.calls == 3


# --- writes -----------------------------------------------------------------------------


def test_partial_saves_and_custom_properties(client):
    customer = new_customer(client, City="Tampa", Phone1="(813) 555-0101")
    number = customer["CustomerNumber"]
    saved = client.save_customer(number, {"City": "Lakeland"})
    assert saved["City"] == "Lakeland" and saved["Phone1"] == "(813) 555-0101"
    values = client.set_custom_properties(
        "Customer", number, {"ZCJ_CW_CompanyID": "250", "ZCJ_SyncToCW": "No"}
    )
    assert {v["Name"]: v["Value"] for v in values} == {
        "ZCJ_CW_CompanyID": "250",
        "ZCJ_SyncToCW": "No",
    }
    assert client.set_custom_properties("Customer", number, {"ZCJ_SyncToCW": None}) == [
        {"Name": "ZCJ_CW_CompanyID", "Value": "250"}
    ]
    found = client.customers_by_property("ZCJ_CW_CompanyID", "250")
    assert number in [c["CustomerNumber"] for c in found]
    with pytest.raises(DataError) as caught:
        client.set_custom_properties("Customer", number, {"ZCJ_SyncToCW": "maybe"})
    assert caught.value.field == "ZCJ_SyncToCW"


def test_contracts_from_templates_renewed_and_terminated(client):
    number = new_customer(client)["CustomerNumber"]
    contract = client.add_contract_from_template(
        "**CW Backup & DR",
        number,
        "2026-01-01",
        expires="2026-12-31",
        po_number="6001",
        lines=[{"Item": "BKP-TB", "Description": "Cloud backup", "Quantity": 2, "Rate": 120}],
        properties={"ZCJ_CW_AgreementID": "3002"},
    )
    assert contract["Details"][0]["Amount"] == 240.0 and contract["PONumber"] == "6001"
    contract_id = contract["ContractID"]
    assert client.contract(contract_id)["ContractNumber"] == contract["ContractNumber"]
    assert client.save_contract(contract_id, {"Remarks": "CW invoice 6001"})["Remarks"]
    renewed = client.renew_contract(contract_id)
    assert renewed["ContractNumber"].endswith("-02") and renewed["StartDate"] == "2027-01-01"
    ended = client.terminate_contract(renewed["ContractID"], "REPLACED")
    assert ended["Status"] == "Terminated"
    assert client.contract_invoices(contract_id) == []
    with pytest.raises(DataError) as caught:
        client.add_contract_from_template("**CW Help Desk", number, "2026-01-01")
    assert caught.value.field == "TemplateNumber"


def test_calls_created_and_updated(client, emulated):
    (technician,) = emulated.store.one("SELECT min(technician_number) FROM world.technicians")
    number = new_customer(client)["CustomerNumber"]
    call = client.add_call(
        {
            "CustomerNumber": number,
            "Description": "[CW #999999] Printer offline",
            "UseUnknownEquipment": True,
            "StatusCode": "OKToInvoice",
            "BillCode": "T&M",
        }
    )
    labor = {"TechnicianNumber": technician, "ActivityCode": "REMOTE", "LaborHours": 0.75}
    updated = client.save_call(call["CallNumber"], {"Labors": [labor]})
    assert (
        updated["Labors"][0]["LaborHours"] == 0.75 and updated["Description"] == call["Description"]
    )
    assert client.call_record(call["CallNumber"])["Labors"] == updated["Labors"]
    with pytest.raises(DataError) as caught:
        client.save_call(call["CallNumber"], {"PONumber": "P" * 16})
    assert caught.value.field == "PONumber" and call["CallNumber"] in str(caught.value)


def test_items_and_sales_orders(client):
    item = client.add_item(
        {
            "Item": f"X{uuid.uuid4().hex[:8]}",
            "Description": "Freight in",
            "ItemKind": "expense",
            "ExpenseCode": "EXP-FRT",
        }
    )
    assert client.save_item(item["ItemID"], {"Active": False})["Active"] is False
    assert client.item(item["Item"])["ExpenseCode"] == "EXP-FRT"
    order = client.save_sales_order(
        {
            "CustomerNumber": new_customer(client)["CustomerNumber"],
            "Details": [{"Item": "PAPER-CASE", "Quantity": 3, "Price": 54}],
        }
    )
    assert (
        client.save_sales_order({"SONumber": order["SONumber"], "Status": "Shipped"})["Status"]
        == "Shipped"
    )
    assert client.sales_order(order["SONumber"])["Details"] == order["Details"]


def test_code_lists_and_attributes(client):
    assert {c["Code"] for c in client.code_list("HoldCode")} >= {"CH", "WP", "PA"}
    assert {c["Code"] for c in client.code_list("OnHoldCode")} >= {"CH", "WAuth"}
    assert client.code_list("BillCode")
    names = {a["Name"] for a in client.custom_property_attributes("Customer")}
    assert {"ZCJ_SyncToCW", "ZCJ_CW_CompanyID", "ZCJ_CW_SiteAddressRecID"} <= names


# --- time and configuration -------------------------------------------------------------


def test_local_time_with_and_without_offsets():
    client = EAutomate(Recording({}), time_zone="America/New_York")
    assert client.local("2026-07-01T12:00:00+00:00") == "2026-07-01T08:00:00"
    assert client.local("2026-01-15T17:30:00.250000") == "2026-01-15T12:30:00.250000"
    assert client.aware("2026-01-15T10:00:00") == "2026-01-15T10:00:00-05:00"
    assert client.aware("2026-07-15T10:00:00") == "2026-07-15T10:00:00-04:00"
    record = {
        "LastUpdate": "2026-01-15T10:00:00",
        "StartDate": "2026-01-01",
        "Remarks": "2026-01-15T10:00:00",  # text, not a date-time field
        "Labors": [{"ArrivalDate": "2026-07-15T10:00:00.5"}],
    }
    aware = {
        "LastUpdate": "2026-01-15T10:00:00-05:00",
        "StartDate": "2026-01-01",
        "Remarks": "2026-01-15T10:00:00",  # text, not a date-time field
        "Labors": [{"ArrivalDate": "2026-07-15T10:00:00.5-04:00"}],
    }
    page = [record]
    assert client.with_offsets(page) == [aware]
    assert record["LastUpdate"] == "2026-01-15T10:00:00"  # the caller's record as it was
    # A page that is the reader's own gets its offsets where it is.
    assert client.with_offsets(page, in_place=True) is page and page == [aware]
    london = EAutomate(Recording({}), time_zone="Europe/London")
    assert london.local("2026-07-01T12:00:00+00:00") == "2026-07-01T13:00:00"
    # The hour repeated when clocks go back is read as the first of the two.
    assert client.aware("2026-11-01T01:30:00") == "2026-11-01T01:30:00-04:00"
    assert client.instant("2026-11-01T01:30:00").isoformat() == "2026-11-01T05:30:00+00:00"


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
)
def test_every_quarter_hour_of_a_year_gets_the_offset_the_zone_gives_it(zone):
    """An offset is looked up once per hour and spelt once per distinct value: each
    quarter of an hour gets the zone's, on the days the clocks change too (Lord Howe's
    move by half an hour at 2:00, so its offset changes within that hour; Kolkata's is
    half an hour off), whether or not the hour was met first on the hour."""
    client = EAutomate(Recording({}), time_zone=zone)
    start = datetime(2026, 1, 1)
    for quarter in [*range(3, 366 * 96, 4), *range(366 * 96)]:  # each hour's :45 first
        local = (start + timedelta(minutes=15 * quarter)).isoformat()
        expected = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).isoformat()
        assert client.aware(local) == expected, local
    if zone == "Australia/Lord_Howe":  # 2:00 went to 2:30 on 2026-10-04
        assert client.aware("2026-10-04T02:15:00") == "2026-10-04T02:15:00+10:30"
        assert client.aware("2026-10-04T02:45:00") == "2026-10-04T02:45:00+11:00"
        walked = client.with_offsets([{"Labors": [{"ArrivalDate": "2026-10-04T02:50"}]}])
        assert walked == [{"Labors": [{"ArrivalDate": "2026-10-04T02:50+11:00"}]}]


def test_settings_build_the_client(credentials, monkeypatch):
    monkeypatch.setenv("EA_TOKEN", "partner-secret")
    raw = {
        "systems": {
            "eautomate": {
                "base_url": "http://127.0.0.1:9/",
                "company_id": "dealer",
                "user": "api",
                "password": {"env": "CROSSWALK_EA_PASSWORD"},
                "partner_token": {"env": "EA_TOKEN"},
                "version": "24.1",
                "time_zone": "America/Chicago",
                "page_size": 200,
            }
        }
    }
    settings = parse_settings(raw)
    secrets = settings.resolve_secrets(["eautomate"])["eautomate"]
    client = EAutomate.from_settings(settings.systems.eautomate, secrets)
    assert client.chunk == 200 and str(client.zone) == "America/Chicago"
    assert client.transport.auth == {
        "User": "api",
        "Password": "demo",
        "CompanyID": "dealer",
        "Version": "24.1",
        "PartnerToken": "partner-secret",
    }
    for key, value in (("time_zone", "Mars/Olympus"), ("version", "latest")):
        bad = {"systems": {"eautomate": {**raw["systems"]["eautomate"], key: value}}}
        with pytest.raises(ConfigError, match=rf"systems\.eautomate\.{key}"):
            parse_settings(bad)


def test_a_date_time_of_an_hour_no_calendar_has_is_left_for_validation():
    """A server's impossible date quarantines its record with the reason; it does not fail
    the read of the others."""
    from crosswalk.entities import validate
    from schemas import eautomate

    client = EAutomate(Recording({}))
    call = {"CustomerNumber": "C1", "StatusCode": "Pending", "LastUpdate": "2026-02-27T10:00:00"}
    page = [
        {**call, "CallNumber": "1", "CallDate": "2026-02-30T10:00:00"},
        {**call, "CallNumber": "2", "CallDate": "2026-02-27T09:00:00"},
    ]
    client.with_offsets(page, in_place=True)
    assert page[0]["CallDate"] == "2026-02-30T10:00:00"  # left as it is
    assert page[1]["CallDate"] == "2026-02-27T09:00:00-05:00"
    checked = validate(eautomate.calls, page)
    assert checked.table["call_number"].to_pylist() == ["2"]
    assert [r.key for r in checked.rejected] == ["1"]
    assert "call_date" in checked.rejected[0].reason


def test_a_listed_row_whose_last_update_cannot_be_read_is_read_and_quarantined():
    """The skinny list orders the changes by ``LastUpdate``; a row whose stamp no calendar
    has comes first, and its record is read and quarantined, the others landed."""
    from crosswalk.entities import validate
    from crosswalk.sources import EAutomateSource
    from schemas import eautomate

    call = {"CustomerNumber": "C1", "StatusCode": "Pending"}
    stamps = {"1": "2026-02-27T10:00:00", "2": "2026-02-30T10:00:00", "3": "2026-02-26T10:00:00"}
    transport = Recording(
        {
            "getCurrentTimeStamp": {"TimeStamp": "2026-02-28T00:00:00"},
            "getCallList": {
                "Details": [{"CallNumber": n, "LastUpdate": at} for n, at in stamps.items()]
            },
            "getCallDataList": lambda params: {
                "Details": [
                    {**call, "CallNumber": n, "LastUpdate": stamps[n]}
                    for n in params["CallNumbers"]
                ]
            },
        }
    )
    pages = list(EAutomateSource(EAutomate(transport)).pages(eautomate.calls, None))
    records = [r for page in pages for r in page.records]
    assert [r["CallNumber"] for r in records] == ["2", "3", "1"]
    assert pages[-1].watermark == "2026-02-28T05:00:00+00:00"  # the server's stamp
    checked = validate(eautomate.calls, records)
    assert sorted(checked.table["call_number"].to_pylist()) == ["1", "3"]
    assert [(r.key, "last_update" in r.reason) for r in checked.rejected] == [("2", True)]
