"""service-sync to the PSA (issue 16, the incumbent's ID912) on a small world of its own: ERP
calls of the configured call types become PSA tickets and go on the sent hold, and the
ticket's time comes back to the same call. One plan and three runs on the world as
generated, then one crash and its re-run after the world changes; the tests read what
they did, each named for its rule. Only tickets closed today go to the ERP (first_date),
so the service sync's own pushes stay small."""

import html
import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import ConfigError, ToPsaConfig, load_settings
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.http import DataError
from crosswalk.inbox import waiting
from crosswalk.pipeline import Run
from crosswalk.warehouse import Warehouse, rows
from flows.customer_sync.flow import customer_sync
from flows.service_sync.flow import service_sync
from flows.service_sync.to_psa import (
    Attempt,
    check_ticket_priority,
    check_ticket_type,
    check_to_psa,
    push_calls_to_psa,
    repeated_failures,
)

from ..conftest import inbox_get, report_section, smtp_serving

pytestmark = pytest.mark.flow
WORLD, FOLDER = "calls-world", "calls-to-tickets"  # conftest serves the world
TODAY = datetime.now(UTC).date().isoformat()
RECIPIENT = "dispatch@example.com"
PRIORITY = "Priority 2 - Quick Response"  # not the PSA's default: the configured one is sent
runner = CliRunner()


@pytest.fixture(scope="module")
def inbox():
    """A real SMTP server on loopback for the module's runs."""
    with smtp_serving() as received:
        yield received


def configure(world, folder, port: int | None = None) -> str:
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    outbox = (
        "[report]\n# No SMTP server here: failure reports are written as .eml files to this "
        'folder.\noutbox = "outbox"\n'
    )
    assert outbox in text
    text = text.replace(outbox, report_section(port))
    path = folder / "crosswalk.toml"
    path.write_text(
        f"{text}\n[flows.customer_sync]\npush = false\n"
        f'[flows.service_sync]\nfirst_date = "{TODAY}"\n'
        '[flows.service_sync.to_psa]\ncall_types = ["DISPATCH", "meter"]\n'
        f'sent_hold_code = "CW"\nrecipients = ["{RECIPIENT}"]\npriority = "{PRIORITY}"\n',
        encoding="utf-8",
    )
    return str(path)


def sync(world, folder, inbox, **kwargs):
    run = service_sync(config=configure(world, folder, inbox.port), **kwargs)
    assert run.status == "completed", run.message
    return run


def case(world, name) -> list[str]:
    return [str(i) for (i,) in world.store.query(
        "SELECT id FROM world.cases WHERE case_name = ? ORDER BY 1", [name])]  # fmt: skip


def call(world, number) -> dict:
    (doc,) = world.store.one("SELECT doc FROM eautomate.calls WHERE call_number = ?", [number])
    return json.loads(doc)


def tickets_for(world, number) -> list[dict]:
    return [json.loads(doc) for (doc,) in world.store.query(
        "SELECT doc FROM connectwise.tickets WHERE doc->>'$.externalXRef' = ? ORDER BY id",
        [number])]  # fmt: skip


def calls_of_ticket(world, ticket) -> list[dict]:
    return [json.loads(doc) for (doc,) in world.store.query(
        "SELECT doc FROM eautomate.calls WHERE doc->>'$.Description' LIKE ?",
        [f"[CW #{ticket}]%"])]  # fmt: skip


def attempts_mail(inbox, start: int = 0):
    return [m for m in inbox.messages[start:] if m["X-Crosswalk-Report"] == "calls-to-psa"]


def cells(message) -> dict[str, list[str]]:
    """The plain-text part's lines by call: [result, call, customer, ticket or reason, fix]."""
    text = message.get_body(("plain",)).get_content()
    rows = [line.split(" | ") for line in text.splitlines() if " | " in line][1:]
    return {row[1]: row for row in rows}


