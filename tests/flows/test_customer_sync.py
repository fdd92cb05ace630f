"""customer-sync pushes end to end on a small world of their own (the tests write to it,
in order): ERP fields to PSA companies and sites, links written back, conflicts raised,
resolved and settled, exclusions and switched-off fields left alone, truncation reported,
a plan that matches the run, companies created exactly once across a crash."""

import email
import email.policy
import getpass
import json
import re
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.connectwise import ConnectWise
from crosswalk.http import OutcomeUnknown
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync
from flows.customer_sync.push import CODES as PUSH_CODES

pytestmark = pytest.mark.flow
WORLD, FOLDER = "sync-world", "customer-sync"  # conftest serves the world

COMPANIES = "company/companies"
runner = CliRunner()


def configure(world, folder, extra: str = "") -> str:
    """The world's configuration on the module's warehouse, with ``extra`` TOML."""
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    path = folder / "crosswalk.toml"
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return str(path)


def sync(world, folder, extra: str = "", **kwargs):
    run = customer_sync(config=configure(world, folder, extra), **kwargs)
    assert run.status == "completed", run.message
    return run


def query(folder, sql, params=None):
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def writes(run) -> list[tuple]:
    return sorted((p.system, p.action, p.target, tuple(sorted(p.changes.items())))
                  for p in run.planned)  # fmt: skip


def logged(folder, run) -> list[tuple]:
    return query(folder, "SELECT system, action, target_key, payload, outcome "
                 "FROM sync.push_log WHERE run_id = ?", [run.id])  # fmt: skip


def case_records(world, case):
    return [r[0] for r in world.store.query(
        "SELECT c.customer_number FROM world.cases k JOIN world.customers c "
        "ON k.id = c.customer_id WHERE k.case_name = ? ORDER BY 1", [case])]  # fmt: skip


def linked(folder, count, offset=0, order="ASC") -> list[str]:
    """Customers linked to a company and synchronised, picked by number."""
    return [r[0] for r in query(
        folder, "SELECT customer_number FROM marts.mapped_customers WHERE company_id IS NOT NULL "
        f"AND NOT is_excluded ORDER BY customer_number {order} LIMIT ? OFFSET ?",
        [count, offset])]  # fmt: skip


def company_of(folder, number):
    found = query(folder, "SELECT company_id FROM marts.mapped_customers WHERE customer_number = ?",
                  [number])  # fmt: skip
    return found[0][0]


def pushes_found(run) -> list[str]:
    """The codes of the failures the push step found (the mapping's findings aside)."""
    return sorted(f.code for f in run.failures.found.values() if f.code in PUSH_CODES)


def cli(folder, *args):
    result = runner.invoke(app, [*args, "--config", str(folder / "crosswalk.toml")])
    assert result.exit_code == 0, result.output
    return result.output


