"""The seeded dealer world (small scale): reproducible, coherent, every awkward case present in
its documented number, and every record one the real API could serve (pyconnectwise parses it)."""

import hashlib
import json
import re
import warnings
from collections import Counter, defaultdict
from datetime import datetime

import duckdb
import pytest

from emulators import world as world_module
from emulators.world import ANCHOR, CASES, ENTITY_TABLES, SCALES, generate, quota
from emulators.world.catalog import DEFAULT_TEMPLATE, ITEMS_NOT_IN_ERP, MISNAMED_TEMPLATES
from emulators.world.names import SPECIAL_NAMES

SCALE = SCALES["small"]
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ANCHOR_TEXT = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def world_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("world") / "small.duckdb"
    generate(path, seed=1, scale="small")
    return path


@pytest.fixture(scope="module")
def con(world_path):
    with duckdb.connect(str(world_path), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def docs(con):
    """table -> {id: doc}, in id order."""
    return {
        table: {
            id_: json.loads(doc)
            for id_, doc in con.execute(f"SELECT id, doc FROM connectwise.{table}").fetchall()
        }
        for table in ENTITY_TABLES
    }


@pytest.fixture(scope="module")
def refs(con):
    """(kind, id) -> doc."""
    return {
        (kind, id_): json.loads(doc)
        for kind, id_, doc in con.execute("SELECT kind, id, doc FROM connectwise.refs").fetchall()
    }


@pytest.fixture(scope="module")
def customers(con):
    cursor = con.execute("SELECT * FROM world.customers ORDER BY customer_id")
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def cases(con):
    found = defaultdict(set)
    for name, id_ in con.execute("SELECT case_name, id FROM world.cases").fetchall():
        found[name].add(id_)
    return found


def digest(path) -> str:
    """A stable hash of every row of every table, in a fixed order."""
    hashed = hashlib.sha256()
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL"
        ).fetchall()
        for schema, table in tables:
            hashed.update(f"{schema}.{table}".encode())
            for row in connection.execute(
                f"SELECT * FROM {schema}.{table} ORDER BY ALL"
            ).fetchall():
                hashed.update(repr(row).encode())
    return hashed.hexdigest()


# Reproducibility and the storage contract


def test_same_seed_same_world_other_seed_other_world(world_path, tmp_path):
    again = generate(tmp_path / "again.duckdb", seed=1, scale="small")
    other = generate(tmp_path / "other.duckdb", seed=2, scale="small")
    assert digest(again.path) == digest(world_path)
    assert digest(other.path) != digest(world_path)
    assert again.counts["connectwise.tickets"] == SCALE.tickets


def test_command_line_writes_a_world_and_prints_counts(tmp_path, capsys):
    from emulators.world.__main__ import main

    main(["--path", str(tmp_path / "cli.duckdb"), "--seed", "3", "--scale", "small"])
    printed = capsys.readouterr().out
    assert re.search(r"connectwise\.tickets\s+1,000", printed)
    assert "world small seed 3" in printed


def test_unknown_scale_and_schema_named_file_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown scale"):
        generate(tmp_path / "x.duckdb", scale="huge")
    with pytest.raises(ValueError, match="named after its schemas"):
        generate(tmp_path / "world.duckdb")


def test_tables_and_columns_are_the_contract(con):
    columns = defaultdict(list)
    for schema, table, column, kind in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()"
        " ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        columns[f"{schema}.{table}"].append((column, kind))
    for table in ENTITY_TABLES:
        assert columns[f"connectwise.{table}"] == [
            ("id", "BIGINT"),
            ("parent_id", "BIGINT"),
            ("last_updated", "TIMESTAMP"),
            ("doc", "VARCHAR"),
        ]
    assert [c for c, _ in columns["connectwise.audit_trail"]] == [
        "type",
        "record_id",
        "entered_at",
        "doc",
    ]
    assert [c for c, _ in columns["connectwise.refs"]] == [
        "kind",
        "id",
        "name",
        "identifier",
        "doc",
    ]
    assert [c for c, _ in columns["world.cases"]] == ["system", "entity", "id", "case_name"]
    for column in (
        "customer_id",
        "customer_number",
        "parent_customer_id",
        "sync_to_cw",
        "cw_company_id",
        "cw_site_id",
        "cw_company_id_property",
        "cw_site_id_property",
        "last_update",
    ):
        assert column in dict(columns["world.customers"])
    meta = dict(con.execute("SELECT key, value FROM world.meta").fetchall())
    assert meta == {
        "seed": "1",
        "scale": "small",
        "anchor": ANCHOR_TEXT,
        "generator": world_module.GENERATOR,
    }


def test_rows_are_in_id_order_ids_unique_parents_only_on_children(con, docs):
    for table in ENTITY_TABLES:
        ids = [row[0] for row in con.execute(f"SELECT id FROM connectwise.{table}").fetchall()]
        assert ids == sorted(set(ids)), table
        assert list(docs[table]) == ids
        parents = con.execute(
            f"SELECT count(*) FROM connectwise.{table} WHERE parent_id IS NOT NULL"
        ).fetchall()[0][0]
        if table not in ("sites", "additions", "board_statuses", "board_types", "project_phases"):
            assert parents == 0, table
    for id_, parent in con.execute("SELECT id, parent_id FROM connectwise.sites").fetchall():
        assert docs["sites"][id_]["company"]["id"] == parent
    for table in ("board_statuses", "board_types"):
        for id_, parent in con.execute(f"SELECT id, parent_id FROM connectwise.{table}").fetchall():
            assert docs[table][id_]["board"]["id"] == parent and parent in docs["boards"]
    for id_, parent in con.execute(
        "SELECT id, parent_id FROM connectwise.project_phases"
    ).fetchall():
        assert docs["project_phases"][id_]["projectId"] == parent and parent in docs["projects"]
    for id_, parent in con.execute("SELECT id, parent_id FROM connectwise.additions").fetchall():
        assert docs["additions"][id_]["agreementId"] == parent and parent in docs["agreements"]
    assert not set(docs["tickets"]) & set(docs["project_tickets"])


