"""agreement-sync end to end on a small world of its own: PSA agreement invoices become ERP
contracts from templates, every rule named by its test. The module's world is mapped by
customer-sync once, a few records are set up for the rules the world lacks, then one plan
and one real run are made; the tests read what they did, in order, and the later ones
change the world and run again."""

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import ConfigError
from crosswalk.eautomate import EAutomate
from crosswalk.warehouse import Warehouse
from flows.agreement_sync.flow import agreement_sync
from flows.customer_sync.flow import customer_sync

pytestmark = pytest.mark.flow
WORLD, FOLDER = "agreement-world", "agreement-sync"  # conftest serves the world

AGREEMENTS = "finance/agreements"
runner = CliRunner()


def configure(world, folder, extra: str = "") -> str:
    """The world's configuration on the module's warehouse; customers are mapped, not
    pushed (this module is about contracts)."""
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    path = folder / "crosswalk.toml"
    path.write_text(f"{text}\n[flows.customer_sync]\npush = false\n{extra}", encoding="utf-8")
    return str(path)


def sync(world, folder, extra: str = "", **kwargs):
    run = agreement_sync(config=configure(world, folder, extra), **kwargs)
    assert run.status == "completed", run.message
    return run


def query(folder, sql, params=None):
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def case(world, name) -> list:
    return [
        r[0]
        for r in world.store.query(
            "SELECT id FROM world.cases WHERE case_name = ? ORDER BY 1", [name]
        )
    ]


def contracts(world, where="true", params=None) -> dict[str, dict]:
    """ERP contracts by number, as the ERP holds them."""
    return {
        number: json.loads(doc)
        for number, doc in world.store.query(
            f"SELECT contract_number, doc FROM eautomate.contracts WHERE NOT is_template "
            f"AND {where} ORDER BY 1",
            params,
        )
    }


def agreement_doc(world, agreement_id) -> dict:
    (doc,) = world.store.one("SELECT doc FROM connectwise.agreements WHERE id = ?", [agreement_id])
    return json.loads(doc)


def field_of(world, agreement_id) -> str | None:
    fields = agreement_doc(world, agreement_id).get("customFields") or []
    return next((f.get("value") for f in fields if f["caption"] == "ZCJ_ContractNumber"), None)


def lines_total(contract: dict) -> Decimal:
    return sum((Decimal(str(line["Amount"])) for line in contract["Details"]), Decimal(0))


def synced(folder, agreement_id) -> dict:
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        cursor = con.execute(
            "SELECT * FROM marts.agreement_contract_sync WHERE agreement_id = ?", [agreement_id]
        )
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def found(run, code) -> dict[str, object]:
    return {f.record_id: f for f in run.failures.found.values() if f.code == code}


def writes(run) -> list[tuple]:
    return sorted(
        (w.system, w.action, w.target, json.dumps(dict(w.changes), default=str))
        for w in run.planned
    )


def cli(folder, *args):
    result = runner.invoke(app, [*args, "--config", str(folder / "crosswalk.toml")])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def first(world, folder, apis):
    """customer-sync maps the customers; then the rules the world holds no record for are
    set up, and agreement-sync runs as a plan and then for real."""
    _, ea = apis
    mapped = customer_sync(config=configure(world, folder))
    assert mapped.status == "completed", mapped.message
    # Linked only by ZCJ_ContractNumber: the incumbent's property taken off the contract.
    (by_field,) = case(world, "agreement_contract_number_right")[:1]
    number = field_of(world, by_field)
    contract_id = contracts(world, "contract_number = ?", [number])[number]["ContractID"]
    ea.set_custom_properties("Contract", contract_id, {"ZCJ_CW_AgreementID": None})
    plan = sync(world, folder, plan=True)
    real = sync(world, folder)
    return {"plan": plan, "run": real, "by_field": by_field}


