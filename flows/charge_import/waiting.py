"""What a person must fix for waiting calls to be charged, and the run's accounting.

Calls that match no account are not charged and not lost: they wait in the warehouse
(``marts.waiting_calls``) and each group becomes one failure in the run's report, under
Operate data, with the code, the location, the application, how many calls and how much
money wait on it, and the fix. Once fixed (the account code added), the next run charges
exactly those calls and the failure is announced resolved.

Accounting, for the calls a run read: every call is charged (by this run or before:
an overlap), skipped (with its reason) or waiting (with its reason), and every line that
could not be read is quarantined, so ``read = charged + skipped + waiting + quarantined``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk.errors import data_failure
from crosswalk.pipeline import Run
from crosswalk.warehouse import Warehouse, rows

# A waiting group's reason_code (marts.waiting_calls) -> the failure's code, system and
# entity. The reason is the failure code itself, spelt twice for tests/unit/test_codes.py's
# scan (import-map-missing is the calls step's: on the device the file names).
WAITING = {
    "account-code-unknown": ("account-code-unknown", "operate", "account_codes"),
    "account-code-unsupported": ("account-code-unsupported", "operate", "account_codes"),
    "account-code-blank": ("account-code-blank", "calllogs", "calls"),
    "import-map-product-missing": ("import-map-product-missing", "operate", "device_import_maps"),
}
CODES = sorted(WAITING)


def _money(value) -> str:
    return f"{Decimal(value or 0):.2f}"


def waiting_failure(row: dict):
    """One group of waiting calls as a failure a person can act on."""
    code, system, entity = WAITING[row["reason_code"]]
    where = row["location_name"] or f"location {row['location_id']}"
    app = row["application_name"] or row["source_device"]
    calls = f"{row['calls']} call{'s' if row['calls'] != 1 else ''} at {where}"
    money = f"{_money(row['amount'])} waiting"
    period = f"{row['first_call_date']} to {row['last_call_date']}"
    record = f"{row['location_id']}|{row['application_id']}|"
    account_code = row["account_code"]
    if code == "account-code-unknown":
        return data_failure(
            system, entity, record + account_code, code,
            f"{calls} ({money}, {period}) carry account code {account_code}, which no "
            f"account at {where} has for {app}",
            f"Add account code {account_code} for application {app} to the account it belongs "
            f"to at {where} (Operate: Member > Accounts > the account > Account Codes > New). "
            "The next run charges these calls.",
            label=f'account code "{account_code}" ({app}) at {where}',
        )  # fmt: skip
    if code == "account-code-unsupported":
        suggestion = "".join(ch for ch in account_code if ch.isalnum())
        return data_failure(
            system, entity, record + account_code, code,
            f"{calls} ({money}, {period}) carry account code {account_code}, which Operate "
            "refuses: account codes are letters and digits only, so no account can have it",
            f"Change the code in the call logger to letters and digits only (for example "
            f"{suggestion}) and add that code to the account in Operate for {app}. Calls "
            "already logged with the old code stay waiting: correct the code in their file "
            "and drop it in the inbox folder.",
            label=f'account code "{account_code}" ({app}) at {where}',
        )  # fmt: skip
    if code == "account-code-blank":
        return data_failure(
            system, entity, record + "no code", code,
            f"{calls} ({money}, {period}) carry no account code; by extension (calls): "
            f"{row['extensions']}",
            "Give these extensions an account code in the call logger, or name an account "
            f"code on the device import map of {row['source_device']} in Operate.",
            label=f"calls without an account code at {where} ({app})",
        )  # fmt: skip
    return data_failure(
        system, entity, row["source_device"], code,
        f"{calls} ({money}, {period}) wait: the default product of device import map "
        f"{row['source_device']} is not in Operate",
        f"Set an existing product as the default product of {row['source_device']} in "
        "Operate (Charges > Device Import Maps).",
        label=f"device import map {row['source_device']}",
    )  # fmt: skip


def waiting_groups(warehouse: Warehouse) -> list[dict]:
    with warehouse.connect(read_only=True) as con:
        return rows(
            con,
            """
            SELECT w.*, l.location_name, a.application_name
            FROM marts.waiting_calls w
            LEFT JOIN staging.stg_operate__locations l USING (location_id)
            LEFT JOIN staging.stg_operate__applications a USING (application_id)
            WHERE w.reason_code IN (SELECT unnest(?))
            ORDER BY w.location_id, w.reason_code, w.account_code
            """,
            [CODES],
        )


@dataclass
class Accounting:
    """The calls one run read, and where each ended."""

    read: int = 0  # calls read (segments merged) plus lines that could not be read
    charged: int = 0  # put on a batch sheet by this run
    already_charged: int = 0  # on a sheet before: read again through an overlap
    skipped: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    charged_from_earlier: int = 0  # calls read before and charged now (their code exists)

    @property
    def balanced(self) -> bool:
        accounted = self.charged + self.already_charged + self.quarantined
        return self.read == accounted + sum(self.skipped.values()) + sum(self.waiting.values())

    def __str__(self) -> str:
        skipped = ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())) or "none"
        waiting = ", ".join(f"{n} {r}" for r, n in sorted(self.waiting.items())) or "none"
        return (
            f"read {self.read} = charged {self.charged} + already charged "
            f"{self.already_charged} + skipped {sum(self.skipped.values())} ({skipped}) + "
            f"waiting {sum(self.waiting.values())} ({waiting}) + quarantined "
            f"{self.quarantined}; also charged {self.charged_from_earlier} calls read before"
        )


def accounting(warehouse: Warehouse, run_id: str) -> Accounting:
    """Where the calls ``run_id`` read ended (run after its push)."""
    result = Accounting()
    with warehouse.connect(read_only=True) as con:
        # The calls as matched now (a view over what is charged), one row per line hash:
        # a third table of millions of hashes to join did not fit in DuckDB's memory.
        rows = con.execute(
            """
            SELECT decision, reason, charged_run_id = $run AS by_this_run, count(*)
            FROM intermediate.int_calls_matched
            WHERE line_hash IN (SELECT line_hash FROM sync.calls_read WHERE run_id = $run)
            GROUP BY ALL
            """,
            {"run": run_id},
        ).fetchall()
        (calls,) = con.execute(
            "SELECT count(DISTINCT line_hash) FROM sync.calls_read WHERE run_id = ?", [run_id]
        ).fetchall()[0]
        result.quarantined = con.execute(
            "SELECT count(*) FROM sync.quarantine WHERE run_id = ? AND system = 'calllogs'",
            [run_id],
        ).fetchall()[0][0]
        result.charged_from_earlier = con.execute(
            """
            SELECT count(*) FROM sync.charged_lines
            WHERE run_id = $run
              AND line_hash NOT IN (SELECT line_hash FROM sync.calls_read WHERE run_id = $run)
            """,
            {"run": run_id},
        ).fetchall()[0][0]
    result.read = calls + result.quarantined
    for decision, reason, by_this_run, count in rows:
        if by_this_run is not None:  # on a sheet, whatever the models said before the push
            if by_this_run:
                result.charged += count
            else:
                result.already_charged += count
        elif decision == "skipped":
            result.skipped[reason] += count
        else:  # waiting, or matched but not sent (its line refused)
            result.waiting[reason if decision == "waiting" else "not sent: " + reason] += count
    return result


@task(cache_policy=NO_CACHE)
def report_waiting_calls(run: Run) -> Accounting:
    """A failure per group of waiting calls; the run's accounting in the log."""
    for row in waiting_groups(run.warehouse):
        run.failures.add(waiting_failure(row))
    for code, system, entity in WAITING.values():
        run.failures.looked_at(system, entity, [code])
    result = accounting(run.warehouse, run.id)
    get_run_logger().info("calls: %s", result)
    return result