def test_scale_sizes(con, docs, customers):
    parents = [c for c in customers if c["parent_customer_id"] is None]
    assert len(parents) == SCALE.customers
    assert len(customers) - len(parents) == SCALE.locations
    assert len(docs["agreements"]) == SCALE.agreements
    assert len(docs["tickets"]) == SCALE.tickets
    assert len(docs["project_tickets"]) == SCALE.project_tickets
    assert len(docs["projects"]) == SCALE.projects
    # and two more, drawn from nothing: sales_order_item_without_template and
    # sales_order_company_unmapped (orders.py)
    assert len(docs["sales_orders"]) == SCALE.sales_orders + 2
    assert len(docs["members"]) == SCALE.members
    assert 0.8 * SCALE.time_entries < len(docs["time_entries"]) < 1.3 * SCALE.time_entries
    audited = con.execute(
        "SELECT type, count(DISTINCT record_id) FROM connectwise.audit_trail GROUP BY type"
    ).fetchall()
    assert dict(audited)["Company"] == len(docs["companies"])
    assert dict(audited)["Agreement"] == len(docs["agreements"])
    assert dict(audited)["Ticket"] == len(docs["tickets"])  # every ticket at small scale


# Records as the API serves them


def _walk(value, path=""):
    """(path, value) for every leaf and container below ``value``."""
    yield path, value
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _walk(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner, f"{path}[]")


def test_docs_have_no_nulls_string_info_and_utc_stamps(con, docs):
    anchor = ANCHOR.replace(tzinfo=None)
    for table in ENTITY_TABLES:
        stamps = dict(con.execute(f"SELECT id, last_updated FROM connectwise.{table}").fetchall())
        for id_, doc in docs[table].items():
            assert doc["id"] == id_
            assert set(doc["_info"]) == {"lastUpdated", "updatedBy", "dateEntered", "enteredBy"}
            assert all(isinstance(v, str) and v for v in doc["_info"].values()), (table, id_)
            for path, value in _walk(doc):
                assert value is not None, (table, id_, path)
                if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT", value):
                    assert STAMP.match(value), (table, id_, path, value)
                if isinstance(value, dict) and path.endswith("._info") and path != "._info":
                    raise AssertionError(f"_info inside a reference: {table} {id_} {path}")
            updated = datetime.strptime(doc["_info"]["lastUpdated"], "%Y-%m-%dT%H:%M:%SZ")
            assert stamps[id_] == updated, (table, id_)
            assert updated <= anchor
            assert doc["_info"]["dateEntered"] <= doc["_info"]["lastUpdated"], (table, id_)
    for (doc,) in con.execute("SELECT doc FROM connectwise.audit_trail").fetchall():
        entry = json.loads(doc)
        assert set(entry) == {
            "text",
            "enteredDate",
            "enteredBy",
            "auditType",
            "auditSubType",
            "auditSource",
        }
        assert STAMP.match(entry["enteredDate"]) and entry["enteredDate"] <= ANCHOR_TEXT


LIMITS = {
    "companies": {
        "identifier": 30,
        "name": 50,
        "addressLine1": 50,
        "addressLine2": 50,
        "city": 50,
        "state": 50,
        "zip": 12,
        "phoneNumber": 30,
        "faxNumber": 30,
        "website": 255,
    },
    "sites": {
        "name": 50,
        "addressLine1": 50,
        "addressLine2": 50,
        "city": 50,
        "zip": 12,
        "phoneNumber": 30,
    },
    "agreements": {"name": 100, "reasonCancelled": 100, "customerPO": 50},
    "invoices": {"invoiceNumber": 15, "reference": 50, "customerPO": 50},
    "tickets": {
        "summary": 100,
        "siteName": 50,
        "contactName": 62,
        "contactPhoneNumber": 20,
        "contactEmailAddress": 250,
        "poNumber": 50,
    },
    "project_tickets": {"summary": 100, "siteName": 50, "wbsCode": 50},
    "projects": {"name": 100},
    "sales_orders": {"poNumber": 50},
    "products": {"description": 2000, "customerDescription": 6000},
    "additions": {"invoiceDescription": 6000},
    "members": {"identifier": 15, "firstName": 30, "lastName": 30},
    "agreement_types": {"name": 50},
    "billing_statuses": {"name": 30},
    "boards": {"name": 50},
    "board_statuses": {"name": 50},
    "board_types": {"name": 50},
    "priorities": {"name": 50},
    "project_phases": {"description": 100, "wbsCode": 50},
}
MONEY = (
    "billAmount",
    "unitPrice",
    "unitCost",
    "extPrice",
    "extCost",
    "margin",
    "subtotal",
    "total",
    "salesTax",
    "payments",
    "balance",
    "price",
    "cost",
    "subTotal",
    "taxTotal",
    "actualHours",
    "hoursBilled",
    "agreementAmount",
    "billingAmount",
)


def test_field_limits_money_and_custom_field_values(docs, customers):
    for table, limits in LIMITS.items():
        for doc in docs[table].values():
            for key, limit in limits.items():
                assert len(doc.get(key, "")) <= limit, (table, doc["id"], key)
            for key in MONEY:
                if key in doc:
                    assert isinstance(doc[key], int | float) and not isinstance(doc[key], bool)
    for doc in docs["companies"].values():
        for field in doc.get("customFields", ()):
            assert len(field["caption"]) <= 12
            assert not isinstance(field.get("value"), float)
            if field["type"] == "Number":
                assert isinstance(field["value"], int)
    for customer in customers:
        assert len(customer["customer_number"]) <= 15 and len(customer["name"]) <= 100


def _models():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyconnectwise.models import manage

    return {
        "companies": manage.Company,
        "sites": manage.CompanySite,
        "contacts": manage.Contact,
        "agreements": manage.Agreement,
        "additions": manage.Addition,
        "invoices": manage.Invoice,
        "tickets": manage.Ticket,
        "time_entries": manage.TimeEntry,
        "project_tickets": manage.ProjectTicket,
        "projects": manage.Project,
        "sales_orders": manage.Order,
        "products": manage.ProductItem,
        "members": manage.Member,
        "agreement_types": manage.AgreementType,
        "billing_statuses": manage.BillingStatus,
        "boards": manage.Board,
        "board_statuses": manage.BoardStatus,
        "board_types": manage.BoardType,
        "priorities": manage.Priority,
        "project_phases": manage.ProjectPhase,
    }, manage.AuditTrailEntry


