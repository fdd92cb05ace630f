"""The e-automate emulator on the wire, with plain requests: the contract of
specs/eautomate-api.md (AuthInfo, delta reads, bulk details, every operation, every fault),
and the ERP it serves being the world's."""

import json
import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from emulators import framework
from emulators.eautomate.app import EAutomate
from emulators.framework import EmulatorServer

AUTH = {"User": "api", "Password": "demo", "CompanyID": "dealer", "Version": "25.0"}
EVERYTHING = "1900-01-01T00:00:00"


@pytest.fixture
def ea(emulated):
    server = emulated.servers["eautomate"]
    server.faults.clear()
    yield server
    server.faults.clear()


@pytest.fixture
def store(emulated):
    return emulated.store


def post(server, operation, auth=AUTH, **params):
    body = {"AuthInfo": auth, **params} if auth is not None else params
    return requests.post(f"{server.url}/PublicAPI/{operation}", json=body, timeout=10)


def ok(server, operation, **params):
    response = post(server, operation, **params)
    assert response.status_code == 200, response.text
    return response.json()


def fails(server, operation, code, field=None, faultcode="soap:Client", **params):
    """The fault an operation answers; asserts its kind, code and field."""
    response = post(server, operation, **params)
    assert response.status_code == 500, response.text
    fault = response.json()["Fault"]
    assert fault["faultcode"] == faultcode, fault
    assert fault["detail"]["Code"] == code, fault
    if field is not None:
        assert fault["detail"].get("Field") == field, fault
    return fault


def unique(prefix="T"):
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def new_customer(server, **fields):
    body = {"CustomerNumber": unique("C"), "CustomerName": "Test Customer", **fields}
    return ok(server, "addCustomer", Customer=body)


def props(record):
    return {p["Name"]: p["Value"] for p in record["CustomProperties"]}


# --- transport and AuthInfo ------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        None,
        {**AUTH, "User": "someone"},
        {**AUTH, "Password": "wrong-password"},
        {**AUTH, "CompanyID": "other"},
        {k: v for k, v in AUTH.items() if k != "Version"},
        {**AUTH, "Version": "8.0"},
    ],
    ids=["no-auth", "user", "password", "company", "no-version", "old-version"],
)
def test_wrong_auth_info_is_a_client_fault(ea, auth):
    fault = fails(ea, "getCurrentTimeStamp", "InvalidLogin", auth=auth)
    assert "wrong-password" not in json.dumps(fault)


def test_user_and_company_are_case_insensitive_and_the_password_is_not(ea):
    ok(ea, "getCurrentTimeStamp", auth={**AUTH, "User": "API", "CompanyID": "DEALER"})
    fails(ea, "getCurrentTimeStamp", "InvalidLogin", auth={**AUTH, "Password": "DEMO"})


def test_a_partner_token_is_checked_when_the_company_requires_one(store):
    with EmulatorServer(EAutomate(store, partner_token="partner-1")) as server:
        fails(server, "getCurrentTimeStamp", "InvalidLogin", field="PartnerToken")
        ok(server, "getCurrentTimeStamp", auth={**AUTH, "PartnerToken": "partner-1"})


def test_unknown_operations_parameters_methods_and_bodies_are_refused(ea):
    fails(ea, "getEverything", "UnknownOperation")
    fails(ea, "getCustomer", "InvalidRequest", field="Customer", Customer="X")
    bad = requests.post(f"{ea.url}/PublicAPI/getCustomer", data=b"{not json", timeout=10)
    assert bad.status_code == 500 and bad.json()["Fault"]["detail"]["Code"] == "InvalidRequest"
    assert requests.get(f"{ea.url}/PublicAPI/getCustomer", timeout=10).status_code == 405
    assert requests.post(f"{ea.url}/elsewhere", json={}, timeout=10).status_code == 404


def test_operation_names_are_case_insensitive(ea):
    assert "TimeStamp" in ok(ea, "GETCURRENTTIMESTAMP")


# --- delta reads ------------------------------------------------------------------------


def test_the_current_timestamp_is_local_time_without_offset(ea):
    stamp = ok(ea, "getCurrentTimeStamp")["TimeStamp"]
    moment = datetime.fromisoformat(stamp)
    assert moment.tzinfo is None
    now = datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None)
    assert abs(now - moment) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "operation",
    [
        "getCustomerList",
        "getTechnicianList",
        "getItemList",
        "getContractList",
        "getCallList",
        "getSalesOrderList",
    ],
)
def test_an_empty_or_invalid_timestamp_is_a_fault(ea, operation):
    fails(ea, operation, "Validation", field="TimeStamp", TimeStamp="")
    fails(ea, operation, "Validation", field="TimeStamp", TimeStamp="yesterday")
    fails(ea, operation, "Validation", field="TimeStamp")


@pytest.mark.parametrize(
    "operation, keys",
    [
        ("getCustomerList", {"CustomerNumber", "CustomerName", "ParentLocationNumber", "Active"}),
        ("getItemList", {"ItemID", "Item", "Description", "Active"}),
        (
            "getContractList",
            {"ContractID", "ContractNumber", "CustomerNumber", "Status", "IsTemplate"},
        ),
        (
            "getCallList",
            {
                "CallNumber",
                "CustomerNumber",
                "StatusCode",
                "HoldCode",
                "TechnicianNumber",
                "CallDate",
            },
        ),
        ("getSalesOrderList", {"SONumber", "CustomerNumber", "Status"}),
        ("getTechnicianList", {"TechnicianNumber", "FirstName", "LastName", "Email", "Active"}),
    ],
)
def test_lists_are_skinny_rows_in_last_update_order(ea, operation, keys):
    answer = ok(ea, operation, TimeStamp=EVERYTHING)
    assert datetime.fromisoformat(answer["TimeStamp"]).tzinfo is None
    rows = answer["Details"]
    assert rows and all(set(row) == keys | {"LastUpdate"} for row in rows)
    stamps = [datetime.fromisoformat(row["LastUpdate"]) for row in rows]
    assert stamps == sorted(stamps)


