"""The failure-code registry (dbt_project/seeds/failure_codes.csv): every row is whole, an
undeclared code is refused, and every code a model or a Python module can raise is
declared. The last is read from the source, not from runs, so a code no test reaches (a
refused push, an outage) is checked all the same:

- SQL: quoted kebab-case literals that a failure-code column (``code``, ``*finding_code``)
  takes or is compared with: ``'x' as finding_code``, the THEN and ELSE values of a CASE
  ending ``as <code column>``, the WHEN values of a CASE on a code column, ``code = 'x'``,
  ``code in ('x')``.
- Python: the code given to ``data_failure``, ``Failure``, ``looked_at`` and ``Checked``,
  followed through names, tuples, dicts and imports to its literals, and module-level
  ``CODES`` / ``*_CODES`` tuples. A code the source does not spell out fails the scan
  unless ``NOT_IN_THE_SOURCE`` says where it comes from.
"""

import ast
import csv
import re
from functools import cache
from pathlib import Path

import pytest

from crosswalk import codes
from crosswalk.config import PROJECT_ROOT
from crosswalk.errors import (
    SYSTEM_OWNERS,
    Checked,
    Failure,
    Failures,
    Kind,
    Owner,
    data_failure,
)
from flows.customer_sync.flow import FINDINGS

KEBAB = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")  # one word or more, joined by hyphens
MODELS = PROJECT_ROOT / "dbt_project" / "models"
PYTHON = sorted(
    [*(PROJECT_ROOT / "crosswalk").rglob("*.py"), *(PROJECT_ROOT / "flows").rglob("*.py")]
)
FLOWS = {p.parent.name.replace("_", "-") for p in (PROJECT_ROOT / "flows").glob("*/flow.py")}

# ---------------------------------------------------------------------------------------
# The registry itself


def test_every_row_is_whole_and_every_code_declared_once():
    with codes.REGISTRY.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    declared = [row["code"] for row in rows]
    assert len(declared) == len(set(declared)), "a code is declared twice"
    for row in rows:
        assert KEBAB.fullmatch(row["code"]), row
        assert row["flow"] in FLOWS | {"any"}, row
        assert row["owner"] in set(Owner), row
        assert all(row[column].strip() for column in ("raised_by", "title", "fix")), row
    assert set(codes.CODES) == set(declared)


def test_a_code_declared_twice_is_refused(tmp_path):
    twice = tmp_path / "failure_codes.csv"
    twice.write_text(
        "code,flow,raised_by,owner,title,fix\n"
        "run-failed,any,run,configuration,t,f\n"
        "run-failed,any,run,configuration,t,f\n"
    )
    with pytest.raises(ValueError, match="declares run-failed more than once"):
        codes.read(twice)


def test_an_undeclared_code_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown failure code 'no-such-code'"):
        data_failure("eautomate", "customers", "ACME01", "no-such-code", "m", "f")
    with pytest.raises(ValueError, match="'no-such-code'"):
        Failure(Kind.CONFIG, Owner.CONFIG, "no-such-code", "crosswalk", "run", "run", "m", "f")
    with pytest.raises(ValueError, match="'no-such-code'"):
        Failures().looked_at("eautomate", "customers", ["link-broken", "no-such-code"])
    with pytest.raises(ValueError, match="'no-such-code'"):
        Checked("eautomate", "customers", frozenset(["no-such-code"]))


def test_titles_come_from_the_registry():
    assert codes.title("link-broken") == codes.CODES["link-broken"].title
    assert codes.title("a-code-since-retired") is None  # a failure kept from before


def test_findings_are_the_link_codes_the_mapping_models_raise():
    by_model = {path.stem: found for path, found in sql_codes().items()}
    assert set(FINDINGS) == by_model["int_customers_matched"] | by_model["int_locations_matched"]


# ---------------------------------------------------------------------------------------
# Every code raised is declared, and every declared code is raised


