"""The Operate and Connect clients against their emulators: paging, typed errors with the
fields the API names, throttling, unknown outcomes, downloads, and the Operate source."""

import uuid
from datetime import date

import pytest

from crosswalk.connect import Connect
from crosswalk.http import CredentialsRefused, DataError, OutcomeUnknown, RetryPolicy
from crosswalk.operate import Operate
from crosswalk.sources import OperateSource
from schemas import operate as schemas


def no_sleep() -> RetryPolicy:
    slept = []
    policy = RetryPolicy(sleep=slept.append)
    policy.slept = slept
    return policy


@pytest.fixture
def operate(emulated):
    server = emulated.servers["operate"]
    server.faults.clear()
    yield Operate(server.url, "demo-operate", "demo-operate-approver", page_size=7)
    server.faults.clear()


@pytest.fixture
def connect(emulated):
    server = emulated.servers["connect"]
    server.faults.clear()
    yield Connect(server.url, "demo-connect")
    server.faults.clear()


def test_pages_read_every_record_once(operate):
    pages = list(operate.collection("accounts"))
    ids = [a["id"] for page in pages for a in page]
    assert len(ids) == len(set(ids)) >= 60
    assert {len(page) for page in pages[:-1]} == {7}


def test_page_size_is_clamped_to_the_api_maximum(emulated):
    client = Operate(emulated.url("operate"), "demo-operate", page_size=1000)
    assert client.page_size == 500
    assert len(client.records("accounts")) >= 60


def test_refused_key_and_refused_record_are_typed(emulated, operate):
    with pytest.raises(CredentialsRefused) as refused:
        Operate(emulated.url("operate"), "wrong").records("locations")
    assert refused.value.status == 401 and refused.value.system == "operate"
    with pytest.raises(DataError) as invalid:
        operate.add_account_code(1001, 1, "BAD-CODE")
    error = invalid.value
    assert (error.status, error.code, error.field) == (422, "validation_failed", "code")
    assert "code: 'BAD-CODE' has characters Operate does not support" in str(error)


def test_throttling_is_waited_out(emulated):
    server = emulated.servers["operate"]
    policy = no_sleep()
    client = Operate(server.url, "demo-operate", retry=policy)
    server.faults.configure(seed=1, throttle=0.5, retry_after=2)
    try:
        assert len(client.records("locations")) == 4
    finally:
        server.faults.clear()
    assert policy.slept and set(policy.slept) == {2.0}


def test_a_post_answered_with_500_is_an_unknown_outcome(emulated, operate):
    server = emulated.servers["operate"]
    server.faults.configure(error=1.0)
    try:
        with pytest.raises(OutcomeUnknown):
            operate.create_sheet({"location_id": 1})
    finally:
        server.faults.clear()


def test_sheets_are_found_by_their_key_and_approved_with_the_approver_key(operate):
    account = operate.post(
        "accounts", {"name": f"Client test {uuid.uuid4().hex[:6]}", "location_id": 1,
                     "type": "Residential"},
    )["id"]  # fmt: skip
    line = {"account_id": account, "product_id": 1, "charge_date": "2031-01-01",
            "quantity": 2, "unit_price": 0.5, "description": "x",
            "source_line_hash": "a1"}  # fmt: skip
    sheet = operate.create_sheet(
        {"location_id": 1, "product_group_id": 1, "batch_date": "2031-01-01", "lines": [line]}
    )
    assert [s["id"] for s in operate.find_sheets(1, 1, "2031-01-01")] == [sheet["id"]]
    operate.append_lines(sheet["id"], [{**line, "source_line_hash": "a2"}])
    lines = [ln for page in operate.sheet_lines(sheet["id"]) for ln in page]
    assert [ln["source_line_hash"] for ln in lines] == ["a1", "a2"]
    done = operate.update_sheet(sheet["id"], {"completed": True, "approved": True})
    assert (done["completed"], done["approved"], done["total"]) == (True, True, 2.0)
    without = Operate(operate.http.base_url.removesuffix("/api/v1"), "demo-operate")
    sheet2 = without.create_sheet(
        {"location_id": 1, "product_group_id": 1, "batch_date": "2031-01-02",
         "lines": [{**line, "source_line_hash": "b1"}], "completed": True}
    )  # fmt: skip
    without.update_sheet(sheet2["id"], {"completed": True})
    with pytest.raises(CredentialsRefused):
        without.update_sheet(sheet2["id"], {"approved": True})


def test_operate_source_reads_changes_since_the_watermark(operate):
    source = OperateSource(operate)
    everything = [r for page in source.pages(schemas.accounts, None) for r in page.records]
    latest = max(r["updated_at"] for r in everything)
    recent = [r for page in source.pages(schemas.accounts, latest) for r in page.records]
    assert recent and all(r["updated_at"] >= latest for r in recent)
    # Collections without a cursor are read whole, whatever the watermark.
    assert len([r for p in source.pages(schemas.locations, latest) for r in p.records]) == 4


def test_connect_clients_and_call_log_download(connect, tmp_path):
    assert connect.clients(billing_reference="1001")[0]["site_id"] == 9001
    target = connect.download_call_log(
        9002, date(2025, 11, 1), date(2025, 11, 2), "smdr", tmp_path / "x" / "smdr.csv"
    )
    lines = target.read_text().splitlines()
    assert lines and all(len(line.split(",")) == 26 for line in lines)
    with pytest.raises(DataError) as bad:
        connect.download_call_log(9002, date(2025, 11, 2), date(2025, 11, 1), "smdr", target)
    assert bad.value.status == 400 and bad.value.field == "to"