def test_a_list_holds_every_row_changed_at_or_after_the_stamp(ea, store):
    rows = ok(ea, "getCustomerList", TimeStamp=EVERYTHING)["Details"]
    (total,) = store.one("SELECT count(*) FROM eautomate.customers")
    assert len(rows) == total
    middle = rows[len(rows) // 2]["LastUpdate"]
    later = ok(ea, "getCustomerList", TimeStamp=middle)["Details"]
    assert later == [r for r in rows if r["LastUpdate"] >= middle]
    assert later[0]["LastUpdate"] == middle


def test_a_stamp_in_the_future_returns_nothing(ea):
    future = (datetime.now() + timedelta(days=400)).isoformat()
    assert ok(ea, "getCustomerList", TimeStamp=future)["Details"] == []
    assert ok(ea, "getCallList", TimeStamp=future)["Details"] == []


def test_a_write_after_a_stamp_is_listed_from_that_stamp(ea):
    customer = new_customer(ea)
    stamp = ok(ea, "getCurrentTimeStamp")["TimeStamp"]
    assert ok(ea, "getCustomerList", TimeStamp=stamp)["Details"] == []
    saved = ok(ea, "saveCustomer", Customer={**_key(customer), "City": "Ocala"})
    assert saved["LastUpdate"] > stamp
    listed = ok(ea, "getCustomerList", TimeStamp=stamp)["Details"]
    assert [r["CustomerNumber"] for r in listed] == [customer["CustomerNumber"]]


def test_an_offset_stamp_is_read_as_the_local_time_it_names(ea):
    stamp = ok(ea, "getCurrentTimeStamp")["TimeStamp"]
    utc = datetime.fromisoformat(stamp).replace(tzinfo=ZoneInfo("America/New_York"))
    customer = new_customer(ea)
    listed = ok(ea, "getCustomerList", TimeStamp=utc.astimezone(ZoneInfo("UTC")).isoformat())
    assert customer["CustomerNumber"] in [r["CustomerNumber"] for r in listed["Details"]]


@pytest.mark.parametrize(
    "operation, parameter",
    [
        ("getCustomerDataList", "CustomerNumbers"),
        ("getContractDataList", "ContractIDs"),
        ("getCallDataList", "CallNumbers"),
        ("getItemDataList", "Items"),
        ("getSalesOrderDataList", "SONumbers"),
    ],
)
def test_bulk_details_take_at_most_500_keys(ea, operation, parameter):
    keys = list(range(1, 502)) if parameter == "ContractIDs" else [f"K{i}" for i in range(501)]
    fails(ea, operation, "TooManyKeys", field=parameter, **{parameter: keys})
    assert ok(ea, operation, **{parameter: keys[:500]})["Details"] is not None


def test_bulk_details_come_in_the_order_asked_unknown_keys_left_out(ea):
    rows = ok(ea, "getCustomerList", TimeStamp=EVERYTHING)["Details"][:4]
    numbers = [r["CustomerNumber"] for r in rows][::-1]
    found = ok(ea, "getCustomerDataList", CustomerNumbers=[numbers[0], "NO-SUCH", *numbers[1:]])
    assert [c["CustomerNumber"] for c in found["Details"]] == numbers
    assert all("CustomProperties" in c and "Address" in c for c in found["Details"])


def test_bulk_details_match_keys_in_any_case_however_they_sort(ea):
    """Asked in another case than stored, the records come back all the same (the emulator
    looks for the keys as spelt first, then for the others without case): also one whose
    stored spelling sorts apart from its lower case, and beside a key that matches
    nothing."""
    rows = ok(ea, "getCustomerList", TimeStamp=EVERYTHING)["Details"][:3]
    numbers = [r["CustomerNumber"] for r in rows]
    odd = ok(ea, "addCustomer", Customer={"CustomerNumber": "ŸVES01", "CustomerName": "Yves"})
    asked = [numbers[0].lower(), "ÿves01", "no-such", *(n.upper() for n in numbers[1:])]
    found = ok(ea, "getCustomerDataList", CustomerNumbers=asked)["Details"]
    assert [c["CustomerNumber"] for c in found] == [numbers[0], odd["CustomerNumber"], *numbers[1:]]


def test_bulk_details_answer_what_was_written_since_the_last_bulk_read(ea):
    """A bulk read finds its rows by what the emulator keeps of the last one (``Rows``);
    a write makes it read them again: a new customer, a changed one and new properties
    are all in the next bulk read."""
    numbers = [new_customer(ea)["CustomerNumber"] for _ in range(2)]
    ok(ea, "getCustomerDataList", CustomerNumbers=numbers)
    added = new_customer(ea)["CustomerNumber"]
    ok(ea, "saveCustomer", Customer={"CustomerNumber": numbers[0], "City": unique("City")})
    value = str(uuid.uuid4().int % 10**6)
    ok(ea, "setCustomProperties", GroupType="Customer", Key=numbers[1],
       Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": value}])  # fmt: skip
    found = ok(ea, "getCustomerDataList", CustomerNumbers=[added, *numbers])["Details"]
    assert [c["CustomerNumber"] for c in found] == [added, *numbers]
    assert found[1] == ok(ea, "getCustomer", CustomerNumber=numbers[0])
    assert props(found[2])["ZCJ_CW_CompanyID"] == value


def test_a_property_given_twice_in_one_call_holds_the_last_value_once(ea, store):
    """Custom values wait staged like the rest: a property given twice in one call holds
    its last value, once, and a search by it finds the record once; changed again, the
    old value is gone from it."""
    number = new_customer(ea)["CustomerNumber"]
    first, second = (str(uuid.uuid4().int % 10**9) for _ in range(2))
    ok(ea, "setCustomProperties", GroupType="Customer", Key=number,
       Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": first},
                   {"Name": "ZCJ_CW_CompanyID", "Value": second}])  # fmt: skip
    assert props(ok(ea, "getCustomer", CustomerNumber=number))["ZCJ_CW_CompanyID"] == second

    def found(value):
        answer = ok(ea, "GetCustomerByCustomAttribute", Attribute="ZCJ_CW_CompanyID",
                    AttributeValue=value)  # fmt: skip
        return [c["CustomerNumber"] for c in answer["Details"]]

    assert found(second) == [number] and found(first) == []
    ok(ea, "setCustomProperties", GroupType="Customer", Key=number,
       Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": first}])  # fmt: skip
    assert found(first) == [number] and found(second) == []
    assert store.query(
        "SELECT count(*) FROM eautomate.custom_values WHERE record_key = ?", [number]
    ) == [(1,)]


def test_a_bulk_read_that_a_write_overtakes_reads_what_it_wrote(ea, store, monkeypatch):
    """A write that lands while a bulk read fetches its docs leaves the read's kept rows
    behind: the read notices (the store's generation moved) and reads keys and
    properties with the docs instead of answering properties the write replaced."""
    from emulators.eautomate.operations import CUSTOMERS

    operations = ea.system.operations
    numbers = [new_customer(ea)["CustomerNumber"] for _ in range(3)]
    operations.docs(CUSTOMERS, numbers)  # the rows kept
    read, value = store.query, str(uuid.uuid4().int % 10**6)

    def overtaken(sql, params=None):
        found = read(sql, params)
        if "rowid IN (SELECT unnest(?))" in sql:
            given = [{"Name": "ZCJ_CW_CompanyID", "Value": value}]
            with store.write() as cur:
                operations.set_properties(cur, "Customer", numbers[0], "Customer", given)
        return found

    monkeypatch.setattr(store, "query", overtaken)
    answered = [json.loads(doc) for doc in operations.docs(CUSTOMERS, numbers)]
    assert [c["CustomerNumber"] for c in answered] == numbers
    assert answered[0]["CustomProperties"] == [{"Name": "ZCJ_CW_CompanyID", "Value": value}]


def test_bulk_reads_from_documents_kept_in_memory_answer_what_duckdb_reads(ea, store, monkeypatch):
    """Once a table's bulk reads come a few times between two writes, the emulator keeps
    its documents in memory and reads no statement for them: the same answer as read
    from DuckDB, custom properties included, and a write is in the next one."""
    from emulators import framework

    numbers = [new_customer(ea, City="Zoë")["CustomerNumber"] for _ in range(3)]
    ok(ea, "setCustomProperties", GroupType="Customer", Key=numbers[1],
       Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": "41"}])  # fmt: skip
    asked = [numbers[2], "NO-SUCH", numbers[0].lower(), numbers[1]]
    statements = []
    query = store.query
    monkeypatch.setattr(store, "query", lambda sql, p=None: statements.append(sql) or query(sql, p))

    def answer() -> bytes:
        return post(ea, "getCustomerDataList", CustomerNumbers=asked).content

    from_memory = [answer() for _ in range(framework.KEEP_DOCUMENTS_AFTER + 1)]
    assert len(set(from_memory)) == 1
    read = [sql for sql in statements if "rowid IN (SELECT unnest(?))" in sql]
    assert len(read) == framework.KEEP_DOCUMENTS_AFTER - 1  # then none
    monkeypatch.setattr(framework, "KEEP_DOCUMENTS_AFTER", 10**6)
    assert answer() == from_memory[0]  # DuckDB's
    monkeypatch.setattr(framework, "KEEP_DOCUMENTS_AFTER", 3)
    found = json.loads(from_memory[0])["Details"]
    assert [c["CustomerNumber"] for c in found] == [numbers[2], numbers[0], numbers[1]]
    assert props(found[2])["ZCJ_CW_CompanyID"] == "41" and found[0]["City"] == "Zoë"
    ok(ea, "saveCustomer", Customer={"CustomerNumber": numbers[0], "City": "Moved"})
    for _ in range(framework.KEEP_DOCUMENTS_AFTER + 1):
        assert json.loads(answer())["Details"][1]["City"] == "Moved"


# --- customers --------------------------------------------------------------------------


def test_customers_are_the_worlds_with_what_the_incumbent_wrote(ea, store):
    truth = store.query(
        "SELECT c.customer_number, p.customer_number, c.cw_company_id_property,"
        " c.cw_site_id_property, c.sync_to_cw_property, c.on_hold"
        " FROM world.customers c LEFT JOIN world.customers p"
        " ON p.customer_id = c.parent_customer_id ORDER BY c.customer_id"
    )
    served = {}
    for start in range(0, len(truth), 500):
        numbers = [row[0] for row in truth[start : start + 500]]
        for customer in ok(ea, "getCustomerDataList", CustomerNumbers=numbers)["Details"]:
            served[customer["CustomerNumber"]] = customer
    for number, parent, company, site, sync, on_hold in truth:
        customer = served[number]
        assert customer["ParentLocationNumber"] == parent
        shown = props(customer)
        assert shown.get("ZCJ_CW_CompanyID") == company
        assert shown.get("ZCJ_CW_SiteAddressRecID") == site
        assert shown.get("ZCJ_SyncToCW") == sync
        assert customer["OnHold"] == on_hold and (customer["OnHoldCode"] == "CH") == on_hold
    values = [props(c) for c in served.values()]
    assert any(v.get("ZCJ_SyncToCW") == "No" for v in values)
    assert {c["CustomerTypeCode"] for c in served.values()} >= {"MPS", "IT", "COPIER", "MIXED"}
    assert {c["BranchNumber"] for c in served.values()} >= {"TPA", "ORL", "MIA", "JAX"}
    assert len({c["TerritoryCode"] for c in served.values()}) >= 4


def test_some_company_properties_point_at_the_wrong_or_a_deleted_company(store):
    (wrong,) = store.one(
        "SELECT count(*) FROM world.customers c JOIN world.cases k ON k.id = c.customer_id"
        " AND k.case_name IN ('customer_property_wrong_company',"
        " 'customer_property_deleted_company', 'customer_property_unknown_company')"
        " JOIN eautomate.custom_values v ON v.record_key = c.customer_number"
        " AND v.name = 'ZCJ_CW_CompanyID'"
        " WHERE v.value <> CAST(c.cw_company_id AS VARCHAR) OR c.cw_company_id IS NULL"
    )
    assert wrong >= 6


def test_get_customer_and_not_found(ea):
    any_number = ok(ea, "getCustomerList", TimeStamp=EVERYTHING)["Details"][0]["CustomerNumber"]
    customer = ok(ea, "getCustomer", CustomerNumber=any_number.lower())
    assert customer["CustomerNumber"] == any_number and isinstance(
        customer["CustomProperties"], list
    )
    fails(ea, "getCustomer", "NotFound", field="CustomerNumber", CustomerNumber="NO-SUCH")


def test_add_customer_numbers_from_initials_and_the_next_free_suffix(ea):
    first = ok(ea, "addCustomer", Customer={"CustomerName": "Qxv Wyzzle Imaging"})
    second = ok(ea, "addCustomer", Customer={"CustomerName": "Qxv Wyzzle Imaging"})
    assert (first["CustomerNumber"], second["CustomerNumber"]) == ("QW00", "QW01")
    assert first["Active"] is True and first["CreateDate"] == first["LastUpdate"]


def test_add_customer_refuses_a_taken_number_and_bad_fields(ea):
    taken = new_customer(ea)["CustomerNumber"]
    fails(
        ea,
        "addCustomer",
        "Duplicate",
        field="CustomerNumber",
        Customer={"CustomerNumber": taken.lower(), "CustomerName": "Again"},
    )
    fails(
        ea, "addCustomer", "Validation", field="CustomerName", Customer={"CustomerName": "N" * 101}
    )
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="CustomerNumber",
        Customer={"CustomerNumber": "X" * 16, "CustomerName": "Long number"},
    )
    fails(ea, "addCustomer", "Validation", field="CustomerName", Customer={"City": "Tampa"})
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="CustomerTypeCode",
        Customer={"CustomerName": "Typed", "CustomerTypeCode": "NOPE"},
    )
    fails(
        ea,
        "addCustomer",
        "InvalidRequest",
        field="Colour",
        Customer={"CustomerName": "Typo", "Colour": "red"},
    )
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="Active",
        Customer={"CustomerName": "Flag", "Active": "yes"},
    )