def cli(folder, *args, code: int = 0) -> str:
    result = runner.invoke(app, [*args, "--config", str(folder / "crosswalk.toml")])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def first(world, folder, apis, inbox):
    """customer-sync maps the customers; service-sync runs as a plan, for real, and again."""
    mapped = customer_sync(config=configure(world, folder, inbox.port))
    assert mapped.status == "completed", mapped.message
    plan = sync(world, folder, inbox, plan=True)
    sent = len(inbox.messages)
    real = sync(world, folder, inbox)
    mails = attempts_mail(inbox, sent)
    again = sync(world, folder, inbox)
    return {"plan": plan, "run": real, "again": again, "mails": mails}


def test_a_call_becomes_a_ticket_and_is_held(world, first):
    made = case(world, "call_for_psa")
    assert made
    for number in made:
        (ticket,) = tickets_for(world, number)
        held = call(world, number)
        assert held["HoldCode"] == "CW"
        assert held["Description"].startswith(f"[CW #{ticket['id']}] ")
        assert ticket["board"]["name"] == "Help Desk" and ticket["status"]["name"] == "New"
        assert ticket["priority"]["name"] == PRIORITY
        assert ticket["summary"] == held["Description"].split("] ", 1)[1][:100]
        assert number in ticket["initialDescription"]
        assert held["EquipmentNumber"] in ticket["initialDescription"]
        assert held["Caller"] in ticket["initialDescription"]
    long = next(n for n in made if len(call(world, n)["Description"]) > 120)
    (line,) = [v for k, v in cells(first["mails"][0]).items() if k == long]
    assert "summary cut from" in line[3]


def test_an_unmapped_customers_call_sends_fail_and_is_held(world, first):
    unmapped = case(world, "call_for_psa_unmapped")
    assert unmapped
    failures = {f.record_id: f for f in first["run"].failures.found.values()
                if f.code == "call-customer-unmapped"}  # fmt: skip
    assert sorted(failures) == unmapped
    for number in unmapped:
        assert tickets_for(world, number) == []
        assert call(world, number)["HoldCode"] == "CW"
        assert "crosswalk links set" in failures[number].fix


def test_the_attempts_email_arrives_over_smtp_with_both_parts_and_fail_first(world, first):
    (message,) = first["mails"]
    assert message["To"] == RECIPIENT
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    lines = cells(message)
    for number in case(world, "call_for_psa"):
        assert lines[number][0] == "OK"
        assert lines[number][3].startswith(f"ticket {tickets_for(world, number)[0]['id']}")
    for number in case(world, "call_for_psa_unmapped"):
        assert lines[number][0] == "FAIL" and "not mapped" in lines[number][3]
    html = message.get_body(("html",)).get_content()
    assert "FAIL</td>" in html and "OK</td>" in html
    assert "1 FAIL" not in message["Subject"] or len(case(world, "call_for_psa_unmapped")) == 1


def test_a_plan_lists_the_tickets_it_would_create_and_the_calls_it_would_hold(world, first):
    planned = first["plan"].planned
    creates = {w.target for w in planned if w.action == "create-ticket"}
    holds = {w.target for w in planned if w.action == "hold-call"}
    assert creates == {f"ticket for call {n}" for n in case(world, "call_for_psa")}
    assert holds == {f"call {n}" for n in case(world, "call_for_psa")
                     + case(world, "call_for_psa_unmapped")}  # fmt: skip
    assert "would be made" in " ".join(first["plan"].notes)


def test_the_second_run_writes_nothing(first):
    assert first["again"].planned == []


