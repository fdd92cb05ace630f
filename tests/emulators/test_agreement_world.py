"""The world the agreement sync (the incumbent's ID964) needs, case by case: each case is
counted in ``world.cases`` of the session's small world and read back through the real HTTP
APIs of both emulators, as specs/eautomate-api.md (Contracts) and
specs/connectwise-manage-api.md (9.4-9.6) say they serve it."""

import json
import re
import uuid
from collections import defaultdict

import pytest
import requests

from crosswalk.eautomate import AuthInfo, EAutomate, JsonTransport
from crosswalk.http import DataError, RetryPolicy
from emulators.world import quota
from emulators.world.catalog import DEFAULT_TEMPLATE, MISNAMED_TEMPLATES

from ..conftest import CW_HEADERS

AUTH = {"User": "api", "Password": "demo", "CompanyID": "dealer", "Version": "25.0"}
EVERYTHING = "1900-01-01T00:00:00"
FIELD = "ZCJ_ContractNumber"


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


def agreements(cw_api, ids) -> dict[int, dict]:
    """The PSA's agreements by id, one request."""
    listed = ", ".join(str(i) for i in sorted(ids))
    rows = psa(cw_api, "finance/agreements", conditions=f"id in ({listed})", pageSize=1000)
    return {a["id"]: a for a in rows}


def agreement_invoices(cw_api, agreement_id) -> list[dict]:
    return psa(
        cw_api,
        "finance/invoices",
        conditions=f'type = "Agreement" and applyToId = {agreement_id}',
        orderBy="date asc",
    )


def props(contract) -> dict[str, str]:
    return {p["Name"]: p["Value"] for p in contract["CustomProperties"]}


def _named(cases) -> set[int]:
    """Agreements whose ZCJ_ContractNumber names a contract."""
    return (
        cases["agreement_contract_number_right"]
        | cases["agreement_contract_wrong_revision"]
        | cases["agreement_contract_other_customer"]
    )


def contract_number_field(agreement) -> dict:
    (field,) = [f for f in agreement["customFields"] if f["caption"] == FIELD]
    return field


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
def contracts(store) -> dict[int, dict]:
    """The ERP's contracts by id, as generated (read before any test writes)."""
    return {
        id_: json.loads(doc)
        for id_, doc in store.query("SELECT contract_id, doc FROM eautomate.contracts")
    }


@pytest.fixture(scope="module")
def incumbent(contracts) -> dict[int, dict]:
    """Agreement id -> the incumbent's contract ``CW-<agreement id>-01`` (remarked so, which
    tells it from contracts other tests make)."""
    found = {}
    for contract in contracts.values():
        match = re.fullmatch(r"CW-(\d+)-01", contract["ContractNumber"])
        if match and contract["Remarks"] == f"ConnectWise agreement #{match[1]}":
            found[int(match[1])] = contract
    return found


@pytest.fixture(scope="module")
def by_company(store) -> dict[int, str]:
    """PSA company id -> the number of the ERP customer that truly is it (and syncs)."""
    return dict(
        store.query(
            "SELECT cw_company_id, customer_number FROM world.customers"
            " WHERE cw_company_id IS NOT NULL AND sync_to_cw"
        )
    )


# --- templates ----------------------------------------------------------------------------