def test_locations_have_a_parent_that_is_no_location_and_bill_to_mail_to_must_exist(ea):
    parent = new_customer(ea)
    location = new_customer(
        ea,
        ParentLocationNumber=parent["CustomerNumber"],
        BillToNumber=parent["CustomerNumber"],
        MailToNumber=parent["CustomerNumber"],
    )
    assert location["ParentLocationNumber"] == parent["CustomerNumber"]
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="ParentLocationNumber",
        Customer={"CustomerName": "Grandchild", "ParentLocationNumber": location["CustomerNumber"]},
    )
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="BillToNumber",
        Customer={"CustomerName": "Orphan", "BillToNumber": "NO-SUCH"},
    )
    fails(
        ea,
        "saveCustomer",
        "Validation",
        field="ParentLocationNumber",
        Customer={**_key(parent), "ParentLocationNumber": location["CustomerNumber"]},
    )


def test_save_customer_changes_only_what_it_is_given(ea):
    customer = new_customer(ea, City="Tampa", Phone1="(813) 555-0100", Email="a@example.com")
    saved = ok(ea, "saveCustomer", Customer={**_key(customer), "City": "Orlando", "Email": ""})
    assert saved["City"] == "Orlando" and saved["Email"] is None
    assert saved["Phone1"] == "(813) 555-0100" and saved["CustomerName"] == "Test Customer"
    assert saved["LastUpdate"] > customer["LastUpdate"]
    again = ok(ea, "saveCustomer", Customer={**_key(customer), "City": "Orlando"})
    assert again["LastUpdate"] == saved["LastUpdate"]  # nothing changed, nothing written
    fails(ea, "saveCustomer", "NotFound", Customer={"CustomerNumber": "NO-SUCH", "City": "X"})
    fails(ea, "saveCustomer", "InvalidRequest", field="CustomerNumber", Customer={"City": "X"})


def test_a_held_customer_needs_an_on_hold_code(ea):
    held = new_customer(ea, OnHoldCode="ch")
    assert held["OnHold"] is True and held["OnHoldCode"] == "CH"
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="OnHoldCode",
        Customer={"CustomerName": "Held", "OnHold": True},
    )
    fails(
        ea,
        "addCustomer",
        "Validation",
        field="OnHoldCode",
        Customer={"CustomerName": "Held", "OnHoldCode": "WP"},
    )


# --- custom properties ------------------------------------------------------------------


def test_custom_property_attributes_per_group(ea):
    customer = {a["Name"]: a for a in ok(ea, "getCustomPropertyAttributes", GroupType="Customer")}
    assert customer["ZCJ_SyncToCW"]["DataType"] == "yesno"
    assert customer["ZCJ_CW_CompanyID"]["DataType"] == "text"
    assert customer["ZCJ_CW_SiteAddressRecID"]["DataType"] == "text"
    assert customer["Industry"]["DataType"] == "list" and customer["Industry"]["ListValues"]
    contract = {a["Name"] for a in ok(ea, "getCustomPropertyAttributes", GroupType="contract")}
    assert "ZCJ_CW_AgreementID" in contract
    assert ok(ea, "getCustomPropertyAttributes", GroupType="Vendor") == []
    fails(ea, "getCustomPropertyAttributes", "Validation", field="GroupType", GroupType="Call")


def test_set_custom_properties_as_text_bumping_last_update(ea):
    customer = new_customer(ea)
    number = customer["CustomerNumber"]
    values = ok(
        ea,
        "setCustomProperties",
        GroupType="Customer",
        Key=number,
        Properties=[
            {"Name": "ZCJ_CW_CompanyID", "Value": "250"},
            {"Name": "zcj_synctocw", "Value": "Yes"},
        ],
    )
    assert values == [
        {"Name": "ZCJ_CW_CompanyID", "Value": "250"},
        {"Name": "ZCJ_SyncToCW", "Value": "Yes"},
    ]
    after = ok(ea, "getCustomer", CustomerNumber=number)
    assert after["LastUpdate"] > customer["LastUpdate"] and props(after)["ZCJ_SyncToCW"] == "Yes"
    same = ok(
        ea,
        "setCustomProperties",
        GroupType="Customer",
        Key=number,
        Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": "250"}],
    )
    assert ok(ea, "getCustomer", CustomerNumber=number)["LastUpdate"] == after["LastUpdate"]
    assert len(same) == 2
    removed = ok(
        ea,
        "setCustomProperties",
        GroupType="Customer",
        Key=number,
        Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": ""}],
    )
    assert removed == [{"Name": "ZCJ_SyncToCW", "Value": "Yes"}]


