"""What the command line promises: every command (the hidden old names too) and option
README.md shows is there, and ``crosswalk --help`` loads typer and rich, not the
emulators, Prefect or dbt."""

import re
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from crosswalk.cli import app
from crosswalk.config import PROJECT_ROOT

runner = CliRunner()
COMMANDS = typer.main.get_command(app)

FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`([^`]+)`")
INVOCATION = re.compile(r"(?<![\w/.$-])crosswalk +([a-z][\w|-]*)(?: +([a-z][\w|-]*))?")
OPTION = re.compile(r"(?<![\w-])--[a-z][\w-]*")
OLD_NAME = re.compile(r"\(was `([a-z][\w-]*)`\)")
# Imported by ``--help`` only over the budget: what the commands import when they run.
HEAVY = {"emulators", "flows", "prefect", "dbt", "duckdb", "pyarrow", "pandas", "pandera",
         "numpy", "pydantic"}  # fmt: skip


def snippets(text: str) -> list[str]:
    """Code as the text shows it: each line of a fenced block (with its continuation
    lines), and each inline span (its line breaks as spaces)."""
    lines = []
    for block in FENCED.findall(text):
        lines += block.replace("\\\n", " ").splitlines()
    spans = [" ".join(span.split()) for span in INLINE.findall(FENCED.sub("", text))]
    return lines + spans


def documented(text: str) -> tuple[dict[tuple[str, ...], set[str]], set[str]]:
    """The commands shown (as name paths) with the options shown with each, and the
    options shown on their own (`--plan`)."""
    commands: dict[tuple[str, ...], set[str]] = {}
    alone = set()
    for snippet in snippets(text):
        found = list(INVOCATION.finditer(snippet))
        if not found and snippet.startswith("--"):
            alone.update(OPTION.findall(snippet))
        for i, match in enumerate(found):
            name, sub = match.groups()
            end = found[i + 1].start() if i + 1 < len(found) else len(snippet)
            options = set(OPTION.findall(snippet, match.end(), end))
            if is_group(COMMANDS.commands.get(name)):
                names = [*(sub or "").split("|"), *OLD_NAME.findall(snippet, match.end(), end)]
                paths = [(name, s) for s in names]
            else:  # a command; what follows is an argument (customer-sync|...)
                paths = [(name,)]
            for path in paths:
                commands.setdefault(path, set()).update(options)
    return commands, alone


def is_group(found) -> bool:
    """typer brings its own click: a group is what has sub-commands."""
    return hasattr(found, "commands")


DOCUMENTED, ALONE = documented((PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))


def command(path: tuple[str, ...]):
    found = COMMANDS
    for name in path:
        found = found.commands[name]
    return found


def options(found) -> set[str]:
    return {
        name
        for param in found.params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    }


def every_command(group=COMMANDS) -> list:
    found = []
    for sub in group.commands.values():
        found += every_command(sub) if is_group(sub) else [sub]
    return found


def test_the_readme_shows_every_command_and_the_old_names():
    assert {path[0] for path in DOCUMENTED} == set(COMMANDS.commands)
    assert {("links", "add"), ("links", "break"), ("exclude", "remove")} <= set(DOCUMENTED)
    assert {"--location", "--take", "--value", "--port-base"} <= set().union(*DOCUMENTED.values())


@pytest.mark.parametrize("path", sorted(DOCUMENTED), ids=" ".join)
def test_a_documented_command_is_there(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert not is_group(command(path)), f"crosswalk {' '.join(path)} is not a whole command"


@pytest.mark.parametrize(
    ("path", "option"),
    sorted((path, option) for path, shown in DOCUMENTED.items() for option in shown),
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value,
)
def test_a_documented_option_is_the_commands(path, option):
    assert option in options(command(path))


@pytest.mark.parametrize("option", sorted(ALONE))
def test_an_option_named_in_the_text_is_a_commands(option):
    assert any(option in options(found) for found in every_command())


def test_help_loads_neither_the_emulators_nor_prefect_nor_dbt():
    shown = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crosswalk.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "Usage: crosswalk" in shown.stdout and "emulators" in shown.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in shown.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {"typer", "crosswalk.cli.runs", "crosswalk.cli.emulators"} <= imported
    assert sorted(name for name in imported if name.split(".")[0] in HEAVY) == []


def test_the_readme_tells_analysts_the_duckdb_version_the_warehouse_needs():
    lock = (PROJECT_ROOT / "uv.lock").read_text(encoding="utf-8")
    (version,) = re.findall(r'\[\[package\]\]\nname = "duckdb"\nversion = "([^"]+)"', lock)
    major = version.split(".")[0]
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    analysts = readme[readme.index("**Opening it as an analyst.**") :][:700]
    assert f"DuckDB {major}.x's storage format" in analysts
    assert f"{version} in `uv.lock`" in analysts and f"a {major}.0 client" in analysts