def test_first_run_pushes_what_differs_and_the_second_writes_nothing(world, folder, apis):
    cw, _ = apis
    first = sync(world, folder)
    log = logged(folder, first)
    assert log and all(outcome == "done" for *_, outcome in log)
    updated = {target for _, action, target, _, _ in log if action == "update-company"}
    # Companies whose address the ERP moved on from get the ERP's address ...
    stale = [int(r[0]) for r in world.store.query(
        "SELECT id FROM world.cases WHERE case_name = 'company_stale_address'")]  # fmt: skip
    linked_stale = {c for c in stale if query(
        folder, "SELECT 1 FROM marts.mapped_customers WHERE company_id = ? AND NOT is_excluded",
        [c])}  # fmt: skip
    assert linked_stale and {f"company {c}" for c in linked_stale} <= updated
    for company in linked_stale:
        number = query(folder, "SELECT customer_number FROM marts.mapped_customers "
                       "WHERE company_id = ?", [company])[0][0]  # fmt: skip
        erp = query(folder, "SELECT address_line1, city FROM intermediate.int_erp_customer_fields "
                    "WHERE customer_number = ?", [number])[0]  # fmt: skip
        record = cw.get(COMPANIES, company)
        assert (record["addressLine1"], record["city"]) == erp
    # ... while a phone number written another way is the same number: not sent.
    reformatted = [int(r[0]) for r in world.store.query(
        "SELECT id FROM world.cases WHERE case_name = 'company_phone_format'")]  # fmt: skip
    phoned = {t for _, a, t, p, _ in log if a == "update-company" and "phoneNumber" in p}
    assert reformatted and not phoned & {f"company {c}" for c in reformatted}
    # Properties missing in the ERP are written back.
    missing = [n for n in case_records(world, "customer_property_missing") if query(
        folder, "SELECT 1 FROM marts.mapped_customers WHERE customer_number = ? AND is_mapped "
        "AND NOT is_excluded", [n])]  # fmt: skip
    set_links = {t for _, a, t, _, _ in log if a == "set-link"}
    assert missing and {f"customer {n}" for n in missing} <= set_links

    second = sync(world, folder)
    assert second.planned == []
    assert logged(folder, second) == []
    # Since when each pair is linked (every one now), and when its fields last agreed.
    linked, since, synced = query(
        folder, "SELECT count(*), count(linked_since), count(last_synced_at) FROM "
        "marts.mapped_customers WHERE company_id IS NOT NULL AND NOT is_excluded")[0]  # fmt: skip
    assert linked == since > 0 and synced > 0