@pytest.fixture(scope="module")
def changed(world, folder, apis, inbox, first, monkeypatch_module):
    """The operator maps the first unmapped customer to a new PSA company (customer-sync
    lands it) and takes its call off hold in e-automate, and asks a retry of the other
    (still unmapped) with the CLI; a technician logs time on one new ticket and closes it.
    The dispatcher opens two more calls: one of a customer whose company is then made
    inactive in the PSA, one whose ticket ConnectWise refuses (and whose hold e-automate
    refuses too). The next run crashes between the creation of a ticket and its record;
    the run after it finishes."""
    cw, ea = apis
    first_unmapped, still_unmapped = case(world, "call_for_psa_unmapped")[:2]
    customer = call(world, first_unmapped)["CustomerNumber"]
    company = cw.create("company/companies", {"identifier": f"{customer}-PSA",
                                               "name": f"Company of {customer}"})  # fmt: skip
    cli(folder, "links", "set", customer, str(company["id"]), "--force")
    inactive, refused = (
        ea.add_call({"CustomerNumber": call(world, n)["CustomerNumber"], "CallType": "DISPATCH",
                     "UseUnknownEquipment": True, "Description": what})["CallNumber"]
        for n, what in zip(case(world, "call_for_psa")[1:3],
                           ("Toner light stays on", "Scanner offline"), strict=True)
    )  # fmt: skip
    (deactivated,) = tickets_for(world, case(world, "call_for_psa")[1])
    cw.patch("company/companies", deactivated["company"]["id"], {"status": {"name": "Inactive"}})
    relanded = customer_sync(config=configure(world, folder, inbox.port))  # lands the company
    assert relanded.status == "completed", relanded.message
    ea.save_call(first_unmapped, {"HoldCode": ""})
    cli(folder, "calls", "retry", still_unmapped)

    number = case(world, "call_for_psa")[0]
    (ticket,) = tickets_for(world, number)
    ((member,),) = world.store.query(
        "SELECT min(m.id) FROM connectwise.members m WHERE m.doc->>'$.employeeIdentifer' IN "
        "(SELECT technician_number FROM eautomate.technicians WHERE "
        "(doc->>'$.Active')::BOOLEAN) AND m.id IN (SELECT (doc->>'$.member.id')::BIGINT FROM "
        "connectwise.time_entries)"
    )  # fmt: skip
    now = datetime.now(UTC).replace(microsecond=0)
    entry = cw.create("time/entries", {
        "chargeToId": ticket["id"], "chargeToType": "ServiceTicket", "member": {"id": member},
        "timeStart": f"{TODAY}T00:00:00Z", "timeEnd": f"{TODAY}T01:30:00Z",
        "actualHours": 1.5, "billableOption": "Billable", "notes": "Meter read, serviced.",
    })  # fmt: skip
    ((closed,),) = world.store.query(
        "SELECT min(id) FROM connectwise.refs WHERE kind = 'ticket_status' AND "
        "(doc->>'$.closedStatus')::BOOLEAN AND doc->>'$.board.name' = 'Help Desk'"
    )
    cw.patch("service/tickets", ticket["id"], {
        "status": {"id": closed}, "closedFlag": True,
        "closedDate": now.isoformat().replace("+00:00", "Z"),
    })  # fmt: skip

    original = ConnectWise.create

    def crash_after_ticket(self, path, record):
        made = original(self, path, record)
        if path == "service/tickets":
            raise RuntimeError("crash between the ticket create and its record")
        return made

    monkeypatch_module.setattr(ConnectWise, "create", crash_after_ticket)
    with pytest.raises(RuntimeError, match="crash between"):
        service_sync(config=configure(world, folder, inbox.port))
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        pending = con.execute(
            "SELECT action, target_key FROM sync.push_log WHERE outcome IS NULL"
        ).fetchall()

    def refuse_ticket(self, path, record):
        if path == "service/tickets" and record.get("externalXRef") == refused:
            raise DataError("connectwise", "site: the site does not belong to the company",
                            status=400, code="InvalidField")  # fmt: skip
        return original(self, path, record)

    saved = EAutomate.save_call

    def refuse_hold(self, number, changes):
        if number == refused:
            raise DataError("eautomate", f"Call {number} is open in another session.",
                            status=400, code="Locked")  # fmt: skip
        return saved(self, number, changes)

    monkeypatch_module.setattr(ConnectWise, "create", refuse_ticket)
    monkeypatch_module.setattr(EAutomate, "save_call", refuse_hold)
    sent = len(inbox.messages)
    rerun = sync(world, folder, inbox)
    monkeypatch_module.setattr(ConnectWise, "create", original)
    monkeypatch_module.setattr(EAutomate, "save_call", saved)
    return {
        "run": rerun, "pending": pending, "mails": attempts_mail(inbox, sent),
        "released": first_unmapped, "retried": still_unmapped, "round_trip": (number, ticket),
        "entry": entry, "inactive": inactive, "refused": refused,
    }  # fmt: skip


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_a_crash_between_the_ticket_create_and_its_record_then_a_rerun_makes_one_ticket(
    world, changed
):
    number = changed["released"]
    assert changed["pending"] == [("create-ticket", f"ticket for call {number}")]
    (ticket,) = tickets_for(world, number)
    assert call(world, number)["Description"].startswith(f"[CW #{ticket['id']}] ")