def test_a_plan_lists_exactly_what_the_run_then_writes(world, folder, first):
    plan, run = first["plan"], first["run"]
    assert writes(plan) == writes(run) and run.planned
    assert query(folder, "SELECT count(*) FROM sync.push_log WHERE run_id = ?", [plan.id]) == [(0,)]
    logged = query(
        folder, "SELECT outcome, count(*) FROM sync.push_log WHERE run_id = ? GROUP BY 1", [run.id]
    )
    assert logged == [("done", len(run.planned))]
    # The money it moves, stated before anything is sent.
    contracts_written = [
        w for w in plan.planned if w.action in ("create-contract", "update-contract")
    ]
    monthly = sum(w.money for w in contracts_written)
    assert plan.notes == [
        f"contracts: {len(contracts_written)} would change, {monthly:+,.2f} a month"
    ]
    assert run.notes == [f"contracts: {len(contracts_written)} changed, {monthly:+,.2f} a month"]


def test_contracts_are_made_from_their_types_template_or_the_default_with_a_warning(
    world, folder, apis, first
):
    _, ea = apis
    made = query(
        folder,
        "SELECT l.source_key, l.target_key, s.agreement_type FROM sync.links l "
        "JOIN marts.agreement_contract_sync s ON l.source_key = s.agreement_id::VARCHAR "
        "WHERE l.kind = 'agreement' AND l.made_by = 'crosswalk' AND l.broken_at IS NULL",
    )
    templates = {
        row[0]
        for row in world.store.query(
            "SELECT contract_number FROM eautomate.contracts WHERE is_template"
        )
    }
    held = contracts(world)
    kinds = set()
    for agreement, number, agreement_type in made:
        contract = ea.contract(held[number]["ContractID"])
        own = f"**CW {agreement_type}"
        expected = own if own in templates else "**CW Default"
        assert contract["TemplateNumber"] == expected
        assert {"Name": "ZCJ_CW_AgreementID", "Value": agreement} in contract["CustomProperties"]
        assert number.startswith(f"CW-{agreement}-")
        kinds.add(expected == own)
    assert kinds == {True, False}, "the world has agreements of both kinds to make"
    warned = found(first["run"], "template-missing")
    defaulted = {t for _, _, t in made if f"**CW {t}" not in templates}
    assert set(warned) >= {f"**CW {t}" for t in defaulted}


def test_linked_by_property_by_custom_field_and_by_number(world, folder, apis, first):
    rules = dict(
        query(folder, "SELECT match_rule, count(*) FROM marts.agreement_contract_sync GROUP BY 1")
    )
    assert rules["property"] > 0 and rules["number"] > 0
    by_field = synced(folder, first["by_field"])
    assert by_field["match_rule"] == "field"
    # ... and the link is written back where it was missing: the property is there again.
    number = by_field["contract_number"]
    _, ea = apis
    props = ea.contract(by_field["contract_id"])["CustomProperties"]
    assert {"Name": "ZCJ_CW_AgreementID", "Value": str(first["by_field"])} in props
    # Every linked pair carries its contract number in ZCJ_ContractNumber.
    for agreement, number in query(
        folder,
        "SELECT agreement_id, contract_number FROM "
        "marts.mapped_agreements WHERE next_action = 'in-sync'",
    ):
        assert field_of(world, agreement) == number


def test_a_wrong_custom_field_is_a_finding_and_never_a_second_contract(world, folder, first):
    run = first["run"]
    for name, code in (
        ("agreement_contract_wrong_revision", "contract-number-unknown"),
        ("agreement_contract_other_customer", "contract-number-other-customer"),
    ):
        for agreement in case(world, name):
            failure = found(run, code)[str(agreement)]
            assert "ZCJ_ContractNumber names contract" in failure.message
            assert len(contracts(world, "contract_number LIKE ?", [f"CW-{agreement}-%"])) == 1


