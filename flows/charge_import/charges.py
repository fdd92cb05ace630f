"""Charges out: the matched calls (``marts.charge_lines``) onto Operate batch sheets.

One sheet per (location, product group, batch date): the run's batch date, its reference
date and text. The sheet is created with the first lines, or the open sheet for the same
key is appended to; each line carries its call's ``source_line_hash``, and
``sync.charged_lines`` records every hash Operate holds, so a call read again from an
overlapping export is never charged twice.

Idempotency (DESIGN.md section 5): every create or append is an intent in the push log
before the call and an outcome after it, the outcome written with the lines it charged in
one transaction. An intent without an outcome (the run stopped in between, or the answer
was lost) is settled before anything new is sent: the sheet is looked up by its key (or
its id) and every line on it is recorded as charged, so nothing is sent twice. Sheets
found for a key whose recorded lines do not add up to Operate's count are read the same
way. After pushing, each sheet's total in Operate is checked against the lines recorded.
Sheets are completed or approved only when the configuration says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk import money
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError, OutcomeUnknown
from crosswalk.operate import Operate
from crosswalk.pipeline import Run
from crosswalk.progress import Progress
from crosswalk.pushing import Pusher, Write

CREATE, APPEND = "create-sheet", "append-lines"
CODES = ("batch-line-rejected", "batch-sheet-total-mismatch", "batch-sheet-rejected")
LINE_FIELD = re.compile(r"^lines\[(\d+)\]")
IMPORT_TYPE = "crosswalk call-log import"
ATTEMPTS = 5
NEW_SHEET = 0  # in a plan: the sheet the first request would make
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SheetKey:
    """What finds a batch sheet again: its location, product group and batch date."""

    location_id: int
    product_group_id: int
    batch_date: date

    def text(self) -> str:
        return (
            f"batch-sheet location={self.location_id} product_group={self.product_group_id} "
            f"batch_date={self.batch_date}"
        )

    def payload(self) -> dict:
        return {
            "location_id": self.location_id,
            "product_group_id": self.product_group_id,
            "batch_date": self.batch_date.isoformat(),
        }

    @classmethod
    def of(cls, payload: dict) -> SheetKey:
        return cls(
            int(payload["location_id"]),
            int(payload["product_group_id"]),
            date.fromisoformat(payload["batch_date"]),
        )


@dataclass
class Pushed:
    """What the push did: sheets made or reused, lines sent and found, money charged."""

    sheets_created: int = 0
    sheets_used: set[int] = field(default_factory=set)
    lines_sent: int = 0
    lines_adopted: int = 0  # found on a sheet after an unknown outcome or a crash
    lines_rejected: int = 0
    amount: Decimal = Decimal(0)

    def __str__(self) -> str:
        return (
            f"{self.lines_sent} lines ({self.amount:.2f}) sent on {len(self.sheets_used)} "
            f"batch sheets ({self.sheets_created} new); {self.lines_adopted} found already "
            f"on a sheet; {self.lines_rejected} refused"
        )


class ChargePusher:
    """Pushes one run's charge lines to Operate; its writes go through ``pusher``."""

    def __init__(self, pusher: Pusher, operate: Operate, batch_date: date, reference_date: date):
        self.pusher = pusher
        self.run = pusher.run
        self.operate = operate
        self.con = pusher.con  # the push step's one warehouse connection
        self.batch_date = batch_date
        self.reference_date = reference_date
        self.settings = self.run.settings.flows.charge_import
        self.pushed = Pushed()
        self.rejected: set[str] = set()  # line hashes Operate refused this run

    # --- what Operate already holds ---------------------------------------------------

    def recover(self) -> None:
        """Settle every create or append whose outcome is not known (an earlier run
        stopped, or an answer was lost): record what Operate holds for its key."""
        self.pusher.recover({CREATE: self._found_sheets, APPEND: self._found_lines})

    def _found_sheets(self, key: dict) -> str | None:
        """The sheets Operate holds for a create's key, each one's lines recorded."""
        sheet_key = SheetKey.of(key)
        sheets = self._sheets(sheet_key)
        for sheet in sheets:
            self.reconcile(sheet, sheet_key)
        return ",".join(str(s["id"]) for s in sheets) or None

    def _found_lines(self, key: dict) -> int:
        """The sheet an append went to, its lines recorded."""
        sheet = self.operate.sheet(key["sheet_id"])
        self.reconcile(sheet, SheetKey.of(key))
        return sheet["id"]

    def _sheets(self, key: SheetKey) -> list[dict]:
        return self.operate.find_sheets(
            key.location_id, key.product_group_id, key.batch_date.isoformat()
        )

    def reconcile(self, sheet: dict, key: SheetKey) -> int:
        """Record every line on ``sheet`` as charged; returns how many were new here."""
        recorded = self._recorded_count(sheet["id"])
        if recorded == sheet.get("line_count", -1):
            return 0
        found = 0
        for page in self.operate.sheet_lines(sheet["id"]):
            lines = [line for line in page if line.get("source_line_hash")]
            found += self._record(
                key,
                sheet["id"],
                [line["source_line_hash"] for line in lines],
                [line.get("account_id") for line in lines],
                [money.decimal(line.get("amount", 0)) for line in lines],
            )
        self.pushed.lines_adopted += found
        return found

    def _recorded_count(self, sheet_id: int) -> int:
        return self.con.execute(
            "SELECT count(*) FROM sync.charged_lines WHERE batch_sheet_id = ?", [sheet_id]
        ).fetchall()[0][0]

    def _record(
        self, key: SheetKey, sheet_id: int, hashes, accounts, amounts, con=None, new=False
    ) -> int:
        """Record lines as charged on ``sheet_id`` (those already recorded stay as they are);
        ``new``: none of them can be recorded yet (the lines of a request just answered that
        nothing has read back), so they are inserted without looking: DuckDB's
        ``INSERT OR IGNORE`` looks at the whole table, 40 to 70 ms a request of 500 once it
        held one to two million lines, against 3 to 8 for an ``INSERT``."""
        if not hashes:
            return 0
        batch = pa.table(
            {
                "line_hash": pa.array(hashes, pa.string()),
                "account_id": pa.array(accounts, pa.int64()),
                "amount": pa.array(amounts, pa.decimal128(14, 2)),
            }
        )

        def write(connection) -> int:
            connection.register("charged_batch", batch)
            try:
                rows = connection.execute(
                    f"""
                    INSERT {"" if new else "OR IGNORE"} INTO sync.charged_lines
                    SELECT line_hash, ?, ?, ?, ?, account_id, amount, ?, ?
                    FROM charged_batch {"" if new else "RETURNING line_hash"}
                    """,
                    [key.location_id, key.product_group_id, sheet_id, key.batch_date,
                     self.run.id, datetime.now(UTC)],
                ).fetchall()  # fmt: skip
            finally:
                connection.unregister("charged_batch")
            return len(hashes) if new else len(rows)

        if con is not None:
            return write(con)
        with self.pusher.transaction() as connection:
            return write(connection)

    def _charged(self, hashes: list[str]) -> set[str]:
        return {
            h
            for (h,) in self.con.execute(
                "SELECT line_hash FROM sync.charged_lines WHERE line_hash IN (SELECT unnest(?))",
                [hashes],
            ).fetchall()
        }

    # --- pushing ------------------------------------------------------------------------

    def push(self, key: SheetKey, lines: pa.Table, devices: list[str]) -> None:
        """Every line of ``lines`` (one location and product group) onto the open sheet
        for ``key``, creating it when there is none. A plan reads Operate's sheets and
        lists the same requests without sending them."""
        sheets = self._sheets(key)
        if not self.pusher.plan:
            for sheet in sheets:
                self.reconcile(sheet, key)
        open_sheets = [s for s in sheets if not s["completed"]]
        sheet_id = min(s["id"] for s in open_sheets) if open_sheets else None
        known: set[int] | None = {s["id"] for s in sheets}  # for a create sent first
        pending = self._unsent(lines)
        size = self.settings.lines_per_request
        attempts, limit = 0, ATTEMPTS * (1 + len(pending) // size)
        while pending:
            attempts += 1
            if attempts > limit:
                raise RuntimeError(f"{key.text()}: lines still unsent after {limit} requests")
            chunk = pending[:size]
            if sheet_id is None:
                sheet_id, sent = self._create(key, chunk, devices, known)
            else:
                sheet_id, sent = self._append(key, sheet_id, chunk)
            known = None  # after a request, a create looks at the sheets again
            # Sent: the chunk is recorded. Otherwise what is on the sheet was recorded, or
            # lines were refused: look again at what is left.
            pending = pending[len(chunk) :] if sent else self._unsent_rows(pending)
        if sheet_id is None:
            return
        if not self.pusher.plan:
            self.pushed.sheets_used.add(sheet_id)
            self._check_total(key, sheet_id)
        self._finish_sheet(key, sheet_id)

    def _unsent(self, lines: pa.Table) -> list[dict]:
        rows = lines.to_pylist()
        charged = self._charged([r["line_hash"] for r in rows])
        return [r for r in rows if r["line_hash"] not in charged]

    def _unsent_rows(self, rows: list[dict]) -> list[dict]:
        charged = self._charged([r["line_hash"] for r in rows])
        return [r for r in rows if r["line_hash"] not in charged | self.rejected]

    def _write(self, action: str, target: str, key: SheetKey, chunk: list[dict], **more) -> Write:
        """The lines of ``chunk`` as one request: how many, and the money they charge."""
        return Write(
            "operate", action, target,
            f"location {key.location_id}, product group {key.product_group_id}, "
            f"batch date {key.batch_date}",
            {"lines": (None, len(chunk))},
            money=sum((row["amount"] for row in chunk), Decimal(0)),
            key={**key.payload(), **more},
            detail={"lines": [row["line_hash"] for row in chunk]},
        )  # fmt: skip

    def _create(
        self, key: SheetKey, chunk: list[dict], devices: list[str], known: set[int] | None
    ) -> tuple[int, bool]:
        """A new sheet for ``key`` with ``chunk``'s lines; ``known``: the sheets Operate
        held for the key before (None: read them now), so that a create whose answer was
        lost finds the sheet it made."""
        body = {
            **key.payload(),
            "reference_date": self.reference_date.isoformat(),
            "reference_text": f"{self.settings.reference_text} ({', '.join(devices)})"[:255],
            "import_type": IMPORT_TYPE,
            "lines": [_line(row) for row in chunk],
        }
        if known is None:
            known = set() if self.pusher.plan else {s["id"] for s in self._sheets(key)}
        read_back: list[int] = []  # sheets whose lines a lost answer had recorded

        def made() -> int | None:
            """A sheet for the key that was not there before the create: it made it."""
            new = [s for s in self._sheets(key) if s["id"] not in known]
            for sheet in new:
                self.reconcile(sheet, key)
                read_back.append(sheet["id"])
            return min((s["id"] for s in new), default=None)

        sheet = self.pusher.create(
            self._write(CREATE, key.text(), key, chunk), find=made,
            send=lambda: self.operate.create_sheet(body)["id"],
            refused=lambda exc: self._refused(key, chunk, exc),
            also=lambda con, sheet_id: self._record_chunk(
                key, sheet_id, chunk, con, new=not read_back
            ),
            look_first=False,
        )  # fmt: skip
        if sheet is None:
            return (NEW_SHEET, True) if self.pusher.plan else (None, False)
        self.pushed.sheets_created += 1
        self._count_sent(chunk)
        return sheet.key, True

    def _append(self, key: SheetKey, sheet_id: int, chunk: list[dict]) -> tuple[int | None, bool]:
        lines = [_line(row) for row in chunk]
        read_back: list[int] = []  # the sheet, when a lost answer had its lines recorded

        def lost() -> int:
            read_back.append(self._found_lines({**key.payload(), "sheet_id": sheet_id}))
            return read_back[-1]

        def send() -> dict:
            try:
                return self.operate.append_lines(sheet_id, lines)
            except DataError as exc:
                if exc.status == 409 and exc.code == "duplicate_line":
                    # Operate holds some of these lines already: read back what it holds.
                    raise OutcomeUnknown("operate", exc.message, request=exc.request) from exc
                raise

        def refused(exc: DataError) -> list[Failure]:
            # 409: completed by someone meanwhile; a new sheet takes the rest.
            return [] if exc.status == 409 else self._refused(key, chunk, exc)

        sent = self.pusher.update(
            self._write(APPEND, _sheet(sheet_id), key, chunk, sheet_id=sheet_id), send,
            refused=refused,
            also=lambda con: self._record_chunk(key, sheet_id, chunk, con, new=not read_back),
            lost=lost,
        )  # fmt: skip
        if sent.outcome == "failed" and sent.error.status == 409:
            return None, False
        if sent.outcome in ("done", "planned"):
            self._count_sent(chunk)
            return sheet_id, True
        return sheet_id, False

    def _record_chunk(
        self, key: SheetKey, sheet_id: int, chunk: list[dict], con, new: bool
    ) -> None:
        """The chunk's lines recorded as charged on ``sheet_id``: ``new`` when its request
        was answered and nothing read the sheet back meanwhile (its lines were unrecorded
        when the chunk was made, and only this step records lines)."""
        self._record(
            key,
            sheet_id,
            [row["line_hash"] for row in chunk],
            [row["account_id"] for row in chunk],
            [row["amount"] for row in chunk],
            con,
            new,
        )

    def _count_sent(self, chunk: list[dict]) -> None:
        self.pushed.lines_sent += len(chunk)
        self.pushed.amount += sum((row["amount"] for row in chunk), Decimal(0))

    def _refused(self, key: SheetKey, chunk: list[dict], exc: DataError) -> list[Failure]:
        """Operate refused the request: the lines it names fail (the rest go again); a
        request refused as a whole fails every line of it."""
        named: dict[int, list[str]] = {}
        for detail in exc.details:
            match = LINE_FIELD.match(str(detail.get("field", "")))
            if match:
                named.setdefault(int(match[1]), []).append(
                    f"{detail['field'].split('.', 1)[-1]}: {detail.get('message')}"
                )
        rows = [(chunk[i], "; ".join(m)) for i, m in named.items() if i < len(chunk)]
        failures = []
        if not rows:
            rows = [(row, exc.message) for row in chunk]
            failures.append(
                data_failure(
                    "operate", "batch_sheets", key.text(), "batch-sheet-rejected",
                    f"Operate refused the batch sheet for location {key.location_id}, product "
                    f"group {key.product_group_id}, batch date {key.batch_date}: {exc.message}",
                    "Correct what Operate names (the location, product group or the "
                    "configuration); the next run sends these charges again.",
                    label=f"batch sheet for location {key.location_id} on {key.batch_date}",
                )
            )  # fmt: skip
        for row, reason in rows:
            self.pushed.lines_rejected += 1
            self.rejected.add(row["line_hash"])
            failures.append(
                data_failure(
                    "calllogs", "calls", row["line_hash"], "batch-line-rejected",
                    f"Operate refused the charge line of the call {row['description']} "
                    f"(account {row['account_id']}): {reason}",
                    "Correct the account or product in Operate as the reason says; the next "
                    "run sends the line again.",
                    label=f"call {row['description']}",
                )
            )  # fmt: skip
        return failures

    def _check_total(self, key: SheetKey, sheet_id: int) -> None:
        sheet = self.operate.sheet(sheet_id)
        expected = self.con.execute(
            "SELECT coalesce(sum(amount), 0), count(*) FROM sync.charged_lines "
            "WHERE batch_sheet_id = ?",
            [sheet_id],
        ).fetchall()[0]
        total = money.decimal(sheet["total"]).quantize(CENT)
        if total != expected[0] or sheet["line_count"] != expected[1]:
            self.run.failures.add(
                data_failure(
                    "operate", "batch_sheets", sheet_id, "batch-sheet-total-mismatch",
                    f"Batch sheet {sheet_id} holds {sheet['line_count']} lines for {total}; "
                    f"crosswalk sent {expected[1]} lines for {expected[0]}",
                    "Compare the sheet's lines in Operate with the call logs: a line added, "
                    "changed or deleted by hand explains the difference. Correct the sheet "
                    "before approving it.",
                    label=f"batch sheet {sheet_id} (location {key.location_id}, "
                    f"{key.batch_date})",
                )
            )  # fmt: skip

    def _finish_sheet(self, key: SheetKey, sheet_id: int) -> None:
        """Complete (and approve) the sheet when the configuration says so."""
        if not self.settings.complete_sheets:
            return
        changes = {"completed": True}
        if self.settings.approve_sheets:
            changes["approved"] = True
        write = Write("operate", "complete-sheet", _sheet(sheet_id),
                      f"location {key.location_id}, batch date {key.batch_date}",
                      {name: (False, True) for name in changes})  # fmt: skip

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "operate", "batch_sheets", sheet_id, "batch-sheet-rejected",
                f"Operate refused to {' and '.join(changes)} batch sheet {sheet_id}: "
                f"{exc.message}",
                "Complete or approve the sheet in Operate by hand once the reason is fixed.",
                label=f"batch sheet {sheet_id} (location {key.location_id}, {key.batch_date})",
            )  # fmt: skip

        self.pusher.update(write, lambda: self.operate.update_sheet(sheet_id, changes),
                           refused=refused)  # fmt: skip