def test_a_failed_call_succeeds_after_the_mapping_exists_and_the_hold_is_released(world, changed):
    number = changed["released"]
    (ticket,) = tickets_for(world, number)
    assert call(world, number)["HoldCode"] == "CW"
    (message,) = changed["mails"]
    lines = cells(message)
    assert lines[number][0] == "OK" and lines[number][3] == f"ticket {ticket['id']}"
    resolved = changed["run"].failures
    assert number not in {f.record_id for f in resolved.found.values()}


def test_calls_retry_tries_a_held_call_again_and_it_fails_again_while_unmapped(
    world, folder, changed
):
    number = changed["retried"]
    (message,) = changed["mails"]
    assert cells(message)[number][0] == "FAIL"
    assert tickets_for(world, number) == [] and call(world, number)["HoldCode"] == "CW"
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sync.links WHERE kind = 'call-retry'"
                           ).fetchone() == (0,)  # fmt: skip
    assert "already has PSA ticket" in cli(folder, "calls", "retry", changed["released"], code=1)


def test_the_round_trip_brings_the_tickets_time_to_the_same_call_and_no_second_call(world, changed):
    number, ticket = changed["round_trip"]
    (back,) = calls_of_ticket(world, ticket["id"])
    assert back["CallNumber"] == number
    assert back["StatusCode"] == "OKToInvoice" and back["CloseDate"] is not None
    assert not back["HoldCode"]  # the work is back: the sent hold is released
    (labor,) = [lab for lab in back["Labors"] if f"[TE #{changed['entry']['id']}]" in
                (lab["Remarks"] or "")]  # fmt: skip
    assert labor["LaborHours"] == 1.5
    updates = [w.target for w in changed["run"].planned if w.action == "update-call"]
    assert updates == [f"call {number}"]
    assert not [w for w in changed["run"].planned if w.action == "create-call"]


def test_a_call_whose_company_is_inactive_fails_with_the_fix_and_is_held(world, changed):
    number = changed["inactive"]
    (failure,) = [f for f in changed["run"].failures.found.values() if f.record_id == number]
    assert failure.code == "call-company-inactive"
    assert "is inactive" in failure.message and "Reactivate the company" in failure.fix
    assert tickets_for(world, number) == [] and call(world, number)["HoldCode"] == "CW"
    (message,) = changed["mails"]
    line = cells(message)[number]
    assert line[0] == "FAIL" and "inactive" in line[3]


def test_a_ticket_connectwise_refuses_fails_with_its_reason_and_no_ticket(world, changed):
    number = changed["refused"]
    found = {f.code: f for f in changed["run"].failures.found.values() if f.record_id == number}
    assert set(found) == {"ticket-create-rejected", "call-hold-rejected"}
    assert (
        "site: the site does not belong to the company" in found["ticket-create-rejected"].message
    )
    assert tickets_for(world, number) == [] and not call(world, number)["HoldCode"]
    (message,) = changed["mails"]
    assert cells(message)[number][0] == "FAIL"
    assert "ConnectWise refused the ticket" in cells(message)[number][3]