def test_pyconnectwise_parses_every_record_and_knows_every_field(con, docs):
    models, audit_model = _models()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for table, model in models.items():
            known = {f.alias or name for name, f in model.model_fields.items()}
            for doc in docs[table].values():
                assert set(doc) <= known, (table, set(doc) - known)
                parsed = model.model_validate(doc)
                assert parsed.id == doc["id"]
        for (doc,) in con.execute("SELECT doc FROM connectwise.audit_trail LIMIT 500").fetchall():
            audit_model.model_validate(json.loads(doc))


# Coherence: every reference points at a record or catalog row that exists and matches

ENTITY_KEYS = {
    "company": "companies",
    "billToCompany": "companies",
    "shipToCompany": "companies",
    "vendor": "companies",
    "site": "sites",
    "billToSite": "sites",
    "shipToSite": "sites",
    "billingSite": "sites",
    "contact": "contacts",
    "billToContact": "contacts",
    "defaultContact": "contacts",
    "agreement": "agreements",
    "project": "projects",
    "salesOrder": "sales_orders",
    "owner": "members",
    "member": "members",
    "manager": "members",
    "salesRep": "members",
    "ticket": "tickets",
    "invoice": "invoices",
}
REF_KEYS = {
    "board": "board",
    "priority": "priority",
    "source": "source",
    "location": "location",
    "department": "department",
    "territory": "territory",
    "market": "market",
    "country": "country",
    "stateReference": "state",
    "billingTerms": "billing_terms",
    "billingCycle": "billing_cycle",
    "taxCode": "tax_code",
    "invoiceTemplate": "invoice_template",
    "workType": "work_type",
    "workRole": "work_role",
    "timeZone": "time_zone",
    "defaultLocation": "location",
    "defaultDepartment": "department",
    "securityRole": "security_role",
    "phase": "project_phase",
    "catalogItem": "catalog_item",
    "product": "catalog_item",
}
PER_TABLE = {
    ("companies", "status"): "company_status",
    ("tickets", "status"): "ticket_status",
    ("project_tickets", "status"): "ticket_status",
    ("projects", "status"): "project_status",
    ("sales_orders", "status"): "order_status",
    ("invoices", "status"): "billing_status",
    ("agreements", "type"): "agreement_type",
    ("tickets", "type"): "ticket_type",
    ("projects", "type"): "project_type",
    ("members", "type"): "member_type",
    ("companies", "types"): "company_type",
    ("contacts", "types"): "contact_type",
    ("project_phases", "status"): "phase_status",
    ("catalog_items", "type"): "product_type",
    ("catalog_items", "category"): "product_category",
}


def _embed(table: str, doc: dict) -> dict:
    """The reference a record is embedded as."""
    if table == "companies":
        return {"id": doc["id"], "identifier": doc["identifier"], "name": doc["name"]}
    if table == "members":
        name = " ".join(part for part in (doc["firstName"], doc.get("lastName")) if part)
        return {"id": doc["id"], "identifier": doc["identifier"], "name": name}
    if table == "contacts":
        return {"id": doc["id"], "name": f"{doc['firstName']} {doc['lastName']}"}
    if table == "agreements":
        return {"id": doc["id"], "name": doc["name"], "type": doc["type"]["name"]}
    if table in ("tickets", "project_tickets"):
        return {"id": doc["id"], "summary": doc["summary"]}
    if table == "sales_orders":
        return {"id": doc["id"], "identifier": str(doc["id"])}
    if table == "invoices":
        return {
            "id": doc["id"],
            "identifier": doc["invoiceNumber"],
            "billingType": doc["type"],
            "applyToType": doc["applyToType"],
        }
    return {"id": doc["id"], "name": doc["name"]}


def test_every_reference_resolves_and_matches(docs, refs):
    for table in ENTITY_TABLES:
        for doc in docs[table].values():
            for key, value in doc.items():
                if key in ("_info", "customFields", "communicationItems"):
                    continue
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    kind = PER_TABLE[(table, key)]
                    for item in value:
                        assert refs[(kind, item["id"])] | item == refs[(kind, item["id"])]
                    continue
                if not isinstance(value, dict):
                    continue
                if (table, key) in PER_TABLE or key in REF_KEYS:
                    kind = PER_TABLE.get((table, key)) or REF_KEYS[key]
                    target = refs.get((kind, value["id"]))
                    assert target is not None, (table, doc["id"], key, value)
                    assert target | value == target, (table, doc["id"], key, value, target)
                    continue
                assert key in ENTITY_KEYS, f"unchecked reference {table}.{key}"
                target_table = ENTITY_KEYS[key]
                if key == "ticket" and value["id"] in docs["project_tickets"]:
                    target_table = "project_tickets"
                target = docs[target_table].get(value["id"])
                assert target is not None, (table, doc["id"], key, value)
                assert value == _embed(target_table, target), (table, doc["id"], key)
            for item in doc.get("communicationItems", ()):
                assert refs[("communication_type", item["type"]["id"])] == item["type"]


def _company_sites(docs):
    sites = defaultdict(set)
    for site in docs["sites"].values():
        sites[site["company"]["id"]].add(site["id"])
    return sites


