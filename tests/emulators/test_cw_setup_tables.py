"""The PSA setup tables the agreement sync checks its configuration against, on the wire:
agreement types (``/finance/agreements/types``, newer ``/finance/agreementTypes``) and
billing statuses (``/finance/billingStatuses``), with the collections' paging, conditions,
counts and field selection, records pyconnectwise can read, and writes that records using
them see."""

import uuid
import warnings

import pytest
import requests

from ..conftest import CW_HEADERS


def get(url, params=None):
    return requests.get(url, params=params, headers=CW_HEADERS, timeout=10)


def send(method, url, body=None):
    return requests.request(method, url, json=body, headers=CW_HEADERS, timeout=10)


def models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyconnectwise.models import manage

    return manage


@pytest.fixture(scope="module")
def types(emulated):
    return dict(emulated.store.query("SELECT agreement_type_id, name FROM world.agreement_types"))


def test_agreement_types_are_served_in_full_by_both_paths(cw_api, types):
    listed = get(f"{cw_api}/finance/agreements/types", {"pageSize": 1000})
    assert listed.status_code == 200, listed.text
    records = listed.json()
    assert {t["id"]: t["name"] for t in records} == types
    assert get(f"{cw_api}/finance/agreementTypes", {"pageSize": 1000}).json() == records
    assert get(f"{cw_api}/FINANCE/Agreements/Types/count").json() == {"count": len(types)}
    manage = models()
    for record in records:
        parsed = manage.AgreementType.model_validate(record)
        assert parsed.name == record["name"] and parsed.bill_time == "Billable"
        assert record["billingCycle"]["name"] in ("Monthly", "Quarterly", "Annual", "One-Time")
        assert all(isinstance(v, str) for v in record["_info"].values())
    one = get(f"{cw_api}/finance/agreements/types/{records[0]['id']}").json()
    assert one == records[0]
    assert get(f"{cw_api}/finance/agreements/types/999999").status_code == 404


def test_agreement_types_page_filter_and_project(cw_api, types):
    first = get(f"{cw_api}/finance/agreements/types", {"pageSize": 3, "page": 1})
    assert len(first.json()) == 3 and 'rel="next"' in first.headers["Link"]
    assert first.headers["Link"].split(">;")[0].endswith("page=2")
    last_page = -(-len(types) // 3)
    last = get(f"{cw_api}/finance/agreements/types", {"pageSize": 3, "page": last_page})
    assert 'rel="next"' not in last.headers["Link"]
    assert get(f"{cw_api}/finance/agreements/types", {"pageSize": 3, "page": 99}).json() == []
    found = get(
        f"{cw_api}/finance/agreements/types",
        {"conditions": 'name = "Help Desk" or billingCycle/name = "Quarterly"'},
    ).json()
    assert {t["name"] for t in found} == {"Help Desk", "Copier Service"}
    picked = get(
        f"{cw_api}/finance/agreementTypes", {"fields": "id,name", "orderBy": "name desc"}
    ).json()
    assert [set(t) for t in picked] == [{"id", "name"}] * len(types)
    assert [t["name"] for t in picked] == sorted(types.values(), reverse=True)
    bad = get(f"{cw_api}/finance/agreements/types", {"conditions": "name = "})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidObject"


def test_billing_statuses(cw_api):
    records = get(f"{cw_api}/finance/billingStatuses").json()
    assert [s["name"] for s in records] == ["Open", "Sent", "Paid"]
    flags = {s["name"]: (s["defaultFlag"], s["sentFlag"], s["closedFlag"]) for s in records}
    assert flags == {
        "Open": (True, False, False),
        "Sent": (False, True, False),
        "Paid": (False, True, True),
    }
    closed = get(f"{cw_api}/finance/billingStatuses", {"conditions": "closedFlag = true"})
    assert [s["name"] for s in closed.json()] == ["Paid"]
    assert get(f"{cw_api}/finance/billingStatuses/count").json() == {"count": 3}
    manage = models()
    for record in records:
        assert manage.BillingStatus.model_validate(record).name == record["name"]


def test_every_agreement_type_and_invoice_status_in_use_is_served(cw_api, emulated):
    types = {t["id"] for t in get(f"{cw_api}/finance/agreements/types").json()}
    statuses = {s["id"] for s in get(f"{cw_api}/finance/billingStatuses").json()}
    used_types = {
        id_
        for (id_,) in emulated.store.query(
            "SELECT DISTINCT json_extract(doc, '$.type.id')::BIGINT FROM connectwise.agreements"
        )
    }
    used_statuses = {
        id_
        for (id_,) in emulated.store.query(
            "SELECT DISTINCT json_extract(doc, '$.status.id')::BIGINT FROM connectwise.invoices"
        )
    }
    assert used_types <= types and used_statuses <= statuses


def test_written_types_and_statuses_are_usable_and_never_deleted(cw_api):
    name = f"Type {uuid.uuid4().hex[:8]}"
    made = send("POST", f"{cw_api}/finance/agreements/types", {"name": name})
    assert made.status_code == 201, made.text
    kind = made.json()
    assert kind["billTime"] == "Billable" and kind["invoicingCycle"] == "ContractYear"
    again = send("POST", f"{cw_api}/finance/agreementTypes", {"name": name.upper()})
    assert again.status_code == 400 and again.json()["errors"][0]["code"] == "ObjectExists"
    status = send("POST", f"{cw_api}/finance/billingStatuses", {"name": f"Held {name[5:]}"})
    assert status.status_code == 201, status.text
    too_long = send("POST", f"{cw_api}/finance/billingStatuses", {"name": "S" * 31})
    assert too_long.status_code == 400
    contact = get(f"{cw_api}/company/contacts", {"pageSize": 1}).json()[0]
    company = contact["company"]
    agreement = send(
        "POST",
        f"{cw_api}/finance/agreements",
        {
            "name": f"Test {name}",
            "type": {"id": kind["id"]},
            "company": {"id": company["id"]},
            "contact": {"id": contact["id"]},
        },
    )
    assert agreement.status_code == 201, agreement.text
    assert agreement.json()["type"] == {"id": kind["id"], "name": name}
    invoice = send(
        "POST",
        f"{cw_api}/finance/invoices",
        {"type": "Standard", "company": {"id": company["id"]}, "status": {"id": 3}},
    )
    assert invoice.status_code == 201, invoice.text
    assert invoice.json()["status"] == {"id": 3, "name": "Paid"}
    unknown = send(
        "POST",
        f"{cw_api}/finance/invoices",
        {"type": "Standard", "company": {"id": company["id"]}, "status": {"id": 999}},
    )
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "status"
    gone = send("DELETE", f"{cw_api}/finance/agreements/types/{kind['id']}")
    assert gone.status_code == 405