def test_every_code_a_model_can_raise_is_declared():
    undeclared = {
        f"{path.relative_to(PROJECT_ROOT)}: {code}"
        for path, found in sql_codes().items()
        for code in found - set(codes.CODES)
    }
    assert not undeclared, "declare these in dbt_project/seeds/failure_codes.csv"


def test_every_code_python_can_raise_is_declared():
    literals, patterns, dynamic = python_codes()
    assert not dynamic, "codes the scan cannot read; spell them out or see NOT_IN_THE_SOURCE"
    undeclared = {f"{where}: {code}" for code, where in literals if code not in codes.CODES}
    assert not undeclared, "declare these in dbt_project/seeds/failure_codes.csv"
    for pattern, where in patterns:
        assert any(pattern.fullmatch(c) for c in codes.CODES), f"{where}: {pattern.pattern}"


def test_every_declared_code_is_raised_somewhere():
    literals, patterns, _ = python_codes()
    raised = {code for found in sql_codes().values() for code in found}
    raised |= {code for code, _ in literals}
    raised |= {c for c in codes.CODES for pattern, _ in patterns if pattern.fullmatch(c)}
    assert set(codes.CODES) - raised == set(), "declared, but nothing raises them"


def test_a_failure_on_a_record_is_owned_where_the_registry_says():
    """Report groups follow the record's system; the registry's owner must agree."""
    wrong = {
        f"{where}: {code} on {system} records is {SYSTEM_OWNERS.get(system)}, registry says "
        f"{codes.CODES[code].owner}"
        for system, code, where in data_failure_systems()
        if code in codes.CODES
        and SYSTEM_OWNERS.get(system, Owner.CONFIG) != codes.CODES[code].owner
    }
    assert not wrong


def test_a_code_raised_in_a_flow_folder_is_declared_for_that_flow():
    literals, _, _ = python_codes()
    wrong = {
        f"{where}: {code} is declared for {codes.CODES[code].flow}"
        for code, where in literals
        if where.startswith("flows/")
        and code in codes.CODES
        and codes.CODES[code].flow not in (where.split("/")[1].replace("_", "-"), "any")
    }
    assert not wrong


# ---------------------------------------------------------------------------------------
# The SQL scan

_SQL_TOKEN = re.compile(r"'(?:[^']|'')*'|--[^\n]*|\w+(?:\.\w+)*|<>|!=|\S")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def _tokens(sql: str) -> list[str]:
    found = _SQL_TOKEN.findall(_JINJA.sub(" jinja ", sql))
    return [t for t in found if not t.startswith("--")] + ["", "", ""]


def _literal(token: str) -> str | None:
    return token[1:-1].replace("''", "'") if token.startswith("'") else None


def _is_code_column(token: str) -> bool:
    """A failure-code column: ``code``, ``finding_code``, ``final_finding_code``. Other
    ``*_code`` columns hold other codes (account codes, ERP types, the reasons of
    int_calls_matched, which waiting.py turns into failure codes)."""
    name = token.lower().rsplit(".", 1)[-1]
    return name == "code" or name.endswith("finding_code")


def codes_in_sql(sql: str) -> set[str]:
    """The kebab-case literals that a code column takes or is compared with in ``sql``."""
    tokens = _tokens(sql)
    low = [t.lower() for t in tokens]
    found: set[str | None] = set()
    for i, token in enumerate(tokens[:-3]):
        if _literal(token) is not None and low[i + 1] == "as" and _is_code_column(tokens[i + 2]):
            found.add(_literal(token))  # 'x' as code
        if _is_code_column(token) and low[i + 1] in ("=", "<>", "!="):
            found.add(_literal(tokens[i + 2]))  # code = 'x'
        if _is_code_column(token) and low[i + 1 : i + 3] in (["in", "("], ["not", "in"]):
            start = low.index("(", i)
            found |= {_literal(t) for t in tokens[start : low.index(")", start)]}
        if low[i] == "case":
            found |= _case(tokens, low, i)
    return {code for code in found if code and KEBAB.fullmatch(code)}