def test_records_agree_with_each_other(docs, refs):
    sites = _company_sites(docs)
    contacts = defaultdict(set)
    for contact in docs["contacts"].values():
        contacts[contact["company"]["id"]].add(contact["id"])
        assert contact["site"]["id"] in sites[contact["company"]["id"]]
    for table in ("tickets", "project_tickets", "agreements", "sales_orders", "projects"):
        for doc in docs[table].values():
            company = doc["company"]["id"]
            payer = (
                doc.get("billToCompany", doc["company"])["id"] if table == "agreements" else company
            )
            for key in ("site", "shipToSite", "billToSite"):
                if key in doc:
                    owner = payer if key == "billToSite" else company
                    assert doc[key]["id"] in sites[owner], (table, doc["id"], key)
            for key in ("contact", "billToContact"):
                if key in doc:
                    owner = payer if key == "billToContact" else company
                    assert doc[key]["id"] in contacts[owner], (table, doc["id"], key)
            if "agreement" in doc:
                assert docs["agreements"][doc["agreement"]["id"]]["company"]["id"] == company
    for table in ("tickets", "project_tickets"):
        for doc in docs[table].values():
            board = doc["board"]["id"]
            assert refs[("ticket_status", doc["status"]["id"])]["board"]["id"] == board
            if "type" in doc:
                assert refs[("ticket_type", doc["type"]["id"])]["board"]["id"] == board
            closed = refs[("ticket_status", doc["status"]["id"])]["closedStatus"]
            assert doc["closedFlag"] == closed and closed == doc["status"]["name"].startswith(">")
            assert ("closedDate" in doc) == closed
    for doc in docs["project_tickets"].values():
        assert refs[("project_phase", doc["phase"]["id"])]["projectId"] == doc["project"]["id"]
    hours = Counter()
    for entry in docs["time_entries"].values():
        table = "tickets" if entry["chargeToType"] == "ServiceTicket" else "project_tickets"
        ticket = docs[table][entry["chargeToId"]]
        assert entry["ticket"]["id"] == ticket["id"]
        assert entry["company"] == ticket["company"]
        assert entry.get("agreement") == ticket.get("agreement")
        assert ticket["_info"]["dateEntered"] <= entry["timeStart"] < entry["timeEnd"]
        hours[ticket["id"]] += entry["actualHours"]
        if table == "project_tickets":
            assert entry["project"] == ticket["project"] and entry["phase"] == ticket["phase"]
    for table in ("tickets", "project_tickets"):
        for doc in docs[table].values():
            assert doc["actualHours"] == pytest.approx(hours[doc["id"]], abs=0.02)
    applied = {
        "Agreement": "agreements",
        "Ticket": "tickets",
        "Project": "projects",
        "ProjectPhase": "project_phases",
        "SalesOrder": "sales_orders",
    }
    for invoice in docs["invoices"].values():
        target = docs[applied[invoice["applyToType"]]][invoice["applyToId"]]
        if invoice["applyToType"] == "ProjectPhase":
            assert invoice["phase"]["id"] == target["id"] and target["billSeparatelyFlag"]
            target = docs["projects"][target["projectId"]]
            assert invoice["project"]["id"] == target["id"]
        assert target["company"]["id"] == invoice["company"]["id"]
        assert invoice["billingSite"]["id"] in sites[invoice["billToCompany"]["id"]]
        if invoice["type"] == "Agreement":
            assert invoice["applyToType"] == "Agreement"
            assert invoice["agreement"]["id"] == invoice["applyToId"]
            assert invoice["billToCompany"] == target["billToCompany"]
    for order in docs["sales_orders"].values():
        for product_id in order["productIds"]:
            assert docs["products"][product_id]["salesOrder"]["id"] == order["id"]
        for invoice_id in order.get("invoiceIds", ()):
            assert docs["invoices"][invoice_id]["applyToId"] == order["id"]
    for company in docs["companies"].values():
        assert company["site"]["id"] in sites[company["id"]]
        primary = docs["sites"][company["site"]["id"]]
        assert primary["primaryAddressFlag"] and primary["addressLine1"] == company["addressLine1"]


def test_refs_catalogs(refs):
    kinds = {kind for kind, _ in refs}
    for kind in (
        "company_status",
        "company_type",
        "territory",
        "market",
        "country",
        "state",
        "board",
        "ticket_status",
        "priority",
        "ticket_type",
        "source",
        "agreement_type",
        "billing_cycle",
        "billing_terms",
        "work_type",
        "work_role",
        "location",
        "department",
        "project_status",
        "project_type",
        "order_status",
        "catalog_item",
        "invoice_template",
        "tax_code",
        "project_phase",
    ):
        assert kind in kinds
    statuses = [doc for (kind, _), doc in refs.items() if kind == "ticket_status"]
    assert {s["name"] for s in statuses if s["closedStatus"]} >= {">Closed", ">Cancelled"}
    assert {s["board"]["id"] for s in statuses} == {id_ for kind, id_ in refs if kind == "board"}
    assert all(
        set(doc) >= {"id", "name", "sort"} for (k, _), doc in refs.items() if k == "priority"
    )


# The truth tables


def test_customers_truth(docs, customers):
    by_id = {c["customer_id"]: c for c in customers}
    numbers = [c["customer_number"] for c in customers]
    assert len(set(numbers)) == len(numbers)
    sites = _company_sites(docs)
    for customer in customers:
        parent = by_id.get(customer["parent_customer_id"])
        if parent is not None:
            assert parent["parent_customer_id"] is None and customer["cw_company_id"] is None
            if not customer["customer_number"].startswith(parent["customer_number"] + "-"):
                pass  # numbered on its own: a case
            if customer["cw_site_id"] is not None:
                site = docs["sites"][customer["cw_site_id"]]
                assert site["company"]["id"] == parent["cw_company_id"]
                assert site["name"] == customer["name"]
                assert customer["cw_site_id"] in sites[parent["cw_company_id"]]
        elif customer["cw_company_id"] is not None:
            company = docs["companies"][customer["cw_company_id"]]
            assert not company["deletedFlag"]
            assert company["name"] == customer["name"]
        assert customer["created_at"] <= customer["last_update"]
        if parent is None:
            assert customer["sync_to_cw"] == (customer["sync_to_cw_property"] != "No")
        else:  # locations follow their parent
            assert customer["sync_to_cw"] == parent["sync_to_cw"]
            assert customer["sync_to_cw_property"] is None


