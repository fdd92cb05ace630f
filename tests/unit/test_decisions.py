"""crosswalk.decisions, the one writer of sync.links, sync.exclusions, sync.conflicts,
sync.rejected_suggestions and sync.field_owners, on a freshly migrated warehouse; and a
check that nothing else writes them."""

import ast
import os
import re
from pathlib import Path

import pytest

from crosswalk import decisions
from crosswalk.config import PROJECT_ROOT
from crosswalk.warehouse import Warehouse, rows


@pytest.fixture
def con(tmp_path):
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    with warehouse.connect() as con:
        yield con


def links(con) -> list[dict]:
    return rows(
        con,
        "SELECT kind, source_key, target_key, made_by, note, run_id, broken_at IS NOT NULL "
        "AS is_broken FROM sync.links ORDER BY kind, source_key",
    )


def gone(con, *checked: tuple[str, str, str, str | None]) -> list[tuple]:
    """What int_links_checked would say of these links; marks them broken as the sweep does."""
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    con.execute(
        "CREATE OR REPLACE TABLE intermediate.int_links_checked (link_kind VARCHAR, "
        "source_key VARCHAR, target_key VARCHAR, gone_reason VARCHAR)"
    )
    con.executemany("INSERT INTO intermediate.int_links_checked VALUES (?, ?, ?, ?)", checked)
    return decisions.mark_broken_links(con)


def test_set_link_replaces_the_decision_and_mends_a_broken_link(con):
    decisions.set_link(con, "customer", "ACME01", "101", made_by="crosswalk", run_id="run-1",
                       note="created")  # fmt: skip
    assert gone(con, ("customer", "ACME01", "101", "deleted"))
    decisions.set_link(con, "customer", "ACME01", "102", made_by="operator")
    decisions.set_link(con, "location", "ACME01", "7", made_by="operator", note="same name")
    assert links(con) == [
        {"kind": "customer", "source_key": "ACME01", "target_key": "102", "made_by": "operator",
         "note": None, "run_id": None, "is_broken": False},
        {"kind": "location", "source_key": "ACME01", "target_key": "7", "made_by": "operator",
         "note": "same name", "run_id": None, "is_broken": False},
    ]  # fmt: skip
    assert con.execute(
        "SELECT source_system, target_system, broken_reason, created_at IS NOT NULL "
        "FROM sync.links WHERE kind = 'customer'"
    ).fetchall() == [("eautomate", "connectwise", None, True)]


def test_a_link_has_a_known_kind(con):
    with pytest.raises(ValueError, match="customer, location"):
        decisions.set_link(con, "contract", "C1", "9", made_by="operator")


def test_unlink_is_an_operators_link_to_nothing(con):
    decisions.set_link(con, "customer", "ACME01", "101", made_by="crosswalk")
    decisions.unlink(con, "customer", "ACME01", note="not the same business")
    ((link,),) = [links(con)]
    assert (link["target_key"], link["made_by"], link["note"]) == (
        "",
        "operator",
        "not the same business",
    )


def test_reset_link_forgets_only_that_records_decision(con):
    decisions.set_link(con, "customer", "ACME01", "101", made_by="operator")
    decisions.set_link(con, "location", "ACME01", "7", made_by="operator")
    decisions.reset_link(con, "customer", "ACME01")
    assert [(r["kind"], r["source_key"]) for r in links(con)] == [("location", "ACME01")]