def test_a_failure_the_runs_own_writes_settle_is_reported_as_fixed_not_to_fix(world, folder):
    """The first run wrote wrong links right (merged companies, sites of another company):
    its e-mail lists them as fixed by this run, never as failures, and the second run
    (nothing changed in between) announces none of its failures resolved."""
    runs = query(folder, "SELECT run_id FROM sync.runs WHERE flow = 'customer-sync' "
                 "ORDER BY started_at LIMIT 2")  # fmt: skip
    (first,), (second,) = runs
    assert query(folder, "SELECT code, record_id FROM sync.errors WHERE resolved_run_id = ?",
                 [second]) == []  # fmt: skip
    [(destination,)] = query(folder, "SELECT destination FROM sync.reports WHERE run_id = ?",
                             [first])  # fmt: skip
    message = email.message_from_bytes(Path(destination).read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    to_fix, _, fixed = text.partition("FIXED BY THIS RUN")
    fixed_records = set(re.findall(r"^\* (?:customer|location) (\S+) ", fixed, re.M))
    listed = set(re.findall(r"^\* (?:customer|location) (\S+) ", to_fix, re.M))
    assert fixed_records and not fixed_records & listed
    assert "fixed by this run" in message["Subject"]
    # Each was fixed by a link this run wrote back.
    written = {target.removeprefix("customer ") for target, in query(
        folder, "SELECT target_key FROM sync.push_log WHERE run_id = ? AND action = 'set-link' "
        "AND outcome = 'done'", [first])}  # fmt: skip
    assert fixed_records <= written
    # The failures it did list are still open: nothing the run itself settled.
    still = {r for r, in query(folder, "SELECT record_id FROM sync.errors WHERE "
                              "first_run_id = ? AND status = 'open'", [first])}  # fmt: skip
    assert listed <= still


def test_a_plan_lists_exactly_what_the_run_then_writes(world, folder, apis):
    cw, ea = apis
    numbers = linked(folder, 2)
    ea.save_customer(numbers[0], {"Phone1": "(813) 555-7001", "City": "Brandon"})
    ea.save_customer(numbers[1], {"WebSite": "https://plan-test.example.com"})
    before = {n: cw.get(COMPANIES, company_of(folder, n)) for n in numbers}

    plan = sync(world, folder, plan=True)
    assert logged(folder, plan) == []
    assert {n: cw.get(COMPANIES, company_of(folder, n)) for n in numbers} == before
    planned = writes(plan)
    assert [p[2] for p in planned] == sorted(f"company {company_of(folder, n)}" for n in numbers)
    assert dict(planned[0][3] if planned[0][2].endswith(str(company_of(folder, numbers[0])))
                else planned[1][3])["city"][1] == "Brandon"  # fmt: skip

    real = sync(world, folder)
    assert writes(real) == planned
    assert [o for *_, o in logged(folder, real)] == ["done", "done"]
    record = cw.get(COMPANIES, company_of(folder, numbers[0]))
    assert (record["phoneNumber"], record["city"]) == ("(813) 555-7001", "Brandon")


def test_a_conflict_waits_for_an_operator_then_goes_through_once(world, folder, apis):
    cw, ea = apis
    number = linked(folder, 1, offset=0, order="DESC")[0]
    company = company_of(folder, number)
    ea.save_customer(number, {"Phone1": "(727) 555-1111"})
    cw.patch(COMPANIES, company, {"phoneNumber": "(727) 555-2222"})

    raised = sync(world, folder)
    assert logged(folder, raised) == []
    assert pushes_found(raised) == ["field-conflict"]
    conflicts = query(folder, "SELECT conflict_id, source_key, field, erp_value, psa_value "
                      "FROM sync.conflicts WHERE settled_at IS NULL")  # fmt: skip
    assert [c[1:] for c in conflicts] == [(number, "phone", "(727) 555-1111", "(727) 555-2222")]
    assert cw.get(COMPANIES, company)["phoneNumber"] == "(727) 555-2222"
    assert ea.customer(number)["Phone1"] == "(727) 555-1111"
    # Still both changed: raised again, once, not duplicated.
    sync(world, folder)
    assert len(query(folder, "SELECT * FROM sync.conflicts WHERE settled_at IS NULL")) == 1

    assert str(conflicts[0][0]) in cli(folder, "conflicts", "list")
    cli(folder, "conflicts", "resolve", str(conflicts[0][0]), "--take", "psa")
    applied = sync(world, folder)
    assert [(a, t) for _, a, t, _, _ in logged(folder, applied)] == [
        ("update-customer", f"customer {number}")
    ]
    assert ea.customer(number)["Phone1"] == "(727) 555-2222"
    assert query(folder, "SELECT count(*) FROM sync.conflicts WHERE settled_at IS NULL") == [(0,)]

    quiet = sync(world, folder)
    assert quiet.planned == [] and pushes_found(quiet) == []


def test_a_field_owned_for_good_goes_its_way_without_a_conflict(world, folder, apis):
    """field_owners: the PSA owns one customer's phone (its value goes into the ERP); the
    ERP owns every website (both changed: the ERP's goes to the PSA, no conflict)."""
    cw, ea = apis
    psa_owned, erp_owned = linked(folder, 2, offset=2, order="DESC")
    cw.patch(COMPANIES, company_of(folder, psa_owned), {"phoneNumber": "(727) 555-3333"})
    ea.save_customer(erp_owned, {"WebSite": "https://erp-owned.example.com"})
    cw.patch(COMPANIES, company_of(folder, erp_owned), {"website": "https://psa-side.example.com"})
    owners = (
        "[flows.customer_sync]\nfield_owners = "
        f'{{ website = "erp", "{psa_owned}" = {{ phone = "psa" }} }}\n'
    )

    run = sync(world, folder, owners)
    assert [(w[0], w[1], w[2]) for w in writes(run)] == sorted([
        ("eautomate", "update-customer", f"customer {psa_owned}"),
        ("connectwise", "update-company", f"company {company_of(folder, erp_owned)}"),
    ])  # fmt: skip
    assert ea.customer(psa_owned)["Phone1"] == "(727) 555-3333"
    website = cw.get(COMPANIES, company_of(folder, erp_owned))["website"]
    assert "erp-owned.example.com" in website
    assert pushes_found(run) == []
    assert sync(world, folder, owners).planned == []


def test_a_direction_an_operator_sets_for_good_decides_the_next_run(world, folder, apis):
    """An operator's owners (crosswalk conflicts own, the inbox's decision): PSA -> ERP for
    one customer's city wins over crosswalk.toml's ERP -> PSA for every city, and PSA ->
    ERP for every customer's fax over the toml's fax = "erp"; another customer's city still
    goes as the toml says. Forgotten, the toml decides again."""
    cw, ea = apis
    one, other = linked(folder, 2, offset=12)
    cw.patch(COMPANIES, company_of(folder, one), {"city": "Psa City"})
    cw.patch(COMPANIES, company_of(folder, other), {"city": "Psa Town",
                                                    "faxNumber": "(727) 555-7777"})  # fmt: skip
    erp_city = ea.customer(other)["City"]
    toml = '[flows.customer_sync]\nfield_owners = { city = "erp", fax = "erp" }\n'
    configure(world, folder, toml)  # what the commands read
    said = cli(folder, "conflicts", "own", "city", "psa", "--customer", one)
    assert f"The city of customer {one} always goes PSA -> ERP" in said
    cli(folder, "conflicts", "own", "fax", "psa", "--note", "the PSA keeps the fax numbers")
    assert query(folder, "SELECT customer_number, field, owner, decided_by, note FROM "
                 "sync.field_owners ORDER BY 1") == [
        ("*", "fax", "psa", getpass.getuser(), "the PSA keeps the fax numbers"),
        (one, "city", "psa", getpass.getuser(), None),
    ]  # fmt: skip
    owners = cli(folder, "conflicts", "owners")
    assert "every customer" in owners and "crosswalk.toml" in owners

    run = sync(world, folder, toml)
    assert [(w[0], w[1], w[2], tuple(k for k, _ in w[3])) for w in writes(run)] == sorted([
        ("eautomate", "update-customer", f"customer {one}", ("city",)),
        ("eautomate", "update-customer", f"customer {other}", ("fax",)),
        ("connectwise", "update-company", f"company {company_of(folder, other)}", ("city",)),
    ])  # fmt: skip
    assert ea.customer(one)["City"] == "Psa City"
    assert ea.customer(other)["Fax"] == "(727) 555-7777"
    assert cw.get(COMPANIES, company_of(folder, other))["city"] == erp_city
    assert sync(world, folder, toml).planned == []

    assert "goes as crosswalk.toml says again" in cli(folder, "conflicts", "own", "fax", "config")
    cli(folder, "conflicts", "own", "city", "config", "--customer", one)
    assert query(folder, "SELECT count(*) FROM sync.field_owners") == [(0,)]
    cw.patch(COMPANIES, company_of(folder, one), {"city": "Psa City Again"})
    back = sync(world, folder, toml)
    assert [(w[0], w[1], w[2]) for w in writes(back)] == [
        ("connectwise", "update-company", f"company {company_of(folder, one)}")
    ]
    assert cw.get(COMPANIES, company_of(folder, one))["city"] == "Psa City"


def test_excluded_customers_and_switched_off_fields_are_left_alone(world, folder, apis):
    cw, ea = apis
    numbers = linked(folder, 3, offset=5)
    excluded, switched, sent = numbers
    cli(folder, "exclude", "add", excluded, "--reason", "test")
    ea.save_customer(excluded, {"City": "Nowhere"})
    ea.save_customer(switched, {"WebSite": "https://switched-off.example.com"})
    ea.save_customer(sent, {"WebSite": "https://sent.example.com", "City": "Sarasota"})
    by_property = case_records(world, "customer_sync_off")

    run = sync(world, folder, '[flows.customer_sync]\nskip_fields = ["website"]\n')
    assert [(w[1], w[2]) for w in writes(run)] == [
        ("update-company", f"company {company_of(folder, sent)}")
    ]
    assert dict(writes(run)[0][3])["city"][1] == "Sarasota"
    assert set(dict(writes(run)[0][3])) == {"city"}
    assert cw.get(COMPANIES, company_of(folder, excluded))["city"] != "Nowhere"
    assert "switched-off" not in cw.get(COMPANIES, company_of(folder, switched)).get("website", "")
    touched = {p.record for p in run.planned}
    assert not touched & {f"customer {n}" for n in [excluded, *by_property]}
    cli(folder, "exclude", "remove", excluded)


def test_a_value_too_long_for_the_psa_is_cut_and_reported(world, folder, apis):
    cw, ea = apis
    number = linked(folder, 1, offset=9)[0]
    long_name = "The Extraordinarily Long-Named Regional Medical Imaging Partnership LLC"
    ea.save_customer(number, {"CustomerName": long_name})
    run = sync(world, folder)
    assert cw.get(COMPANIES, company_of(folder, number))["name"] == long_name[:50]
    truncated = [f for f in run.failures.found.values() if f.code == "field-truncated"]
    assert [f.record_id for f in truncated] == [f"{number}/name"]
    assert f"is {len(long_name)} characters" in truncated[0].message
    again = sync(world, folder)
    assert again.planned == []
    assert pushes_found(again) == ["field-truncated"]


def test_throttling_and_server_errors_change_nothing_that_is_written(world, folder, apis, no_sleep):
    cw, ea = apis
    numbers = linked(folder, 4, offset=20)
    for i, number in enumerate(numbers):
        ea.save_customer(number, {"City": f"Faultville {i}", "Phone1": f"(941) 555-01{i:02d}"})
    servers = [world.servers["connectwise"], world.servers["eautomate"]]
    for server in servers:
        server.faults.configure(seed=3, throttle=0.2, error=0.1, retry_after=0)
    try:
        run = sync(world, folder)
    finally:
        for server in servers:
            server.faults.clear()
    assert sum(sum(s.faults.injected.values()) for s in servers) > 0
    assert [o for *_, o in logged(folder, run)] == ["done"] * len(numbers)
    for i, number in enumerate(numbers):
        record = cw.get(COMPANIES, company_of(folder, number))
        assert (record["city"], record["phoneNumber"]) == (
            f"Faultville {i}",
            f"(941) 555-01{i:02d}",
        )
    assert sync(world, folder).planned == []


CREATE = "[flows.customer_sync]\ncreate_companies = true\n"


def test_one_customer_created_on_demand_exactly_once_across_a_crash(
    world, folder, apis, monkeypatch
):
    cw, ea = apis
    waiting = case_records(world, "customer_without_company")
    number, other = waiting[0], waiting[1]
    assert not cw.find(COMPANIES, identifier=number)

    original = ConnectWise.create

    def crash_after_sending(self, path, record):
        original(self, path, record)
        raise RuntimeError("crash between the create call and recording its outcome")

    monkeypatch.setattr(ConnectWise, "create", crash_after_sending)
    with pytest.raises(RuntimeError, match="crash between"):
        customer_sync(config=configure(world, folder, CREATE), customer=number)
    monkeypatch.setattr(ConnectWise, "create", original)
    pending = query(folder, "SELECT target_key FROM sync.push_log WHERE outcome IS NULL")
    assert pending == [(f"company identifier={number}",)]

    rerun = sync(world, folder, CREATE, customer=number)
    made = [c for c in cw.find(COMPANIES, identifier=number) if not c.get("deletedFlag")]
    assert len(made) == 1
    assert query(folder, "SELECT count(*) FROM sync.push_log WHERE outcome IS NULL") == [(0,)]
    links = query(folder, "SELECT target_key, made_by FROM sync.links WHERE source_key = ?",
                  [number])  # fmt: skip
    assert links == [(str(made[0]["id"]), "crosswalk")]
    props = {p["Name"]: p["Value"] for p in ea.customer(number)["CustomProperties"]}
    assert props["ZCJ_CW_CompanyID"] == str(made[0]["id"])
    assert made[0]["name"] == ea.customer(number)["CustomerName"][:50]
    assert not cw.find(COMPANIES, identifier=other)  # --customer: only that one
    assert {p.action for p in rerun.planned} <= {"create-site", "set-link"}

    again = sync(world, folder, CREATE, customer=number)
    assert again.planned == []
    assert len([c for c in cw.find(COMPANIES, identifier=number) if not c.get("deletedFlag")]) == 1


def test_a_create_whose_answers_are_lost_is_made_once(world, folder, apis, monkeypatch):
    """The first POST is lost before ConnectWise sees it (looked up: not made, so sent
    again); the second is made but its answer is lost (looked up: found, adopted)."""
    cw, _ = apis
    number = query(folder, "SELECT customer_number FROM marts.mapped_customers "
                   "WHERE company_id IS NULL AND NOT is_excluded AND finding_code IS NULL "
                   "AND is_active AND match_rule IS NULL ORDER BY 1 LIMIT 1")[0][0]  # fmt: skip
    original, sent = ConnectWise.create, []

    def lossy(self, path, record):
        sent.append(path)
        if len(sent) > 1:
            original(self, path, record)
        raise OutcomeUnknown("connectwise", "connection reset", request=f"POST {path}")

    monkeypatch.setattr(ConnectWise, "create", lossy)
    run = sync(world, folder, CREATE, customer=number)
    monkeypatch.setattr(ConnectWise, "create", original)
    assert sent[:2] == [COMPANIES, COMPANIES]
    made = [c for c in cw.find(COMPANIES, identifier=number) if not c.get("deletedFlag")]
    assert len(made) == 1
    assert [(a, o) for _, a, _, _, o in logged(folder, run) if a == "create-company"] == [
        ("create-company", "done")
    ]


def test_a_new_psa_client_becomes_an_erp_customer_once(world, folder, apis):
    cw, ea = apis
    company = cw.create(COMPANIES, {
        "identifier": "HARBORVIEW", "name": "Harborview Dental Group", "types": [{"id": 1}],
        "status": {"name": "Active"}, "addressLine1": "12 Harbor Blvd", "city": "Tampa",
        "state": "FL", "zip": "33602", "phoneNumber": "813-555-0199",
    })  # fmt: skip
    extra = "[flows.customer_sync]\ncreate_customers = true\n"
    run = sync(world, folder, extra)
    assert [p.action for p in run.planned if p.action.startswith("create")] == ["create-customer"]
    made = ea.customers_by_property("ZCJ_CW_CompanyID", str(company["id"]))
    assert [(c["CustomerNumber"], c["CustomerName"], c["City"]) for c in made] == [
        ("HARBORVIEW", "Harborview Dental Group", "Tampa")
    ]
    again = sync(world, folder, extra)
    assert again.planned == []
    mapped = query(folder, "SELECT company_id, match_rule FROM marts.mapped_customers "
                   "WHERE customer_number = 'HARBORVIEW'")  # fmt: skip
    assert mapped == [(company["id"], "link")]
    assert len(ea.customers_by_property("ZCJ_CW_CompanyID", str(company["id"]))) == 1


def test_the_command_line_plans_one_customer_field_by_field(world, folder, apis):
    _, ea = apis
    number, other = linked(folder, 2, offset=12)
    ea.save_customer(number, {"City": "Lakeland"})
    ea.save_customer(other, {"City": "Ocala"})
    configure(world, folder)
    before = query(folder, "SELECT count(*) FROM sync.push_log")
    output = cli(folder, "run", "customer-sync", "--plan", "--customer", number)
    company = company_of(folder, number)
    assert "customer-sync would make 1 write:" in output
    assert f"connectwise update-company company {company} (customer {number}): city:" in output
    assert "-> 'Lakeland'" in output and "Ocala" not in output
    # The same plan for a script: one JSON object per write, and nothing else.
    result = runner.invoke(app, ["run", "customer-sync", "--plan", "--json", "--customer",
                                 number, "--config", str(folder / "crosswalk.toml")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{
        "flow": "customer-sync", "system": "connectwise", "action": "update-company",
        "target": f"company {company}", "record": f"customer {number}",
        "changes": {"city": {"before": mock.ANY, "after": "Lakeland"}}, "money": None,
    }]  # fmt: skip
    assert query(folder, "SELECT count(*) FROM sync.push_log") == before