def test_technicians_agreement_types_templates_items_codes(con, docs, refs):
    technicians = con.execute(
        "SELECT technician_number, member_id, is_active FROM world.technicians"
    ).fetchall()
    assert len({number for number, _, _ in technicians}) == len(technicians)
    for _, member_id, active in technicians:
        if member_id is not None:
            assert docs["members"][member_id]["inactiveFlag"] == (not active)
    types = con.execute(
        "SELECT agreement_type_id, name, has_template, template_number FROM world.agreement_types"
    ).fetchall()
    assert {has for _, _, has, _ in types} == {True, False}
    for type_id, name, has_template, template in types:
        assert refs[("agreement_type", type_id)]["name"] == name
        assert (template == f"**CW {name}") if has_template else template is None
    dealer = con.execute(
        "SELECT customer_number FROM world.customers WHERE customer_id = 1"
    ).fetchall()[0][0]
    templates = con.execute(
        "SELECT contract_number, customer_number, base_item_number, agreement_type"
        " FROM world.contract_templates"
    ).fetchall()
    items = {row[0] for row in con.execute("SELECT item_number FROM world.items").fetchall()}
    # One per type that has one, the default, and the misnamed ones (serving no type).
    assert len(templates) == sum(has for _, _, has, _ in types) + 1 + len(MISNAMED_TEMPLATES)
    assert {n for n, _, _, kind in templates if kind is None} == {
        DEFAULT_TEMPLATE,
        *(f"**CW {name}" for name in MISNAMED_TEMPLATES.values()),
    }
    for number, customer, base, _ in templates:
        assert len(number) <= 20 and customer == dealer and base in items
    mirrored = con.execute(
        "SELECT cw_catalog_item_id FROM world.items WHERE cw_catalog_item_id IS NOT NULL"
    ).fetchall()
    assert all(("catalog_item", id_) in refs for (id_,) in mirrored)
    for list_type, code, kind, cw_id in con.execute(
        "SELECT list_type, code, cw_kind, cw_id FROM world.codes"
    ).fetchall():
        assert len(code) <= 15
        if kind is not None:
            assert (kind, cw_id) in refs, (list_type, code)


# The awkward cases


def test_cases_name_known_records(con, docs, customers, cases):
    entities = {
        "customers": {c["customer_id"] for c in customers},
        "technicians": {
            r[0] for r in con.execute("SELECT technician_id FROM world.technicians").fetchall()
        },
        "refs": {
            r[0]
            for r in con.execute(
                "SELECT id FROM connectwise.refs WHERE kind = 'catalog_item'"
            ).fetchall()
        },
        "accounts": {r[0] for r in con.execute("SELECT id FROM operate.accounts").fetchall()},
        "contracts": {
            r[0] for r in con.execute("SELECT contract_id FROM eautomate.contracts").fetchall()
        },
        "items": {r[0] for r in con.execute("SELECT item_id FROM eautomate.items").fetchall()},
        "calls": {
            int(r[0]) for r in con.execute("SELECT call_number FROM eautomate.calls").fetchall()
        },
        **{table: set(docs[table]) for table in ENTITY_TABLES},
    }
    rows = con.execute("SELECT system, entity, id, case_name FROM world.cases").fetchall()
    assert len(rows) == len(set(rows))
    for system, entity, id_, name in rows:
        case = CASES[name]
        assert (system, entity) == (case.system, case.entity), name
        assert id_ in entities[entity], (name, id_)
    for name, case in CASES.items():
        assert len(cases[name]) >= max(case.minimum, 1), name


def test_every_case_is_documented():
    for name in CASES:
        assert name in world_module.__doc__, name


