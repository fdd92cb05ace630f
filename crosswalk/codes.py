"""Failure codes, declared once: ``dbt_project/seeds/failure_codes.csv``.

Each code says which flow raises it (``any``: every flow), the step that raises it, who
fixes it (an :class:`crosswalk.errors.Owner` value), the heading a failure report groups
it under and the general fix; each failure still carries the fix for its own record. dbt
loads the same file as ``seeds.failure_codes`` and tests every model column of codes
against it; :mod:`crosswalk.errors` refuses a failure with a code that is not in it. A
flow that raises a new code adds a row.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from crosswalk.config import PROJECT_ROOT

REGISTRY = PROJECT_ROOT / "dbt_project" / "seeds" / "failure_codes.csv"


@dataclass(frozen=True)
class Code:
    """One row of the registry."""

    code: str
    flow: str  # the flow that raises it, or "any"
    raised_by: str  # the step: run, validate, mapping, push, calls, waiting, ...
    owner: str
    title: str
    fix: str


def read(path: Path) -> dict[str, Code]:
    """The registry at ``path``, by code; a code declared twice is refused."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = [Code(**row) for row in csv.DictReader(file)]
    twice = sorted(code for code, n in Counter(row.code for row in rows).items() if n > 1)
    if twice:
        raise ValueError(f"{path.name} declares {', '.join(twice)} more than once")
    return {row.code: row for row in rows}


CODES = read(REGISTRY)


def check(code: str) -> str:
    """``code`` when it is declared; else a ValueError that names it."""
    if code not in CODES:
        raise ValueError(
            f"unknown failure code {code!r}: declare it in dbt_project/seeds/failure_codes.csv"
        )
    return code


def title(code: str) -> str | None:
    """The heading a report groups ``code`` under; None for a code no longer declared
    (a failure kept in ``sync.errors`` from before)."""
    entry = CODES.get(code)
    return entry.title if entry else None


# The steps whose failures come from writing to a system; the others come from reading.
WRITE_STEPS = frozenset({"push", "charges", "clients"})


def settled_by_reading(code: str) -> bool:
    """Whether reading the data again settles ``code`` (a plan run reads, writes nothing)."""
    entry = CODES.get(code)
    return entry is not None and entry.raised_by not in WRITE_STEPS


def raised_by(flow: str, step: str) -> tuple[str, ...]:
    """The codes ``step`` of ``flow`` raises, in registry order."""
    return tuple(c.code for c in CODES.values() if c.flow == flow and c.raised_by == step)