def _case(tokens: list[str], low: list[str], start: int) -> set[str | None]:
    """A CASE's THEN and ELSE values when it ends ``as <code column>``; its WHEN values
    when it is a CASE on a code column."""
    depth, top, end = 0, [], start
    for end in range(start, len(low)):
        depth += {"case": 1, "end": -1}.get(low[end], 0)
        if depth == 1 and low[end] in ("when", "then", "else"):
            top.append(end)
        if depth == 0:
            break
    found: set[str | None] = set()
    if low[end + 1] == "as" and _is_code_column(tokens[end + 2]):
        found |= {
            _literal(tokens[k + 1])
            for k in range(start, end)
            if low[k] in ("then", "else") and low[k + 2] in ("when", "else", "end")
        }
    first_when = next((k for k in top if low[k] == "when"), end)
    if any(_is_code_column(t) for t in tokens[start + 1 : first_when]):
        found |= {_literal(tokens[k + 1]) for k in top if low[k] == "when"}
    return found


@cache
def sql_codes() -> dict[Path, frozenset[str]]:
    return {path: frozenset(codes_in_sql(path.read_text())) for path in MODELS.rglob("*.sql")}


def test_the_sql_scan_reads_codes_only():
    sql = """
        select 'wrong-link' as finding_kind, 'x-y' as code, 'customer-sync' as flow,
            case when a then 'case-code' when b then 'not-' || 'a-code' else other_code
            end as finding_code,
            case when c then 'in-sync' else 'to-psa' end as action,
            case finding_code when 'compared' then 'fix-text' end as fix  -- 'gone-code'
        from t
        where code in ('listed-code', 'no_account_code') and flow = 'customer-sync'
            and {{ var('x-y-z') }} is not null and final_finding_code = 'equal-code'
            and reason_code in ('unanswered', 'internal') and account_code = 'acme-01'
    """
    assert codes_in_sql(sql) == {"x-y", "case-code", "compared", "listed-code", "equal-code"}


# ---------------------------------------------------------------------------------------
# The Python scan

# (call, position, keyword) of the code arguments
CODE_ARGUMENTS = {
    "data_failure": (3, "code"),
    "Failure": (2, "code"),
    "looked_at": (2, "codes"),
    "Checked": (2, "codes"),
}
# Call sites whose code the source does not spell out, and why they are covered.
NOT_IN_THE_SOURCE = {
    ("crosswalk/errors.py", "data_failure"): "hands its caller's code on; callers are scanned",
    ("crosswalk/errors.py", "looked_at"): "hands its caller's codes on; callers are scanned",
    ("flows/customer_sync/flow.py", "link_findings"): "finding_code of the models",
    ("flows/agreement_sync/push.py", "_waiting_failure"): "waiting_code of the models",
    ("flows/agreement_sync/push.py", "field_findings"): "field_finding_code of the models",
    ("flows/service_sync/push.py", "_waiting_failure"): "waiting_code of the models",
    ("flows/service_sync/push.py", "findings"): "code of marts.service_sync_findings",
    ("flows/service_sync/to_psa.py", "failed"): "reason_code of marts.call_ticket_sync, and "
    "ticket-create-rejected (its CALL_CODES)",
    ("flows/sales_order_sync/push.py", "waiting"): "waiting_code of the models",
    ("flows/sales_order_sync/push.py", "line_findings"): "finding_code of the models",
}


class Dynamic(Exception):
    """A code the source does not spell out."""


