"""The packages' layers, so that no import goes round in a circle.

``crosswalk`` is the shared core: ``schemas`` declare their entities with it, ``flows``
are built on both, and ``emulators`` stand in for the real systems. So ``crosswalk``
imports none of the other three (only the command line, which runs flows and serves the
emulated systems, loads them inside its commands), ``schemas`` import neither flows nor
emulators, and ``crosswalk.entities`` (records -> validated batches) knows nothing of the
warehouse that lands them.

Imports are read from the source (those inside a function run only when it is called;
those under ``if TYPE_CHECKING:`` count as module level), and the core modules are
imported in a fresh interpreter to see what they load.
"""

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
OUTER = ("schemas", "flows", "emulators")
CORE = (
    "crosswalk.pipeline",
    "crosswalk.entities",
    "crosswalk.warehouse",
    "crosswalk.errors",
    "crosswalk.sources",
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, absolute: a module, or a module's name
    where: str  # path:line
    lazy: bool  # inside a function

    @property
    def package(self) -> str:
        return self.target.split(".")[0]

    def of(self, module: str) -> bool:
        return self.target == module or self.target.startswith(module + ".")

    def __str__(self) -> str:
        return f"{self.where}: {self.target}" + (" (in a function)" if self.lazy else "")


def imports(package: str) -> list[Import]:
    """Every import statement in ``package``'s modules."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        where = path.relative_to(ROOT).as_posix()
        found += _imports(ast.parse(path.read_text(encoding="utf-8")), module, is_package, where)
    return found


def _imports(tree: ast.AST, module: str, is_package: bool, where: str) -> list[Import]:
    found = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the importing module's package up
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[: len(package) - child.level + 1]
                    base = ".".join([*package, base] if base else package)
                targets = [f"{base}.{alias.name}" for alias in child.names]
            else:
                visit(child, lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))
                continue
            found.extend(Import(module, t, f"{where}:{child.lineno}", lazy) for t in targets)

    visit(tree, False)
    return found


def _cli(module: str) -> bool:
    return module == "crosswalk.cli" or module.startswith("crosswalk.cli.")


def test_crosswalk_imports_neither_schemas_flows_nor_emulators():
    found = [str(i) for i in imports("crosswalk") if i.package in OUTER and not _cli(i.module)]
    assert found == []


def test_the_command_line_loads_flows_and_emulators_only_inside_its_commands():
    found = [
        str(i)
        for i in imports("crosswalk")
        if _cli(i.module) and i.package in OUTER and (i.package == "schemas" or not i.lazy)
    ]
    assert found == []


def test_entities_do_not_import_the_warehouse():
    found = [
        str(i)
        for i in imports("crosswalk")
        if i.module == "crosswalk.entities" and i.of("crosswalk.warehouse")
    ]
    assert found == []


def test_schemas_import_neither_flows_nor_emulators():
    found = [str(i) for i in imports("schemas") if i.package in ("flows", "emulators")]
    assert found == []


def test_the_scan_sees_lazy_and_relative_imports():
    source = "import schemas\nfrom . import warehouse\ndef f():\n    from ..flows import x\n"
    found = _imports(ast.parse(source), "crosswalk.entities", False, "x.py")
    assert [(i.target, i.lazy) for i in found] == [
        ("schemas", False),
        ("crosswalk.warehouse", False),
        ("flows.x", True),
    ]


def loaded(module: str) -> list[str]:
    """The modules of this project that importing ``module`` loads, in a fresh interpreter."""
    code = (
        f"import sys, {module}\n"
        "print(*sorted(m for m in sys.modules if m.split('.')[0] in "
        "('crosswalk', 'schemas', 'flows', 'emulators')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


@pytest.mark.parametrize("module", CORE)
def test_a_core_module_loads_none_of_the_outer_packages(module):
    assert [m for m in loaded(module) if m.split(".")[0] in OUTER] == []


def test_entities_load_no_warehouse():
    assert "crosswalk.warehouse" not in loaded("crosswalk.entities")
