"""sales-order-sync end to end on a small world of its own: PSA sales orders become ERP sales
orders through item templates, every rule named by its test. The module's world is mapped by
customer-sync once, then one plan and one real run are made; the tests read what they did,
in order, and the later ones change the world and run again."""

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import ConfigError, SalesOrderSyncConfig
from crosswalk.eautomate import EAutomate
from crosswalk.http import OutcomeUnknown
from crosswalk.warehouse import Warehouse
from flows.customer_sync.flow import customer_sync
from flows.sales_order_sync.flow import problems_of, sales_order_sync
from flows.sales_order_sync.push import order_key

pytestmark = pytest.mark.flow
WORLD, FOLDER = "sales-order-world", "sales-order-sync"  # conftest serves the world

SETTINGS = (
    '[flows.sales_order_sync]\nstatuses = ["New", "Ordered", "Received", "Delivered", "Closed"]\n'
)


def configure(world, folder, extra: str = SETTINGS) -> str:
    """The world's configuration on the module's warehouse; customers are mapped, not
    pushed (this module is about orders)."""
    text = world.config.read_text(encoding="utf-8").replace(
        'path = "warehouse.duckdb"', f'path = "{folder}/wh.duckdb"'
    )
    path = folder / "crosswalk.toml"
    path.write_text(f"{text}\n[flows.customer_sync]\npush = false\n{extra}", encoding="utf-8")
    return str(path)


def sync(world, folder, extra: str = SETTINGS, **kwargs):
    run = sales_order_sync(config=configure(world, folder, extra), **kwargs)
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


def erp_orders(world) -> dict[int, list[dict]]:
    """ERP sales orders by the PSA order their key names."""
    found: dict[int, list[dict]] = {}
    for (doc,) in world.store.query("SELECT doc FROM eautomate.sales_orders ORDER BY so_number"):
        order = json.loads(doc)
        psa = order_key(order["Description"], order["PONumber"])
        if psa is not None:
            found.setdefault(psa, []).append(order)
    return found


def psa_order(world, order_id) -> dict:
    (doc,) = world.store.one("SELECT doc FROM connectwise.sales_orders WHERE id = ?", [order_id])
    return json.loads(doc)


def field_of(world, order_id) -> str | None:
    fields = psa_order(world, order_id).get("customFields") or []
    return next((f.get("value") for f in fields if f["caption"] == "ZCJ_SONumber"), None)


def found(run, code) -> dict[str, object]:
    return {f.record_id: f for f in run.failures.found.values() if f.code == code}


def writes(run) -> list[tuple]:
    return sorted(
        (w.system, w.action, w.target, json.dumps(dict(w.changes), default=str))
        for w in run.planned
    )


def total(order: dict) -> Decimal:
    return sum(
        (Decimal(str(d["Quantity"])) * Decimal(str(d["Price"])) for d in order["Details"]),
        Decimal(0),
    ).quantize(Decimal("0.01"))


@pytest.fixture(scope="module")
def first(world, folder):
    mapped = customer_sync(config=configure(world, folder))
    assert mapped.status == "completed", mapped.message
    before = erp_orders(world)
    plan = sync(world, folder, plan=True)
    after_plan = erp_orders(world)
    real = sync(world, folder)
    return {"plan": plan, "run": real, "before": before, "after_plan": after_plan}


