"""The world the service sync (the incumbent's ID965 and ID522) needs, case by case: each case
is counted in ``world.cases`` of the session's small world and read back through the real HTTP
APIs of both emulators, as specs/eautomate-api.md (Service calls, Technicians, Items, codes)
and specs/connectwise-manage-api.md (9.6-9.9, 9.11) and the addendum say they serve it."""

import json
import re
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from ..conftest import CW_HEADERS

AUTH = {"User": "api", "Password": "demo", "CompanyID": "dealer", "Version": "25.0"}
EVERYTHING = "1900-01-01T00:00:00"
CW_KEY = re.compile(r"^\[CW #(\d+)\]")


# --- the two APIs -------------------------------------------------------------------------


@pytest.fixture
def ea(emulated):
    server = emulated.servers["eautomate"]
    server.faults.clear()
    yield server
    server.faults.clear()


def erp(server, operation, **params):
    response = requests.post(
        f"{server.url}/PublicAPI/{operation}", json={"AuthInfo": AUTH, **params}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def erp_fault(server, operation, **params) -> dict:
    response = requests.post(
        f"{server.url}/PublicAPI/{operation}", json={"AuthInfo": AUTH, **params}, timeout=10
    )
    assert response.status_code == 500, response.text
    return response.json()["Fault"]


def psa(cw_api, path, **params):
    response = requests.get(f"{cw_api}/{path}", params=params, headers=CW_HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def psa_all(cw_api, path, **params) -> list[dict]:
    """Every page of a collection."""
    rows, page = [], 1
    while batch := psa(cw_api, path, page=page, pageSize=1000, **params):
        rows += batch
        page += 1
    return rows


def new_customer(ea) -> str:
    number = f"S{uuid.uuid4().hex[:8].upper()}"
    erp(ea, "addCustomer", Customer={"CustomerNumber": number, "CustomerName": "Service Test"})
    return number


# --- the world's truth --------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(emulated):
    return emulated.store


@pytest.fixture(scope="module")
def cases(store) -> dict[str, set[int]]:
    found = defaultdict(set)
    for name, id_ in store.query("SELECT case_name, id FROM world.cases"):
        found[name].add(id_)
    return found


@pytest.fixture(scope="module")
def calls(store) -> dict[int, dict]:
    """Ticket id -> the incumbent's call for it, as generated: made before the anchor (the
    session's other tests make calls of their own)."""
    found = {}
    for (doc,) in store.query(
        "SELECT doc FROM eautomate.calls WHERE doc->>'$.CreateDate' < '2026-01-01'"
        " ORDER BY call_number"
    ):
        call = json.loads(doc)
        match = CW_KEY.match(call["Description"] or "")
        if match:
            found[int(match[1])] = call
    return found


@pytest.fixture(scope="module")
def technician(store) -> str:
    return store.one("SELECT min(technician_number) FROM world.technicians WHERE is_active")[0]


# --- the ERP: items, code lists, calls on contracts ---------------------------------------


def test_fixed_fee_item_is_a_non_inventory_part(ea, cases):
    (item_id,) = cases["item_fixed_fee"]
    items = {r["ItemID"]: r for r in erp(ea, "getItemList", TimeStamp=EVERYTHING)["Details"]}
    item = erp(ea, "getItem", Item=items[item_id]["Item"])
    assert item["Item"] == "CW-FIXEDFEE" and item["ItemKind"] == "nonstock"
    assert item["InventoryCode"] is None and item["ExpenseCode"] is None and item["Active"]
    assert item["SalesCode"] in {c["Code"] for c in codes(ea, "SalesCode")}


def codes(ea, list_type) -> list[dict]:
    return erp(ea, "getCodeList", ListType=list_type)["Details"]


@pytest.mark.parametrize("list_type", ["CallType", "BillCode", "ActivityCode", "CallStatus"])
def test_code_lists_the_service_sync_checks_its_configuration_against(ea, list_type):
    listed = codes(ea, list_type)
    assert listed and all(set(c) == {"Code", "Description", "Active"} for c in listed)
    if list_type == "CallStatus":
        assert {c["Code"] for c in listed} >= {"Pending", "OKToInvoice", "Invoiced"}
    assert erp_fault(ea, "getCodeList", ListType="NoSuchList")["detail"]["Field"] == "ListType"


def test_incumbent_calls_carry_every_call_field(ea, calls):
    call = erp(ea, "getCall", CallNumber=next(iter(calls.values()))["CallNumber"])
    assert set(call) >= {
        "CallNumber", "CustomerNumber", "BillToNumber", "ContractNumber", "CallType",
        "StatusCode", "HoldCode", "BillCode", "Caller", "Description", "PONumber",
        "TechnicianNumber", "CallDate", "CloseDate", "Labors", "MaterialsUsed", "LastUpdate",
    }  # fmt: skip
    for labor in call["Labors"]:
        assert set(labor) == {
            "TechnicianNumber", "ActivityCode", "DispatchDate", "ArrivalDate", "DepartureDate",
            "LaborHours", "TravelHours", "LaborRate", "Remarks",
        }  # fmt: skip
    listed = erp(ea, "getCallList", TimeStamp=EVERYTHING)["Details"]
    assert set(listed[0]) == {
        "CallNumber", "CustomerNumber", "StatusCode", "HoldCode", "TechnicianNumber",
        "CallDate", "LastUpdate",
    }  # fmt: skip


def _contract(ea, status) -> dict:
    """A contract of the world in ``status`` (not a template)."""
    for row in erp(ea, "getContractList", TimeStamp=EVERYTHING)["Details"]:
        if row["Status"] == status and not row["IsTemplate"]:
            return erp(ea, "getContract", ContractID=row["ContractID"])
    raise AssertionError(f"no {status} contract")


@pytest.mark.parametrize("status", ["Terminated", "Expired"])
def test_a_call_on_a_terminated_or_expired_contract_is_refused(ea, status, technician):
    contract = _contract(ea, status)
    call = {
        "CustomerNumber": contract["CustomerNumber"],
        "Description": "[CW #1] on an ended contract",
        "UseUnknownEquipment": True,
        "CallType": "IT",
        "BillCode": "CONTRACT",
    }
    refused = erp_fault(ea, "addCall", Call={**call, "ContractNumber": contract["ContractNumber"]})
    assert refused["faultcode"] == "soap:Client"
    assert refused["detail"] == {
        "Code": "InvalidState",
        "Field": "ContractNumber",
        "Key": refused["detail"]["Key"],
    }
    assert status.lower() in refused["faultstring"]
    made = erp(ea, "addCall", Call=call)
    moved = erp_fault(
        ea,
        "saveCall",
        Call={"CallNumber": made["CallNumber"], "ContractNumber": contract["ContractNumber"]},
    )
    assert (moved["detail"]["Field"], moved["detail"]["Code"]) == ("ContractNumber", "InvalidState")
    assert erp(ea, "getCall", CallNumber=made["CallNumber"])["ContractNumber"] is None


def test_a_call_after_its_contracts_exp_date_is_refused_one_within_it_is_made(ea, technician):
    customer = new_customer(ea)
    contract = erp(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**CW Default",
        CustomerNumber=customer,
        StartDate="2024-01-01",
        ExpDate="2024-12-31",
    )
    assert contract["Status"] == "Active"
    call = {
        "CustomerNumber": customer,
        "ContractNumber": contract["ContractNumber"],
        "Description": "[CW #2] dated",
        "UseUnknownEquipment": True,
    }
    late = erp_fault(ea, "addCall", Call={**call, "CallDate": "2025-02-03T10:00:00"})
    assert late["detail"]["Field"] == "ContractNumber" and "2024-12-31" in late["faultstring"]
    made = erp(ea, "addCall", Call={**call, "CallDate": "2024-06-03T10:00:00"})
    assert made["ContractNumber"] == contract["ContractNumber"]
    # The contract ends later: the call keeps it and can still be closed with its labor.
    erp(ea, "terminateContract", ContractID=contract["ContractID"], TerminationCode="CANCEL")
    closed = erp(
        ea,
        "saveCall",
        Call={
            "CallNumber": made["CallNumber"],
            "ContractNumber": contract["ContractNumber"],
            "StatusCode": "OKToInvoice",
            "CloseDate": "2024-06-03T12:00:00",
            "Labors": [{"TechnicianNumber": technician, "LaborHours": 1.0, "Remarks": "[TE #9]"}],
        },
    )
    assert closed["StatusCode"] == "OKToInvoice" and closed["CloseDate"] == "2024-06-03T12:00:00"


def test_a_service_sync_call_appends_labor_and_an_invoiced_call_refuses_more(ea, technician):
    customer = new_customer(ea)
    labor = {
        "TechnicianNumber": technician,
        "ActivityCode": "REMOTE",
        "DispatchDate": "2025-11-03T09:00:00",
        "ArrivalDate": "2025-11-03T09:00:00",
        "DepartureDate": "2025-11-03T10:30:00",
        "LaborHours": 1.5,
        "TravelHours": 0.0,
        "LaborRate": 95.0,
        "Remarks": "[TE #600001] Reset password",
    }
    made = erp(
        ea,
        "addCall",
        Call={
            "CustomerNumber": customer,
            "Description": "[CW #200001] Password reset",
            "UseUnknownEquipment": True,
            "CallType": "IT",
            "BillCode": "T&M",
            "StatusCode": "Pending",
            "TechnicianNumber": technician,
            "Labors": [labor],
        },
    )
    assert made["Labors"] == [labor]
    more = {**labor, "LaborHours": 0.5, "Remarks": "[TE #600002] Follow-up"}
    # Labors replace the list: appending is the current lines plus the new one.
    appended = erp(
        ea,
        "saveCall",
        Call={
            "CallNumber": made["CallNumber"],
            "Labors": [*made["Labors"], more],
            "StatusCode": "OKToInvoice",
        },
    )
    assert [x["Remarks"] for x in appended["Labors"]] == [labor["Remarks"], more["Remarks"]]
    assert appended["Description"] == made["Description"]  # a partial save keeps the rest
    erp(ea, "saveCall", Call={"CallNumber": made["CallNumber"], "StatusCode": "Invoiced"})
    refused = erp_fault(
        ea,
        "saveCall",
        Call={"CallNumber": made["CallNumber"], "Labors": [*appended["Labors"], more]},
    )
    assert refused["detail"]["Code"] == "InvalidState"


# --- the incumbent's calls and what happened after them -----------------------------------


ZONE = ZoneInfo("America/New_York")
LATE = ("time_entry_after_call", "time_entry_after_invoiced_call")


def utc(local: str) -> str:
    """An ERP date-time (the dealer's local time) as the PSA writes it."""
    moment = datetime.fromisoformat(local).replace(tzinfo=ZONE).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entries_of(cw_api, ticket_id) -> list[dict]:
    return psa_all(cw_api, "time/entries", conditions=f"chargeToId = {ticket_id}", orderBy="id")


@pytest.fixture(scope="module")
def by_company(store) -> dict[int, str]:
    return dict(
        store.query(
            "SELECT cw_company_id, customer_number FROM world.customers"
            " WHERE cw_company_id IS NOT NULL AND sync_to_cw"
        )
    )


def test_tickets_synced_by_the_incumbent_have_one_call_with_keyless_labor(
    cw_api, cases, calls, store
):
    synced = cases["ticket_synced_by_incumbent"]
    assert synced == set(calls) and len(synced) >= 2
    late = cases[LATE[0]] | cases[LATE[1]]
    technicians = dict(
        store.query(
            "SELECT doc->>'$.identifier', doc->>'$.employeeIdentifer' FROM connectwise.members"
        )
    )
    for ticket_id in sorted(synced)[:25]:
        call = calls[ticket_id]
        assert call["Description"].startswith(f"[CW #{ticket_id}] ")
        entries = [e for e in entries_of(cw_api, ticket_id) if e["id"] not in late]
        assert len(call["Labors"]) == len(entries) > 0
        for labor, entry in zip(call["Labors"], entries, strict=True):
            assert "[TE #" not in (labor["Remarks"] or "")
            # What the service sync matches them by: technician, date and hours.
            assert labor["TechnicianNumber"] == technicians[entry["member"]["identifier"]]
            assert utc(labor["ArrivalDate"]) == entry["timeStart"]
            assert labor["LaborHours"] == entry["actualHours"]


@pytest.mark.parametrize("case, status", [(LATE[0], "OKToInvoice"), (LATE[1], "Invoiced")])
def test_time_booked_after_the_incumbents_call(cw_api, ea, cases, calls, case, status):
    late = cases[case]
    assert len(late) >= 2
    for entry_id in late:
        entry = psa(cw_api, f"time/entries/{entry_id}")
        ticket = psa(cw_api, f"service/tickets/{entry['chargeToId']}")
        call = erp(ea, "getCall", CallNumber=calls[ticket["id"]]["CallNumber"])
        assert call["StatusCode"] == status
        after = call["LastUpdate"] if status == "Invoiced" else call["CreateDate"]
        assert entry["dateEntered"] > utc(after) and entry["timeStart"] > ticket["closedDate"]
        assert entry["_info"]["lastUpdated"] <= ticket["_info"]["lastUpdated"]
        assert entry["timeStart"] not in {utc(labor["ArrivalDate"]) for labor in call["Labors"]}
        hours = sum(e["actualHours"] for e in entries_of(cw_api, ticket["id"]))
        assert ticket["actualHours"] == pytest.approx(hours, abs=0.02)
        assert entry["billableOption"] == "Billable" and "invoice" not in entry
    assert not late & cases[LATE[1] if case == LATE[0] else LATE[0]]


def test_a_ticket_moved_after_its_call_was_made(cw_api, ea, cases, calls, store, by_company):
    moved = cases["ticket_moved_after_sync"]
    assert len(moved) >= 2
    before = dict(store.query("SELECT ticket_id, company_id FROM world.synced_tickets"))
    for ticket_id in moved:
        ticket = psa(cw_api, f"service/tickets/{ticket_id}")
        now = ticket["company"]["id"]
        assert now != before[ticket_id] and now in by_company
        customer = erp(ea, "getCustomer", CustomerNumber=calls[ticket_id]["CustomerNumber"])
        parent = customer["ParentLocationNumber"] or customer["CustomerNumber"]
        assert parent == by_company[before[ticket_id]] != by_company[now]
        sites = psa(cw_api, f"company/companies/{now}/sites")
        assert ticket["site"]["id"] in {s["id"] for s in sites} and "agreement" not in ticket
        assert {e["company"]["id"] for e in entries_of(cw_api, ticket_id)} == {now}
        trail = psa(cw_api, "system/audittrail", type="Ticket", id=ticket_id)
        assert any(t["text"].startswith("Company changed from") for t in trail)


# --- the PSA: boards, members, time, projects ---------------------------------------------


def test_boards_their_statuses_and_types_are_served(cw_api, store):
    boards = psa(cw_api, "service/boards", orderBy="name asc")
    assert [b["name"] for b in boards] == sorted(b["name"] for b in boards)
    assert {"Help Desk", "Field Service", "Managed Print", "Alerts", "Projects"} <= {
        b["name"] for b in boards
    }
    (help_desk,) = psa(cw_api, "service/boards", conditions='name = "Help Desk"')
    assert psa(cw_api, f"service/boards/{help_desk['id']}") == help_desk
    statuses = psa(cw_api, f"service/boards/{help_desk['id']}/statuses", pageSize=1000)
    assert {s["board"]["id"] for s in statuses} == {help_desk["id"]}
    closed = {s["name"] for s in statuses if s["closedStatus"]}
    assert closed == {">Closed", ">Cancelled"} and "Completed" not in closed
    only_closed = psa(
        cw_api, f"service/boards/{help_desk['id']}/statuses", conditions="closedStatus = true"
    )
    assert {s["name"] for s in only_closed} == closed
    count = psa(cw_api, f"service/boards/{help_desk['id']}/statuses/count")["count"]
    assert count == len(statuses)
    types = psa(cw_api, f"service/boards/{help_desk['id']}/types")
    assert {t["name"] for t in types} >= {"Hardware", "Software"}
    assert all(t["category"] in ("Reactive", "Proactive") for t in types)
    paged = psa(cw_api, f"service/boards/{help_desk['id']}/statuses", pageSize=2, page=2)
    assert [s["id"] for s in paged] == [s["id"] for s in statuses[2:4]]
    # Every ticket's board, status and type is one the PSA serves, under its board.
    served = {
        s["id"]: s for b in boards for s in psa_all(cw_api, f"service/boards/{b['id']}/statuses")
    }
    for (doc,) in store.query("SELECT doc FROM connectwise.tickets ORDER BY id LIMIT 200"):
        ticket = json.loads(doc)
        status = served[ticket["status"]["id"]]
        assert status["board"]["id"] == ticket["board"]["id"]
        assert status["closedStatus"] == ticket["closedFlag"]
    missing = requests.get(
        f"{cw_api}/service/boards/999999/statuses", headers=CW_HEADERS, timeout=10
    )
    assert missing.status_code == 404


def test_ticket_priorities_are_served_paged_and_filtered(cw_api, store):
    priorities = psa(cw_api, "service/priorities", orderBy="sortOrder asc")
    assert [p["name"] for p in priorities][:4] == [
        "Priority 1 - Emergency Response",
        "Priority 2 - Quick Response",
        "Priority 3 - Normal Response",
        "Priority 4 - Schedule Maintenance",
    ]
    assert all(set(p) >= {"id", "name", "color", "sortOrder", "defaultFlag"} for p in priorities)
    assert [p["name"] for p in priorities if p["defaultFlag"]] == ["Priority 3 - Normal Response"]
    (normal,) = psa(cw_api, "service/priorities", conditions='name like "%Normal%"')
    assert psa(cw_api, f"service/priorities/{normal['id']}") == normal
    assert psa(cw_api, "service/priorities/count")["count"] == len(priorities)
    paged = psa(cw_api, "service/priorities", pageSize=2, page=2, orderBy="id asc")
    assert [p["id"] for p in paged] == sorted(p["id"] for p in priorities)[2:4]
    narrow = psa(cw_api, "service/priorities", fields="id,name", conditions="sortOrder >= 6")
    assert {p["name"] for p in narrow} >= {"Priority 3 - Normal Response"}
    assert all(set(p) == {"id", "name"} for p in narrow)
    # Every ticket's priority is one the PSA serves, as the reference the API embeds.
    served = {p["id"]: {"id": p["id"], "name": p["name"], "sort": p["sortOrder"]}
              for p in priorities}  # fmt: skip
    for (doc,) in store.query("SELECT doc FROM connectwise.tickets ORDER BY id LIMIT 200"):
        priority = json.loads(doc)["priority"]
        assert served[priority["id"]] == priority
    refused = requests.delete(
        f"{cw_api}/service/priorities/{normal['id']}", headers=CW_HEADERS, timeout=10
    )
    assert refused.status_code == 405


def test_a_status_is_added_to_a_board_and_boards_are_not_deleted(cw_api):
    (alerts,) = psa(cw_api, "service/boards", conditions='name = "Alerts"')
    name = f">Resolved {uuid.uuid4().hex[:6]}"
    made = requests.post(
        f"{cw_api}/service/boards/{alerts['id']}/statuses",
        json={"name": name, "closedStatus": True},
        headers=CW_HEADERS,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    assert made.json()["board"] == {"id": alerts["id"], "name": "Alerts"}
    assert made.json()["closedStatus"] is True
    refused = requests.delete(
        f"{cw_api}/service/boards/{alerts['id']}", headers=CW_HEADERS, timeout=10
    )
    assert refused.status_code == 405


def test_members_carry_technician_numbers_some_missing_some_unknown(cw_api, ea, cases):
    numbers = {
        t["TechnicianNumber"] for t in erp(ea, "getTechnicianList", TimeStamp=EVERYTHING)["Details"]
    }
    members = {m["id"]: m for m in psa_all(cw_api, "system/members")}
    for case, holds in (
        ("member_with_technician", lambda m: m.get("employeeIdentifer") in numbers),
        ("member_without_technician", lambda m: "employeeIdentifer" not in m),
        ("member_unknown_technician", lambda m: m["employeeIdentifer"] not in numbers),
    ):
        assert len(cases[case]) >= 2, case
        assert all(holds(members[i]) for i in cases[case]), case


def test_time_entries_carry_what_the_service_sync_reads(cw_api):
    entries = psa(cw_api, "time/entries", conditions='chargeToType = "ServiceTicket"', pageSize=300)
    for entry in entries:
        assert {"timeStart", "timeEnd", "actualHours", "hoursBilled", "billableOption", "notes",
                "workRole", "workType", "member", "company", "chargeToId", "dateEntered",
                "status"} <= set(entry)  # fmt: skip
    assert any("agreement" in e for e in entries)
    billed = psa(
        cw_api,
        "time/entries",
        conditions='chargeToType = "ServiceTicket" and status = "Billed"',
        pageSize=5,
    )
    assert billed and all(e["invoice"]["applyToType"] == "Ticket" for e in billed)
    assert {e["billableOption"] for e in entries} >= {"Billable", "DoNotBill", "NoCharge"}


def test_projects_billed_by_phase_and_on_completion_their_time_invoiced(cw_api, cases):
    fixed = cases["project_fixed_fee"]
    phase_invoices = 0
    for project_id in cases["project_billed_by_phase"]:
        project = psa(cw_api, f"project/projects/{project_id}")
        phases = psa(cw_api, f"project/projects/{project_id}/phases")
        assert phases and all(p["billSeparatelyFlag"] for p in phases)
        assert all(p["billingMethod"] == project["billingMethod"] for p in phases)
        invoices = psa(
            cw_api,
            "finance/invoices",
            conditions=f'applyToType = "ProjectPhase" and project/id = {project_id}',
        )
        phase_invoices += len(invoices)
        for invoice in invoices:
            assert invoice["phase"]["id"] in {p["id"] for p in phases}
            billed = psa(cw_api, "time/entries", conditions=f"invoice/id = {invoice['id']}")
            assert all(e["phase"]["id"] == invoice["phase"]["id"] for e in billed)
            if project_id in fixed:
                assert invoice["serviceTotal"] == pytest.approx(
                    (project["billingAmount"] - project["downpayment"]) / len(phases), abs=0.01
                )
            else:
                assert billed
    assert phase_invoices >= 2
    for project_id in cases["project_billed_on_completion"]:
        phases = psa(cw_api, f"project/projects/{project_id}/phases")
        assert phases and not any(p["billSeparatelyFlag"] for p in phases)
    down = psa(cw_api, "finance/invoices", conditions='type = "DownPayment"')
    assert {i["id"] for i in down} == cases["invoice_down_payment"]
    assert {i["project"]["id"] for i in down} <= fixed
    project_time = psa(
        cw_api, "time/entries", conditions='chargeToType = "ProjectTicket"', pageSize=1000
    )
    assert {e["invoice"]["applyToType"] for e in project_time if "invoice" in e} == {
        "Project",
        "ProjectPhase",
    }
    assert all("project" in e and "phase" in e for e in project_time)