def test_exact_case_counts(docs, customers, cases, con):
    parents = [c for c in customers if c["parent_customer_id"] is None]
    locations = [c for c in customers if c["parent_customer_id"] is not None]
    linked = [c for c in parents if c["cw_company_id"] is not None]
    merged = len(cases["company_merged_deleted"])
    by_id = {c["customer_id"]: c for c in customers}
    others = len(parents) - 1
    special_population = len(linked) - len(SPECIAL_NAMES)
    techs = con.execute(
        "SELECT count(*) FROM world.technicians WHERE member_id IS NOT NULL"
    ).fetchall()[0][0]
    templated = con.execute("SELECT name FROM world.agreement_types WHERE has_template").fetchall()
    # Two orders of one line each are drawn from nothing (orders.py).
    drawn_lines = (
        len(docs["products"])
        - len(cases["sales_order_item_without_template"])
        - len(cases["sales_order_company_unmapped"])
    )
    expected = {
        "dealer_own_customer": 1,
        "customer_without_company": quota("customer_without_company", others),
        "customer_sync_off": quota("customer_sync_off", others),
        "customer_on_hold": quota("customer_on_hold", others),
        "customer_inactive": quota("customer_inactive", others),
        "customer_property_missing": quota("customer_property_missing", len(linked) - merged),
        "customer_property_wrong_company": quota(
            "customer_property_wrong_company", len(linked) - merged
        ),
        "customer_property_unknown_company": quota(
            "customer_property_unknown_company", len(linked) - merged
        ),
        "customer_property_deleted_company": quota("customer_property_deleted_company", merged),
        "location_own_number": quota("location_own_number", len(locations)),
        "location_without_site": quota(
            "location_without_site",
            sum(1 for c in locations if by_id[c["parent_customer_id"]]["cw_company_id"]),
        ),
        "site_property_missing": quota(
            "site_property_missing", sum(1 for c in locations if c["cw_site_id"])
        ),
        "site_property_wrong": quota(
            "site_property_wrong", sum(1 for c in locations if c["cw_site_id"])
        ),
        "company_merged_deleted": quota("company_merged_deleted", special_population),
        "company_merge_survivor": merged,
        "company_key_in_neither": quota("company_key_in_neither", special_population)
        + len(range(2, len(SPECIAL_NAMES), 3)),
        "company_key_in_account_number": quota("company_key_in_account_number", special_population)
        + merged
        + len(range(1, len(SPECIAL_NAMES), 3)),
        "company_identifier_wrong_customer": quota(
            "company_identifier_wrong_customer", special_population
        ),
        "company_duplicate_name": quota("company_duplicate_name", special_population) // 2 * 2,
        "company_special_name": len(SPECIAL_NAMES),
        "company_prospect": SCALE.prospects,
        "company_vendor": SCALE.vendors,
        "company_stale_address": quota("company_stale_address", len(linked)),
        "company_phone_format": quota("company_phone_format", len(linked)),
        "company_custom_fields": quota("company_custom_fields", len(linked)),
        "company_without_contacts": quota("company_without_contacts", len(linked)),
        "contact_inactive": quota("contact_inactive", len(docs["contacts"])),
        "member_without_technician": quota("member_without_technician", techs),
        "member_unknown_technician": quota("member_unknown_technician", techs),
        "member_inactive": quota("member_inactive", techs),
        "member_api": 2,
        "technician_without_member": SCALE.erp_only_technicians,
        "agreement_cancelled": quota("agreement_cancelled", SCALE.agreements),
        "agreement_expired": quota("agreement_expired", SCALE.agreements),
        "agreement_company_without_customer": quota(
            "agreement_company_without_customer", SCALE.agreements
        ),
        "addition_zero_billed": quota("addition_zero_billed", len(docs["additions"])),
        "addition_cancelled": quota("addition_cancelled", len(docs["additions"])),
        "project_fixed_fee": quota("project_fixed_fee", SCALE.projects),
        "project_billed_by_phase": quota(
            "project_billed_by_phase", quota("project_fixed_fee", SCALE.projects)
        )
        + quota(
            "project_billed_by_phase", SCALE.projects - quota("project_fixed_fee", SCALE.projects)
        ),
        "product_cancelled": quota("product_cancelled", drawn_lines),
        "product_dropship": quota("product_dropship", drawn_lines),
        "catalog_item_without_erp_item": len(ITEMS_NOT_IN_ERP),
        "agreement_bill_to_other_company": quota(
            "agreement_bill_to_other_company",
            SCALE.agreements - quota("agreement_company_without_customer", SCALE.agreements),
        ),
        **{
            name: quota(name, _named_contract_population(docs, parents))
            for name in (
                "agreement_contract_number_right",
                "agreement_contract_wrong_revision",
                "agreement_contract_other_customer",
            )
        },
        "addition_less_included": quota("addition_less_included", len(docs["additions"])),
        "contract_template": len(templated),
        "contract_template_default": 1,
        "contract_template_misnamed": len(MISNAMED_TEMPLATES),
        "item_template": len(templated) + 1 + len(MISNAMED_TEMPLATES),
        "item_fixed_fee": 1,
        "item_template_sales": 4,
        "item_template_without_codes": 1,
        "item_error": 1,
        "sales_order_customer_on_hold": 1,
        "sales_order_item_without_template": 1,
        "sales_order_company_unmapped": 1,
        "call_for_psa": quota("call_for_psa", SCALE.tickets),
        "call_for_psa_unmapped": quota("call_for_psa_unmapped", SCALE.tickets),
    }
    # The workspace operator's cases: tests/emulators/test_operate_world.py; the incumbent's
    # contracts: tests/emulators/test_agreement_world.py.
    exact = {
        name
        for name, case in CASES.items()
        if case.exact and case.system != "operate" and name not in INCUMBENT_CONTRACT_CASES
    }
    assert exact == set(expected)
    assert {name: len(cases[name]) for name in expected} == expected


INCUMBENT_CONTRACT_CASES = {
    "contract_without_agreement_property",
    "contract_terminated_agreement_live",
    "contract_active_agreement_ended",
    "contract_invoiced_before_sync",
    "contract_billed_ahead",
}


def _named_contract_population(docs, parents) -> int:
    """Agreements that may name their contract in ZCJ_ContractNumber: live, invoiced, of a
    customer that syncs (the incumbent made a contract for each)."""
    syncing = {c["cw_company_id"] for c in parents if c["cw_company_id"] and c["sync_to_cw"]}
    invoiced = {i["applyToId"] for i in docs["invoices"].values() if i["type"] == "Agreement"}
    return sum(
        1
        for a in docs["agreements"].values()
        if a["agreementStatus"] == "Active"
        and a["company"]["id"] in syncing
        and a["id"] in invoiced
    )


def test_company_key_cases_mean_what_they_say(docs, customers, cases):
    parents = [c for c in customers if c["parent_customer_id"] is None]
    numbers = {c["customer_number"]: c for c in customers}
    by_company = {c["cw_company_id"]: c for c in parents if c["cw_company_id"]}
    found = defaultdict(set)
    for company in docs["companies"].values():
        customer = by_company.get(company["id"])
        if company["deletedFlag"]:
            found["company_merged_deleted"].add(company["id"])
            owner = numbers[company["identifier"]]
            assert owner["cw_company_id"] != company["id"]
            survivor = docs["companies"][owner["cw_company_id"]]
            assert survivor["accountNumber"] == owner["customer_number"]
            found["company_merge_survivor"].add(survivor["id"])
            assert company["dateDeleted"] > company["_info"]["lastUpdated"]
            assert company["deletedBy"]
            continue
        if customer is None:
            assert company["types"][0]["name"] in ("Prospect", "Vendor")
            assert company["identifier"] not in numbers
            continue
        number = customer["customer_number"]
        if company["identifier"] == number:
            found["company_key_in_identifier"].add(company["id"])
        elif company["identifier"] in numbers:
            victim = numbers[company["identifier"]]
            assert victim["cw_company_id"] is None and victim["parent_customer_id"] is None
            found["company_identifier_wrong_customer"].add(company["id"])
        elif company.get("accountNumber") == number:
            found["company_key_in_account_number"].add(company["id"])
        else:
            found["company_key_in_neither"].add(company["id"])
        if company["name"] in SPECIAL_NAMES:
            found["company_special_name"].add(company["id"])
        if company.get("customFields"):
            found["company_custom_fields"].add(company["id"])
        if company["addressLine1"] != customer["address1"]:
            found["company_stale_address"].add(company["id"])
        if company["phoneNumber"] != customer["phone"]:
            assert re.sub(r"\D", "", company["phoneNumber"]) == re.sub(r"\D", "", customer["phone"])
            found["company_phone_format"].add(company["id"])
    names = Counter(by_company[c]["name"] for c in by_company)
    found["company_duplicate_name"] = {c for c in by_company if names[by_company[c]["name"]] > 1}
    with_contacts = {c["company"]["id"] for c in docs["contacts"].values()}
    found["company_without_contacts"] = set(by_company) - with_contacts
    for name, ids in found.items():
        assert ids == cases[name], name