def test_templates_default_and_item_templates(ea, store, cases):
    templated = [
        n for (n,) in store.query("SELECT name FROM world.agreement_types WHERE has_template")
    ]
    assert len(cases["contract_template"]) == len(templated) > 0
    assert len(cases["contract_template_default"]) == 1
    assert len(cases["contract_template_misnamed"]) == len(MISNAMED_TEMPLATES)
    rows = erp(ea, "getContractList", TimeStamp=EVERYTHING)["Details"]
    listed = {r["ContractID"]: r for r in rows if r["IsTemplate"]}
    served = {
        listed[i]["ContractNumber"]
        for i in cases["contract_template"] | cases["contract_template_default"]
    }
    assert served == {f"**CW {name}" for name in templated} | {DEFAULT_TEMPLATE}
    (misnamed,) = cases["contract_template_misnamed"]
    assert listed[misnamed]["ContractNumber"] == "**CW Network Monitor"
    dealer = store.one("SELECT customer_number FROM world.customers WHERE customer_id = 1")[0]
    bases = set()
    for contract_id in listed:
        template = erp(ea, "getContract", ContractID=contract_id)
        assert template["CustomerNumber"] == dealer and template["Status"] == "Active"
        (line,) = template["Details"]
        assert line["Item"] == "**CWBase " + template["ContractNumber"].removeprefix("**CW ")
        bases.add(line["Item"])
    default = erp(ea, "getContract", ContractID=next(iter(cases["contract_template_default"])))
    assert default["BillingCycle"] is None and default["ContractType"] == "CWDEFAULT"
    items = {
        r["ItemID"]: r["Item"] for r in erp(ea, "getItemList", TimeStamp=EVERYTHING)["Details"]
    }
    assert {items[i] for i in cases["item_template"]} == bases
    for base in bases:
        assert erp(ea, "getItem", Item=base)["ItemKind"] == "nonstock"


def test_types_without_a_template_are_the_ones_the_erp_has_none_for(cw_api, ea, cases):
    templates = {
        r["ContractNumber"].lower()
        for r in erp(ea, "getContractList", TimeStamp=EVERYTHING)["Details"]
        if r["IsTemplate"]
    }
    types = psa(cw_api, "finance/agreements/types", pageSize=1000)
    untemplated = {t["name"] for t in types if f"**cw {t['name']}".lower() not in templates}
    assert len(untemplated) == 2 and set(MISNAMED_TEMPLATES) < untemplated
    without = cases["agreement_type_without_template"]
    named = psa(
        cw_api,
        "finance/agreements",
        conditions=" or ".join(f'type/name = "{name}"' for name in sorted(untemplated)),
        pageSize=1000,
    )
    assert {a["id"] for a in named} == without and len(without) >= 3


def test_a_contract_from_the_default_template_numbered_renewed_and_linked(ea, cw_api):
    customer = erp(ea, "getCustomerList", TimeStamp=EVERYTHING)["Details"][5]["CustomerNumber"]
    refused = erp_fault(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**CW Help Desk",
        CustomerNumber=customer,
        StartDate="2026-01-01",
    )
    assert refused["faultcode"] == "soap:Client" and refused["detail"]["Code"] == "NotFound"
    assert refused["detail"]["Field"] == "TemplateNumber"
    base = f"CW-{uuid.uuid4().int % 10**9}"
    lines = [
        {"Item": "**CWBase Default", "Description": "Help Desk", "Quantity": 1, "Rate": 450},
        {"Item": "SEAT-MSP", "Description": "Seats", "Quantity": 3, "Rate": 95},
    ]
    made = erp(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**cw default",
        CustomerNumber=customer,
        StartDate="2026-01-01",
        ExpDate="2026-12-31",
        PONumber="6001",
        ContractNumber=f"{base}-01",
        Details=lines,
    )
    assert made["ContractNumber"] == f"{base}-01" and made["TemplateNumber"] == DEFAULT_TEMPLATE
    assert [(d["Item"], d["Amount"]) for d in made["Details"]] == [
        ("**CWBase Default", 450.0),
        ("SEAT-MSP", 285.0),
    ]
    assert made["BaseRate"] == 450.0 and made["PONumber"] == "6001"
    linked = erp(
        ea,
        "setCustomProperties",
        GroupType="Contract",
        Key=made["ContractID"],
        Properties=[{"Name": "ZCJ_CW_AgreementID", "Value": "3001"}],
    )
    assert {p["Name"]: p["Value"] for p in linked} == {"ZCJ_CW_AgreementID": "3001"}
    renewed = erp(ea, "renewContract", ContractID=made["ContractID"])
    assert renewed["ContractNumber"] == f"{base}-02" and props(renewed) == props(
        erp(ea, "getContract", ContractID=made["ContractID"])
    )
    assert (renewed["StartDate"], renewed["ExpDate"]) == ("2027-01-01", "2027-12-31")