def test_the_inbox_lists_each_call_waiting_for_the_psa_under_its_failure(folder, changed):
    """The Waiting page: the call still unmapped (held after its retry failed), the call of
    an inactive company, the call whose ticket ConnectWise refused (tried again by every
    run), each under its own failure with the fix and its page; the call that went is not
    there."""
    calls = next(s for s in waiting.SOURCES if s.noun == "ERP calls for the PSA")
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        records = waiting.read(lambda sql, params: rows(con, sql, params), calls)
    causes = {c.record_id: c for c in waiting.causes(calls, records)}
    assert changed["released"] not in causes
    expected = {changed["retried"]: "call-customer-unmapped",
                changed["inactive"]: "call-company-inactive",
                changed["refused"]: "ticket-create-rejected"}  # fmt: skip
    assert {n: causes[n].code for n in expected} == expected
    assert all(causes[n].error_id for n in expected)
    assert f"crosswalk calls retry {changed['retried']}" in causes[changed["retried"]].fix

    status, page = inbox_get(load_settings(folder / "crosswalk.toml"), "/waiting",
                             "flow=service-sync")  # fmt: skip
    assert status.startswith("200")
    section = page.split("ERP calls for the PSA wait</h2>", 1)[1]
    for number, code in expected.items():
        assert f'<a href="/errors/{causes[number].error_id}">call {number} (' in section
        assert html.escape(causes[number].fix) in section and f"<code>{code}</code>" in section


def test_a_failure_is_mailed_once_then_again_only_when_it_changes_or_is_retried(folder, changed):
    """The refused call could not be held, so the next run tries it again by itself: the
    same failure is not mailed again; a changed one, or one an operator retried, is. A
    call crosswalk held and an operator took off hold (the retried one) is mailed again."""
    refused = changed["refused"]
    (failure,) = [f for f in changed["run"].failures.found.values()
                  if f.record_id == refused and f.code == "ticket-create-rejected"]  # fmt: skip
    same = Attempt(False, refused, "C", "r", "f", failure.code, failure.message)
    (unmapped,) = [f for f in changed["run"].failures.found.values()
                   if f.record_id == changed["retried"]]  # fmt: skip
    released = Attempt(False, changed["retried"], "C", "r", "f", unmapped.code, unmapped.message)
    changed_reason = Attempt(False, refused, "C", "r", "f", failure.code, failure.message + "!")
    retried = Attempt(False, refused, "C", "r", "f", failure.code, failure.message, True)
    ok = Attempt(True, refused, "C", "ticket 1")
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        assert repeated_failures(con, "service-sync", [same, released]) == {refused}
        for attempt in (changed_reason, retried, ok):
            assert repeated_failures(con, "service-sync", [attempt]) == set()
        assert repeated_failures(con, "agreement-sync", [same]) == set()