def test_mark_broken_links_marks_links_to_gone_targets_once(con):
    for number, target in (("A1", "1"), ("B1", "2"), ("C1", "3"), ("D1", "4")):
        decisions.set_link(con, "customer", number, target, made_by="operator")
    assert gone(con, ("customer", "D1", "4", "first")) == [("customer", "D1", "4", "first")]
    assert gone(
        con,
        ("customer", "A1", "1", 'PSA company 1 "A": deleted'),
        ("customer", "B1", "2", None),  # still there
        ("customer", "C1", "99", "PSA company 99: purged"),  # not the company linked now
        ("customer", "D1", "4", "PSA company 4: purged"),  # already broken
    ) == [("customer", "A1", "1", 'PSA company 1 "A": deleted')]
    assert con.execute(
        "SELECT source_key, broken_reason FROM sync.links WHERE broken_at IS NOT NULL ORDER BY 1"
    ).fetchall() == [("A1", 'PSA company 1 "A": deleted'), ("D1", "first")]
    assert decisions.mark_broken_links(con) == []


def test_exclude_and_include(con):
    decisions.exclude(con, "customer-sync", "eautomate", "BRIG01", "billing only")
    decisions.exclude(con, "customer-sync", "eautomate", "BRIG01", "billing only, for now")
    decisions.exclude(con, "customer-sync", "eautomate", "SEA01", None, by="crosswalk")
    assert con.execute(
        "SELECT record_key, reason, excluded_by, excluded_at IS NOT NULL FROM sync.exclusions "
        "WHERE flow = 'customer-sync' AND system = 'eautomate' ORDER BY 1"
    ).fetchall() == [
        ("BRIG01", "billing only, for now", "operator", True),
        ("SEA01", None, "crosswalk", True),
    ]
    decisions.include(con, "customer-sync", "BRIG01")
    decisions.include(con, "customer-sync", "NEVER01")  # not excluded: nothing to do
    assert con.execute("SELECT record_key FROM sync.exclusions").fetchall() == [("SEA01",)]


def conflict(con, conflict_id: int) -> dict:
    (found,) = rows(con, "SELECT * FROM sync.conflicts WHERE conflict_id = ?", [conflict_id])
    return found


RAISED = {"kind": "customer", "source_key": "ACME01", "target_key": "101", "field": "phone",
          "base_value": "8135550100", "erp_value": "(813) 555-0111",
          "psa_value": "(813) 555-0122", "run_id": "run-1"}  # fmt: skip


def test_raise_conflict_makes_one_then_refreshes_its_values(con):
    first = decisions.raise_conflict(con, **RAISED)
    second = decisions.raise_conflict(con, **{**RAISED, "field": "fax"})
    assert second != first
    assert {k: v for k, v in conflict(con, first).items() if k in RAISED} == RAISED
    assert conflict(con, first)["raised_at"] is not None
    again = {**RAISED, "erp_value": "(813) 555-0133", "run_id": "run-2"}
    assert decisions.raise_conflict(con, **again, conflict_id=first) == first
    refreshed = conflict(con, first)
    assert (refreshed["erp_value"], refreshed["psa_value"], refreshed["run_id"]) == (
        "(813) 555-0133",
        "(813) 555-0122",
        "run-1",
    )
    assert con.execute("SELECT count(*) FROM sync.conflicts").fetchone() == (2,)


def test_resolve_conflict_records_the_choice_and_who_made_it(con):
    by_erp, by_value = (decisions.raise_conflict(con, **{**RAISED, "field": f})
                        for f in ("phone", "fax"))  # fmt: skip
    decisions.resolve_conflict(con, by_erp, take="erp", value=None, by="pat")
    decisions.resolve_conflict(con, by_value, take=None, value="(813) 555-0199", by="sam")
    assert [
        (c["resolution"], c["resolved_value"], c["resolved_by"], c["resolved_at"] is not None)
        for c in (conflict(con, by_erp), conflict(con, by_value))
    ] == [("erp", None, "pat", True), ("value", "(813) 555-0199", "sam", True)]


@pytest.mark.parametrize(
    ("take", "value"), [(None, None), ("erp", "x"), ("both", None)], ids=["none", "two", "bad"]
)
def test_resolve_conflict_takes_exactly_one_choice(con, take, value):
    conflict_id = decisions.raise_conflict(con, **RAISED)
    with pytest.raises(ValueError, match="take='erp'"):
        decisions.resolve_conflict(con, conflict_id, take=take, value=value, by="pat")


