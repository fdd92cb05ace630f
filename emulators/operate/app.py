"""essensys Operate's REST API as specs/operate-connect.md shapes it, over the world's
``operate`` tables.

What the emulator holds people and integrations to, as Operate's help pages describe:
- an account code is letters and digits only (anything else is 422) and unique per
  (location, application);
- a batch sheet belongs to one location and one product group, which cannot change
  after creation; each line is charged to an account of that location with a product of
  that group; a line whose ``source_line_hash`` is already on the sheet is refused (409,
  and nothing of that request is added);
- approving (or un-approving) needs the approver key (403 otherwise); a completed sheet is
  locked (409 on any change) until it is un-completed, which also needs an approver; a
  sheet is approved only once completed;
- a line's quantity and unit price are JSON numbers, read exactly as written (kept to 3
  and 4 places); its amount is quantity times unit price in decimal arithmetic, rounded
  half up to the cent (a half cent away from zero: 0.285 is 0.29), and a sheet's total
  is the sum of its lines' amounts. Money is answered as the decimals stored.

Beyond the spec, for integrations that must look their writes up again (DESIGN.md
section 5): ``GET /api/v1/account-codes`` lists every code (the spec has them per
account), ``GET /api/v1/batch-sheets/{id}/lines`` pages a sheet's lines (filter
``source_line_hash``), ``POST /api/v1/accounts`` creates an account, and a sheet carries
its ``total`` and ``line_count``. At most 500 lines per request.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pyarrow as pa

from emulators import rest
from emulators.framework import ApiError, Request, Response, json_response

API = ["api", "v1"]
KEYS = {"demo-operate": "user", "demo-operate-approver": "approver"}
CODE = re.compile(r"^[A-Za-z0-9]+$")
MAX_LINES = 500
ACCOUNT_FIELDS = ("name", "type", "status", "connect_client_id", "send_to_connect_requested")

LOCATIONS = rest.Collection(
    "location",
    f"SELECT id, name, connect_site_id, connect_call_logger, {rest.iso('updated_at')} "
    "AS updated_at FROM operate.locations",
)
ACCOUNTS = rest.Collection(
    "account",
    "SELECT id, name, location_id, type, status, connect_client_id, send_to_connect_requested, "
    f"{rest.iso('created_at')} AS created_at, {rest.iso('updated_at')} AS updated_at "
    "FROM operate.accounts",
    filters={"location_id": ("location_id", "BIGINT")},
)
APPLICATIONS = rest.Collection(
    "application",
    f"SELECT id, name, {rest.iso('updated_at')} AS updated_at FROM operate.applications",
)
ACCOUNT_CODES = rest.Collection(
    "account code",
    "SELECT c.id, c.account_id, c.application_id, c.code, a.location_id, "
    f"{rest.iso('c.updated_at')} AS updated_at "
    "FROM operate.account_codes c JOIN operate.accounts a ON a.id = c.account_id",
    filters={
        "account_id": ("account_id", "BIGINT"),
        "application_id": ("application_id", "BIGINT"),
        "location_id": ("location_id", "BIGINT"),
        "code": ("code", "VARCHAR"),
    },
)
PRODUCT_GROUPS = rest.Collection(
    "product group",
    f"SELECT id, name, {rest.iso('updated_at')} AS updated_at FROM operate.product_groups",
)
PRODUCTS = rest.Collection(
    "product",
    "SELECT id, name, product_group_id, unit_price, "
    f"{rest.iso('updated_at')} AS updated_at FROM operate.products",
)
DEVICE_IMPORT_MAPS = rest.Collection(
    "device import map",
    "SELECT id, device_name, application_id, file_type, extension, header_rows, footer_rows, "
    "ignore_zero_values, account_code, default_product_id, "
    f"{rest.iso('updated_at')} AS updated_at FROM operate.device_import_maps",
)
BATCH_SHEETS = rest.Collection(
    "batch sheet",
    "SELECT id, location_id, product_group_id, strftime(batch_date, '%Y-%m-%d') AS batch_date, "
    "strftime(reference_date, '%Y-%m-%d') AS reference_date, reference_text, import_type, "
    "total, line_count, completed, approved, "
    f"{rest.iso('created_at')} AS created_at, {rest.iso('updated_at')} AS updated_at "
    "FROM operate.batch_sheets",
    filters={
        "location_id": ("location_id", "BIGINT"),
        "product_group_id": ("product_group_id", "BIGINT"),
        "batch_date": ("batch_date", "DATE"),
        "completed": ("completed", "BOOLEAN"),
    },
)
LINES = rest.Collection(
    "batch sheet line",
    "SELECT id, batch_sheet_id, account_id, product_id, strftime(charge_date, '%Y-%m-%d') "
    "AS charge_date, quantity, unit_price, amount, "
    "description, source_line_hash FROM operate.batch_sheet_lines",
    filters={"source_line_hash": ("source_line_hash", "VARCHAR")},
    updated=None,
)
LISTS = {
    "locations": LOCATIONS,
    "accounts": ACCOUNTS,
    "applications": APPLICATIONS,
    "account-codes": ACCOUNT_CODES,
    "product-groups": PRODUCT_GROUPS,
    "products": PRODUCTS,
    "device-import-maps": DEVICE_IMPORT_MAPS,
    "batch-sheets": BATCH_SHEETS,
}


class Operate(rest.System):
    """The emulated workspace billing system; one instance serves one ``Store``."""

    name = "operate"
    default_keys = KEYS

    def handle(self, request: Request) -> Response:
        segments = request.segments
        if segments[:2] != API:
            raise rest.error(404, "not_found", f"no API at {request.path}")
        role = rest.authenticate(request, self.keys)
        path, method = segments[2:], request.method
        if len(path) == 1 and path[0] in LISTS:
            if method == "GET":
                return LISTS[path[0]].list(self.store, request)
            if path == ["accounts"] and method == "POST":
                return self.create_account(request)
            if path == ["batch-sheets"] and method == "POST":
                return self.create_sheet(request)
        elif len(path) == 2 and path[0] in LISTS:
            collection = LISTS[path[0]]
            record = rest.record_id(path[1], collection.what)
            if method == "GET":
                return collection.record(self.store, record)
            if path[0] == "accounts" and method == "PATCH":
                return self.update_account(request, record)
            if path[0] == "account-codes" and method == "PATCH":
                return self.update_code(request, record)
            if path[0] == "account-codes" and method == "DELETE":
                return self.delete_code(record)
            if path[0] == "batch-sheets" and method == "PATCH":
                return self.update_sheet(request, record, role)
        elif len(path) == 3 and path[0] == "accounts" and path[2] == "account-codes":
            account = rest.record_id(path[1], "account")
            ACCOUNTS.document(self.store, account)
            if method == "GET":
                return ACCOUNT_CODES.list(self.store, request, ["account_id = ?"], [account])
            if method == "POST":
                return self.create_code(request, account)
        elif len(path) == 3 and path[0] == "batch-sheets" and path[2] == "lines":
            sheet = rest.record_id(path[1], "batch sheet")
            BATCH_SHEETS.document(self.store, sheet)
            if method == "GET":
                return LINES.list(self.store, request, ["batch_sheet_id = ?"], [sheet])
            if method == "POST":
                return self.append_lines(request, sheet)
        else:
            raise rest.error(404, "not_found", f"no resource at {request.path}")
        raise rest.error(405, "method_not_allowed", f"{method} is not allowed on {request.path}")

    # --- accounts ---------------------------------------------------------------------

    def create_account(self, request: Request) -> Response:
        body = rest.body_object(request)
        problems = {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            problems["name"] = "required, 1 to 100 characters"
        if not isinstance(body.get("type"), str) or not body["type"].strip():
            problems["type"] = "required: Residential, Virtual or a custom type name"
        requested = body.get("send_to_connect_requested", False)
        if not isinstance(requested, bool):
            problems["send_to_connect_requested"] = "must be true or false"
        with self.store.write() as cur:
            location = body.get("location_id")
            if (
                not isinstance(location, int)
                or not cur.execute(
                    "SELECT 1 FROM operate.locations WHERE id = ?", [location]
                ).fetchone()
            ):
                problems["location_id"] = f"location {location!r} does not exist"
            if problems:
                raise rest.invalid(problems)
            new_id = rest.next_id(cur, "operate.accounts")
            moment = rest.now()
            cur.execute(
                "INSERT INTO operate.accounts VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                [new_id, name.strip(), location, body["type"], body.get("status") or "Active",
                 requested, moment, moment],
            )  # fmt: skip
            doc = ACCOUNTS.document(self.store, new_id, cur)
        return json_response(doc, 201)

    def update_account(self, request: Request, account: int) -> Response:
        body = rest.body_object(request)
        unknown = sorted(set(body) - set(ACCOUNT_FIELDS))
        problems = {name: "cannot be changed through this API" for name in unknown}
        if "connect_client_id" in body and not (
            body["connect_client_id"] is None or isinstance(body["connect_client_id"], str | int)
        ):
            problems["connect_client_id"] = "must be a client id or null"
        if "send_to_connect_requested" in body and not isinstance(
            body["send_to_connect_requested"], bool
        ):
            problems["send_to_connect_requested"] = "must be true or false"
        for name in ("name", "type", "status"):
            if name in body and (not isinstance(body[name], str) or not body[name].strip()):
                problems[name] = "must be a non-empty text"
        if problems:
            raise rest.invalid(problems)
        with self.store.write() as cur:
            ACCOUNTS.document(self.store, account, cur)
            changes = dict(body)
            if changes.get("connect_client_id") is not None:
                changes["connect_client_id"] = str(changes["connect_client_id"])
            if changes:
                assignments = ", ".join(f"{name} = ?" for name in changes)
                cur.execute(
                    f"UPDATE operate.accounts SET {assignments}, updated_at = ? WHERE id = ?",
                    [*changes.values(), rest.now(), account],
                )
            doc = ACCOUNTS.document(self.store, account, cur)
        return json_response(doc)

    # --- account codes ----------------------------------------------------------------

    def _check_code(self, cur, account: int, application: Any, code: Any, code_id: int | None):
        problems = {}
        if not isinstance(code, str) or not code:
            problems["code"] = "required"
        elif not CODE.match(code):
            problems["code"] = (
                f"{code!r} has characters Operate does not support: use letters and digits only"
            )
        elif len(code) > 20:
            problems["code"] = "at most 20 characters"
        if (
            not isinstance(application, int)
            or not cur.execute(
                "SELECT 1 FROM operate.applications WHERE id = ?", [application]
            ).fetchone()
        ):
            problems["application_id"] = f"application {application!r} does not exist"
        if problems:
            raise rest.invalid(problems)
        clash = cur.execute(
            "SELECT c.account_id FROM operate.account_codes c "
            "JOIN operate.accounts a ON a.id = c.account_id "
            "WHERE a.location_id = (SELECT location_id FROM operate.accounts WHERE id = ?) "
            "AND c.application_id = ? AND upper(c.code) = upper(?) AND c.id IS DISTINCT FROM ?",
            [account, application, code, code_id],
        ).fetchone()
        if clash:
            raise rest.invalid(
                {"code": f"{code!r} is already account {clash[0]}'s code for this application "
                 "at this location"}
            )  # fmt: skip

    def create_code(self, request: Request, account: int) -> Response:
        body = rest.body_object(request)
        with self.store.write() as cur:
            self._check_code(cur, account, body.get("application_id"), body.get("code"), None)
            new_id = rest.next_id(cur, "operate.account_codes")
            cur.execute(
                "INSERT INTO operate.account_codes VALUES (?, ?, ?, ?, ?)",
                [new_id, account, body["application_id"], body["code"], rest.now()],
            )
            doc = ACCOUNT_CODES.document(self.store, new_id, cur)
        return json_response(doc, 201)

    def update_code(self, request: Request, code_id: int) -> Response:
        body = rest.body_object(request)
        with self.store.write() as cur:
            current = ACCOUNT_CODES.document(self.store, code_id, cur)
            unknown = sorted(set(body) - {"code", "application_id"})
            if unknown:
                raise rest.invalid({name: "cannot be changed" for name in unknown})
            merged = {**current, **body}
            self._check_code(
                cur, current["account_id"], merged["application_id"], merged["code"], code_id
            )
            cur.execute(
                "UPDATE operate.account_codes SET code = ?, application_id = ?, updated_at = ? "
                "WHERE id = ?",
                [merged["code"], merged["application_id"], rest.now(), code_id],
            )
            doc = ACCOUNT_CODES.document(self.store, code_id, cur)
        return json_response(doc)

    def delete_code(self, code_id: int) -> Response:
        with self.store.write() as cur:
            ACCOUNT_CODES.document(self.store, code_id, cur)
            cur.execute("DELETE FROM operate.account_codes WHERE id = ?", [code_id])
        return Response(204)

    # --- batch sheets -----------------------------------------------------------------

    def create_sheet(self, request: Request) -> Response:
        body = rest.body_object(request, decimals=True)
        problems = {}
        batch_date = reference_date = None
        try:
            batch_date = rest.parse_date(body.get("batch_date"), "batch_date")
        except ApiError as exc:
            problems.update(exc.body["error"]["fields"])
        if body.get("reference_date") is not None:
            try:
                reference_date = rest.parse_date(body["reference_date"], "reference_date")
            except ApiError as exc:
                problems.update(exc.body["error"]["fields"])
        for name in ("reference_text", "import_type"):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                problems[name] = "text of at most 255 characters"
        lines = body.get("lines", [])
        with self.store.write() as cur:
            location, group = body.get("location_id"), body.get("product_group_id")
            if (
                not isinstance(location, int)
                or not cur.execute(
                    "SELECT 1 FROM operate.locations WHERE id = ?", [location]
                ).fetchone()
            ):
                problems["location_id"] = f"location {location!r} does not exist"
            if (
                not isinstance(group, int)
                or not cur.execute(
                    "SELECT 1 FROM operate.product_groups WHERE id = ?", [group]
                ).fetchone()
            ):
                problems["product_group_id"] = f"product group {group!r} does not exist"
            checked = self._check_lines(cur, lines, location, group, problems)
            if problems:
                raise rest.invalid(problems)
            sheet = rest.next_id(cur, "operate.batch_sheets")
            moment = rest.now()
            cur.execute(
                "INSERT INTO operate.batch_sheets "
                "VALUES (?, ?, ?, ?, ?, ?, ?, false, false, ?, ?, 0, 0)",
                [sheet, location, group, batch_date, reference_date, body.get("reference_text"),
                 body.get("import_type"), moment, moment],
            )  # fmt: skip
            self._insert_lines(cur, sheet, checked, moment)
            doc = BATCH_SHEETS.document(self.store, sheet, cur)
        return json_response(doc, 201)

    def append_lines(self, request: Request, sheet_id: int) -> Response:
        body = rest.body_object(request, decimals=True)
        with self.store.write() as cur:
            sheet = BATCH_SHEETS.document(self.store, sheet_id, cur)
            if sheet["completed"]:
                raise rest.error(
                    409, "sheet_locked",
                    f"batch sheet {sheet_id} is completed and locked; an approver must "
                    "un-complete it before lines can be added",
                )  # fmt: skip
            problems: dict[str, str] = {}
            lines = body.get("lines")
            if not isinstance(lines, list) or not lines:
                raise rest.invalid({"lines": "a non-empty list of lines is required"})
            checked = self._check_lines(
                cur, lines, sheet["location_id"], sheet["product_group_id"], problems
            )
            if problems:
                raise rest.invalid(problems)
            hashes = [line["source_line_hash"] for line in checked if line["source_line_hash"]]
            on_sheet = dict(
                cur.execute(
                    "SELECT source_line_hash, id FROM operate.batch_sheet_lines "
                    "WHERE batch_sheet_id = ? AND source_line_hash IN (SELECT unnest(?))",
                    [sheet_id, hashes],
                ).fetchall()
            )
            if on_sheet:
                duplicates = {
                    f"lines[{i}].source_line_hash": f"already on batch sheet {sheet_id} "
                    f"as line {on_sheet[line['source_line_hash']]}"
                    for i, line in enumerate(checked)
                    if line["source_line_hash"] in on_sheet
                }
                raise rest.error(
                    409, "duplicate_line",
                    f"{len(duplicates)} line(s) are already on batch sheet {sheet_id}; "
                    "nothing was added",
                    duplicates,
                )  # fmt: skip
            moment = rest.now()
            self._insert_lines(cur, sheet_id, checked, moment)
            cur.execute(
                "UPDATE operate.batch_sheets SET updated_at = ? WHERE id = ?", [moment, sheet_id]
            )
            doc = BATCH_SHEETS.document(self.store, sheet_id, cur)
        doc["lines_added"] = len(checked)
        return json_response(doc, 201)

    def _check_lines(self, cur, lines: Any, location: Any, group: Any, problems: dict) -> list:
        """The lines as rows to insert; what is wrong with any of them goes to ``problems``."""
        if not isinstance(lines, list):
            problems["lines"] = "must be a list"
            return []
        if len(lines) > MAX_LINES:
            problems["lines"] = f"at most {MAX_LINES} lines per request, got {len(lines)}"
            return []
        accounts = {
            row[0]
            for row in cur.execute(
                "SELECT id FROM operate.accounts WHERE location_id = ?", [location]
            ).fetchall()
        }
        products = {
            row[0]
            for row in cur.execute(
                "SELECT id FROM operate.products WHERE product_group_id = ?", [group]
            ).fetchall()
        }
        checked, seen = [], {}
        for i, line in enumerate(lines):
            where = f"lines[{i}]"
            if not isinstance(line, dict):
                problems[where] = "must be an object"
                continue
            if line.get("account_id") not in accounts:
                problems[f"{where}.account_id"] = (
                    f"account {line.get('account_id')!r} is not an account of location {location}"
                )
            if line.get("product_id") not in products:
                problems[f"{where}.product_id"] = (
                    f"product {line.get('product_id')!r} is not in product group {group}"
                )
            try:
                charge_date = rest.parse_date(line.get("charge_date"), f"{where}.charge_date")
            except ApiError as exc:
                problems.update(exc.body["error"]["fields"])
                charge_date = None
            numbers = {}
            for name in ("quantity", "unit_price"):
                value = line.get(name)
                if isinstance(value, bool) or not isinstance(value, int | Decimal):
                    problems[f"{where}.{name}"] = "must be a number"
                elif name == "quantity" and value < 0:
                    problems[f"{where}.{name}"] = "must not be negative"
                numbers[name] = value
            description = line.get("description")
            if description is not None and (
                not isinstance(description, str) or len(description) > 255
            ):
                problems[f"{where}.description"] = "text of at most 255 characters"
            digest = line.get("source_line_hash")
            if digest is not None and (not isinstance(digest, str) or not 0 < len(digest) <= 64):
                problems[f"{where}.source_line_hash"] = "text of 1 to 64 characters"
            elif digest is not None and digest in seen:
                problems[f"{where}.source_line_hash"] = f"repeats lines[{seen[digest]}]"
            elif digest is not None:
                seen[digest] = i
            checked.append(
                {
                    "account_id": line.get("account_id"),
                    "product_id": line.get("product_id"),
                    "charge_date": charge_date,
                    "quantity": numbers.get("quantity"),
                    "unit_price": numbers.get("unit_price"),
                    "description": description,
                    "source_line_hash": digest,
                }
            )
        return checked

    @staticmethod
    def _insert_lines(cur, sheet: int, lines: list[dict], moment) -> None:
        """Insert the lines as one Arrow batch and keep the sheet's total and count."""
        if not lines:
            return
        first = rest.next_id(cur, "operate.batch_sheet_lines")
        batch = pa.table(
            {
                "id": pa.array(range(first, first + len(lines)), pa.int64()),
                "account_id": pa.array([ln["account_id"] for ln in lines], pa.int64()),
                "product_id": pa.array([ln["product_id"] for ln in lines], pa.int64()),
                "charge_date": pa.array([ln["charge_date"] for ln in lines], pa.date32()),
                # As written: DuckDB casts the text to the columns' decimals below.
                "quantity": pa.array([str(ln["quantity"]) for ln in lines], pa.string()),
                "unit_price": pa.array([str(ln["unit_price"]) for ln in lines], pa.string()),
                "description": pa.array([ln["description"] for ln in lines], pa.string()),
                "source_line_hash": pa.array([ln["source_line_hash"] for ln in lines], pa.string()),
            }
        )
        cur.register("new_lines", batch)
        try:
            cur.execute(
                """
                INSERT INTO operate.batch_sheet_lines
                SELECT id, $sheet, account_id, product_id, charge_date,
                       CAST(quantity AS DECIMAL(14, 3)), CAST(unit_price AS DECIMAL(12, 4)),
                       round(CAST(quantity AS DECIMAL(14, 3))
                             * CAST(unit_price AS DECIMAL(12, 4)), 2),
                       description, source_line_hash, $moment
                FROM new_lines
                """,
                {"sheet": sheet, "moment": moment},
            )
        finally:
            cur.unregister("new_lines")
        cur.execute(
            """
            UPDATE operate.batch_sheets SET
                total = total + (SELECT coalesce(sum(amount), 0) FROM operate.batch_sheet_lines
                                 WHERE batch_sheet_id = $sheet AND id >= $first),
                line_count = line_count + $count
            WHERE id = $sheet
            """,
            {"sheet": sheet, "first": first, "count": len(lines)},
        )

    def update_sheet(self, request: Request, sheet_id: int, role: str) -> Response:
        body = rest.body_object(request)
        allowed = {"completed", "approved", "reference_date", "reference_text"}
        problems = {}
        for name in ("location_id", "product_group_id"):
            if name in body:
                problems[name] = "cannot change after the batch sheet is created"
        for name in sorted(set(body) - allowed - {"location_id", "product_group_id"}):
            problems[name] = "cannot be changed"
        for name in ("completed", "approved"):
            if name in body and not isinstance(body[name], bool):
                problems[name] = "must be true or false"
        if problems:
            raise rest.invalid(problems)
        with self.store.write() as cur:
            sheet = BATCH_SHEETS.document(self.store, sheet_id, cur)
            completed = body.get("completed", sheet["completed"])
            approved = body.get("approved", sheet["approved"] and completed)
            uncompleting = sheet["completed"] and not completed
            if (approved != sheet["approved"] or uncompleting) and role != "approver":
                raise rest.error(
                    403, "forbidden",
                    "approving, un-approving or un-completing a batch sheet needs an "
                    "approver's key",
                )  # fmt: skip
            others = {k: v for k, v in body.items() if k not in ("completed", "approved")}
            if sheet["completed"] and completed and others:
                raise rest.error(
                    409, "sheet_locked",
                    f"batch sheet {sheet_id} is completed and locked; un-complete it first",
                )  # fmt: skip
            if approved and not completed:
                raise rest.invalid({"approved": "complete the batch sheet before approving it"})
            reference_date = sheet["reference_date"]
            if others.get("reference_date") is not None:
                reference_date = rest.parse_date(others["reference_date"], "reference_date")
            cur.execute(
                "UPDATE operate.batch_sheets SET completed = ?, approved = ?, "
                "reference_text = ?, reference_date = ?, updated_at = ? WHERE id = ?",
                [completed, approved, others.get("reference_text", sheet["reference_text"]),
                 reference_date, rest.now(), sheet_id],
            )  # fmt: skip
            doc = BATCH_SHEETS.document(self.store, sheet_id, cur)
        return json_response(doc)