@pytest.mark.parametrize(
    "prop, field",
    [
        ({"Name": "ZCJ_SyncToCW", "Value": "yes"}, "ZCJ_SyncToCW"),
        ({"Name": "ZCJ_SyncToCW", "Value": "True"}, "ZCJ_SyncToCW"),
        ({"Name": "ZCJ_Unknown", "Value": "1"}, "ZCJ_Unknown"),
        ({"Name": "ZCJ_CW_AgreementID", "Value": "1"}, "ZCJ_CW_AgreementID"),  # a contract's
        ({"Name": "ZCJ_CW_CompanyID", "Value": 250}, "ZCJ_CW_CompanyID"),  # not text
        ({"Name": "CreditLimit", "Value": "lots"}, "CreditLimit"),
        ({"Name": "Industry", "Value": "Space"}, "Industry"),
    ],
    ids=["yes-lowercase", "true", "unknown", "other-group", "number", "not-a-number", "list"],
)
def test_custom_property_values_are_validated(ea, prop, field):
    number = new_customer(ea)["CustomerNumber"]
    fails(
        ea,
        "setCustomProperties",
        "Validation",
        field=field,
        GroupType="Customer",
        Key=number,
        Properties=[prop],
    )


def test_custom_properties_of_a_missing_record_or_group_without_any(ea):
    fails(
        ea,
        "setCustomProperties",
        "NotFound",
        GroupType="Customer",
        Key="NO-SUCH",
        Properties=[{"Name": "ZCJ_SyncToCW", "Value": "No"}],
    )
    fails(
        ea,
        "setCustomProperties",
        "Validation",
        field="GroupType",
        GroupType="Vendor",
        Key="V1",
        Properties=[],
    )


def test_reads_answer_the_stored_properties_after_every_kind_of_write(ea, store):
    """A record's properties reach reads through its ``props``, filled when the emulator
    starts and kept by every write that changes them: after adding, changing and clearing
    them, a save with properties, a contract made with them and its renewal, each
    customer's and contract's are those ``custom_values`` holds, in the world's records
    too, and the bulk reads answer them."""
    number = new_customer(ea, CustomProperties=[{"Name": "ZCJ_CW_CompanyID", "Value": "7"}])[
        "CustomerNumber"
    ]
    ok(ea, "setCustomProperties", GroupType="Customer", Key=number.lower(),
       Properties=[{"Name": "ZCJ_CW_CompanyID", "Value": "8"},
                   {"Name": "ZCJ_SyncToCW", "Value": "Yes"}])  # fmt: skip
    ok(ea, "saveCustomer", Customer={"CustomerNumber": number, "City": "Elsewhere",
       "CustomProperties": [{"Name": "ZCJ_CW_CompanyID", "Value": ""}]})  # fmt: skip
    renewed = ok(ea, "renewContract", ContractID=_contract(ea, ExpDate="2027-01-31")["ContractID"])
    ok(ea, "setCustomProperties", GroupType="Contract", Key=str(renewed["ContractID"]),
       Properties=[{"Name": "ZCJ_CW_AgreementID", "Value": ""}])  # fmt: skip

    def stored(group: str) -> dict:
        found: dict = {}
        for key, name, value in store.query(
            "SELECT record_key, name, value FROM eautomate.custom_values WHERE group_type = ?"
            " ORDER BY record_key, name",
            [group],
        ):
            found.setdefault(key, []).append({"Name": name, "Value": value})
        return found

    for group, table, key in (
        ("Customer", "customers", "customer_number"),
        ("Contract", "contracts", "CAST(contract_id AS VARCHAR)"),
    ):
        kept = {k: json.loads(p) for k, p in store.query(
            f"SELECT {key}, props FROM eautomate.{table} WHERE props IS NOT NULL")}  # fmt: skip
        assert kept == stored(group) and len(kept) > 10, group
    [customer] = ok(ea, "getCustomerDataList", CustomerNumbers=[number, "NO-SUCH"])["Details"]
    assert customer["CustomProperties"] == [{"Name": "ZCJ_SyncToCW", "Value": "Yes"}]
    [contract] = ok(ea, "getContractDataList", ContractIDs=[renewed["ContractID"]])["Details"]
    assert contract["CustomProperties"] == [] and props(renewed) == {"ZCJ_CW_AgreementID": "9999"}


def test_customers_by_custom_attribute(ea, store):
    value, expected = store.one(
        "SELECT value, list(record_key ORDER BY record_key) FROM eautomate.custom_values"
        " WHERE name = 'ZCJ_CW_CompanyID' GROUP BY value ORDER BY count(*) DESC, value LIMIT 1"
    )
    found = ok(
        ea, "GetCustomerByCustomAttribute", Attribute="ZCJ_CW_CompanyID", AttributeValue=value
    )["Details"]
    assert sorted(c["CustomerNumber"] for c in found) == sorted(expected)
    assert all(props(c)["ZCJ_CW_CompanyID"] == value for c in found)
    none = ok(
        ea,
        "GetCustomerByCustomAttribute",
        Attribute="ZCJ_CW_CompanyID",
        AttributeValue="no-such-company",
    )
    assert none["Details"] == []
    fails(
        ea,
        "GetCustomerByCustomAttribute",
        "Validation",
        field="Attribute",
        Attribute="Nope",
        AttributeValue="1",
    )


# --- technicians and codes --------------------------------------------------------------


def test_technicians_are_the_worlds(ea, store):
    rows = ok(ea, "getTechnicianList", TimeStamp=EVERYTHING)["Details"]
    truth = dict(store.query("SELECT technician_number, is_active FROM world.technicians"))
    assert {r["TechnicianNumber"]: r["Active"] for r in rows} == truth


@pytest.mark.parametrize(
    "list_type",
    [
        "CustomerType",
        "Branch",
        "Territory",
        "ContractType",
        "CallType",
        "CallStatus",
        "BillCode",
        "ActivityCode",
        "SalesCode",
        "InventoryCode",
        "ExpenseCode",
    ],
)
def test_every_code_list(ea, list_type):
    codes = ok(ea, "getCodeList", ListType=list_type)["Details"]
    assert codes and all(set(c) == {"Code", "Description", "Active"} for c in codes)


def test_code_lists_and_hold_codes(ea):
    fails(ea, "getCodeList", "Validation", field="ListType", ListType="Colours")
    statuses = {c["Code"] for c in ok(ea, "getCodeList", ListType="CallStatus")["Details"]}
    assert statuses == {
        "Pending",
        "Scheduled",
        "Dispatched",
        "Complete",
        "Cleared",
        "OKToInvoice",
        "Invoiced",
        "Canceled",
    }
    holds = {c["Code"] for c in ok(ea, "getHoldCodeList")["Details"]}
    assert holds >= {"CH", "WP", "PA", "BadSync", "WAuth"}
    on_holds = {c["Code"] for c in ok(ea, "getOnHoldCodeList")["Details"]}
    assert on_holds >= {"CH", "WAuth", "BadSync"}


# --- items ------------------------------------------------------------------------------


def test_items_have_an_inventory_code_or_an_expense_code_never_both(ea):
    rows = ok(ea, "getItemList", TimeStamp=EVERYTHING)["Details"]
    items = ok(ea, "getItemDataList", Items=[r["Item"] for r in rows])["Details"]
    assert len(items) == len(rows)
    assert not any(i["InventoryCode"] and i["ExpenseCode"] for i in items)
    assert {i["ItemKind"] for i in items} == {"inventory", "nonstock", "expense", "serviceable"}
    assert ok(ea, "getItem", Item="cw-service")["ItemKind"] == "serviceable"
    fails(ea, "getItem", "NotFound", Item="NO-SUCH")