def test_only_an_open_conflict_is_resolved(con):
    conflict_id = decisions.raise_conflict(con, **RAISED)
    decisions.settle_conflicts(con, [conflict_id], "run-2", "agreed")
    for missing in (conflict_id, conflict_id + 1):
        with pytest.raises(LookupError, match=f"no open conflict {missing}"):
            decisions.resolve_conflict(con, missing, take="psa", value=None, by="pat")
    assert conflict(con, conflict_id)["resolution"] == "agreed"


def test_settle_conflicts_keeps_an_operators_resolution_and_the_first_settlement(con):
    resolved, agreed, other = (decisions.raise_conflict(con, **{**RAISED, "field": f})
                               for f in ("phone", "fax", "city"))  # fmt: skip
    decisions.resolve_conflict(con, resolved, take="psa", value=None, by="pat")
    decisions.settle_conflicts(con, [resolved], "run-2")
    decisions.settle_conflicts(con, iter([resolved, agreed]), "run-3", resolution="agreed")
    decisions.settle_conflicts(con, [], "run-4")
    assert [
        (c["resolution"], c["settled_by_run"], c["settled_at"] is not None)
        for c in (conflict(con, resolved), conflict(con, agreed), conflict(con, other))
    ] == [("psa", "run-2", True), ("agreed", "run-3", True), (None, None, False)]


def test_a_fields_owner_is_set_for_one_customer_or_all_and_forgotten(con):
    assert decisions.set_field_owner(con, "address", "psa", customer="C1001", by="pat") == [
        "address_line1", "address_line2"]  # fmt: skip
    decisions.set_field_owner(con, "website", "erp", customer=None, by="sam", note="ours")
    decisions.set_field_owner(con, "website", "psa", customer=None, by="kim")  # replaces
    owners = rows(con, "SELECT customer_number, field, owner, decided_by, note FROM "
                  "sync.field_owners ORDER BY 1, 2")  # fmt: skip
    assert [tuple(o.values()) for o in owners] == [
        (decisions.ALL_CUSTOMERS, "website", "psa", "kim", None),
        ("C1001", "address_line1", "psa", "pat", None),
        ("C1001", "address_line2", "psa", "pat", None),
    ]
    assert decisions.reset_field_owner(con, "address", customer="C1001")
    assert not decisions.reset_field_owner(con, "website", customer="C1001")
    assert decisions.reset_field_owner(con, "website", customer=None)
    assert con.execute("SELECT count(*) FROM sync.field_owners").fetchone() == (0,)
    for field, owner in (("webiste", "psa"), ("website", "both")):
        with pytest.raises(ValueError, match="owned by erp or psa"):
            decisions.set_field_owner(con, field, owner, customer=None, by="pat")


def test_owning_a_field_sets_or_forgets_it_and_says_what_decides_it_now(con):
    """decisions.own_field, behind both `crosswalk conflicts own` and the inbox's form."""
    assert decisions.own_field(con, "address", "psa", customer="C1001", by="pat") == (
        "The address of customer C1001 always goes PSA -> ERP; the next `crosswalk run "
        "customer-sync` applies it.")  # fmt: skip
    said = decisions.own_field(con, "fax", "erp", customer=None, by="sam", note="ours")
    assert said.startswith("The fax of every customer always goes ERP -> PSA; ")
    owners = rows(con, "SELECT customer_number, field, owner, decided_by, note FROM "
                  "sync.field_owners ORDER BY 1, 2")  # fmt: skip
    assert [tuple(o.values()) for o in owners] == [
        (decisions.ALL_CUSTOMERS, "fax", "erp", "sam", "ours"),
        ("C1001", "address_line1", "psa", "pat", None),
        ("C1001", "address_line2", "psa", "pat", None),
    ]
    assert decisions.own_field(con, "address", "config", customer="C1001", by="pat") == (
        "The address of customer C1001 goes as crosswalk.toml says again; the next "
        "`crosswalk run customer-sync` applies it.")  # fmt: skip
    assert decisions.own_field(con, "address", "config", customer="C1001", by="pat") == (
        "No decision on the address of customer C1001 to forget.")  # fmt: skip
    assert con.execute("SELECT count(*) FROM sync.field_owners").fetchone() == (1,)
    for field, owner in (("webiste", "psa"), ("fax", "both"), ("webiste", "config")):
        with pytest.raises(ValueError, match=r"owned by erp or psa \(config: crosswalk.toml "):
            decisions.own_field(con, field, owner, customer=None, by="pat")
    with pytest.raises(ValueError, match="owned by erp or psa, not 'fax' by 'config'"):
        decisions.set_field_owner(con, "fax", "config", customer=None, by="pat")
    assert con.execute("SELECT count(*) FROM sync.field_owners").fetchone() == (1,)


