"""The Operate and Connect emulators' contract (specs/operate-connect.md): Bearer keys,
paging, validation with fields, duplicates refused, the approver key, the completed-sheet
lock, and the call-log exports in three formats."""

import uuid

import pytest
import requests

OPERATE = {"Authorization": "Bearer demo-operate"}
APPROVER = {"Authorization": "Bearer demo-operate-approver"}
CONNECT = {"Authorization": "Bearer demo-connect"}


@pytest.fixture
def op(emulated):
    server = emulated.servers["operate"]
    server.faults.clear()
    yield f"{server.url}/api/v1"
    server.faults.clear()


@pytest.fixture
def cn(emulated):
    server = emulated.servers["connect"]
    server.faults.clear()
    yield f"{server.url}/api"
    server.faults.clear()


def new_account(op, location=1, **fields):
    body = {"name": f"Test {uuid.uuid4().hex[:8]}", "location_id": location, "type": "Virtual"}
    response = requests.post(f"{op}/accounts", json={**body, **fields}, headers=OPERATE)
    assert response.status_code == 201, response.text
    return response.json()


def line(account, digest, price=0.25, quantity=1):
    return {
        "account_id": account,
        "product_id": 1,
        "charge_date": "2025-12-01",
        "quantity": quantity,
        "unit_price": price,
        "description": "call",
        "source_line_hash": digest,
    }


def new_sheet(op, account, *hashes, batch_date="2030-01-01"):
    body = {
        "location_id": 1,
        "product_group_id": 1,
        "batch_date": batch_date,
        "reference_date": "2030-01-01",
        "reference_text": "test",
        "lines": [line(account, h) for h in hashes],
    }
    response = requests.post(f"{op}/batch-sheets", json=body, headers=OPERATE)
    assert response.status_code == 201, response.text
    return response.json()