def test_customer_cases_mean_what_they_say(docs, customers, cases):
    by_id = {c["customer_id"]: c for c in customers}
    found = defaultdict(set)
    for customer in customers[1:]:
        id_ = customer["customer_id"]
        parent = by_id.get(customer["parent_customer_id"])
        if parent is None:
            if customer["cw_company_id"] is None:
                found[
                    "customer_sync_off"
                    if not customer["sync_to_cw"]
                    else "customer_without_company"
                ].add(id_)
            elif not customer["sync_to_cw"]:
                found["customer_sync_off"].add(id_)
            if customer["on_hold"]:
                assert customer["hold_code"] == "CH"
                found["customer_on_hold"].add(id_)
            if not customer["is_active"]:
                found["customer_inactive"].add(id_)
                assert (
                    docs["companies"].get(
                        customer["cw_company_id"], {"status": {"name": "Inactive"}}
                    )["status"]["name"]
                    == "Inactive"
                )
            prop, truth = customer["cw_company_id_property"], customer["cw_company_id"]
            if truth is None:
                assert prop is None
            elif prop is None:
                found["customer_property_missing"].add(id_)
            elif int(prop) not in docs["companies"]:
                found["customer_property_unknown_company"].add(id_)
            elif docs["companies"][int(prop)]["deletedFlag"]:
                found["customer_property_deleted_company"].add(id_)
            elif int(prop) != truth:
                found["customer_property_wrong_company"].add(id_)
        else:
            if not customer["customer_number"].startswith(parent["customer_number"] + "-"):
                found["location_own_number"].add(id_)
            if parent["cw_company_id"] is not None and customer["cw_site_id"] is None:
                found["location_without_site"].add(id_)
            prop, truth = customer["cw_site_id_property"], customer["cw_site_id"]
            if truth is None:
                assert prop is None
            elif prop is None:
                found["site_property_missing"].add(id_)
            elif int(prop) != truth:
                site = docs["sites"][int(prop)]
                assert site["company"]["id"] != parent["cw_company_id"]
                found["site_property_wrong"].add(id_)
    assert cases["dealer_own_customer"] == {customers[0]["customer_id"]}
    assert not customers[0]["sync_to_cw"] and customers[0]["cw_company_id"] is None
    for name, ids in found.items():
        assert ids == cases[name], name


def test_member_cases_mean_what_they_say(con, docs, cases):
    technicians = {
        member: (number, active)
        for number, member, active in con.execute(
            "SELECT technician_number, member_id, is_active FROM world.technicians"
        ).fetchall()
        if member is not None
    }
    numbers = {
        r[0] for r in con.execute("SELECT technician_number FROM world.technicians").fetchall()
    }
    found = defaultdict(set)
    for member in docs["members"].values():
        if member["licenseClass"] == "A":
            found["member_api"].add(member["id"])
            continue
        if member["id"] not in technicians:
            assert "employeeIdentifer" not in member
            continue
        number, active = technicians[member["id"]]
        shown = member.get("employeeIdentifer")
        if not active:
            assert member["inactiveFlag"] and member["inactiveDate"] and shown == number
            found["member_inactive"].add(member["id"])
        elif shown is None:
            found["member_without_technician"].add(member["id"])
        elif shown != number:
            assert shown not in numbers
            found["member_unknown_technician"].add(member["id"])
        else:
            found["member_with_technician"].add(member["id"])
    assert any("lastName" not in m for m in docs["members"].values() if m["licenseClass"] == "A")
    for name, ids in found.items():
        assert ids == cases[name], name
    for entry in docs["time_entries"].values():
        member = docs["members"][entry["member"]["id"]]
        assert member["licenseClass"] != "A"
        if member["inactiveFlag"]:
            assert entry["timeStart"] < member["inactiveDate"]