def test_lines_are_rebuilt_from_the_additions_and_the_money_agrees_to_the_cent(
    world, folder, first
):
    rows = query(
        folder,
        "SELECT agreement_id, contract_number, psa_amount FROM "
        "marts.mapped_agreements WHERE next_action = 'in-sync'",
    )
    held = contracts(world)
    assert rows
    for _, number, psa in rows:
        assert lines_total(held[number]) == psa
    assert not found(first["run"], "amount-mismatch")
    # Less-included quantities: the line bills the billed quantity, not the quantity.
    less = case(world, "addition_less_included")
    planned = query(
        folder,
        "SELECT l.quantity, l.rate, l.psa_amount, l.billed_as, "
        "a.quantity, a.billed_quantity, s.cycle_months FROM "
        "intermediate.int_agreement_lines_planned l JOIN "
        "staging.stg_connectwise__additions a USING (addition_id) JOIN "
        "marts.agreement_contract_sync s ON s.agreement_id = l.agreement_id "
        "WHERE l.addition_id IN (SELECT unnest(?))",
        [less],
    )
    assert planned
    for quantity, rate, amount, rule, full, billed, months in planned:
        assert billed < full and quantity == billed * months and quantity * rate == amount
        assert rule == "billed quantity x unit price"


def test_a_price_that_is_not_quantity_x_unit_price_goes_as_one_line_at_the_billed_amount(
    world, folder, apis, first
):
    cw, _ = apis
    ((agreement, addition, quantity, price, extended, number, psa, months),) = query(
        folder,
        "SELECT s.agreement_id, l.addition_id, a.billed_quantity, a.unit_price, "
        "a.extended_price, s.contract_number, s.psa_amount, s.cycle_months FROM "
        "intermediate.int_agreement_lines_planned l JOIN staging.stg_connectwise__additions a "
        "USING (addition_id) JOIN marts.agreement_contract_sync s "
        "ON s.agreement_id = l.agreement_id "
        "WHERE s.action = 'in-sync' AND a.billed_quantity > 1 ORDER BY 1 LIMIT 1",
    )
    # The PSA bills the same extended price, but its unit price no longer multiplies to it.
    odd = float(price) + 0.0001
    cw.patch(
        f"{AGREEMENTS}/{agreement}/additions",
        addition,
        {"unitPrice": odd, "extPrice": float(extended)},
    )
    run = sync(world, folder, full_refresh=True)
    assert [w.target for w in run.planned if w.action == "update-contract"] == [
        f"contract {number}"
    ]
    held = contracts(world, "contract_number = ?", [number])[number]
    (line,) = [d for d in held["Details"] if f"{float(quantity):g} x" in (d["Description"] or "")]
    assert line["Quantity"] == 1 and Decimal(str(line["Amount"])) == extended * months
    assert lines_total(held) == psa
    assert not found(run, "amount-mismatch")


def test_billed_before_sync_is_reported_with_the_erp_invoice(world, folder, first):
    reported = found(first["run"], "billed-before-sync")
    for contract_id in case(world, "contract_invoiced_before_sync"):
        number = world.store.one(
            "SELECT contract_number FROM eautomate.contracts WHERE contract_id = ?", [contract_id]
        )[0]
        assert "Void and reset" in reported[number].fix


def test_a_terminated_contract_gives_way_to_the_next_revision(world, folder, apis, first):
    _, ea = apis
    for contract_id in case(world, "contract_terminated_agreement_live"):
        old = ea.contract(contract_id)
        agreement = int(
            next(p["Value"] for p in old["CustomProperties"] if p["Name"] == "ZCJ_CW_AgreementID")
        )
        base = old["ContractNumber"].rsplit("-", 1)[0]
        revision = f"{base}-{int(old['ContractNumber'].rsplit('-', 1)[1]) + 1:02d}"
        assert contracts(world, "contract_number = ?", [revision])[revision]["Status"] == "Active"
        assert query(
            folder,
            "SELECT target_key, made_by FROM sync.links WHERE kind = "
            "'agreement' AND source_key = ?",
            [str(agreement)],
        ) == [(revision, "crosswalk")]
        assert str(agreement) in found(first["run"], "contract-terminated")