def test_configured_names_the_systems_do_not_serve_are_a_configuration_failure(
    world, folder, apis, changed
):
    """Checked on the module's warehouse, as the flow checks it after landing."""

    def checked(replace: str) -> SimpleNamespace:
        text = (folder / "crosswalk.toml").read_text(encoding="utf-8")
        keys = 'call_types = ["DISPATCH", "meter"]\nsent_hold_code = "CW"\n'
        assert keys in text
        (folder / "typos.toml").write_text(text.replace(keys, replace), encoding="utf-8")
        settings = load_settings(folder / "typos.toml")
        return SimpleNamespace(settings=settings, warehouse=Warehouse(folder / "wh.duckdb"))

    with pytest.raises(ConfigError) as raised:
        check_to_psa.fn(checked('call_types = ["DISPATCH", "METRE"]\nsent_hold_code = "CWW"\n'
                                'board = "Help Dsk"\n'))  # fmt: skip
    problems = str(raised.value).split("; ")
    assert [p.split(":")[0] for p in problems] == [
        "flows.service_sync.to_psa.sent_hold_code",
        "flows.service_sync.to_psa.call_types",
        "flows.service_sync.to_psa.board",
    ]
    assert "'CWW' is not in e-automate's HoldCode list" in problems[0]
    assert "'METRE' is not in e-automate's CallType list" in problems[1]
    with pytest.raises(ConfigError, match=r"to_psa.status: 'Nwe' is not a status of board"):
        check_to_psa.fn(checked('call_types = ["METER"]\nstatus = "Nwe"\n'))
    cw, _ = apis
    ((board, kind),) = world.store.query(
        "SELECT b.id, min(t.doc->>'$.name') FROM connectwise.boards b JOIN "
        "connectwise.board_types t ON t.parent_id = b.id WHERE b.doc->>'$.name' = 'Help Desk' "
        "GROUP BY b.id"
    )
    check_ticket_type(ToPsaConfig(type=kind.upper()), cw, board)
    with pytest.raises(ConfigError, match=r"to_psa.type: 'Incidnet' is not a type of board"):
        check_ticket_type(ToPsaConfig(type="Incidnet"), cw, board)


def test_a_priority_connectwise_does_not_serve_is_a_configuration_failure(world, apis, first):
    """The configured priority is checked against ``/service/priorities`` (any case) and
    sent as its id; a typo is refused naming the key and listing the priorities served."""
    cw, _ = apis
    ((served,),) = world.store.query(
        "SELECT id FROM connectwise.priorities WHERE doc->>'$.name' = ?", [PRIORITY]
    )
    assert check_ticket_priority(ToPsaConfig(priority=PRIORITY.lower()), cw) == served
    assert check_ticket_priority(ToPsaConfig(), cw) is None
    with pytest.raises(ConfigError) as raised:
        check_ticket_priority(ToPsaConfig(priority="Priority 3 - Normal"), cw)
    assert str(raised.value).startswith(
        "flows.service_sync.to_psa.priority: 'Priority 3 - Normal' is not a priority "
        "ConnectWise serves (it serves: Priority 1 - Emergency Response, "
        "Priority 2 - Quick Response, Priority 3 - Normal Response, "
        "Priority 4 - Schedule Maintenance"
    )
    created = [w for w in first["run"].planned if w.action == "create-ticket"]
    assert created and all(w.changes["priority"] == (None, PRIORITY) for w in created)


def test_an_unknown_priority_stops_the_step_before_any_call_is_tried(folder, apis, changed):
    """The refused call is tried again by every run; with a priority ConnectWise does not
    serve, the step stops on the configuration before it, and writes nothing."""
    text = (folder / "crosswalk.toml").read_text(encoding="utf-8")
    assert f'priority = "{PRIORITY}"' in text
    (folder / "priority.toml").write_text(
        text.replace(f'priority = "{PRIORITY}"', 'priority = "Urgent"'), encoding="utf-8"
    )
    run = Run(f"priority-{uuid.uuid4().hex[:8]}", "service-sync",
              load_settings(folder / "priority.toml"))  # fmt: skip
    wh = Warehouse(folder / "wh.duckdb")
    query = ("SELECT (SELECT count(*) FROM sync.push_log), (SELECT count(*) FROM "
             "marts.call_ticket_sync WHERE action <> 'held')")  # fmt: skip
    with wh.connect(read_only=True) as con:
        (writes, waiting) = con.execute(query).fetchone()
    assert waiting >= 1
    with pytest.raises(ConfigError, match=r"^flows.service_sync.to_psa.priority: 'Urgent'"):
        push_calls_to_psa.fn(run, *apis)
    with wh.connect(read_only=True) as con:
        assert con.execute(query).fetchone() == (writes, waiting)
    assert run.planned == [] and run.failures.found == {}