def test_keys_are_checked(op, cn):
    for url, good in ((f"{op}/accounts", OPERATE), (f"{cn}/clients", CONNECT)):
        assert requests.get(url, headers=good).status_code == 200
        refused = requests.get(url, headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert requests.get(url).status_code == 401
    assert requests.get(f"{op}/accounts", headers=CONNECT).status_code == 401


def test_paging_meta_and_limits(op):
    first = requests.get(f"{op}/accounts", params={"per_page": 7}, headers=OPERATE).json()
    total = first["meta"]["total"]
    assert first["meta"] == {"page": 1, "per_page": 7, "total": total} and total >= 60
    seen = []
    for page in range(1, -(-total // 7) + 1):
        body = requests.get(
            f"{op}/accounts", params={"per_page": 7, "page": page}, headers=OPERATE
        ).json()
        seen += [a["id"] for a in body["data"]]
    assert len(seen) == len(set(seen)) == total
    too_many = requests.get(f"{op}/accounts", params={"per_page": 501}, headers=OPERATE)
    assert too_many.status_code == 400 and "per_page" in too_many.json()["error"]["fields"]


def test_updated_since_and_filters(op):
    all_accounts = requests.get(f"{op}/accounts", params={"per_page": 500}, headers=OPERATE)
    stamps = sorted(a["updated_at"] for a in all_accounts.json()["data"])
    since = stamps[-5]
    recent = requests.get(f"{op}/accounts", params={"updated_since": since}, headers=OPERATE)
    assert all(a["updated_at"] >= since for a in recent.json()["data"])
    assert recent.json()["meta"]["total"] >= 5
    future = requests.get(
        f"{op}/accounts", params={"updated_since": "2099-01-01T00:00:00Z"}, headers=OPERATE
    )
    assert future.json() == {"data": [], "meta": {"page": 1, "per_page": 100, "total": 0}}
    bad = requests.get(f"{op}/accounts", params={"updated_since": "soon"}, headers=OPERATE)
    assert bad.status_code == 400
    at_two = requests.get(f"{op}/accounts", params={"location_id": 2}, headers=OPERATE).json()
    assert {a["location_id"] for a in at_two["data"]} == {2}


def test_account_codes_letters_and_digits_unique_per_location_and_application(op):
    account = new_account(op)
    url = f"{op}/accounts/{account['id']}/account-codes"
    code = f"T{uuid.uuid4().hex[:8].upper()}"
    special = requests.post(url, json={"application_id": 1, "code": "O'NEIL-2"}, headers=OPERATE)
    assert special.status_code == 422
    assert "letters and digits only" in special.json()["error"]["fields"]["code"]
    created = requests.post(url, json={"application_id": 1, "code": code}, headers=OPERATE)
    assert created.status_code == 201
    assert created.json()["location_id"] == 1 and created.json()["code"] == code
    other = new_account(op)
    clash = requests.post(
        f"{op}/accounts/{other['id']}/account-codes",
        json={"application_id": 1, "code": code.lower()},
        headers=OPERATE,
    )
    assert clash.status_code == 422 and "already" in clash.json()["error"]["fields"]["code"]
    elsewhere = new_account(op, location=2)
    assert requests.post(
        f"{op}/accounts/{elsewhere['id']}/account-codes",
        json={"application_id": 1, "code": code},
        headers=OPERATE,
    ).status_code == 201  # fmt: skip
    listed = requests.get(url, headers=OPERATE).json()["data"]
    assert [c["code"] for c in listed] == [code]
    found = requests.get(f"{op}/account-codes", params={"code": code}, headers=OPERATE).json()
    assert found["meta"]["total"] == 2
    code_id = created.json()["id"]
    assert requests.delete(f"{op}/account-codes/{code_id}", headers=OPERATE).status_code == 204
    assert requests.get(url, headers=OPERATE).json()["data"] == []


def test_batch_sheet_lines_are_checked_and_duplicate_hashes_refused(op):
    account = new_account(op)["id"]
    digest = uuid.uuid4().hex
    sheet = new_sheet(op, account, digest)
    assert (sheet["total"], sheet["line_count"], sheet["completed"], sheet["approved"]) == (
        0.25, 1, False, False,
    )  # fmt: skip
    url = f"{op}/batch-sheets/{sheet['id']}/lines"
    twice = requests.post(
        url, json={"lines": [line(account, uuid.uuid4().hex), line(account, digest)]},
        headers=OPERATE,
    )  # fmt: skip
    assert twice.status_code == 409
    assert list(twice.json()["error"]["fields"]) == ["lines[1].source_line_hash"]
    assert requests.get(url, headers=OPERATE).json()["meta"]["total"] == 1  # nothing added
    wrong = requests.post(
        url,
        json={"lines": [{**line(account, "x"), "account_id": 1002, "product_id": 3}]},
        headers=OPERATE,
    )
    assert wrong.status_code == 422
    assert set(wrong.json()["error"]["fields"]) == {"lines[0].account_id", "lines[0].product_id"}
    added = requests.post(url, json={"lines": [line(account, "b", 0.125, 3)]}, headers=OPERATE)
    assert added.status_code == 201
    assert (added.json()["total"], added.json()["line_count"]) == (0.63, 2)
    by_hash = requests.get(url, params={"source_line_hash": digest}, headers=OPERATE).json()
    assert [ln["source_line_hash"] for ln in by_hash["data"]] == [digest]
    found = requests.get(
        f"{op}/batch-sheets",
        params={"location_id": 1, "batch_date": "2030-01-01", "product_group_id": 1},
        headers=OPERATE,
    ).json()["data"]
    assert sheet["id"] in [s["id"] for s in found]


def test_appended_lines_land_as_answered_and_their_hashes_stay_known(emulated, op):
    """Appends are answered from what Operate keeps (the sheet, its lines' hashes, the
    next line id and sheet id) and staged: a hash already appended is refused whether or
    not its line has landed, and what lands is what was answered: quantity and unit price
    cast to their columns and the amount rounded half away from zero (0.285 is 0.29), ids
    one after another, the sheet's total their sum. After the store is restored to an
    earlier state, the hashes and the next ids are read again from it."""
    account = new_account(op)["id"]
    saved = emulated.data / "before-appends.duckdb"
    emulated.store.save(saved)
    sheet = new_sheet(op, account, batch_date="2030-03-01")
    url = f"{op}/batch-sheets/{sheet['id']}/lines"
    first = requests.post(
        url,
        json={"lines": [line(account, "h1", 0.28505, 1.0005), line(account, "h2", 0.285)]},
        headers=OPERATE,
    )
    assert first.status_code == 201, first.text
    assert (first.json()["total"], first.json()["line_count"]) == (0.58, 2)
    again = requests.post(
        url, json={"lines": [line(account, "h3"), line(account, "h1")]}, headers=OPERATE
    )
    assert again.status_code == 409
    assert list(again.json()["error"]["fields"]) == ["lines[1].source_line_hash"]
    added = requests.post(url, json={"lines": [line(account, "h3", 0.125, 2)]}, headers=OPERATE)
    assert (added.json()["total"], added.json()["line_count"]) == (0.83, 3)
    stored = requests.get(url, headers=OPERATE).json()["data"]  # lands what waits
    assert [(ln["quantity"], ln["unit_price"], ln["amount"]) for ln in stored] == [
        (1.001, 0.2851, 0.29), (1, 0.285, 0.29), (2, 0.125, 0.25),
    ]  # fmt: skip
    ids = [ln["id"] for ln in stored]
    assert ids == list(range(ids[0], ids[0] + 3))
    assert f"as line {ids[0]}" in again.json()["error"]["fields"]["lines[1].source_line_hash"]
    assert requests.get(f"{op}/batch-sheets/{sheet['id']}", headers=OPERATE).json()["total"] == 0.83
    huge = requests.post(url, json={"lines": [line(account, "h4", 1, 1e11)]}, headers=OPERATE)
    assert huge.status_code == 422
    assert huge.json()["error"]["fields"] == {
        "lines[0].quantity": "at most 11 digits before the point"
    }
    following = new_sheet(op, account, batch_date="2030-03-02")
    assert following["id"] == sheet["id"] + 1
    emulated.restore(saved)  # the sheets and their lines are gone; their ids are free again
    made = sheet["id"]
    sheet = new_sheet(op, account, "h1", batch_date="2030-03-01")
    assert sheet["id"] == made
    url = f"{op}/batch-sheets/{sheet['id']}/lines"
    assert (
        requests.post(url, json={"lines": [line(account, "h2")]}, headers=OPERATE).status_code
        == 201
    )
    refused = requests.post(url, json={"lines": [line(account, "h1")]}, headers=OPERATE)
    assert refused.status_code == 409


def test_sheets_need_an_approver_and_lock_when_completed(op):
    account = new_account(op)["id"]
    sheet = new_sheet(op, account, uuid.uuid4().hex, batch_date="2030-02-01")
    url = f"{op}/batch-sheets/{sheet['id']}"
    moved = requests.patch(url, json={"location_id": 2}, headers=OPERATE)
    assert moved.status_code == 422 and "location_id" in moved.json()["error"]["fields"]
    early = requests.patch(url, json={"approved": True}, headers=APPROVER)
    assert early.status_code == 422
    assert requests.patch(url, json={"completed": True}, headers=OPERATE).status_code == 200
    forbidden = requests.patch(url, json={"approved": True}, headers=OPERATE)
    assert forbidden.status_code == 403
    locked = requests.post(
        f"{url}/lines", json={"lines": [line(account, uuid.uuid4().hex)]}, headers=OPERATE
    )
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "sheet_locked"
    text = requests.patch(url, json={"reference_text": "late"}, headers=APPROVER)
    assert text.status_code == 409
    approved = requests.patch(url, json={"approved": True}, headers=APPROVER)
    assert approved.status_code == 200 and approved.json()["approved"] is True
    assert requests.patch(url, json={"completed": False}, headers=OPERATE).status_code == 403
    reopened = requests.patch(url, json={"completed": False}, headers=APPROVER).json()
    assert (reopened["completed"], reopened["approved"]) == (False, False)


def test_account_update_and_validation(op):
    account = new_account(op)
    url = f"{op}/accounts/{account['id']}"
    updated = requests.patch(
        url, json={"connect_client_id": 77, "send_to_connect_requested": False}, headers=OPERATE
    ).json()
    assert updated["connect_client_id"] == "77" and updated["updated_at"] >= account["updated_at"]
    bad = requests.patch(url, json={"location_id": 2, "name": ""}, headers=OPERATE)
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"location_id", "name"}
    missing = requests.get(f"{op}/accounts/999999", headers=OPERATE)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_connect_clients_awaiting_provisioning_and_one_per_billing_reference(cn):
    reference = f"T{uuid.uuid4().hex[:10]}"
    body = {
        "name": "Test client",
        "type": "Virtual",
        "start_date": "2026-11-22T10:00:00Z",
        "end_date": "2027-11-22T10:00:00Z",
        "billing_reference": reference,
        "site_id": 9001,
    }
    created = requests.post(f"{cn}/clients", json=body, headers=CONNECT)
    assert created.status_code == 201
    assert created.json()["status"] == "Awaiting Provisioning"
    again = requests.post(f"{cn}/clients", json=body, headers=CONNECT)
    assert again.status_code == 409
    assert "billing_reference" in again.json()["error"]["fields"]
    other_site = requests.post(f"{cn}/clients", json={**body, "site_id": 9002}, headers=CONNECT)
    assert other_site.status_code == 201
    found = requests.get(
        f"{cn}/clients", params={"billing_reference": reference}, headers=CONNECT
    ).json()
    assert found["meta"]["total"] == 2
    wrong = requests.post(
        f"{cn}/clients", json={**body, "type": "Hot Desk", "site_id": 1}, headers=CONNECT
    )
    assert wrong.status_code == 422 and set(wrong.json()["error"]["fields"]) == {"type", "site_id"}
    converted = requests.post(f"{cn}/clients/{created.json()['id']}/convert", headers=CONNECT)
    assert converted.json()["status"] == "Active"


def test_throttling_answers_429_with_retry_after(emulated, op):
    server = emulated.servers["operate"]
    server.faults.configure(throttle=1.0, retry_after=3)
    response = requests.get(f"{op}/accounts", headers=OPERATE)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"
    assert response.json()["error"]["code"] == "rate_limited"


def export(cn, site, fmt, first="2025-11-03", last="2025-11-09"):
    response = requests.get(
        f"{cn}/sites/{site}/call-logs",
        params={"from": first, "to": last, "format": fmt},
        headers=CONNECT,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    return response.text.splitlines()


def test_generic_export_has_header_footer_blank_codes_and_zero_cost_calls(cn):
    lines = export(cn, 9001, "generic")
    assert lines[0].startswith("CallDate,CallTime,Extension,AccountCode,")
    assert lines[-1].startswith("Total,,,,,,,,,")
    rows = [row.split(",") for row in lines[1:-1]]
    assert {len(r) for r in rows} == {11}
    assert all("2025-11-03" <= r[0] <= "2025-11-09" for r in rows)
    assert any(r[3] == "" for r in rows)
    assert any(r[8] == "Internal" and r[9] == "0.000" for r in rows)
    assert any(r[7] == "0" and r[8] != "Internal" for r in rows)  # unanswered
    total = sum(float(r[9]) for r in rows)
    assert float(lines[-1].split(",")[9]) == pytest.approx(total, abs=0.001)


def test_smdr_export_splits_transfers_into_segments(cn):
    rows = [line.split(",") for line in export(cn, 9002, "smdr", "2025-11-01", "2025-12-31")]
    assert {len(r) for r in rows} == {26}
    by_call = {}
    for r in rows:
        by_call.setdefault(r[9], []).append(r)
    split = [segments for segments in by_call.values() if len(segments) == 2]
    assert split
    assert all([s[10] for s in segments] == ["1", "0"] for segments in split)
    assert any(r[4] == "O" and r[6].startswith("90") for r in rows)  # trunk access digit
    assert any(r[1] == "00:00:00" for r in rows)  # unanswered


def test_cdr_export_quotes_fields_and_embeds_quotes(cn):
    import csv

    rows = list(csv.reader(export(cn, 9003, "cdr", "2025-11-01", "2025-12-31")))
    assert {len(r) for r in rows} == {18}
    assert any(r[4].count('"') >= 4 for r in rows)  # "Suite "15"" <2015>
    unanswered = [r for r in rows if r[14] == "NO ANSWER"]
    assert unanswered and all(r[10] == "" and r[13] == "0" for r in unanswered)
    assert all(int(r[12]) >= int(r[13]) for r in rows)
    assert len({r[16] for r in rows}) == len(rows)


def test_overlapping_exports_repeat_the_same_lines(cn):
    first = export(cn, 9001, "generic", "2025-11-01", "2025-11-10")[1:-1]
    second = export(cn, 9001, "generic", "2025-11-08", "2025-11-20")[1:-1]
    overlap = set(first) & set(second)
    assert overlap and all("2025-11-08" <= row[:10] <= "2025-11-10" for row in overlap)


def test_export_parameters_are_checked(cn):
    bad = requests.get(
        f"{cn}/sites/9001/call-logs", params={"from": "2025-11-09", "to": "2025-11-01"},
        headers=CONNECT,
    )  # fmt: skip
    assert bad.status_code == 400
    unknown = requests.get(
        f"{cn}/sites/9001/call-logs",
        params={"from": "2025-11-01", "to": "2025-11-02", "format": "xls"},
        headers=CONNECT,
    )
    assert unknown.status_code == 400 and "format" in unknown.json()["error"]["fields"]
    assert requests.get(
        f"{cn}/sites/1/call-logs", params={"from": "2025-11-01", "to": "2025-11-02"},
        headers=CONNECT,
    ).status_code == 404  # fmt: skip


def test_lines_taken_a_column_at_a_time_are_those_checked_line_by_line(emulated):
    """An append's body is parsed by orjson (numbers as floats) and its lines checked a
    column at a time, their amounts computed in Arrow, when every line is right in the
    plainest way: those columns are the ones the line by line checks make of the same body
    parsed with exact decimals (numbers written with any places and up to the columns'
    digits, amounts rounded half away from zero, negative prices too); any line that is
    not plain leaves the whole append to the line by line checks."""
    import json
    import random
    from decimal import Decimal

    import orjson

    from emulators.operate.app import LINE_VALUES

    operate = emulated.servers["operate"].system
    accounts = [n for (n,) in emulated.store.all_by("operate.accounts", "location_id", 1, ("id",))]
    products = [
        n for (n,) in emulated.store.all_by("operate.products", "product_group_id", 1, ("id",))
    ]
    draw = random.Random(18)

    def written(places: int, digits: int, sign: int = 1) -> orjson.Fragment:
        """A number as a client may write it: up to ``places`` places, trailing zeros kept."""
        whole = draw.randrange(10 ** draw.randrange(1, digits + 1))
        fraction = "".join(draw.choice("0123456789") for _ in range(draw.randrange(places + 1)))
        text = f"{'-' if sign < 0 and draw.random() < 0.3 else ''}{whole}"
        return orjson.Fragment((text + (f".{fraction}" if fraction else "")).encode())

    def body(lines: list) -> tuple[list, list]:
        text = orjson.dumps({"lines": lines})
        return orjson.loads(text)["lines"], json.loads(text, parse_float=Decimal)["lines"]

    plain = [
        {
            "account_id": draw.choice(accounts),
            "product_id": draw.choice(products),
            "charge_date": f"2025-{draw.randrange(1, 13):02d}-{draw.randrange(1, 29):02d}",
            "quantity": written(3, 5),
            "unit_price": written(4, 5, sign=-1),
            "description": draw.choice([None, "call", "x" * 255]),
            "source_line_hash": None if n % 7 == 0 else f"hash-{n}",
        }
        for n in range(500)
    ]
    plain[0].update(quantity=orjson.Fragment(b"1.000"), unit_price=orjson.Fragment(b"0.285"))
    plain[1].update(quantity=1, unit_price=orjson.Fragment(b"-0.0050"))
    plain[2].update(quantity=orjson.Fragment(b"99999999999.999"), unit_price=0)
    plain[3].update(quantity=orjson.Fragment(b"2.5e2"), unit_price=orjson.Fragment(b"1E-4"))
    quick, exact = body(plain)
    with emulated.store.write() as cur:
        at_once = operate._lines_at_once(cur, quick, 1, 1)
        problems: dict = {}
        checked = operate._check_lines(cur, exact, 1, 1, problems)
        assert at_once is not None and problems == {}
        for name in LINE_VALUES:
            assert at_once[name] == [line[name] for line in checked]
        for name in ("quantity", "unit_price", "amount"):
            assert [str(v) for v in at_once[name].to_pylist()] == [
                str(line[name]) for line in checked
            ], name
        assert [str(v) for v in at_once["amount"].to_pylist()[:2]] == ["0.29", "-0.01"]
        # Numbers with more places than the columns hold, or digits beyond them: left to
        # the line by line checks, which round the first and refuse the second.
        both = {True: 0, False: 0}
        for _ in range(300):
            line = {**plain[4], "quantity": written(6, 13), "unit_price": written(7, 9, -1)}
            quick, exact = body([line])
            taken = operate._lines_at_once(cur, quick, 1, 1)
            problems = {}
            checked = operate._check_lines(cur, exact, 1, 1, problems)
            both[taken is not None] += 1
            if taken is not None:
                assert problems == {}
                for name in ("quantity", "unit_price", "amount"):
                    assert str(taken[name][0].as_py()) == str(checked[0][name]), line
        assert both[True] > 20 and both[False] > 20, both
        for change in (
            {"quantity": orjson.Fragment(b"1.0005")},  # rounded line by line
            {"unit_price": "0.25"},  # text, not a number
            {"quantity": True},
            {"quantity": -1},
            {"quantity": orjson.Fragment(b"1e11")},
            {"quantity": orjson.Fragment(b"1e20")},
            {"quantity": 99999999, "unit_price": orjson.Fragment(b"99999.9999")},
            {"account_id": str(accounts[0])},
            {"account_id": -1},
            {"charge_date": "2025-02-30"},
            {"description": "x" * 256},
            {"source_line_hash": plain[5]["source_line_hash"]},
            {"source_line_hash": ""},
        ):
            quick, _ = body([plain[5], {**plain[6], **change}])
            assert operate._lines_at_once(cur, quick, 1, 1) is None, change
        quick, _ = body([*plain, plain[7]])
        assert operate._lines_at_once(cur, quick, 1, 1) is None  # 501 lines


def test_a_sheet_read_by_id_is_answered_as_staged_and_as_its_query_answers(emulated, op):
    """``GET /batch-sheets/{id}`` answers the sheet as the last write left it, staged or
    landed (a read by key lands nothing), and says what the batch-sheet query says of it:
    a new sheet, one with lines (its total's trailing zeros dropped), a completed one."""
    from emulators.operate.app import BATCH_SHEETS

    account = new_account(op)["id"]
    sheet = new_sheet(op, account, "t1", batch_date="2030-04-01")
    url = f"{op}/batch-sheets/{sheet['id']}"
    answers = [requests.get(url, headers=OPERATE).json()]
    added = requests.post(
        f"{url}/lines", json={"lines": [line(account, "t2", 0.125, 3)]}, headers=OPERATE
    )
    assert added.status_code == 201
    answers.append(requests.get(url, headers=OPERATE).json())
    assert answers[-1]["total"] == 0.63
    done = requests.patch(url, json={"completed": True}, headers=OPERATE)
    assert done.status_code == 200, done.text
    answers.append(requests.get(url, headers=OPERATE).json())
    emulated.store.flush()
    queried = BATCH_SHEETS.document(emulated.store, sheet["id"])
    assert answers[-1] == queried
    assert [a["line_count"] for a in answers] == [1, 2, 2]
    assert requests.get(f"{op}/batch-sheets/999999", headers=OPERATE).status_code == 404


def test_a_sheet_made_with_lines_checks_them_as_an_append_does(op):
    """A sheet made with its first lines takes them as an append takes its own: parsed by
    orjson and checked a column at a time when they are plain, else line by line from the
    body read with exact decimals (a quantity written with four places rounds half up to
    the three its column holds, as written, not as a float holds it)."""
    import orjson

    account = new_account(op)["id"]
    body = {
        "location_id": 1, "product_group_id": 1, "batch_date": "2030-02-01",
        "lines": [line(account, uuid.uuid4().hex), {**line(account, uuid.uuid4().hex),
                  "quantity": orjson.Fragment(b"1.0005"), "unit_price": 0.5}],
    }  # fmt: skip
    made = requests.post(
        f"{op}/batch-sheets",
        data=orjson.dumps(body),
        headers={**OPERATE, "Content-Type": "application/json"},
    )
    assert made.status_code == 201, made.text
    assert (made.json()["total"], made.json()["line_count"]) == (0.75, 2)
    lines = requests.get(f"{op}/batch-sheets/{made.json()['id']}/lines", headers=OPERATE).json()
    assert [(ln["quantity"], ln["amount"]) for ln in lines["data"]] == [(1, 0.25), (1.001, 0.5)]
    body["lines"] = [{**line(account, uuid.uuid4().hex), "unit_price": "0.25"}]
    refused = requests.post(f"{op}/batch-sheets", json=body, headers=OPERATE)
    assert refused.status_code == 422
    assert list(refused.json()["error"]["fields"]) == ["lines[0].unit_price"]