def test_an_ended_agreement_with_an_active_contract_is_reported(world, folder, apis, first):
    _, ea = apis
    ended = found(first["run"], "agreement-ended-contract-active")
    for contract_id in case(world, "contract_active_agreement_ended"):
        doc = ea.contract(contract_id)
        agreement = next(
            p["Value"] for p in doc["CustomProperties"] if p["Name"] == "ZCJ_CW_AgreementID"
        )
        assert agreement in ended and doc["Status"] == "Active"  # reported, not terminated


def test_the_second_run_writes_nothing(world, folder, first):
    again = sync(world, folder)
    assert again.planned == []


def test_an_invoice_waits_for_its_unmapped_bill_to_and_goes_through_once_mapped(
    world, folder, apis, first
):
    _, ea = apis
    waiting = query(
        folder,
        "SELECT agreement_id, bill_to_company_id FROM "
        "marts.agreement_contract_sync WHERE waiting_code = "
        "'agreement-bill-to-unmapped' ORDER BY 1 LIMIT 1",
    )
    assert waiting, "the world has an agreement billed to an unmapped company"
    ((agreement, company),) = waiting
    assert str(company) in found(first["run"], "agreement-bill-to-unmapped")
    payer = ea.add_customer({"CustomerName": f"Payer of agreement {agreement}"})
    # the customer is new in the ERP, not landed yet: --force takes it
    cli(folder, "links", "set", payer["CustomerNumber"], str(company), "--force")
    assert customer_sync(config=configure(world, folder)).status == "completed"
    run = sync(world, folder)
    row = synced(folder, agreement)
    assert (
        row["action"] in ("create", "update") and row["bill_to_number"] == payer["CustomerNumber"]
    )
    contract = contracts(world, "contract_number = ?", [row["contract_number"]])
    assert contract[row["contract_number"]]["BillToNumber"] == payer["CustomerNumber"]
    assert str(company) not in found(run, "agreement-bill-to-unmapped")


def test_invoices_waiting_for_an_item_the_erp_lacks_are_one_failure_per_item(folder, first):
    """Every agreement whose lines name an item e-automate lacks waits, listed under each
    missing item, once (its failure names how many invoices wait)."""
    lines = query(
        folder,
        "SELECT DISTINCT p.item_number, p.agreement_id "
        "FROM intermediate.int_agreement_lines_planned p "
        "JOIN marts.agreement_contract_sync s USING (agreement_id) "
        "WHERE s.waiting_code = 'contract-item-missing' AND NOT p.is_item_known",
    )
    assert lines, "the world has agreements with an item e-automate lacks"
    by_item: dict[str, set] = {}
    for item, agreement in lines:
        by_item.setdefault(item, set()).add(agreement)
    failures = found(first["run"], "contract-item-missing")
    assert set(failures) == set(by_item)
    for item, agreements in by_item.items():
        waiting = len(agreements)
        assert f"{waiting} agreement invoice{'s' if waiting > 1 else ''} wait" in str(
            failures[item].message
        )


def test_a_line_changed_by_hand_is_put_back_and_a_difference_read_back_is_reported(
    world, folder, apis, monkeypatch
):
    _, ea = apis
    ((number, contract_id, psa),) = query(
        folder,
        "SELECT contract_number, contract_id, psa_amount FROM "
        "marts.mapped_agreements WHERE next_action = 'in-sync' ORDER BY 1 LIMIT 1",
    )
    contract = ea.contract(contract_id)
    changed = [dict(line, Rate=line["Rate"] + 1) for line in contract["Details"]]
    ea.save_contract(
        contract_id,
        {
            "Details": [
                {k: line[k] for k in ("Item", "Description", "Quantity", "Rate")}
                for line in changed
            ]
        },
    )
    # The contract read back short of a cent: reported with both figures.
    original = EAutomate.contract

    def short(self, contract_id):
        read = original(self, contract_id)
        read["Details"][0]["Amount"] -= 0.01
        return read

    monkeypatch.setattr(EAutomate, "contract", short)
    run = sync(world, folder)
    monkeypatch.setattr(EAutomate, "contract", original)
    assert [(w.action, w.target) for w in run.planned] == [
        ("update-contract", f"contract {number}")
    ]
    assert lines_total(contracts(world, "contract_number = ?", [number])[number]) == psa
    mismatch = found(run, "amount-mismatch")[number]
    assert str(psa) in mismatch.message and str(psa - Decimal("0.01")) in mismatch.message
    assert number not in found(sync(world, folder), "amount-mismatch")  # read back right