# --- agreements, additions and invoices in the PSA ----------------------------------------


def test_agreements_billed_to_another_company(cw_api, ea, store, cases, incumbent, by_company):
    (agreement_count,) = store.one("SELECT count(*) FROM connectwise.agreements")
    on_prospects = len(cases["agreement_company_without_customer"])
    ids = cases["agreement_bill_to_other_company"]
    assert len(ids) == quota("agreement_bill_to_other_company", agreement_count - on_prospects)
    served = agreements(cw_api, ids)
    for agreement_id, agreement in served.items():
        payer = agreement["billToCompany"]["id"]
        assert payer != agreement["company"]["id"] and payer in by_company
        sites = psa(cw_api, f"company/companies/{payer}/sites")
        assert agreement["billToSite"]["id"] in {s["id"] for s in sites}
        contact = psa(cw_api, f"company/contacts/{agreement['billToContact']['id']}")
        assert contact["company"]["id"] == payer
        for invoice in agreement_invoices(cw_api, agreement_id):
            assert invoice["billToCompany"]["id"] == payer
            assert invoice["company"]["id"] == agreement["company"]["id"]
            assert invoice["billingSite"]["id"] in {s["id"] for s in sites}
        if agreement_id in incumbent:
            contract = erp(ea, "getContract", ContractID=incumbent[agreement_id]["ContractID"])
            assert contract["BillToNumber"] == by_company[payer]
            assert contract["CustomerNumber"] == by_company[agreement["company"]["id"]]
    for agreement in psa(cw_api, "finance/agreements", pageSize=1000):
        if agreement["id"] not in ids:
            assert agreement["billToCompany"] == agreement["company"]


def test_agreement_invoices_carry_status_reference_bill_to_and_amounts(cw_api):
    statuses = {s["id"]: s["name"] for s in psa(cw_api, "finance/billingStatuses")}
    invoices = psa(cw_api, "finance/invoices", conditions='type = "Agreement"', pageSize=200)
    assert invoices
    for invoice in invoices:
        assert statuses[invoice["status"]["id"]] == invoice["status"]["name"]
        start, _, end = invoice["reference"].partition(" - ")
        assert invoice["date"].startswith(start) and end >= start
        assert invoice["billToCompany"]["id"] and invoice["agreement"]["id"] == invoice["applyToId"]
        assert invoice["agreementAmount"] > 0
        assert invoice["subtotal"] == pytest.approx(
            invoice["agreementAmount"] + invoice["productTotal"] + invoice["serviceTotal"]
        )
    agreement = psa(cw_api, f"finance/agreements/{invoices[0]['applyToId']}")
    assert agreement["billingCycle"]["name"] in ("Monthly", "Quarterly", "Annual", "One-Time")
    assert invoices[0]["agreementAmount"] == agreement["billAmount"]


def test_additions_less_included_and_zero_billed(cw_api, store, cases):
    (total,) = store.one("SELECT count(*) FROM connectwise.additions")
    less = cases["addition_less_included"]
    zero = cases["addition_zero_billed"]
    assert len(less) == quota("addition_less_included", total) and not less & zero
    parents = dict(
        store.query(
            "SELECT id, parent_id FROM connectwise.additions WHERE list_contains(?, id)",
            [sorted(less | zero)],
        )
    )
    for addition_id, agreement_id in parents.items():
        addition = psa(cw_api, f"finance/agreements/{agreement_id}/additions/{addition_id}")
        quantity, price = addition["quantity"], addition["unitPrice"]
        assert addition["billCustomer"] in ("Billable", "DoNotBill", "NoCharge")
        assert addition["lessIncluded"] > 0
        if addition_id in zero:
            assert addition["billedQuantity"] == 0 and addition["lessIncluded"] == quantity
            assert addition["extPrice"] == round(quantity * price, 2) > 0
        else:
            billed = quantity - addition["lessIncluded"]
            assert addition["billedQuantity"] == billed > 0
            assert addition["extPrice"] == round(billed * price, 2)
            assert addition["extPrice"] != round(quantity * price, 2)
    listed = psa(
        cw_api,
        f"finance/agreements/{parents[min(less)]}/additions",
        conditions="lessIncluded > 0 and billedQuantity > 0",
    )
    assert min(less) in {a["id"] for a in listed}


