"""The ConnectWise emulator on the wire, with plain requests: the contract of
specs/connectwise-manage-api.md (auth, paths, paging, filters, writes, errors, faults)."""

import base64
import json
import re
import uuid

import pytest
import requests

from ..conftest import CW_HEADERS


def get(url, params=None, headers=CW_HEADERS, **kwargs):
    return requests.get(url, params=params, headers=headers, timeout=10, **kwargs)


def send(method, url, body=None, headers=CW_HEADERS):
    return requests.request(method, url, json=body, headers=headers, timeout=10)


def unique(prefix="T"):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_company(cw_api, **fields):
    body = {"identifier": unique(), "name": "Test Co", "addressLine1": "1 Test St", **fields}
    response = send("POST", f"{cw_api}/company/companies", body)
    assert response.status_code == 201, response.text
    return response.json()


# --- authentication and discovery -------------------------------------------------


def test_company_info_needs_no_auth_and_names_the_codebase(cw_server):
    info = get(f"{cw_server.url}/login/companyinfo/dealer", headers={}).json()
    assert info["Codebase"] == "v4_6_release/" and info["CompanyID"] == "dealer"
    assert get(f"{cw_server.url}/login/companyinfo/nobody", headers={}).json() is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {**CW_HEADERS, "Authorization": "Basic " + base64.b64encode(b"dealer+x:y").decode()},
        {"Authorization": CW_HEADERS["Authorization"]},
        {**CW_HEADERS, "clientId": "someone-else"},
    ],
    ids=["no-auth", "wrong-keys", "no-client-id", "wrong-client-id"],
)
def test_refused_without_valid_credentials_and_client_id(cw_api, headers):
    response = get(f"{cw_api}/company/companies", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"


def test_header_names_are_case_insensitive(cw_api):
    headers = {"authorization": CW_HEADERS["Authorization"], "CLIENTID": CW_HEADERS["clientId"]}
    assert get(f"{cw_api}/system/info", headers=headers).status_code == 200


def test_paths_and_parameters_are_case_insensitive_and_unknown_ones_ignored(cw_server):
    url = f"{cw_server.url}/V4_6_Release/APIS/3.0/Company/Companies/"
    response = get(url, {"PageSize": 2, "recordId": "<connectpyse.restapi.Endpoint object>"})
    assert response.status_code == 200 and len(response.json()) == 2


def test_system_info_and_the_headers_every_answer_carries(cw_api):
    response = get(f"{cw_api}/system/info")
    assert response.headers["api-current-version"] and response.headers["x-cw-request-id"]
    assert get(f"{cw_api}/nothing/here").headers["api-current-version"]
    info = response.json()
    assert info["version"].startswith("v") and info["isCloud"] is False


# --- reading ----------------------------------------------------------------------


def test_default_page_size_is_25_and_the_cap_is_1000(cw_api):
    assert len(get(f"{cw_api}/service/tickets").json()) == 25
    total = get(f"{cw_api}/service/tickets/count").json()["count"]
    assert total > 25
    assert len(get(f"{cw_api}/service/tickets", {"pageSize": 5000}).json()) == min(total, 1000)


def test_link_header_navigates_with_page_last(cw_api):
    total = get(f"{cw_api}/company/companies/count").json()["count"]
    size = 10
    last = -(-total // size)
    first = get(f"{cw_api}/company/companies", {"conditions": "id > 0", "pageSize": size})
    link = first.headers["Link"]
    assert re.search(r'page=2>; rel="next"', link) and f'page={last}>; rel="last"' in link
    assert "conditions=id" in link and 'rel="prev"' not in link
    final = get(f"{cw_api}/company/companies", {"pageSize": size, "page": last})
    assert 'rel="next"' not in final.headers["Link"] and 'rel="last"' not in final.headers["Link"]
    assert f'page={last - 1}>; rel="prev"' in final.headers["Link"]
    past = get(f"{cw_api}/company/companies", {"pageSize": size, "page": last + 1})
    assert past.status_code == 200 and past.json() == []


def test_pages_cover_every_record_once_in_id_order(cw_api):
    seen, page = [], 1
    while True:
        batch = get(f"{cw_api}/company/companies", {"pageSize": 7, "page": page}).json()
        if not batch:
            break
        seen += [c["id"] for c in batch]
        page += 1
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert len(seen) == get(f"{cw_api}/company/companies/count").json()["count"]


def test_pages_from_a_range_of_rows_or_kept_documents_are_those_duckdb_joins(
    cw_api, emulated, monkeypatch
):
    """A page whose rows lie together is read as one range of row ids and joined here; once
    a table's pages are asked for a few times between two writes, its documents are kept
    in memory and joined from there; a page of scattered rows (another order) is joined
    by DuckDB. All three answer the same bytes as DuckDB's join, numbered, forward-only and
    filtered, and a write is in the next page. A write that lands while a page is chosen
    sends that page back to DuckDB, which has the write."""
    from emulators import framework
    from emulators.connectwise import app

    store, url = emulated.store, f"{cw_api}/company/companies"
    company = new_company(cw_api, name="Kept Co Zoë")
    forward = {**CW_HEADERS, "pagination-type": "forward-only"}
    asks = [({"pageSize": 7, "page": 2}, CW_HEADERS), ({"pageSize": 5}, forward),
            ({"conditions": f"id >= {company['id'] - 3}"}, CW_HEADERS),
            ({"pageSize": 6, "orderBy": "name desc"}, CW_HEADERS)]  # fmt: skip
    statements = []
    query, one = store.query, store.one
    monkeypatch.setattr(store, "query", lambda sql, p=None: statements.append(sql) or query(sql, p))
    monkeypatch.setattr(store, "one", lambda sql, p=None: statements.append(sql) or one(sql, p))

    def answers() -> list:
        statements.clear()
        return [(r.content, r.headers["Link"]) for r in (get(url, q, h) for q, h in asks)]

    def read(kind: str) -> int:
        starts = {"range": "SELECT rowid, encode(doc)", "duckdb": "WITH page AS"}[kind]
        return sum(sql.startswith(starts) for sql in statements)

    monkeypatch.setattr(framework, "KEEP_DOCUMENTS_AFTER", 10**6)
    from_range = answers()
    assert (read("range"), read("duckdb")) == (3, 1)  # the names' order scatters its rows
    monkeypatch.setattr(app, "RANGE_SPREAD", 0)
    from_duckdb = answers()
    assert (read("range"), read("duckdb")) == (0, 4)
    monkeypatch.setattr(framework, "KEEP_DOCUMENTS_AFTER", 1)
    from_memory = answers()
    assert (read("range"), read("duckdb")) == (0, 0)
    assert from_range == from_memory == from_duckdb
    assert '"Kept Co Zoë"'.encode() in from_memory[2][0]
    monkeypatch.undo()
    send("PATCH", f"{url}/{company['id']}", [{"op": "replace", "path": "name", "value": "Moved"}])
    for _ in range(framework.KEEP_DOCUMENTS_AFTER + 1):
        assert b'"Moved"' in answers()[2][0]

    def overtaken(sql, params=None):
        found = query(sql, params)
        if sql.startswith("SELECT rowid, id FROM"):
            with store.write() as cur:  # as the emulator saves a record
                doc = json.loads(cur.execute(
                    "SELECT doc FROM connectwise.companies WHERE id = ?", [company["id"]]
                ).fetchone()[0])  # fmt: skip
                doc["name"] = "Overtaken"
                cur.execute("UPDATE connectwise.companies SET doc = ? WHERE id = ?",
                            [json.dumps(doc), company["id"]])  # fmt: skip
        return found

    monkeypatch.setattr(store, "query", overtaken)  # the documents kept: DuckDB answers
    (found,) = [c for c in get(url, *asks[2]).json() if c["id"] == company["id"]]
    assert found["name"] == "Overtaken"

    def deleted_before_the_range(sql, params=None):
        if sql.startswith("SELECT rowid, encode(doc)"):
            with store.write() as cur:
                cur.execute("DELETE FROM connectwise.companies WHERE id = ?", [company["id"]])
        return query(sql, params)

    monkeypatch.setattr(store, "query", deleted_before_the_range)  # a range: DuckDB answers
    response = get(url, *asks[2])
    assert response.status_code == 200
    assert company["id"] not in [c["id"] for c in response.json()]


def test_a_single_page_has_an_empty_link_header(cw_api):
    company = new_company(cw_api)
    response = get(f"{cw_api}/company/companies", {"conditions": f"id = {company['id']}"})
    assert response.headers["Link"] == "" and len(response.json()) == 1


def test_forward_only_paging_follows_page_id(cw_api):
    headers = {**CW_HEADERS, "pagination-type": "forward-only"}
    url, seen = f"{cw_api}/company/companies?pageSize=9", []
    while url:
        response = get(url, headers=headers)
        seen += [c["id"] for c in response.json()]
        match = re.match(r"<(.+pageId=(\d+))>; rel=\"next\"", response.headers["Link"])
        url = match.group(1) if match else None
        if match:
            assert int(match.group(2)) == seen[-1]
    assert seen == sorted(set(seen))
    assert len(seen) == get(f"{cw_api}/company/companies/count").json()["count"]
    refused = get(f"{cw_api}/company/companies", {"orderBy": "name asc"}, headers=headers)
    assert refused.status_code == 400


def test_conditions_order_and_count_agree(cw_api):
    conditions = "closedFlag = false and id > 5"
    tickets = get(
        f"{cw_api}/service/tickets",
        {"conditions": conditions, "orderBy": "id desc", "pageSize": 1000},
    ).json()
    assert tickets and all(t["closedFlag"] is False and t["id"] > 5 for t in tickets)
    assert [t["id"] for t in tickets] == sorted((t["id"] for t in tickets), reverse=True)
    count = get(f"{cw_api}/service/tickets/count", {"conditions": conditions}).json()
    assert count == {"count": len(tickets)}


def test_a_value_with_quotes_and_ampersands_matches_only_itself(cw_api):
    tricky = new_company(cw_api, name='O"Brien & Sons')
    new_company(cw_api, name="O")
    found = get(
        f"{cw_api}/company/companies", {"conditions": r'name = "O\"Brien & Sons"', "pageSize": 1000}
    ).json()
    assert tricky["id"] in [c["id"] for c in found]
    assert {c["name"] for c in found} == {'O"Brien & Sons'}


@pytest.mark.parametrize(
    "conditions", ['name = "unterminated', "id >", "(id = 1", "name ~ 3", "id in (1,", "and"]
)
def test_a_malformed_condition_is_a_400_that_says_where(cw_api, conditions):
    response = get(f"{cw_api}/company/companies", {"conditions": conditions})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidObject" and "position" in body["message"]


def test_fields_returns_partial_nested_records(cw_api):
    rows = get(f"{cw_api}/service/tickets", {"fields": "id,summary,company/id", "pageSize": 3})
    for row in rows.json():
        assert set(row) <= {"id", "summary", "company"}
        assert set(row.get("company", {})) <= {"id"}
    whole = get(f"{cw_api}/service/tickets", {"pageSize": 3}).json()
    narrowed = [
        {"id": t["id"], "summary": t["summary"], "company": {"id": t["company"]["id"]}}
        for t in whole
    ]  # written as the API writes JSON: compact, UTF-8
    assert rows.content == json.dumps(narrowed, separators=(",", ":"), ensure_ascii=False).encode()


def test_null_fields_are_omitted_and_info_values_are_strings(cw_api):
    for company in get(f"{cw_api}/company/companies", {"pageSize": 100}).json():
        assert None not in company.values()
        assert all(isinstance(v, str) for v in company["_info"].values())
        assert company["_info"]["lastUpdated"].endswith("Z")


def test_child_collections_and_search(cw_api):
    company = get(f"{cw_api}/company/companies", {"pageSize": 1}).json()[0]
    sites = get(f"{cw_api}/company/companies/{company['id']}/sites").json()
    assert sites and all(s["company"]["id"] == company["id"] for s in sites)
    assert get(f"{cw_api}/company/companies/99999999/sites").status_code == 404
    found = requests.post(
        f"{cw_api}/service/tickets/search",
        json={"conditions": f"company/id = {company['id']}"},
        headers=CW_HEADERS,
        timeout=10,
    )
    assert found.status_code == 200
    assert all(t["company"]["id"] == company["id"] for t in found.json())


# --- writing ----------------------------------------------------------------------


def test_post_returns_201_with_info_and_expanded_references(cw_api):
    status = get(f"{cw_api}/company/companies", {"pageSize": 1}).json()[0]["status"]
    company = new_company(cw_api, status={"id": status["id"]})
    assert company["status"]["name"] == status["name"]
    assert set(company["_info"]) >= {"lastUpdated", "updatedBy", "dateEntered", "enteredBy"}
    assert get(f"{cw_api}/company/companies/{company['id']}").json() == company
    partial = requests.post(
        f"{cw_api}/company/companies",
        params={"fields": "id,identifier"},
        json={"identifier": unique(), "name": "Partial"},
        headers=CW_HEADERS,
        timeout=10,
    )
    assert partial.status_code == 201 and set(partial.json()) == {"id", "identifier"}
    assert partial.headers["Location"].endswith(f"/company/companies/{partial.json()['id']}")


def test_validation_errors_name_the_field(cw_api):
    missing = send("POST", f"{cw_api}/company/companies", {"identifier": unique()})
    assert missing.status_code == 400
    body = missing.json()
    assert body["code"] == "InvalidObject"
    assert (
        body["errors"][0]["code"] == "MissingRequiredField"
        and "name" in body["errors"][0]["message"]
    )

    taken = new_company(cw_api)
    duplicate = send(
        "POST",
        f"{cw_api}/company/companies",
        {"identifier": taken["identifier"].lower(), "name": "x"},
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"][0] == {
        **duplicate.json()["errors"][0],
        "code": "ObjectExists",
        "field": "identifier",
    }

    long_name = send(
        "POST", f"{cw_api}/company/companies", {"identifier": unique(), "name": "N" * 51}
    )
    assert long_name.status_code == 400 and long_name.json()["errors"][0]["field"] == "name"

    bad_ref = send(
        "POST", f"{cw_api}/service/tickets", {"summary": "x", "company": {"id": 99999999}}
    )
    assert bad_ref.status_code == 400 and bad_ref.json()["errors"][0]["field"] == "company"


def test_patch_replaces_top_level_fields_and_moves_last_updated(cw_api):
    company = new_company(cw_api)
    url = f"{cw_api}/company/companies/{company['id']}"
    patched = send("PATCH", url, [{"op": "replace", "path": "name", "value": "Renamed"}])
    assert patched.status_code == 200 and patched.json()["name"] == "Renamed"
    assert patched.json()["_info"]["lastUpdated"] >= company["_info"]["lastUpdated"]
    nested = send("PATCH", url, [{"op": "replace", "path": "status/name", "value": "x"}])
    assert nested.status_code == 200 and nested.json() == patched.json()
    removed = send("PATCH", url, [{"op": "remove", "path": "addressLine1"}])
    assert "addressLine1" not in removed.json()
    wrong_case = send("PATCH", url, [{"op": "replace", "path": "Name", "value": "x"}])
    assert wrong_case.status_code == 400 and "case-sensitive" in wrong_case.text
    fields = [{"id": 1, "caption": "Ref", "type": "Text", "entryMethod": "EntryField",
               "numberOfDecimals": 0, "value": "A1"}]  # fmt: skip
    custom = send("PATCH", url, [{"op": "replace", "path": "customFields", "value": fields}])
    assert custom.json()["customFields"] == fields


def test_put_replaces_the_record(cw_api):
    company = new_company(cw_api, phoneNumber="555")
    url = f"{cw_api}/company/companies/{company['id']}"
    put = send("PUT", url, {"identifier": company["identifier"], "name": "Whole"})
    assert put.status_code == 200
    assert put.json()["name"] == "Whole" and "phoneNumber" not in put.json()
    assert put.json()["_info"]["dateEntered"] == company["_info"]["dateEntered"]


def test_delete_is_204_soft_for_companies(cw_api):
    company = new_company(cw_api)
    url = f"{cw_api}/company/companies/{company['id']}"
    response = send("DELETE", url)
    assert response.status_code == 204 and response.content == b""
    assert get(url).json()["deletedFlag"] is True
    contact = send("POST", f"{cw_api}/company/contacts", {"firstName": "Ann"}).json()
    assert send("DELETE", f"{cw_api}/company/contacts/{contact['id']}").status_code == 204
    gone = get(f"{cw_api}/company/contacts/{contact['id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "NotFound"
    member = get(f"{cw_api}/system/members", {"pageSize": 1}).json()[0]
    assert send("DELETE", f"{cw_api}/system/members/{member['id']}").status_code == 405


def test_writes_are_in_the_audit_trail(cw_api):
    company = new_company(cw_api)
    send("PATCH", f"{cw_api}/company/companies/{company['id']}",
         [{"op": "replace", "path": "name", "value": "Audited"}])  # fmt: skip
    params = {"type": "Company", "id": company["id"]}
    entries = get(f"{cw_api}/system/audittrail", params).json()
    assert len(entries) == 2 and "name" in entries[0]["text"]
    assert get(f"{cw_api}/system/audittrail/count", params).json() == {"count": 2}
    assert get(f"{cw_api}/system/audittrail").status_code == 400


def test_writes_read_back_at_once_while_staged_rows_land_meanwhile(cw_api, emulated, monkeypatch):
    """Clients writing and reading at once, while the staged rows land every few
    milliseconds: each reads what it wrote, by id, in a page with conditions and in the
    audit trail, and the store holds every write's last state once it has landed."""
    from concurrent.futures import ThreadPoolExecutor

    from emulators import framework

    monkeypatch.setattr(framework, "STAGE_SECONDS", 0.003)
    companies = [new_company(cw_api)["id"] for _ in range(4)]

    def client(company: int) -> list[str]:
        url, wrong = f"{cw_api}/company/companies/{company}", []
        with requests.Session() as session:
            session.headers.update(CW_HEADERS)
            for n in range(15):
                name = f"Staged {company} {n}"
                patch = [{"op": "replace", "path": "name", "value": name}]
                written = session.patch(url, json=patch, timeout=10).json()
                read = session.get(url, timeout=10).json()
                listed = session.get(
                    f"{cw_api}/company/companies", params={"conditions": f"id={company}"},
                    timeout=10,
                ).json()  # fmt: skip
                again = session.get(url, timeout=10).json()  # after the list landed it
                found = [written["name"], read["name"], listed[0]["name"], again["name"]]
                if found != [name] * 4:
                    wrong.append(f"{name}: {found}")
        return wrong

    with ThreadPoolExecutor(len(companies)) as pool:
        assert [w for found in pool.map(client, companies) for w in found] == []
    for company in companies:
        trail = get(f"{cw_api}/system/audittrail/count", {"type": "Company", "id": company})
        assert trail.json() == {"count": 16}  # created, then 15 names
    emulated.store.flush()
    stored = emulated.store.query(
        "SELECT id, doc->>'$.name' FROM connectwise.companies WHERE id IN (SELECT unnest(?))",
        [companies],
    )
    assert sorted(stored) == [(c, f"Staged {c} 14") for c in companies]


# --- faults -----------------------------------------------------------------------


def test_injected_throttling_and_server_errors_look_like_the_real_ones(cw_server, cw_api):
    cw_server.faults.configure(throttle=1.0, retry_after=3)
    throttled = get(f"{cw_api}/system/info")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"] == "ConnectWiseAPI"
    cw_server.faults.configure(throttle=0.0, error=1.0)
    failed = get(f"{cw_api}/system/info")
    assert failed.status_code == 500 and "timeout" in failed.json()["message"]


def test_dropped_connections_and_the_control_endpoint(cw_server, cw_api):
    control = f"{cw_server.url}/_emulator/faults"
    assert requests.post(control, json={"drop": 1.0}, timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        get(f"{cw_api}/system/info")
    state = requests.post(control, json={"drop": 0.0}, timeout=10).json()
    assert state["injected"]["drop"] >= 1
    assert get(f"{cw_api}/system/info").status_code == 200


def test_a_lost_answer_is_a_dropped_connection_after_the_write_was_made(cw_server, cw_api):
    identifier = f"LOST{uuid.uuid4().hex[:6]}"
    cw_server.faults.configure(lost=1.0)
    with pytest.raises(requests.ConnectionError):
        send("POST", f"{cw_api}/company/companies", {"identifier": identifier, "name": "Lost"})
    cw_server.faults.clear()
    found = get(f"{cw_api}/company/companies", {"conditions": f'identifier="{identifier}"'})
    assert [c["name"] for c in found.json()] == ["Lost"]
    assert cw_server.faults.injected["lost"] >= 1


def test_fault_draws_are_seeded(cw_server):
    def draws():
        cw_server.faults.configure(seed=5, throttle=0.3, error=0.2)
        return [cw_server.faults.draw() for _ in range(50)]

    assert draws() == draws()