def synced(folder, where="true", params=None) -> list[dict]:
    with Warehouse(folder / "wh.duckdb").connect(read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM marts.sales_order_sync WHERE {where}", params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_plan_lists_exactly_what_the_run_then_writes(first):
    plan, run = first["plan"], first["run"]
    assert first["after_plan"] == first["before"]
    new = "(the new order's number)"
    planned = [w for w in writes(plan) if new not in w[3]]
    assert planned == [w for w in writes(run) if w[1] != "set-order-field" or w in planned]
    assert len(plan.planned) == len(run.planned) and run.planned
    made = [w for w in plan.planned if w.action in ("create-sales-order", "update-sales-order")]
    assert plan.notes[-1] == (
        f"sales orders: {len(made)} would be made or changed, {sum(w.money for w in made):+,.2f}"
    )


def test_orders_are_made_with_their_key_and_the_number_is_written_back(world, folder, first):
    created = [w for w in first["run"].planned if w.action == "create-sales-order"]
    assert created
    held = erp_orders(world)
    for write in created:
        order_id = int(write.target.removeprefix("sales order [CW SO #").rstrip("]"))
        (order,) = held[order_id]
        assert order["Description"].startswith(f"[CW SO #{order_id}]")
        assert field_of(world, order_id) == order["SONumber"]


def test_orders_the_incumbent_made_are_adopted_never_made_twice(world, first):
    incumbent = case(world, "sales_order_synced_by_incumbent")
    held = erp_orders(world)
    assert incumbent and all(len(held[order_id]) == 1 for order_id in incumbent)
    created = {w.target for w in first["run"].planned if w.action == "create-sales-order"}
    assert not created & {f"sales order [CW SO #{i}]" for i in incumbent}


def test_an_item_the_erp_lacks_is_made_from_its_types_template(world, apis, first):
    _, ea = apis
    made = [w.target for w in first["run"].planned if w.action == "create-item"]
    assert made == ["item USW-24P"]
    item = ea.item("USW-24P")
    assert (item["ItemKind"], item["InventoryCode"], item["SalesCode"]) == (
        "inventory",
        "INV-IT",
        "IT",
    )


def test_a_template_without_codes_puts_the_error_item_on_the_line_and_says_why(
    world, folder, first
):
    lines = case(world, "product_item_without_erp_item")
    errors = found(first["run"], "item-template-codes-missing")
    fg = [
        line_id
        for (line_id,) in query(
            folder,
            "SELECT line_id FROM intermediate.int_sales_order_lines_planned "
            "WHERE item_identifier = 'FG-60F' AND line_action = 'error-item'",
        )
    ]
    assert fg and set(fg) <= set(lines) and {str(i) for i in fg} <= set(errors)
    failure = errors[str(fg[0])]
    assert "FG-60F" in failure.message and "**CWItem Security" in failure.message
    assert "**CWError" in failure.message
    for row in synced(folder, "error_lines > 0 AND action = 'in-sync' AND NOT is_erp_final"):
        (order,) = erp_orders(world)[row["order_id"]]
        assert any(d["Item"] == "**CWError" for d in order["Details"])
        assert order["OnHoldCode"] in ("BadSync", "CH")


def test_cancelled_lines_are_skipped_and_drop_ship_lines_marked(world, folder, first):
    cancelled = set(case(world, "product_cancelled"))
    dropship = set(case(world, "product_dropship"))
    rows = query(
        folder,
        "SELECT line_id, line_action, line_description FROM "
        "intermediate.int_sales_order_lines_planned",
    )
    assert rows
    for line_id, action, description in rows:
        if line_id in cancelled:
            assert action == "skip"
        elif line_id in dropship:
            assert description.startswith("[Drop ship] ")


def test_an_order_of_a_customer_on_hold_is_made_on_hold(world, first):
    (order_id,) = case(world, "sales_order_customer_on_hold")
    (order,) = erp_orders(world)[order_id]
    assert order["OnHoldCode"] == "CH" and order["Status"] == "Open"


def test_an_item_without_a_template_gets_the_error_item_and_names_the_template_to_make(
    world, folder, first
):
    (order_id,) = case(world, "sales_order_item_without_template")
    ((line_id, finding),) = query(
        folder,
        "SELECT line_id, finding FROM marts.sales_order_findings WHERE order_id = ?",
        [order_id],
    )
    failure = found(first["run"], "item-template-missing")[str(line_id)]
    assert "PATCH-24" in failure.message and "no item template **CWItem Cabling" in failure.message
    assert failure.fix.startswith("Create the item template **CWItem Cabling in e-automate")
    assert "no item template **CWItem Cabling" in finding
    (order,) = erp_orders(world)[order_id]
    assert [d["Item"] for d in order["Details"]] == ["**CWError"]
    assert order["Details"][0]["Description"].startswith("PATCH-24: ")
    assert order["OnHoldCode"] == "BadSync" and order["Status"] == "Open"


def test_an_order_of_an_unmapped_company_waits_and_is_reported_with_the_fix(world, folder, first):
    (order_id,) = case(world, "sales_order_company_unmapped")
    (row,) = synced(folder, "order_id = ?", [order_id])
    assert (row["action"], row["waiting_code"]) == ("waiting", "order-company-unmapped")
    failure = found(first["run"], "order-company-unmapped")[str(row["company_id"])]
    assert f"({order_id})" in failure.message and "is not mapped to an ERP customer" in (
        failure.message
    )
    assert failure.fix.startswith(
        f"Map it: crosswalk links set <ERP customer number> {row['company_id']}"
    )
    assert order_id not in erp_orders(world)
    assert not [w for w in first["run"].planned if str(order_id) in w.target]


def test_every_order_made_or_found_is_linked_in_sync_links(world, folder, first):
    looked_at = {r["order_id"] for r in synced(folder, "action <> 'waiting'")}
    held = {k: v[0]["SONumber"] for k, v in erp_orders(world).items() if k in looked_at}
    links = query(
        folder,
        "SELECT source_key, target_key, made_by, note FROM sync.links WHERE kind = 'sales-order'",
    )
    assert {int(order): number for order, number, _, _ in links} == held
    notes = {note for *_, note in links}
    assert notes == {"ERP order made by crosswalk", "ERP order found by its key"}
    assert {by for _, _, by, _ in links} == {"crosswalk"}


def test_orders_list_and_show_say_where_each_order_stands(world, folder, first):
    config = ["--config", str(folder / "crosswalk.toml")]
    listed = CliRunner().invoke(app, ["orders", "list", "--waiting", *config])
    assert listed.exit_code == 0, listed.output
    waiting = synced(folder, "action = 'waiting' OR error_lines > 0")
    assert f"sales orders: {len(waiting)}" in listed.output
    for row in waiting:
        assert str(row["order_id"]) in listed.output
    (order_id,) = case(world, "sales_order_item_without_template")
    shown = CliRunner().invoke(app, ["orders", "show", str(order_id), *config])
    assert shown.exit_code == 0, shown.output
    for text in ("PATCH-24", "**CWError", "item-template-missing", "error-item", "BadSync"):
        assert text in shown.output
    unknown = CliRunner().invoke(app, ["orders", "show", "99999", *config])
    assert unknown.exit_code == 1 and "99999" in unknown.output


def test_every_order_written_is_read_back_and_its_total_is_the_psas(world, folder, first):
    run = first["run"]
    assert not found(run, "order-amount-mismatch")
    held = erp_orders(world)
    for row in synced(folder, "action = 'in-sync'"):
        (order,) = held[row["order_id"]]
        assert total(order) == Decimal(row["planned_total"]).quantize(Decimal("0.01"))


def test_a_shipped_or_invoiced_order_is_never_changed_and_the_difference_reported(
    world, folder, first
):
    final = synced(folder, "action = 'final-changed'")
    assert final
    reported = found(first["run"], "order-changed-after-shipping")
    assert {str(r["order_id"]) for r in final} == set(reported)
    updated = {w.target for w in first["run"].planned if w.action == "update-sales-order"}
    assert not updated & {f"sales order {r['so_number']}" for r in final}


def test_the_second_run_writes_nothing(world, folder, first):
    assert sync(world, folder).planned == []


def test_a_line_cancelled_before_shipping_updates_the_erp_order(world, folder, apis):
    cw, _ = apis
    (row,) = synced(
        folder,
        "action = 'in-sync' AND NOT is_erp_final AND line_count > 1 ORDER BY order_id LIMIT 1",
    )
    ((line_id, quantity),) = query(
        folder,
        "SELECT line_id, quantity FROM intermediate.int_sales_order_lines_planned "
        "WHERE order_id = ? AND line_action <> 'skip' ORDER BY line_order LIMIT 1",
        [row["order_id"]],
    )
    cw.patch(
        "procurement/products",
        line_id,
        {"cancelledFlag": True, "quantityCancelled": float(quantity)},
    )
    run = sync(world, folder)
    assert [w.target for w in run.planned if w.action == "update-sales-order"] == [
        f"sales order {row['so_number']}"
    ]
    (order,) = erp_orders(world)[row["order_id"]]
    assert len(order["Details"]) == row["line_count"] - 1
    assert sync(world, folder).planned == []


def new_order(world, folder, cw, description: str, catalog_item: dict | None = None) -> int:
    """A new PSA order for a mapped customer, in a synced status, with one billable line
    (2 x 10.50) of ``catalog_item`` (else the catalog item of an order already synced)."""
    (row,) = synced(
        folder,
        "action IN ('in-sync', 'create') AND order_status = 'Ordered' ORDER BY order_id LIMIT 1",
    )
    psa = psa_order(world, row["order_id"])
    made = cw.create(
        "sales/orders",
        {
            "company": {"id": psa["company"]["id"]},
            "status": {"id": psa["status"]["id"]},
            "salesRep": {"id": psa["salesRep"]["id"]},
            "orderDate": psa["orderDate"],
            "description": description,
        },
    )
    if catalog_item is None:
        line = json.loads(
            world.store.one(
                "SELECT doc FROM connectwise.products WHERE id = ?", [psa["productIds"][0]]
            )[0]
        )
        catalog_item = line["catalogItem"]
    cw.create(
        "procurement/products",
        {
            "catalogItem": {"id": catalog_item["id"]},
            "billableOption": "Billable",
            "salesOrder": {"id": made["id"]},
            "quantity": 2,
            "price": 10.5,
            "description": f"{description} line",
        },
    )
    return made["id"]


def test_a_crash_between_an_order_create_and_its_record_makes_one_order(
    world, folder, apis, monkeypatch
):
    cw, _ = apis
    order_id = new_order(world, folder, cw, "Crash test order")
    original = EAutomate.save_sales_order

    def crash_after_sending(self, order):
        answer = original(self, order)
        if not order.get("SONumber"):
            raise RuntimeError("crash between the create and its record")
        return answer

    monkeypatch.setattr(EAutomate, "save_sales_order", crash_after_sending)
    with pytest.raises(RuntimeError, match="crash between"):
        sales_order_sync(config=configure(world, folder))
    monkeypatch.setattr(EAutomate, "save_sales_order", original)
    pending = query(folder, "SELECT action, target_key FROM sync.push_log WHERE outcome IS NULL")
    assert pending == [("create-sales-order", f"sales order [CW SO #{order_id}]")]
    rerun = sync(world, folder)
    assert len(erp_orders(world)[order_id]) == 1
    assert "create-sales-order" not in {w.action for w in rerun.planned}
    (order,) = erp_orders(world)[order_id]
    assert total(order) == Decimal("21.00")


def test_creates_whose_answers_are_lost_are_found_by_their_keys_and_never_sent_again(
    world, folder, apis, monkeypatch
):
    """e-automate makes the item and the order, then the connection drops before either
    answer comes back (the fault cycle's ``lost``): each is looked up by its key (the item
    by its number, the order by ``[CW SO #<id>]``), taken as made, and sent only once."""
    cw, ea = apis
    (networking,) = cw.find("procurement/types", name="Networking")
    item = cw.create(
        "procurement/catalog",
        {"identifier": "USW-LOST", "description": "UniFi Switch Lite 8 PoE",
         "productClass": "Inventory", "type": {"id": networking["id"]}, "price": 109.0},
    )  # fmt: skip
    ref = {"id": item["id"], "identifier": "USW-LOST", "name": "UniFi Switch Lite 8 PoE"}
    with world.store.write() as cur:  # lines name the catalog by reference: the emulator's
        cur.execute(  # reference table, which the world fills and the API's create does not
            "INSERT INTO connectwise.refs VALUES ('catalog_item', ?, ?, ?, ?)",
            [ref["id"], ref["name"], ref["identifier"], json.dumps(ref)],
        )
    order_id = new_order(world, folder, cw, "Lost answers order", ref)
    add_item, save_order, sent = EAutomate.add_item, EAutomate.save_sales_order, []

    def item_answer_lost(self, record):
        sent.append(("addItem", record["Item"]))
        add_item(self, record)
        raise OutcomeUnknown("eautomate", "connection lost", request="POST addItem")

    def order_answer_lost(self, order):
        if order.get("SONumber"):  # an update: safe to repeat, not this test's
            return save_order(self, order)
        sent.append(("saveSalesOrder", order_key(order["Description"], order.get("PONumber"))))
        save_order(self, order)
        raise OutcomeUnknown("eautomate", "connection lost", request="POST saveSalesOrder")

    monkeypatch.setattr(EAutomate, "add_item", item_answer_lost)
    monkeypatch.setattr(EAutomate, "save_sales_order", order_answer_lost)
    run = sync(world, folder)
    monkeypatch.setattr(EAutomate, "add_item", add_item)
    monkeypatch.setattr(EAutomate, "save_sales_order", save_order)

    assert sent == [("addItem", "USW-LOST"), ("saveSalesOrder", order_id)]
    assert world.store.query(
        "SELECT count(*) FROM eautomate.items WHERE lower(item) = 'usw-lost'"
    ) == [(1,)]
    assert ea.item("USW-LOST")["SalesCode"] == "IT"
    (order,) = erp_orders(world)[order_id]
    assert [d["Item"] for d in order["Details"]] == ["USW-LOST"]
    assert total(order) == Decimal("21.00")
    outcomes = query(
        folder,
        "SELECT action, outcome FROM sync.push_log WHERE run_id = ? AND action LIKE 'create-%' "
        "ORDER BY action",
        [run.id],
    )
    assert outcomes == [("create-item", "done"), ("create-sales-order", "done")]
    assert field_of(world, order_id) == order["SONumber"]  # the number it found, written back
    assert not found(run, "write-outcome-unknown")
    assert sync(world, folder).planned == []


def test_throttling_and_server_errors_reach_the_same_end_state(world, folder, apis, no_sleep):
    _, ea = apis
    rows = synced(folder, "action = 'in-sync' AND NOT is_erp_final ORDER BY order_id LIMIT 2")
    for row in rows:
        ea.save_sales_order({"SONumber": row["so_number"], "Details": []})
    servers = [world.servers["connectwise"], world.servers["eautomate"]]
    for server in servers:
        server.faults.configure(seed=5, throttle=0.2, error=0.1, retry_after=0)
    try:
        run = sync(world, folder)
    finally:
        for server in servers:
            server.faults.clear()
    assert sum(sum(s.faults.injected.values()) for s in servers) > 0
    assert {w.target for w in run.planned if w.action == "update-sales-order"} == {
        f"sales order {r['so_number']}" for r in rows
    }
    held = erp_orders(world)
    for row in rows:
        assert total(held[row["order_id"]][0]) == Decimal(row["planned_total"]).quantize(
            Decimal("0.01")
        )
    assert sync(world, folder).planned == []


def test_a_configured_name_the_systems_do_not_serve_is_a_configuration_failure(world, folder):
    typo = '[flows.sales_order_sync]\nstatuses = ["Ordered", "Shiped"]\n'
    with pytest.raises(ConfigError, match="'Shiped' is not a sales-order status"):
        sales_order_sync(config=configure(world, folder, typo))


def test_names_and_codes_are_checked_against_what_the_systems_serve():
    config = SalesOrderSyncConfig(
        statuses=["Ordered"], item_templates={"Routers": "**CWItem Net"}, hold_code="HOLD"
    )
    items = {"**CWERROR": ("SUPPLIES", None, None)}
    problems = problems_of(
        config, ["Ordered"], ["Hardware", "Inventory"], items, ["CH", "BadSync"], {}
    )
    assert [p.split(":")[0] for p in problems] == [
        "flows.sales_order_sync.item_templates",
        "flows.sales_order_sync.error_item",
        "flows.sales_order_sync.hold_code",
    ]
    fine = SalesOrderSyncConfig(statuses=["Ordered"], item_templates={"Hardware": "**CWItem X"})
    good = {"**CWERROR": ("SUPPLIES", None, "EXP-SUP")}
    assert problems_of(fine, ["Ordered"], ["Hardware"], good, ["CH", "BadSync"], {}) == []


def test_a_waiting_order_goes_through_once_mapped_and_a_fixed_template_releases_the_hold(
    world, folder, apis
):
    """The operator maps the waiting order's company (a prospect) to an ERP customer
    (crosswalk links set) and makes the item template the error-item line named: the next
    run makes the order, makes the item from the template, puts it on the open order and
    releases the hold."""
    _, ea = apis
    (waiting,) = case(world, "sales_order_company_unmapped")
    company = psa_order(world, waiting)["company"]["id"]
    ((customer,),) = world.store.query(
        "SELECT min(c.customer_number) FROM world.cases w JOIN world.customers c "
        "ON c.customer_id = w.id WHERE w.case_name = 'customer_without_company' "
        "AND c.is_active AND NOT c.on_hold AND c.sync_to_cw"
    )
    linked = CliRunner().invoke(
        app, ["links", "set", customer, str(company), "--config", str(folder / "crosswalk.toml")]
    )
    assert linked.exit_code == 0, linked.output
    ea.add_item({"Item": "**CWItem Cabling", "Description": "CW item template: Cabling",
                 "ItemKind": "inventory", "SalesCode": "IT", "InventoryCode": "INV-IT",
                 "Active": False})  # fmt: skip
    (template_order,) = case(world, "sales_order_item_without_template")
    (before,) = erp_orders(world)[template_order]

    run = sync(world, folder)
    made = [w.target for w in run.planned if w.action == "create-sales-order"]
    assert made == [f"sales order [CW SO #{waiting}]"]
    (order,) = erp_orders(world)[waiting]
    assert order["CustomerNumber"] == customer and not order["OnHoldCode"]
    assert str(company) not in found(run, "order-company-unmapped")
    assert "item PATCH-24" in {w.target for w in run.planned if w.action == "create-item"}
    (update,) = [w for w in run.planned if w.target == f"sales order {before['SONumber']}"]
    assert update.action == "update-sales-order"
    assert dict(update.changes)["OnHoldCode"] == ("BadSync", None)
    (after,) = erp_orders(world)[template_order]
    assert [d["Item"] for d in after["Details"]] == ["PATCH-24"] and not after["OnHoldCode"]
    assert total(after) == total(before)
    assert not [f for f in found(run, "item-template-missing").values() if "PATCH-24" in f.message]