def test_work_cases_mean_what_they_say(con, docs, customers, cases):
    template = dict(con.execute("SELECT name, has_template FROM world.agreement_types").fetchall())
    linked = {c["cw_company_id"] for c in customers if c["cw_company_id"]}
    invoiced = {i["applyToId"] for i in docs["invoices"].values() if i["type"] == "Agreement"}
    found = defaultdict(set)
    for agreement in docs["agreements"].values():
        id_ = agreement["id"]
        if not template[agreement["type"]["name"]]:
            found["agreement_type_without_template"].add(id_)
        if agreement["agreementStatus"] == "Cancelled":
            assert agreement["cancelledFlag"] and agreement["dateCancelled"]
            found["agreement_cancelled"].add(id_)
        if agreement["agreementStatus"] == "Expired":
            assert agreement["endDate"] < ANCHOR_TEXT
            found["agreement_expired"].add(id_)
        if id_ not in invoiced:
            found["agreement_without_invoice"].add(id_)
        if agreement["company"]["id"] not in linked:
            found["agreement_company_without_customer"].add(id_)
    for addition in docs["additions"].values():
        if addition["billedQuantity"] == 0 and addition["quantity"] > 0:
            found["addition_zero_billed"].add(addition["id"])
        if (
            addition["agreementStatus"] == "Cancelled"
            and docs["agreements"][addition["agreementId"]]["agreementStatus"] != "Cancelled"
        ):
            found["addition_cancelled"].add(addition["id"])
    found["invoice_down_payment"] = {
        i["id"] for i in docs["invoices"].values() if i["type"] == "DownPayment"
    }
    timed = defaultdict(list)
    for entry in docs["time_entries"].values():
        timed[entry["chargeToId"]].append(entry)
    technicians = dict(
        con.execute("SELECT member_id, technician_number FROM world.technicians").fetchall()
    )
    for ticket in docs["tickets"].values():
        id_ = ticket["id"]
        if not timed[id_]:
            found["ticket_without_time"].add(id_)
            if ticket["closedFlag"]:
                found["ticket_closed_without_time"].add(id_)
        if ticket["company"]["id"] not in linked:
            found["ticket_company_without_customer"].add(id_)
        if "agreement" in ticket:
            found["ticket_on_agreement"].add(id_)
        for entry in timed[id_]:
            member = docs["members"][entry["member"]["id"]]
            if member.get("employeeIdentifer") != technicians.get(member["id"]):
                found["ticket_unmapped_technician"].add(id_)
    found["project_ticket_without_time"] = {t for t in docs["project_tickets"] if not timed[t]}
    found["project_fixed_fee"] = {
        p["id"] for p in docs["projects"].values() if p["billingMethod"] == "FixedFee"
    }
    for product in docs["products"].values():
        if product["dropshipFlag"]:
            found["product_dropship"].add(product["id"])
    for name, ids in found.items():
        if name == "addition_cancelled":
            assert ids <= cases[name], name
        else:
            assert ids == cases[name], name
    for entry_id in cases["time_entry_overlap"]:
        entry = docs["time_entries"][entry_id]
        assert any(
            other["id"] != entry_id
            and other["member"] == entry["member"]
            and other["timeStart"] < entry["timeEnd"]
            and entry["timeStart"] < other["timeEnd"]
            for other in timed[entry["chargeToId"]]
        )
    for product_id in cases["product_cancelled"]:
        assert docs["products"][product_id]["cancelledFlag"]
    open_closed = Counter(t["closedFlag"] for t in docs["tickets"].values())
    assert open_closed[True] > open_closed[False] > 10
    assert len({t["board"]["id"] for t in docs["tickets"].values()}) >= 4
    assert any(i["type"] == "Agreement" for i in docs["invoices"].values())
    assert docs["time_entries"] and any(
        e["chargeToType"] == "ProjectTicket" for e in docs["time_entries"].values()
    )


def test_project_billing_cases_mean_what_they_say(docs, cases):
    phased, completed = cases["project_billed_by_phase"], cases["project_billed_on_completion"]
    assert phased | completed == set(docs["projects"]) and not phased & completed
    fixed = cases["project_fixed_fee"]
    assert fixed & phased and fixed & completed and phased - fixed and completed - fixed
    phases = defaultdict(list)
    for phase in docs["project_phases"].values():
        phases[phase["projectId"]].append(phase)
        assert phase["billSeparatelyFlag"] == phase["billPhaseClosedFlag"]
        assert phase["billProjectClosedFlag"] != phase["billSeparatelyFlag"]
    for project_id, project in docs["projects"].items():
        assert {p["billSeparatelyFlag"] for p in phases[project_id]} == {project_id in phased}
        assert {p["billingMethod"] for p in phases[project_id]} == {project["billingMethod"]}
    billed_by = Counter()
    for invoice in docs["invoices"].values():
        if invoice["applyToType"] == "ProjectPhase":
            assert docs["project_phases"][invoice["applyToId"]]["projectId"] in phased
            assert invoice["type"] == "Progress"
        elif invoice["applyToType"] == "Project" and invoice["type"] != "DownPayment":
            assert invoice["applyToId"] in completed
    for entry in docs["time_entries"].values():
        if entry["chargeToType"] != "ProjectTicket" or "invoice" not in entry:
            continue
        invoice = docs["invoices"][entry["invoice"]["id"]]
        assert entry["status"] == "Billed" and entry["timeEnd"] < invoice["date"]
        assert invoice["applyToId"] == (
            entry["phase"]["id"]
            if invoice["applyToType"] == "ProjectPhase"
            else entry["project"]["id"]
        )
        if entry["project"]["id"] not in fixed:
            assert entry["hoursBilled"] > 0  # a fixed fee bills every entry it covers
        billed_by[(invoice["applyToType"], entry["project"]["id"] in fixed)] += 1
    assert set(billed_by) == {(t, f) for t in ("Project", "ProjectPhase") for f in (True, False)}


def test_after_sync_cases_mean_what_they_say(con, docs, cases):
    calls = {}
    for (doc,) in con.execute("SELECT doc FROM eautomate.calls").fetchall():
        call = json.loads(doc)
        match = re.match(r"^\[CW #(\d+)\] ", call["Description"] or "")
        if match:
            calls[int(match[1])] = call
    assert set(calls) == cases["ticket_synced_by_incumbent"]
    synced = {t: (c, s) for t, c, s in con.execute("SELECT * FROM world.synced_tickets").fetchall()}
    late = cases["time_entry_after_call"] | cases["time_entry_after_invoiced_call"]
    assert (
        len(cases["time_entry_after_call"]) >= 2
        and len(cases["time_entry_after_invoiced_call"]) >= 2
    )
    for entry_id in late:
        entry = docs["time_entries"][entry_id]
        ticket_id = entry["chargeToId"]
        call = calls[ticket_id]
        invoiced = entry_id in cases["time_entry_after_invoiced_call"]
        assert (
            call["StatusCode"]
            == synced[ticket_id][1]
            == ("Invoiced" if invoiced else "OKToInvoice")
        )
        made = (call["LastUpdate"] if invoiced else call["CreateDate"]).replace("T", " ")
        assert entry["dateEntered"].replace("T", " ").rstrip("Z") > made  # UTC after local
        assert entry_id > max(i for i in docs["time_entries"] if i not in late)
        timed = [e for e in docs["time_entries"].values() if e["chargeToId"] == ticket_id]
        assert len(call["Labors"]) == len([e for e in timed if e["id"] not in late])
    for ticket_id in cases["ticket_moved_after_sync"]:
        ticket = docs["tickets"][ticket_id]
        assert ticket["company"]["id"] != synced[ticket_id][0] and "agreement" not in ticket
        assert not any(
            i["applyToType"] == "Ticket" and i["applyToId"] == ticket_id
            for i in docs["invoices"].values()
        )