def test_add_and_save_items_under_the_item_rules(ea):
    number = unique("I")
    item = ok(
        ea,
        "addItem",
        ItemData={
            "Item": number,
            "Description": "Test toner",
            "ItemKind": "inventory",
            "SalesCode": "SUPPLIES",
            "InventoryCode": "INV-SUP",
        },
    )
    assert item["ItemID"] > 0 and item["Active"] is True
    fails(ea, "addItem", "Duplicate", field="Item", ItemData={**_item(number)})
    fails(
        ea,
        "addItem",
        "Validation",
        field="ExpenseCode",
        ItemData={**_item(unique("I")), "InventoryCode": "INV-SUP", "ExpenseCode": "EXP-SUP"},
    )
    fails(
        ea,
        "addItem",
        "Validation",
        field="InventoryCode",
        ItemData={**_item(unique("I")), "InventoryCode": None},
    )
    fails(
        ea,
        "addItem",
        "Validation",
        field="ExpenseCode",
        ItemData={**_item(unique("I")), "ItemKind": "expense", "InventoryCode": None},
    )
    fails(ea, "addItem", "Validation", field="Item", ItemData={**_item("X" * 31)})
    fails(
        ea,
        "saveItem",
        "Validation",
        field="Item",
        ItemData={"ItemID": item["ItemID"], "Item": number + "-NEW"},
    )
    saved = ok(ea, "saveItem", ItemData={"ItemID": item["ItemID"], "Description": "Renamed"})
    assert saved["Item"] == number and saved["Description"] == "Renamed"
    assert saved["InventoryCode"] == "INV-SUP"
    fails(
        ea,
        "saveItem",
        "Validation",
        field="ExpenseCode",
        ItemData={"ItemID": item["ItemID"], "ExpenseCode": "EXP-SUP"},
    )


# --- contracts --------------------------------------------------------------------------


def test_templates_exist_for_most_but_not_all_agreement_types(ea, store):
    rows = ok(ea, "getContractList", TimeStamp=EVERYTHING)["Details"]
    templates = {r["ContractNumber"] for r in rows if r["IsTemplate"]}
    types = store.query("SELECT name, has_template FROM world.agreement_types")
    assert {f"**CW {name}" for name, has in types if has} < templates
    assert "**CW Default" in templates
    truth = store.query("SELECT contract_number FROM world.contract_templates")
    assert templates == {number for (number,) in truth}
    assert any(not has and f"**CW {name}" not in templates for name, has in types)
    dealer = store.one("SELECT customer_number FROM world.customers WHERE customer_id = 1")[0]
    assert {r["CustomerNumber"] for r in rows if r["IsTemplate"]} == {dealer}


def test_contracts_are_numbered_base_revision_and_amount_is_quantity_times_rate(ea, store):
    for (doc,) in store.query("SELECT doc FROM eautomate.contracts WHERE NOT is_template"):
        contract = json.loads(doc)
        assert contract["ContractNumber"][-3] == "-" and contract["ContractNumber"][-2:].isdigit()
        for line in contract["Details"]:
            assert line["Amount"] == round(line["Quantity"] * line["Rate"], 2)
    renewed = store.one(
        "SELECT count(*) FROM eautomate.contracts WHERE contract_number LIKE '%-02'"
    )[0]
    assert renewed > 0


def test_incumbent_contracts_carry_their_agreement_and_its_invoices(ea, store):
    contract_id, agreement = store.one(
        "SELECT c.contract_id, v.value FROM eautomate.contracts c JOIN eautomate.custom_values v"
        " ON v.group_type = 'Contract' AND v.record_key = CAST(c.contract_id AS VARCHAR)"
        " WHERE c.contract_id NOT IN (SELECT id FROM world.cases WHERE case_name IN"
        " ('contract_terminated_agreement_live', 'contract_invoiced_before_sync'))"
        " ORDER BY c.contract_id LIMIT 1"
    )
    contract = ok(ea, "getContract", ContractID=contract_id)
    assert contract["ContractNumber"] == f"CW-{agreement}-01"
    assert props(contract) == {"ZCJ_CW_AgreementID": agreement}
    invoices = ok(ea, "getContractInvoices", ContractID=contract_id)
    psa = {
        number
        for (number,) in store.query(
            "SELECT doc->>'$.invoiceNumber' FROM connectwise.invoices"
            " WHERE json_extract(doc, '$.applyToId')::BIGINT = ? AND doc->>'$.type' = 'Agreement'",
            [int(agreement)],
        )
    }
    assert {i["PONumber"] for i in invoices} - {None} == psa
    assert all(
        set(i)
        == {"InvoiceNumber", "InvoiceDate", "PeriodFrom", "PeriodTo", "PONumber", "Total", "Void"}
        for i in invoices
    )


def test_some_contracts_are_billed_for_a_period_the_psa_has_not_invoiced(store):
    ahead = store.query(
        "SELECT c.contract_number FROM eautomate.contract_invoices i"
        " JOIN eautomate.contracts c USING (contract_id)"
        " WHERE i.doc->>'$.PeriodFrom' = '2026-01-01' AND c.contract_number LIKE 'CW-%'"
    )
    assert ahead
    for (number,) in ahead:
        agreement = int(number.split("-")[1])
        periods = store.query(
            "SELECT doc->>'$.reference' FROM connectwise.invoices"
            " WHERE json_extract(doc, '$.applyToId')::BIGINT = ?",
            [agreement],
        )
        assert periods and not any(p.startswith("2026-01-01") for (p,) in periods)


def test_get_contract_by_numeric_id_only(ea):
    fails(ea, "getContract", "InvalidRequest", field="ContractID", ContractID="CW-3001-01")
    fails(ea, "getContract", "NotFound", ContractID=99_999_999)
    fails(ea, "getContractInvoices", "NotFound", ContractID=99_999_999)


def test_add_contract_from_a_template(ea):
    customer = new_customer(ea)["CustomerNumber"]
    contract = ok(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**CW Managed IT",
        CustomerNumber=customer,
        StartDate="2026-02-01",
        ExpDate="2027-01-31",
        PONumber="PO-1",
        Remarks="CW invoice 6001",
        CustomProperties=[{"Name": "ZCJ_CW_AgreementID", "Value": "3001"}],
        Details=[
            {"Item": "**CWBase Managed IT", "Description": "Base", "Quantity": 1, "Rate": 1500},
            {"Item": "SEAT-MSP", "Quantity": 12, "Rate": 95.5, "Amount": 1146},
        ],
    )
    assert contract["ContractNumber"].startswith("CN") and contract["ContractNumber"][-3:] == "-01"
    assert contract["TemplateNumber"] == "**CW Managed IT" and contract["Status"] == "Active"
    assert contract["ContractType"] == "MANAGEDIT" and contract["BillingCycle"] == "Monthly"
    assert [line["Amount"] for line in contract["Details"]] == [1500.0, 1146.0]
    assert contract["BaseRate"] == 1500.0 and contract["BillToNumber"] == customer
    assert props(contract) == {"ZCJ_CW_AgreementID": "3001"}
    # The answer is made from what was stored, not read back: the same text as a read.
    answered = post(
        ea, "addContractFromTemplate", TemplateNumber="**CW Managed IT", CustomerNumber=customer,
        StartDate="2026-03-01", CustomProperties=[{"Name": "ZCJ_CW_AgreementID", "Value": "3002"}],
    ).text  # fmt: skip
    read = post(ea, "getContract", ContractID=json.loads(answered)["ContractID"]).text
    assert answered == read and props(json.loads(read)) == {"ZCJ_CW_AgreementID": "3002"}
    copied = ok(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**cw managed it",
        CustomerNumber=customer,
        StartDate="2026-02-01",
    )
    assert [line["Item"] for line in copied["Details"]] == ["**CWBase Managed IT"]
    named = ok(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**CW Lease",
        CustomerNumber=customer,
        StartDate="2026-02-01",
        ContractNumber=f"CW-{customer}-01",
    )
    assert named["ContractNumber"] == f"CW-{customer}-01"
    fails(
        ea,
        "addContractFromTemplate",
        "Duplicate",
        field="ContractNumber",
        TemplateNumber="**CW Lease",
        CustomerNumber=customer,
        StartDate="2026-02-01",
        ContractNumber=f"CW-{customer}-01",
    )