@cache
def _module(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _module_path(name: str) -> Path | None:
    path = PROJECT_ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def _targets(target: ast.expr, name: str) -> list[int | None]:
    """Where ``name`` is in an assignment target: None (the whole value) or a position."""
    if isinstance(target, ast.Name) and target.id == name:
        return [None]
    if isinstance(target, ast.Tuple):
        return [i for i, e in enumerate(target.elts) if isinstance(e, ast.Name) and e.id == name]
    return []


def _bindings(scope: ast.AST, name: str, path: Path) -> list[tuple[ast.expr, int | None, Path]]:
    """What ``name`` is assigned in ``scope``: (value, position in it, module)."""
    if isinstance(scope, ast.Module):
        nodes = scope.body
    elif isinstance(scope, ast.comprehension):
        return [(scope.iter, pos, path) for pos in _targets(scope.target, name)]
    else:
        arguments = scope.args
        params = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        if any(a.arg == name for a in params):
            raise Dynamic(f"parameter {name}")
        nodes = list(ast.walk(scope))
    found = []
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                found += [(node.value, pos, path) for pos in _targets(target, name)]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            found += [(node.value, pos, path) for pos in _targets(node.target, name)]
        elif isinstance(node, ast.For | ast.comprehension):
            found += [(node.iter, pos, path) for pos in _targets(node.target, name)]
        elif isinstance(node, ast.ImportFrom) and isinstance(scope, ast.Module):
            source = _module_path(node.module or "")
            if source and any((a.asname or a.name) == name for a in node.names):
                imported = next(a.name for a in node.names if (a.asname or a.name) == name)
                found += _bindings(_module(source), imported, source)
    return found


def _values(node: ast.expr, scopes: list, path: Path, position=None, seen=frozenset()) -> set:
    """The literals (str) and f-string patterns (re.Pattern) ``node`` can be; for a
    container, those of its items; ``position``: item ``position`` of each tuple. ``seen``:
    the assignments followed to get here (one met again is a loop, not a code)."""

    def each(nodes, at=position):
        return set().union(*(_values(n, scopes, path, at, seen) for n in nodes))

    if isinstance(node, ast.Constant) and isinstance(node.value, str) and position is None:
        return {node.value}
    if isinstance(node, ast.JoinedStr) and position is None:
        parts = [
            re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9-]+" for v in node.values
        ]
        return {re.compile("".join(parts))}
    if isinstance(node, ast.Tuple) and position is not None:
        return each([node.elts[position]], None)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return each(node.elts)
    if isinstance(node, ast.Dict):  # a mapping's codes are in its values
        return each(node.values)
    if isinstance(node, ast.Subscript):  # an item of a container: any of them
        return each([node.value])
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return _values(node.elt, [*reversed(node.generators), *scopes], path, position, seen)
    if isinstance(node, ast.Call):
        called = ast.unparse(node.func)
        if called.startswith("codes."):
            return set()  # read from the registry itself
        if isinstance(node.func, ast.Attribute) and node.func.attr == "values":
            return each([node.func.value])
        if called in ("sorted", "tuple", "list", "set", "frozenset"):
            return each(node.args)
    if isinstance(node, ast.Name):
        for i, scope in enumerate(scopes):
            bound = _bindings(scope, node.id, path)
            if not bound:
                continue
            found = set()
            for value, pos, source in bound:
                if (pos is not None and position is not None) or value in seen:
                    raise Dynamic(ast.unparse(node))
                outer = scopes[i:] if source == path else [_module(source)]
                at = position if pos is None else pos
                found |= _values(value, outer, source, at, seen | {value})
            return found
    raise Dynamic(ast.unparse(node))


def _code_argument(call: ast.Call) -> ast.expr | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in CODE_ARGUMENTS:
        return None
    index, keyword = CODE_ARGUMENTS[name]
    given = [k.value for k in call.keywords if k.arg == keyword]
    if given:
        return given[0]
    return call.args[index] if len(call.args) > index else None


def _functions(tree: ast.Module):
    """Each node with the functions it is in, innermost first."""

    def walk(node, outer):
        for child in ast.iter_child_nodes(node):
            inner = outer
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                inner = [child, *outer]
            yield child, inner
            yield from walk(child, inner)

    yield from walk(tree, [])