# Writes to the decision tables, in any Python string (implicit concatenation joined).
DECISION_WRITE = re.compile(
    r"\b(?:INSERT\b[^;]*?\bINTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+"
    r"sync\.(?:links|exclusions|conflicts|rejected_suggestions|field_owners)\b",
    re.IGNORECASE,
)
SKIPPED_FOLDERS = {"data", "target", "dbt_packages", "__pycache__"}


def strings(source: str) -> list[str]:
    """The text of every string literal; an f-string's fields as ``{}``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            found.append(
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            )
    return found


def python_files() -> list[str]:
    """Every Python file of the project (not the virtual environment, not build output)."""
    found = []
    for folder, folders, files in os.walk(PROJECT_ROOT):
        folders[:] = [f for f in folders if not f.startswith(".") and f not in SKIPPED_FOLDERS]
        found += [Path(folder, name) for name in files if name.endswith(".py")]
    return sorted(path.relative_to(PROJECT_ROOT).as_posix() for path in found)


def test_only_crosswalk_decisions_writes_links_exclusions_and_conflicts():
    writers = {
        name
        for name in python_files()
        if any(
            DECISION_WRITE.search(text)
            for text in strings((PROJECT_ROOT / name).read_text(encoding="utf-8"))
        )
    }
    assert writers == {"crosswalk/decisions.py"}


def called(node: ast.AST) -> str | None:
    """What a call calls: ``f`` of ``f(...)`` and of ``x.f(...)``."""
    if not isinstance(node, ast.Call):
        return None
    return getattr(node.func, "attr", None) or getattr(node.func, "id", None)


def unlocked_decisions(source: str) -> list[str]:
    """``decisions.<function>(...)`` calls outside a ``with _deciding(...)`` or ``with
    request.deciding()`` block, as ``line: name``."""
    found = []

    def visit(node: ast.AST, locked: bool) -> None:
        if isinstance(node, ast.With):
            locked = locked or any(
                called(item.context_expr) in ("_deciding", "deciding") for item in node.items
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "decisions"
            and not locked
        ):
            found.append(f"{node.lineno}: {node.func.attr}")
        for child in ast.iter_child_nodes(node):
            visit(child, locked)

    visit(ast.parse(source), False)
    return found


def test_the_cli_and_the_inbox_write_every_decision_inside_the_run_lock():
    """Both write through Warehouse.deciding (the CLI's _deciding, the inbox's
    Request.deciding), which holds the run lock: no decision lands in the middle of a run."""
    modules = [name for name in python_files()
               if name.startswith(("crosswalk/cli/", "crosswalk/inbox/"))]  # fmt: skip
    unlocked = {
        name: calls
        for name in modules
        if (calls := unlocked_decisions((PROJECT_ROOT / name).read_text(encoding="utf-8")))
    }
    assert unlocked == {}
    assert unlocked_decisions("decisions.exclude(con, 'f', 's', 'k', None)") == ["1: exclude"]