def test_a_record_read_back_after_a_write_lands_nothing_first(ea, monkeypatch):
    """A contract read by its id just after a write staged its properties is answered by
    key, staged rows and all: nothing lands in DuckDB for the reads (before, each read
    back landed what the writes had left), and the answer holds what was written."""
    customer = new_customer(ea)["CustomerNumber"]
    made = ok(
        ea, "addContractFromTemplate", TemplateNumber="**CW Lease", CustomerNumber=customer,
        StartDate="2026-02-01", CustomProperties=[{"Name": "ZCJ_CW_AgreementID", "Value": "77"}],
    )  # fmt: skip
    ok(ea, "setCustomProperties", GroupType="Contract", Key=str(made["ContractID"]),
       Properties=[{"Name": "ZCJ_CW_AgreementID", "Value": "78"}])  # fmt: skip
    landed, land = [], framework.Staged.write

    def watched(staged, cur, table):
        if not isinstance(threading.current_thread(), threading.Timer):  # not by time
            landed.append(table)
        land(staged, cur, table)

    monkeypatch.setattr(framework.Staged, "write", watched)
    read = ok(ea, "getContract", ContractID=made["ContractID"])
    assert (
        props(read) == {"ZCJ_CW_AgreementID": "78"}
        and read["ContractNumber"] == made["ContractNumber"]
    )
    assert ok(ea, "getContractInvoices", ContractID=made["ContractID"]) == []
    assert landed == []


def test_contract_numbers_are_known_in_any_case_and_follow_their_writes(ea):
    """A number is taken in any case once a contract holds it, free again once it moved
    (saveContract), and not taken by a create that failed after storing its contract."""
    customer = new_customer(ea)["CustomerNumber"]
    base = {"TemplateNumber": "**CW Lease", "CustomerNumber": customer, "StartDate": "2026-02-01"}
    number = f"CW-{customer}-01"
    fails(ea, "addContractFromTemplate", "Validation", ContractNumber=number, **base,
          CustomProperties=[{"Name": "NoSuchProperty", "Value": "1"}])  # fmt: skip
    made = ok(ea, "addContractFromTemplate", ContractNumber=number, **base)
    fails(ea, "addContractFromTemplate", "Duplicate", field="ContractNumber",
          ContractNumber=number.lower(), **base)  # fmt: skip
    moved = f"CW-{customer}-02"
    ok(ea, "saveContract", Contract={"ContractID": made["ContractID"], "ContractNumber": moved})
    again = ok(ea, "addContractFromTemplate", ContractNumber=number, **base)
    assert again["ContractID"] != made["ContractID"]
    fails(ea, "addContractFromTemplate", "Duplicate", field="ContractNumber",
          ContractNumber=moved.upper(), **base)  # fmt: skip
    fails(ea, "addContractFromTemplate", "NotFound", field="TemplateNumber",
          **{**base, "TemplateNumber": moved})  # a contract, not a template  # fmt: skip


def test_add_contract_faults(ea):
    customer = new_customer(ea)["CustomerNumber"]
    base = {"CustomerNumber": customer, "StartDate": "2026-02-01"}
    fails(
        ea,
        "addContractFromTemplate",
        "NotFound",
        field="TemplateNumber",
        TemplateNumber="**CW Help Desk",
        **base,
    )  # a type without a template
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="Amount",
        TemplateNumber="**CW Managed IT",
        **base,
        Details=[{"Item": "SEAT-MSP", "Quantity": 10, "Rate": 95, "Amount": 0}],
    )
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="Item",
        TemplateNumber="**CW Managed IT",
        **base,
        Details=[{"Item": "AV-EDR", "Quantity": 1, "Rate": 8}],
    )  # no such ERP item
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="PONumber",
        TemplateNumber="**CW Managed IT",
        **base,
        PONumber="P" * 31,
    )
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="CustomerNumber",
        TemplateNumber="**CW Managed IT",
        CustomerNumber="NO-SUCH",
        StartDate="2026-02-01",
    )
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="StartDate",
        TemplateNumber="**CW Managed IT",
        CustomerNumber=customer,
        StartDate="01/02/2026",
    )
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="ExpDate",
        TemplateNumber="**CW Managed IT",
        **base,
        ExpDate="2025-01-01",
    )
    fails(
        ea,
        "addContractFromTemplate",
        "Validation",
        field="ContractNumber",
        TemplateNumber="**CW Managed IT",
        **base,
        ContractNumber="NO-REVISION",
    )


def test_save_contract_is_partial_and_details_replace_all_lines(ea):
    contract = _contract(ea)
    saved = ok(
        ea,
        "saveContract",
        Contract={"ContractID": contract["ContractID"], "PONumber": "PO-2026-01"},
    )
    assert saved["PONumber"] == "PO-2026-01" and saved["Details"] == contract["Details"]
    assert saved["LastUpdate"] > contract["LastUpdate"]
    lines = [{"Item": "SEAT-MSP", "Description": "Seats", "Quantity": 3, "Rate": 95}]
    replaced = ok(
        ea, "saveContract", Contract={"ContractID": contract["ContractID"], "Details": lines}
    )
    assert [(line["Item"], line["Amount"]) for line in replaced["Details"]] == [("SEAT-MSP", 285.0)]
    again = ok(
        ea,
        "saveContract",
        Contract={"ContractID": contract["ContractID"], "Details": replaced["Details"]},
    )
    assert again["LastUpdate"] == replaced["LastUpdate"]
    assert again["Details"][0]["DetailID"] == replaced["Details"][0]["DetailID"]
    renumbered = contract["ContractNumber"].replace("-01", "-05")
    moved = ok(
        ea,
        "saveContract",
        Contract={"ContractID": contract["ContractID"], "ContractNumber": renumbered},
    )
    assert moved["ContractNumber"] == renumbered
    for change, field in (
        ({"PONumber": "P" * 31}, "PONumber"),
        ({"CustomerNumber": new_customer(ea)["CustomerNumber"]}, "CustomerNumber"),
        ({"Status": "Paused"}, "Status"),
        ({"Details": [{"Item": "SEAT-MSP", "Quantity": 2, "Rate": 10, "Amount": 25}]}, "Amount"),
    ):
        fails(
            ea,
            "saveContract",
            "Validation",
            field=field,
            Contract={"ContractID": contract["ContractID"], **change},
        )
    fails(ea, "saveContract", "NotFound", Contract={"ContractID": 99_999_999, "Remarks": "x"})


def test_renew_makes_the_next_revision(ea):
    contract = _contract(ea, ExpDate="2027-01-31")
    renewed = ok(ea, "renewContract", ContractID=contract["ContractID"])
    base = contract["ContractNumber"][:-3]
    assert renewed["ContractNumber"] == f"{base}-02" and renewed["Status"] == "Active"
    assert (renewed["StartDate"], renewed["ExpDate"]) == ("2027-02-01", "2028-01-31")
    assert props(renewed) == props(contract)
    assert [line["Item"] for line in renewed["Details"]] == [
        line["Item"] for line in contract["Details"]
    ]
    old = ok(ea, "getContract", ContractID=contract["ContractID"])
    assert old["Status"] == "Expired"
    fails(ea, "renewContract", "InvalidState", ContractID=contract["ContractID"])
    template = next(
        r for r in ok(ea, "getContractList", TimeStamp=EVERYTHING)["Details"] if r["IsTemplate"]
    )
    fails(ea, "renewContract", "InvalidState", ContractID=template["ContractID"])