@cache
def python_codes():
    """(literal, where), (pattern, where) and the places the scan cannot read."""
    literals, patterns, dynamic = set(), set(), set()
    for path in PYTHON:
        tree = _module(path)
        rel = path.relative_to(PROJECT_ROOT).as_posix()
        for statement in tree.body:  # CODES = (...), PUSH_CODES = (...)
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and (t.id == "CODES" or t.id.endswith("_CODES"))
                for t in statement.targets
            ):
                for node in ast.walk(statement.value):
                    if isinstance(node, ast.Constant) and isinstance(node.value, str):
                        literals.add((node.value, f"{rel}:{node.lineno}"))
        for node, functions in _functions(tree):
            argument = isinstance(node, ast.Call) and _code_argument(node)
            if not argument:
                continue
            where = f"{rel}:{node.lineno}"
            try:
                found = _values(argument, [*functions, tree], path)
            except Dynamic as exc:
                function = functions[0].name if functions else ""
                if (rel, function) not in NOT_IN_THE_SOURCE:
                    dynamic.add(f"{where}: {exc}")
                continue
            literals |= {(v, where) for v in found if isinstance(v, str)}
            patterns |= {(v, where) for v in found if isinstance(v, re.Pattern)}
    return literals, patterns, dynamic


def data_failure_systems():
    """(system, code, where) of every data_failure call that names both."""
    for path in PYTHON:
        for node in ast.walk(_module(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "data_failure":
                system, code = node.args[0], node.args[3] if len(node.args) > 3 else None
                if isinstance(system, ast.Constant) and isinstance(code, ast.Constant):
                    yield system.value, code.value, f"{path.name}:{node.lineno}"


def test_the_python_scan_follows_names_to_their_literals(tmp_path, monkeypatch):
    source = tmp_path / "sample.py"
    source.write_text(
        "WAITING = {'a': ('from-dict', 'operate'), 'b': ('from-dict-too', 'connect')}\n"
        "RUN_CODES = ('from-tuple',)\n"
        "def raise_them(run, row, noun):\n"
        "    label = 'not-a-code'\n"
        "    code, system = WAITING[row]\n"
        "    run.failures.add(data_failure(system, 'entity', 1, code, label, 'fix'))\n"
        "    run.failures.add(data_failure('operate', 'x', 1, f'{noun}-made', 'm', 'f'))\n"
        "    for code, system in WAITING.values():\n"
        "        run.failures.looked_at(system, 'x', [code])\n"
        "    run.failures.looked_at('operate', 'x', RUN_CODES)\n"
        "    run.failures.add(data_failure('operate', 'x', 1, row.code, 'm', 'f'))\n"
    )
    monkeypatch.setattr(f"{__name__}.PYTHON", [source])
    monkeypatch.setattr(f"{__name__}.PROJECT_ROOT", tmp_path)
    literals, patterns, dynamic = python_codes.__wrapped__()
    assert {code for code, _ in literals} == {"from-dict", "from-dict-too", "from-tuple"}
    assert [bool(p.fullmatch("site-made")) for p, _ in patterns] == [True]
    assert dynamic == {"sample.py:11: row.code"}


def test_waiting_calls_reasons_are_the_failure_codes_errors_list_shows():
    from flows.charge_import.waiting import WAITING

    sql = (MODELS / "intermediate" / "int_calls_matched.sql").read_text()
    decided = sql[sql.index("decided as (") : sql.index("final as (")]
    reasons = set(re.findall(r"(?:then|else) '([a-z_-]+)'", decided))
    not_waiting = {"charged", "unanswered", "internal", "zero-value", "matched"}
    assert not_waiting < reasons and not any("_" in reason for reason in reasons)
    assert reasons - not_waiting <= set(codes.CODES)
    assert {reason for reason, (code, _, _) in WAITING.items() if reason == code} == set(WAITING)