def test_zcj_contract_number_names_the_right_a_wrong_or_anothers_contract(
    cw_api, ea, store, cases, incumbent, by_company
):
    right = cases["agreement_contract_number_right"]
    wrong = cases["agreement_contract_wrong_revision"]
    other = cases["agreement_contract_other_customer"]
    syncing = set(by_company)
    (population,) = store.one(
        "SELECT count(*) FROM connectwise.agreements a WHERE doc->>'$.agreementStatus' = 'Active'"
        " AND list_contains(?, json_extract(doc, '$.company.id')::BIGINT) AND EXISTS (SELECT 1"
        " FROM connectwise.invoices i WHERE json_extract(i.doc, '$.applyToId')::BIGINT = a.id"
        " AND i.doc->>'$.type' = 'Agreement')",
        [sorted(syncing)],
    )
    for name, ids in (
        ("agreement_contract_number_right", right),
        ("agreement_contract_wrong_revision", wrong),
        ("agreement_contract_other_customer", other),
    ):
        assert len(ids) == quota(name, population) >= 2, name
    served = agreements(cw_api, right | wrong | other)
    numbers = {
        r["ContractNumber"]: r for r in erp(ea, "getContractList", TimeStamp=EVERYTHING)["Details"]
    }
    for agreement_id, agreement in served.items():
        field = contract_number_field(agreement)
        assert field["type"] == "Text" and field["entryMethod"] == "EntryField"
        named = field["value"]
        customer = by_company[agreement["company"]["id"]]
        assert agreement["agreementStatus"] == "Active"
        if agreement_id in right:
            assert named == f"CW-{agreement_id}-01" == incumbent[agreement_id]["ContractNumber"]
            assert numbers[named]["CustomerNumber"] == customer
        elif agreement_id in wrong:
            assert named == f"CW-{agreement_id}-02" and named not in numbers
            assert numbers[f"CW-{agreement_id}-01"]["CustomerNumber"] == customer
        else:
            assert named in numbers and numbers[named]["CustomerNumber"] != customer
            assert int(named.split("-")[1]) in right
    filtered = psa(
        cw_api,
        "finance/agreements",
        customFieldConditions=f'caption = "{FIELD}" and value != null',
        pageSize=1000,
    )
    assert {a["id"] for a in filtered} == right | wrong | other
    for agreement in psa(cw_api, "finance/agreements", pageSize=50):
        assert ("value" in contract_number_field(agreement)) == (agreement["id"] in served)


# --- the incumbent's contracts in the ERP -------------------------------------------------


def test_incumbent_contracts_linked_by_property_or_only_by_number(
    cw_api, ea, cases, incumbent, by_company
):
    linked, unlinked = (
        cases["contract_linked_to_agreement"],
        cases["contract_without_agreement_property"],
    )
    assert not linked & unlinked
    ids = {c["ContractID"] for c in incumbent.values()}
    assert linked | unlinked == ids
    assert len(unlinked) == quota("contract_without_agreement_property", len(ids))
    served = agreements(cw_api, incumbent)
    for agreement_id, stored in incumbent.items():
        assert stored["CustomerNumber"] == by_company[served[agreement_id]["company"]["id"]]
    sample = [min(linked), max(linked), min(unlinked)]
    for contract_id in sample:
        contract = erp(ea, "getContract", ContractID=contract_id)
        agreement_id = int(contract["ContractNumber"].split("-")[1])
        expected = {"ZCJ_CW_AgreementID": str(agreement_id)} if contract_id in linked else {}
        assert props(contract) == expected
        assert contract["Remarks"] == f"ConnectWise agreement #{agreement_id}"
        invoices = [i["invoiceNumber"] for i in agreement_invoices(cw_api, agreement_id)]
        assert contract["PONumber"] in invoices
    default_made = cases["contract_from_default_template"]
    assert default_made and all(
        incumbent_contract["TemplateNumber"] == DEFAULT_TEMPLATE
        for incumbent_contract in incumbent.values()
        if incumbent_contract["ContractID"] in default_made
    )