def test_terminate(ea):
    contract = _contract(ea)
    ended = ok(ea, "terminateContract", ContractID=contract["ContractID"], TerminationCode="cancel")
    assert ended["Status"] == "Terminated" and ended["TerminationCode"] == "CANCEL"
    repeat = ok(
        ea, "terminateContract", ContractID=contract["ContractID"], TerminationCode="CANCEL"
    )
    assert repeat["LastUpdate"] == ended["LastUpdate"]
    for change in ({"PONumber": "6002"}, {"Status": "Active"}, {"Details": []}):
        fails(
            ea,
            "saveContract",
            "InvalidState",
            field="Status",
            Contract={"ContractID": contract["ContractID"], **change},
        )
    same = ok(ea, "saveContract", Contract={"ContractID": contract["ContractID"], "Remarks": None})
    assert same == ok(ea, "getContract", ContractID=contract["ContractID"]) == repeat
    fails(
        ea,
        "terminateContract",
        "InvalidState",
        ContractID=contract["ContractID"],
        TerminationCode="NONPAY",
    )
    fails(ea, "renewContract", "InvalidState", ContractID=contract["ContractID"])
    other = _contract(ea)
    fails(
        ea,
        "terminateContract",
        "Validation",
        field="TerminationCode",
        ContractID=other["ContractID"],
        TerminationCode="BORED",
    )
    fails(
        ea,
        "terminateContract",
        "InvalidRequest",
        field="TerminationCode",
        ContractID=other["ContractID"],
    )


# --- service calls ----------------------------------------------------------------------


def test_synced_calls_carry_their_ticket_number_and_its_time(ea, store):
    rows = store.query(
        "SELECT call_number, regexp_extract(doc->>'$.Description', '^\\[CW #(\\d+)\\]', 1)"
        " FROM eautomate.calls WHERE doc->>'$.Description' LIKE '[CW #%' ORDER BY call_number"
    )
    assert len(rows) > 10
    number, ticket = rows[0]
    call = ok(ea, "getCall", CallNumber=number)
    (entries,) = store.one(
        "SELECT count(*) FROM connectwise.time_entries"
        " WHERE json_extract(doc, '$.chargeToId')::BIGINT = ?",
        [int(ticket)],
    )
    assert len(call["Labors"]) == entries > 0
    assert call["StatusCode"] in ("OKToInvoice", "Invoiced")
    assert call["MaterialsUsed"] == [{"Item": "CW-SERVICE", "Quantity": 1.0, "Price": 0.0}]
    numbers = [
        int(n)
        for (n,) in store.query(
            "SELECT call_number FROM eautomate.calls ORDER BY doc->>'$.CreateDate', call_number"
        )
    ]
    assert len(set(numbers)) == len(numbers)


def test_get_call_and_call_not_found(ea):
    rows = ok(ea, "getCallList", TimeStamp="2025-06-01T00:00:00")["Details"]
    call = ok(ea, "getCall", CallNumber=rows[0]["CallNumber"])
    assert {k: call[k] for k in rows[0]} == rows[0]
    fault = fails(ea, "getCall", "NotFound", field="CallNumber", CallNumber="1")
    assert fault["faultstring"] == "Call not found."
    assert (
        len(ok(ea, "getCallDataList", CallNumbers=[r["CallNumber"] for r in rows[:3]])["Details"])
        == 3
    )


def test_a_write_finds_what_it_references_in_any_case_and_keeps_the_stored_spelling(ea, store):
    """References are matched as e-automate matches them, case aside (the emulator looks
    the stored spelling up first, by an index, then in any case)."""
    customer = new_customer(ea)["CustomerNumber"]
    (technician,) = store.one(
        "SELECT technician_number FROM world.technicians WHERE is_active "
        "AND technician_number <> lower(technician_number) LIMIT 1"
    )
    contract = ok(ea, "addContractFromTemplate", TemplateNumber="**CW Lease",
                  CustomerNumber=customer, StartDate="2026-02-01",
                  ContractNumber=f"CW-{customer}-01")["ContractNumber"]  # fmt: skip
    labor = {"ActivityCode": "LABOR", "LaborHours": 1, "TravelHours": 0}
    call = ok(ea, "addCall", Call={
        "CustomerNumber": customer.lower(), "BillToNumber": customer.lower(),
        "TechnicianNumber": technician.lower(), "Description": "Jam",
        "UseUnknownEquipment": True, "CallType": "repair", "ContractNumber": contract.lower(),
        # One operation looks each reference up once, whichever spelling comes first.
        "Labors": [{**labor, "TechnicianNumber": technician.lower()},
                   {**labor, "TechnicianNumber": technician}],
    })  # fmt: skip
    assert (call["CustomerNumber"], call["BillToNumber"], call["TechnicianNumber"]) == (
        customer, customer, technician,
    )  # fmt: skip
    assert call["ContractNumber"] == contract and contract != contract.lower()
    assert [line["TechnicianNumber"] for line in call["Labors"]] == [technician, technician]
    assert call["CallType"] == "REPAIR"
    assert ok(ea, "getCall", CallNumber=call["CallNumber"]) == call


def test_add_call_needs_a_customer_and_equipment_or_unknown_equipment(ea):
    customer = new_customer(ea)["CustomerNumber"]
    call = ok(
        ea,
        "addCall",
        Call={
            "CustomerNumber": customer,
            "Description": "Jam",
            "UseUnknownEquipment": True,
            "CallType": "repair",
        },
    )
    assert call["StatusCode"] == "Pending" and call["HoldCode"] is None
    assert call["CallType"] == "REPAIR" and call["BillToNumber"] == customer
    with_equipment = ok(
        ea,
        "addCall",
        Call={"CustomerNumber": customer, "Description": "PM", "EquipmentNumber": "E000001"},
    )
    assert int(with_equipment["CallNumber"]) > int(call["CallNumber"])
    fails(
        ea,
        "addCall",
        "Validation",
        field="EquipmentNumber",
        Call={"CustomerNumber": customer, "Description": "No equipment"},
    )
    fails(
        ea,
        "addCall",
        "Validation",
        field="CustomerNumber",
        Call={"Description": "Nobody", "UseUnknownEquipment": True},
    )
    fails(
        ea,
        "addCall",
        "Validation",
        field="CustomerNumber",
        Call={"CustomerNumber": "NO-SUCH", "Description": "x", "UseUnknownEquipment": True},
    )
    fails(
        ea,
        "addCall",
        "Validation",
        field="CallNumber",
        Call={
            "CallNumber": "1",
            "CustomerNumber": customer,
            "Description": "x",
            "UseUnknownEquipment": True,
        },
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("Caller", "c" * 256),
        ("Description", "d" * 2049),
        ("PONumber", "p" * 16),
        ("CallType", "NOPE"),
        ("HoldCode", "NOPE"),
        ("BillCode", "NOPE"),
        ("StatusCode", "Done"),
        ("TechnicianNumber", "T0000"),
    ],
)
def test_call_fields_are_checked(ea, field, value):
    customer = new_customer(ea)["CustomerNumber"]
    call = {"CustomerNumber": customer, "Description": "x", "UseUnknownEquipment": True}
    fails(ea, "addCall", "Validation", field=field, Call={**call, field: value})
    limit = {"Caller": 255, "Description": 2048, "PONumber": 15}.get(field)
    if limit:
        assert ok(ea, "addCall", Call={**call, field: value[:limit]})[field] == value[:limit]


def test_a_held_customers_new_calls_are_held_and_cannot_be_dispatched(ea):
    customer = new_customer(ea, OnHoldCode="CH")["CustomerNumber"]
    call = ok(
        ea,
        "addCall",
        Call={"CustomerNumber": customer, "Description": "Held", "UseUnknownEquipment": True},
    )
    assert call["HoldCode"] == "CH"
    fails(
        ea,
        "saveCall",
        "InvalidState",
        field="StatusCode",
        Call={"CallNumber": call["CallNumber"], "StatusCode": "Dispatched"},
    )
    released = ok(ea, "saveCall", Call={"CallNumber": call["CallNumber"], "HoldCode": ""})
    assert released["HoldCode"] is None
    dispatched = ok(
        ea, "saveCall", Call={"CallNumber": call["CallNumber"], "StatusCode": "Dispatched"}
    )
    assert dispatched["StatusCode"] == "Dispatched"