def test_money_the_additions_do_not_explain_is_reported_not_written(world, folder, apis):
    cw, _ = apis
    ((agreement, invoice, number, psa),) = query(
        folder,
        "SELECT agreement_id, invoice_id, contract_number, psa_amount FROM "
        "marts.agreement_contract_sync WHERE action = 'in-sync' "
        "AND current_total = psa_amount ORDER BY agreement_id DESC LIMIT 1",
    )
    (products,) = query(
        folder, "SELECT product_total FROM staging.stg_connectwise__invoices "
        "WHERE invoice_id = ?", [invoice]
    )[0]  # fmt: skip
    # A prorated product line on the PSA invoice that no addition says (the base amount
    # follows the invoice's agreement amount: that one the contract takes).
    cw.patch("finance/invoices", invoice, {"productTotal": float(products + Decimal("12.34"))})
    run = sync(world, folder)
    assert f"contract {number}" not in {w.target for w in run.planned}
    mismatch = found(run, "amount-mismatch")[number]
    assert str(psa) in mismatch.message and str(psa + Decimal("12.34")) in mismatch.message
    assert f"agreement {agreement}" in mismatch.message


def test_a_crash_between_a_contract_create_and_its_record_makes_one_contract(
    world, folder, monkeypatch
):
    ((agreement, number),) = query(
        folder,
        "SELECT agreement_id, contract_number FROM "
        "marts.mapped_agreements WHERE next_action = 'in-sync' "
        "ORDER BY 1 DESC LIMIT 1",
    )
    cli(folder, "agreements", "unlink", str(agreement))  # the next invoice: a new contract
    original = EAutomate.add_contract_from_template

    def crash_after_sending(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise RuntimeError("crash between the create and its record")

    monkeypatch.setattr(EAutomate, "add_contract_from_template", crash_after_sending)
    with pytest.raises(RuntimeError, match="crash between"):
        agreement_sync(config=configure(world, folder))
    monkeypatch.setattr(EAutomate, "add_contract_from_template", original)
    pending = query(folder, "SELECT action, target_key FROM sync.push_log WHERE outcome IS NULL")
    revision = f"CW-{agreement}-{int(number.rsplit('-', 1)[1]) + 1:02d}"
    assert pending == [("create-contract", f"contract {revision}")]
    rerun = sync(world, folder)
    assert len(contracts(world, "contract_number = ?", [revision])) == 1
    assert query(
        folder,
        "SELECT outcome FROM sync.push_log WHERE detail LIKE 'settled by run%'"
        " AND action = 'create-contract'",
    ) == [("adopted",)]
    assert "create-contract" not in {w.action for w in rerun.planned}
    assert query(
        folder,
        "SELECT target_key FROM sync.links WHERE kind = 'agreement' AND source_key = ?",
        [str(agreement)],
    ) == [(revision,)]


def test_throttling_and_server_errors_reach_the_same_end_state(world, folder, apis, no_sleep):
    _, ea = apis
    rows = query(
        folder,
        "SELECT contract_id, contract_number, psa_amount FROM "
        "marts.mapped_agreements WHERE next_action = 'in-sync' ORDER BY 1 LIMIT 3",
    )
    for contract_id, _, _ in rows:
        ea.save_contract(contract_id, {"PONumber": "HAND-EDIT"})
    servers = [world.servers["connectwise"], world.servers["eautomate"]]
    for server in servers:
        server.faults.configure(seed=5, throttle=0.2, error=0.1, retry_after=0)
    try:
        run = sync(world, folder)
    finally:
        for server in servers:
            server.faults.clear()
    assert sum(sum(s.faults.injected.values()) for s in servers) > 0
    assert {w.target for w in run.planned} == {f"contract {n}" for _, n, _ in rows}
    held = contracts(world)
    for _, number, psa in rows:
        assert held[number]["PONumber"] != "HAND-EDIT" and lines_total(held[number]) == psa
    assert sync(world, folder).planned == []


def test_a_configured_name_the_psa_does_not_serve_is_a_configuration_failure(world, folder):
    typo = '[flows.agreement_sync]\nagreement_types = ["Managed IT", "Managed Servics"]\n'
    with pytest.raises(ConfigError) as refused:
        agreement_sync(config=configure(world, folder, typo))
    assert str(refused.value).startswith(
        "flows.agreement_sync.agreement_types: 'Managed Servics' is not an agreement type "
        "ConnectWise serves (it serves: "
    )
    failure = query(
        folder,
        "SELECT code, message FROM sync.errors WHERE flow = "
        "'agreement-sync' AND status = 'open' AND entity = 'run'",
    )
    assert [code for code, _ in failure] == ["config-invalid"]


def test_an_operator_links_an_agreement_to_a_contract_by_hand(world, folder, apis):
    _, ea = apis
    ((agreement, customer, before),) = query(
        folder,
        "SELECT agreement_id, customer_number, contract_number FROM marts.mapped_agreements "
        "WHERE next_action = 'in-sync' ORDER BY 1 LIMIT 1 OFFSET 3",
    )
    template = world.store.one(
        "SELECT contract_number FROM eautomate.contracts WHERE is_template ORDER BY 1 LIMIT 1"
    )[0]
    hand = ea.add_contract_from_template(template, customer, "2025-01-01", number="HAND-7-01")
    # the contract is new in the ERP, not landed yet: --force takes it
    cli(folder, "agreements", "link", str(agreement), "HAND-7-01", "--note", "test", "--force")
    run = sync(world, folder)
    assert ("update-contract", "contract HAND-7-01") in {(w.action, w.target) for w in run.planned}
    row = synced(folder, agreement)
    assert (row["match_rule"], row["contract_number"]) == ("link", "HAND-7-01")
    held = contracts(world, "contract_number IN (?, ?)", ["HAND-7-01", before])
    assert lines_total(held["HAND-7-01"]) == row["psa_amount"]
    assert field_of(world, agreement) == "HAND-7-01"
    props = ea.contract(hand["ContractID"])["CustomProperties"]
    assert {"Name": "ZCJ_CW_AgreementID", "Value": str(agreement)} in props
    shown = cli(folder, "agreements", "show", str(agreement))
    assert "HAND-7-01" in shown and "link, operator" in shown
    assert str(agreement) in cli(folder, "agreements", "list")


def test_terminate_ended_terminates_the_active_contract_of_an_ended_agreement(world, folder, apis):
    _, ea = apis
    terminate = '[flows.agreement_sync]\nterminate_ended = true\ntermination_code = "CANCEL"\n'
    ended = case(world, "contract_active_agreement_ended")
    run = sync(world, folder, terminate)
    assert {w.action for w in run.planned} == {"terminate-contract"}
    assert len(run.planned) == len(ended)
    for contract_id in ended:
        doc = ea.contract(contract_id)
        assert (doc["Status"], doc["TerminationCode"]) == ("Terminated", "CANCEL")
    again = sync(world, folder, terminate)
    assert again.planned == [] and not found(again, "agreement-ended-contract-active")