def test_a_terminated_contract_of_a_live_agreement_refuses_changes(
    cw_api, ea, emulated, cases, incumbent
):
    terminated = cases["contract_terminated_agreement_live"]
    free = set(incumbent) - _named(cases)
    live = [a for a in agreements(cw_api, free).values() if a["agreementStatus"] == "Active"]
    assert len(terminated) == quota("contract_terminated_agreement_live", len(live)) >= 2
    contract_id = min(terminated)
    contract = erp(ea, "getContract", ContractID=contract_id)
    agreement_id = int(contract["ContractNumber"].split("-")[1])
    assert contract["Status"] == "Terminated" and contract["TerminationCode"] in (
        "CANCEL",
        "REPLACED",
    )
    assert props(contract) == {"ZCJ_CW_AgreementID": str(agreement_id)}
    assert psa(cw_api, f"finance/agreements/{agreement_id}")["agreementStatus"] == "Active"
    sent = [i["invoiceNumber"] for i in agreement_invoices(cw_api, agreement_id)]
    billed = {i["PONumber"] for i in erp(ea, "getContractInvoices", ContractID=contract_id)}
    assert sent[-1] not in billed and billed <= set(sent)

    fault = erp_fault(
        ea, "saveContract", Contract={"ContractID": contract_id, "PONumber": sent[-1]}
    )
    assert fault["faultcode"] == "soap:Client"
    assert fault["detail"] == {
        "Code": "InvalidState",
        "Field": "Status",
        "Key": contract["ContractNumber"],
    }
    lines = [{k: d[k] for k in ("Item", "Quantity", "Rate")} for d in contract["Details"]]
    lines[0]["Rate"] += 10
    erp_fault(ea, "saveContract", Contract={"ContractID": contract_id, "Details": lines})
    erp_fault(ea, "saveContract", Contract={"ContractID": contract_id, "Status": "Active"})
    unchanged = erp(
        ea, "saveContract", Contract={"ContractID": contract_id, "PONumber": contract["PONumber"]}
    )
    assert unchanged == contract  # a save that changes nothing is no change
    client = EAutomate(
        JsonTransport(ea.url, AuthInfo("api", "demo", "dealer"), retry=RetryPolicy(attempts=1))
    )
    with pytest.raises(DataError) as refused:
        client.save_contract(contract_id, {"Remarks": "CW invoice " + sent[-1]})
    assert refused.value.code == "InvalidState" and refused.value.field == "Status"
    assert contract["ContractNumber"] in refused.value.message
    assert erp(ea, "getContract", ContractID=contract_id) == contract


def test_the_link_of_a_terminated_contract_can_still_be_removed(ea):
    customer = erp(ea, "getCustomerList", TimeStamp=EVERYTHING)["Details"][7]["CustomerNumber"]
    made = erp(
        ea,
        "addContractFromTemplate",
        TemplateNumber="**CW Managed IT",
        CustomerNumber=customer,
        StartDate="2026-01-01",
        CustomProperties=[{"Name": "ZCJ_CW_AgreementID", "Value": "3002"}],
    )
    erp(ea, "terminateContract", ContractID=made["ContractID"], TerminationCode="REPLACED")
    assert (
        erp_fault(ea, "saveContract", Contract={"ContractID": made["ContractID"], "Remarks": "x"})[
            "detail"
        ]["Code"]
        == "InvalidState"
    )
    left = erp(
        ea,
        "setCustomProperties",
        GroupType="Contract",
        Key=made["ContractID"],
        Properties=[{"Name": "ZCJ_CW_AgreementID", "Value": ""}],
    )
    assert left == []
    assert erp(ea, "getContract", ContractID=made["ContractID"])["Status"] == "Terminated"