def test_labor_and_materials_replace_the_lists_and_invoiced_is_final(ea, store):
    customer = new_customer(ea)["CustomerNumber"]
    (technician,) = store.one("SELECT min(technician_number) FROM world.technicians")
    call = ok(
        ea,
        "addCall",
        Call={"CustomerNumber": customer, "Description": "Fix", "UseUnknownEquipment": True},
    )
    labor = {
        "TechnicianNumber": technician,
        "ActivityCode": "ONSITE",
        "ArrivalDate": "2026-11-20T09:00:00",
        "DepartureDate": "2026-11-20T10:30:00",
        "LaborHours": 1.5,
        "TravelHours": 0.5,
        "LaborRate": 125,
    }
    first = ok(ea, "saveCall", Call={"CallNumber": call["CallNumber"], "Labors": [labor]})
    second = ok(
        ea,
        "saveCall",
        Call={
            "CallNumber": call["CallNumber"],
            "Labors": [*first["Labors"], {**labor, "LaborHours": 1}],
            "MaterialsUsed": [{"Item": "TK-8337K", "Quantity": 1, "Price": 74}],
        },
    )
    assert [entry["LaborHours"] for entry in second["Labors"]] == [1.5, 1.0]
    assert second["MaterialsUsed"] == [{"Item": "TK-8337K", "Quantity": 1.0, "Price": 74.0}]
    for bad, field in (
        ({"Labors": [{**labor, "ActivityCode": "NAP"}]}, "ActivityCode"),
        ({"Labors": [{**labor, "TechnicianNumber": "T0000"}]}, "TechnicianNumber"),
        ({"Labors": [{**labor, "LaborHours": -1}]}, "LaborHours"),
        ({"MaterialsUsed": [{"Item": "NO-SUCH", "Quantity": 1}]}, "Item"),
        ({"CustomerNumber": new_customer(ea)["CustomerNumber"]}, "CustomerNumber"),
    ):
        fails(
            ea,
            "saveCall",
            "Validation",
            field=field,
            Call={"CallNumber": call["CallNumber"], **bad},
        )
    invoiced = ok(ea, "saveCall", Call={"CallNumber": call["CallNumber"], "StatusCode": "Invoiced"})
    assert invoiced["StatusCode"] == "Invoiced"
    same = ok(ea, "saveCall", Call={"CallNumber": call["CallNumber"], "StatusCode": "Invoiced"})
    assert same["LastUpdate"] == invoiced["LastUpdate"]  # a repeat changes nothing
    fails(
        ea,
        "saveCall",
        "InvalidState",
        field="StatusCode",
        Call={"CallNumber": call["CallNumber"], "StatusCode": "OKToInvoice"},
    )
    fails(
        ea,
        "saveCall",
        "InvalidState",
        Call={"CallNumber": call["CallNumber"], "Description": "changed"},
    )
    fails(
        ea,
        "addCall",
        "Validation",
        field="StatusCode",
        Call={
            "CustomerNumber": customer,
            "Description": "x",
            "UseUnknownEquipment": True,
            "StatusCode": "Invoiced",
        },
    )
    fails(ea, "saveCall", "NotFound", Call={"CallNumber": "1", "Description": "x"})


# --- sales orders -----------------------------------------------------------------------


def test_sales_orders(ea):
    rows = ok(ea, "getSalesOrderList", TimeStamp=EVERYTHING)["Details"]
    order = ok(ea, "getSalesOrder", SONumber=rows[0]["SONumber"])
    assert order["Details"] and all(
        set(line) == {"LineNumber", "Item", "Description", "Quantity", "Price"}
        for line in order["Details"]
    )
    fails(ea, "getSalesOrder", "NotFound", SONumber="SO0")
    held = new_customer(ea, OnHoldCode="CH")["CustomerNumber"]
    made = ok(
        ea,
        "saveSalesOrder",
        SalesOrder={
            "CustomerNumber": held,
            "OrderType": "Supplies",
            "PONumber": "PO-77",
            "Details": [{"Item": "TK-8337K", "Quantity": 2, "Price": 74}],
        },
    )
    assert made["SONumber"].startswith("SO") and made["OnHoldCode"] == "CH"
    assert made["Status"] == "Open" and made["ShipToNumber"] == held
    saved = ok(
        ea,
        "saveSalesOrder",
        SalesOrder={"SONumber": made["SONumber"], "OnHoldCode": "", "Status": "Shipped"},
    )
    assert saved["OnHoldCode"] is None and saved["Status"] == "Shipped"
    assert saved["Details"] == made["Details"] and saved["PONumber"] == "PO-77"
    # A shipped order keeps its lines; the same lines again are no change.
    same = [{k: line[k] for k in ("Item", "Quantity", "Price")} for line in made["Details"]]
    ok(ea, "saveSalesOrder", SalesOrder={"SONumber": made["SONumber"], "Details": same})
    fails(
        ea,
        "saveSalesOrder",
        "InvalidState",
        field="Details",
        SalesOrder={"SONumber": made["SONumber"], "Details": [*same, same[0]]},
    )
    fails(ea, "saveSalesOrder", "NotFound", SalesOrder={"SONumber": "SO0", "Status": "Open"})
    fails(
        ea,
        "saveSalesOrder",
        "Validation",
        field="Status",
        SalesOrder={"SONumber": made["SONumber"], "Status": "Lost"},
    )
    fails(
        ea,
        "saveSalesOrder",
        "Validation",
        field="Item",
        SalesOrder={"CustomerNumber": held, "Details": [{"Item": "NO-SUCH", "Quantity": 1}]},
    )


# --- injected faults --------------------------------------------------------------------


def test_injected_server_faults(ea):
    ea.faults.configure(seed=1, error=1.0)
    fault = fails(ea, "getCurrentTimeStamp", "ServerError", faultcode="soap:Server")
    assert "Timeout expired" in fault["faultstring"]
    ea.faults.configure(error=0.0, throttle=1.0, retry_after=3)
    response = post(ea, "getCurrentTimeStamp")
    assert response.status_code == 500 and response.headers["Retry-After"] == "3"
    assert response.json()["Fault"]["faultcode"] == "soap:Server"
    assert response.json()["Fault"]["detail"]["Code"] == "ServerBusy"
    ea.faults.configure(throttle=0.0, drop=1.0)
    with pytest.raises(requests.ConnectionError):
        post(ea, "getCurrentTimeStamp")
    ea.faults.clear()
    assert "TimeStamp" in ok(ea, "getCurrentTimeStamp")


# --- state ------------------------------------------------------------------------------


def test_writes_survive_a_restart_and_the_clock_never_goes_back(tmp_path):
    from emulators import serve

    with serve.start(tmp_path, seed=5, scale="small", port_base=0) as first:
        made = new_customer(first.servers["eautomate"], City="Kept")
    with serve.start(tmp_path, seed=5, scale="small", port_base=0) as second:
        server = second.servers["eautomate"]
        assert ok(server, "getCustomer", CustomerNumber=made["CustomerNumber"])["City"] == "Kept"
        assert ok(server, "getCurrentTimeStamp")["TimeStamp"] > made["LastUpdate"]


def test_a_world_without_the_erp_is_refused_with_what_to_do(tmp_path):
    from emulators.framework import Store

    store = Store(tmp_path / "old.duckdb")
    try:
        with pytest.raises(ValueError, match="no eautomate schema"):
            EAutomate(store)
    finally:
        store.close()


# --- helpers ----------------------------------------------------------------------------


def _key(customer):
    return {"CustomerNumber": customer["CustomerNumber"]}


def _item(number):
    return {
        "Item": number,
        "Description": "Test item",
        "ItemKind": "inventory",
        "InventoryCode": "INV-SUP",
    }


def _contract(ea, **fields):
    customer = new_customer(ea)["CustomerNumber"]
    return ok(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**CW Managed Print",
        CustomerNumber=customer,
        StartDate="2026-02-01",
        CustomProperties=[{"Name": "ZCJ_CW_AgreementID", "Value": "9999"}],
        Details=[{"Item": "MPS-DEV", "Quantity": 4, "Rate": 35}],
        **fields,
    )