def _sheet(sheet_id: int) -> str:
    return "the new batch-sheet" if sheet_id == NEW_SHEET else f"batch-sheet {sheet_id}"


def _line(row: dict) -> dict:
    """A batch-sheet line; quantity and unit price are Decimals, sent as the exact JSON
    numbers they are (Operate computes the amount from them)."""
    return {
        "account_id": row["account_id"],
        "product_id": row["product_id"],
        "charge_date": row["charge_date"].isoformat(),
        "quantity": row["quantity"],
        "unit_price": row["unit_price"],
        "description": row["description"],
        "source_line_hash": row["line_hash"],
    }


def sheet_groups(con) -> list[tuple[int, int, list[str], int]]:
    """(location, product group, devices, lines) of every group of lines to push."""
    return con.execute(
        "SELECT location_id, product_group_id, list(DISTINCT source_device ORDER BY 1), "
        "count(*) "
        "FROM marts.charge_lines WHERE line_hash NOT IN "
        "(SELECT line_hash FROM sync.charged_lines) GROUP BY ALL ORDER BY ALL"
    ).fetchall()


def group_lines(con, location_id: int, product_group_id: int) -> pa.Table:
    return con.sql(
        "SELECT line_hash, account_id, product_id, charge_date, quantity, unit_price, "
        "amount, description FROM marts.charge_lines "
        f"WHERE location_id = {int(location_id)} "
        f"AND product_group_id = {int(product_group_id)} "
        "AND line_hash NOT IN (SELECT line_hash FROM sync.charged_lines) "
        "ORDER BY call_started_at, line_hash"
    ).to_arrow_table()