def test_ended_agreements_whose_contract_is_still_active(cw_api, ea, cases, incumbent):
    served = agreements(cw_api, incumbent)
    ended = [a for a in served if served[a]["agreementStatus"] in ("Cancelled", "Expired")]
    still = cases["contract_active_agreement_ended"]
    assert len(still) == quota("contract_active_agreement_ended", len(ended)) >= 2
    for contract_id in still:
        contract = erp(ea, "getContract", ContractID=contract_id)
        agreement = served[int(contract["ContractNumber"].split("-")[1])]
        assert contract["Status"] == "Active"
        assert agreement["agreementStatus"] in ("Cancelled", "Expired")
    shown = {incumbent[a]["Status"] for a in ended if incumbent[a]["ContractID"] not in still}
    assert shown <= {"Cancelled", "Expired"}


def _december_monthly(cw_api, cases, incumbent) -> dict[int, list[dict]]:
    """Live monthly agreements with an incumbent contract, invoiced at least twice, last for
    December: agreement id -> its PSA invoices in date order."""
    named = _named(cases)
    terminated = cases["contract_terminated_agreement_live"]
    found = {}
    for agreement_id, agreement in agreements(cw_api, incumbent).items():
        if (
            agreement_id in named
            or incumbent[agreement_id]["ContractID"] in terminated
            or agreement["agreementStatus"] != "Active"
            or agreement["billingCycle"]["name"] != "Monthly"
        ):
            continue
        invoices = agreement_invoices(cw_api, agreement_id)
        if len(invoices) >= 2 and invoices[-1]["date"] == "2025-12-01T00:00:00Z":
            found[agreement_id] = invoices
    return found


def test_contract_invoices_billed_before_the_psa_invoice(cw_api, ea, cases, incumbent):
    monthly = _december_monthly(cw_api, cases, incumbent)
    before, ahead = cases["contract_invoiced_before_sync"], cases["contract_billed_ahead"]
    assert len(before) == quota("contract_invoiced_before_sync", len(monthly)) >= 2
    assert len(ahead) == quota("contract_billed_ahead", len(monthly)) >= 2
    assert not before & ahead
    by_contract = {incumbent[a]["ContractID"]: a for a in monthly}
    for contract_id in before:
        invoices = monthly[by_contract[contract_id]]
        previous, latest = invoices[-2], invoices[-1]
        contract = erp(ea, "getContract", ContractID=contract_id)
        billed = erp(ea, "getContractInvoices", ContractID=contract_id)
        december = [i for i in billed if i["PeriodFrom"] == "2025-12-01"]
        assert [i["PONumber"] for i in december] == [previous["invoiceNumber"]]
        assert december[0]["Total"] == previous["total"] and not december[0]["Void"]
        assert latest["invoiceNumber"] not in {i["PONumber"] for i in billed}
        assert contract["PONumber"] == previous["invoiceNumber"]
    for contract_id in ahead:
        invoices = monthly[by_contract[contract_id]]
        billed = erp(ea, "getContractInvoices", ContractID=contract_id)
        january = [i for i in billed if i["PeriodFrom"] == "2026-01-01"]
        assert [i["PONumber"] for i in january] == [invoices[-1]["invoiceNumber"]]
        assert january[0]["InvoiceDate"] < "2026-01-01"


def test_the_incumbent_never_touches_contracts_an_agreement_names(cases, incumbent):
    special = set().union(
        *(
            cases[name]
            for name in (
                "contract_without_agreement_property",
                "contract_terminated_agreement_live",
                "contract_invoiced_before_sync",
                "contract_billed_ahead",
            )
        )
    )
    for agreement_id in (
        cases["agreement_contract_number_right"] | cases["agreement_contract_wrong_revision"]
    ):
        contract = incumbent[agreement_id]
        assert contract["ContractID"] not in special and contract["Status"] == "Active"