@task(cache_policy=NO_CACHE)
def recover_charged_lines(run: Run, operate: Operate) -> int:
    """A warehouse that knows no charged line (new, or lost and made again) first learns
    every line crosswalk put on Operate's batch sheets (its import type), so a call on a
    sheet of an earlier day is never charged again on today's; returns how many. Read in
    a plan run too: it writes nothing to Operate."""
    with run.warehouse.connect(read_only=True) as con:
        (known,) = con.execute("SELECT count(*) FROM sync.charged_lines").fetchone()
    if known:
        return 0
    sheets = [s for s in operate.records("batch-sheets") if s.get("import_type") == IMPORT_TYPE]
    if not sheets:
        return 0
    with Pusher.open(run) as pusher:
        charges = ChargePusher(pusher, operate, date.today(), date.today())
        found = sum(
            charges.reconcile(
                sheet,
                SheetKey(sheet["location_id"], sheet["product_group_id"],
                         date.fromisoformat(sheet["batch_date"])),
            )
            for sheet in sheets
        )  # fmt: skip
    run.rebuilt.append(
        f"{found} charged call lines read back from {len(sheets)} Operate batch sheets "
        "(sync.charged_lines was empty): none is charged again"
    )
    return found


@task(cache_policy=NO_CACHE)
def push_charges(run: Run, operate: Operate, batch_date: date, reference_date: date) -> Pushed:
    """Settle unknown outcomes, then push every group of lines to its batch sheet."""
    with Pusher.open(run) as pusher:
        charges = ChargePusher(pusher, operate, batch_date, reference_date)
        charges.recover()
        groups = sheet_groups(pusher.con)
        progress = Progress(
            "batch sheets: push", get_run_logger(), "lines", sum(g[3] for g in groups)
        )
        for location, group, devices, count in groups:
            key = SheetKey(location, group, batch_date)
            charges.push(key, group_lines(pusher.con, location, group), devices)
            progress.advance(count)
    run.failures.looked_at("operate", "batch_sheets", CODES)
    run.failures.looked_at("calllogs", "calls", ["batch-line-rejected"])
    progress.close(f"batch sheets: {charges.pushed}")
    return charges.pushed
