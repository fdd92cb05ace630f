"""customer-sync pushes: the ERP is master for customers (DESIGN.md section 5, seed 004).

- Fields (``marts.customer_field_sync``): a linked pair's changed fields go to the PSA
  company or site in one PATCH of only those fields; a field both sides changed since
  they last agreed waits in ``sync.conflicts`` until an operator picks a value, which
  then goes to whichever side lacks it. Each field's agreed value is stamped in
  ``sync.field_base`` so that only a later change counts.
- Links (``marts.customer_link_writes``): the company id goes into the customer's
  ``ZCJ_CW_CompanyID``, the site id into the location's ``ZCJ_CW_SiteAddressRecID``.
- Partners (``flows.customer_sync.create_companies``, off by default): an active ERP
  customer with no company becomes one (identifier = customer number), each location a
  site. A company is looked up by its identifier, a site by its name, before it is
  created and after an answer that was lost: a re-run adopts, never duplicates.

Every write is in the push log before it is sent (what, why, the request) and after (the
outcome). A plan run sends nothing and lists, per record, what it would send: field,
before and after.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk.connectwise import ConnectWise, literal
from crosswalk.eautomate import EAutomate
from crosswalk.entities import Entity, validate
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError, OutcomeUnknown
from crosswalk.pipeline import Run
from crosswalk.pushlog import PushLog
from crosswalk.warehouse import rows
from schemas import connectwise

COMPANIES = "company/companies"
# ERP customer fields by the sync's field names; the two address lines are one Address.
ERP_FIELDS = {"name": "CustomerName", "city": "City", "state": "State", "zip": "Zip",
              "phone": "Phone1", "fax": "Fax", "website": "WebSite"}  # fmt: skip
PROPERTY = {"customer": "ZCJ_CW_CompanyID", "location": "ZCJ_CW_SiteAddressRecID"}
CODES = (
    "field-conflict",
    "field-truncated",
    "psa-update-rejected",
    "erp-update-rejected",
    "link-write-rejected",
    "company-create-rejected",
    "site-create-rejected",
)
COMPANY_CODES = ("customer-create-rejected",)


@dataclass(frozen=True)
class Planned:
    """One write a run makes (or, planning, would make): field -> (before, after)."""

    system: str
    action: str
    target: str
    record: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        changes = "; ".join(
            f"{k}: {_shown(a)} -> {_shown(b)}" for k, (a, b) in self.changes.items()
        )
        return f"{self.system} {self.action} {self.target} ({self.record}): {changes}"

    def payload(self) -> dict[str, Any]:
        return {"record": self.record, "changes": {k: list(v) for k, v in self.changes.items()}}


def _shown(value: Any) -> str:
    return "(empty)" if value in (None, "") else repr(value)


@dataclass
class Pushed:
    updated: int = 0
    conflicts: int = 0
    links: int = 0
    created: int = 0
    adopted: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in vars(self).items())


def scoped(
    sql: str,
    customer: str | None,
    parent: str = "parent_customer_number",
    number: str = "customer_number",
) -> tuple[str, list[str]]:
    """``sql`` limited to one customer and its locations, or one location
    (``--customer``), by the columns naming the record and its parent."""
    if customer is None:
        return sql, []
    return f"{sql} AND (upper({parent}) = upper(?) OR upper({number}) = upper(?))", [
        customer,
        customer,
    ]


def label(row: dict) -> str:
    noun = "customer" if row["link_kind"] == "customer" else "location"
    return f"{noun} {row['customer_number']}"


class Pusher:
    """One push step's systems, push log and plan; each method handles one kind of write."""

    def __init__(self, run: Run, log: PushLog, cw: ConnectWise | None, ea: EAutomate | None):
        self.run, self.log, self.cw, self.ea = run, log, cw, ea
        self.pushed = Pushed()
        self.logger = get_run_logger()
        self.written: dict[Entity, list[dict]] = defaultdict(list)  # records as written

    def write(self, planned: Planned, send, also=None) -> Any:
        """Send one write through the push log; in a plan run, only list it."""
        self.run.planned.append(planned)
        if self.run.plan:
            return None
        push = self.log.intend(planned.system, planned.action, planned.target, planned.payload())
        try:
            answer = send()
        except DataError as exc:
            self.log.finish(push, "failed", None, str(exc))
            self.pushed.failed += 1
            raise
        self.log.finish(push, "done", planned.target, also=also)
        return answer

    # --- fields -----------------------------------------------------------------------

    def fields(self, customer: str | None) -> None:
        sql, params = scoped(
            "SELECT * FROM marts.customer_field_sync WHERE (action <> 'in-sync' OR is_truncated)",
            customer,
        )
        found = rows(self.log.con, sql + " ORDER BY link_kind, customer_number, field", params)
        self.truncations([r for r in found if r["is_truncated"]])
        self.raise_conflicts([r for r in found if r["action"] == "conflict"])
        to_psa, to_erp = defaultdict(list), defaultdict(list)
        for row in found:
            if row["to_psa"] is not None:
                to_psa[(row["link_kind"], row["target_key"])].append(row)
            if row["to_erp"] is not None:
                to_erp[row["customer_number"]].append(row)
        for changed in to_psa.values():
            self.update_psa(changed, settle=not any(r["to_erp"] is not None for r in changed))
        for number, changed in to_erp.items():
            self.update_erp(number, changed)
        if not self.run.plan:
            self.stamp_agreed(customer)

    def truncations(self, found: list[dict]) -> None:
        for row in found:
            self.run.failures.add(data_failure(
                "eautomate", "customers", f"{row['customer_number']}/{row['field']}",
                "field-truncated",
                f"{label(row)}: {row['field']} is {len(row['erp_value'])} characters, more than "
                f"the {row['psa_limit']} ConnectWise holds; it holds {row['erp_sent']!r}",
                f"Shorten the {row['field']} in e-automate if the cut is wrong; until then "
                f"crosswalk sends its first {row['psa_limit']} characters.",
                label=label(row),
            ))  # fmt: skip

    def raise_conflicts(self, found: list[dict]) -> None:
        now = datetime.now(UTC)
        for row in found:
            if not self.run.plan:
                with self.log.transaction() as con:
                    if row["conflict_id"] is None:
                        row["conflict_id"] = con.execute(
                            "INSERT INTO sync.conflicts (kind, source_key, target_key, field, "
                            "base_value, erp_value, psa_value, raised_at, run_id) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING conflict_id",
                            [row["link_kind"], row["customer_number"], row["target_key"],
                             row["field"], row["base_value"], row["erp_value"], row["psa_value"],
                             now, self.run.id],
                        ).fetchone()[0]  # fmt: skip
                    else:
                        con.execute(
                            "UPDATE sync.conflicts SET erp_value = ?, psa_value = ? "
                            "WHERE conflict_id = ?",
                            [row["erp_value"], row["psa_value"], row["conflict_id"]],
                        )
            self.pushed.conflicts += 1
            conflict = row["conflict_id"] or "(new)"
            self.run.failures.add(data_failure(
                "eautomate", "customers", f"{row['customer_number']}/{row['field']}",
                "field-conflict",
                f"{label(row)}: {row['field']} changed in e-automate ({_shown(row['erp_value'])}) "
                f"and in ConnectWise ({_shown(row['psa_value'])}) since they last agreed; "
                f"neither is sent (conflict {conflict})",
                f"Pick one: crosswalk conflicts resolve {conflict} --take erp (or --take psa, "
                "or --value TEXT); the next run sends it.",
                label=label(row),
            ))  # fmt: skip

    def update_psa(self, changed: list[dict], settle: bool) -> None:
        first = changed[0]
        if first["link_kind"] == "customer":
            path, record_id, noun = COMPANIES, first["company_id"], "company"
        else:
            path, record_id, noun = (
                f"{COMPANIES}/{first['company_id']}/sites",
                first["site_id"],
                "site",
            )
        changes = {r["psa_path"]: (r["psa_value"], r["to_psa"] or None) for r in changed}
        planned = Planned("connectwise", f"update-{noun}", f"{noun} {record_id}", label(first),
                          changes)  # fmt: skip
        patch = {r["psa_path"]: _psa_value(r["psa_path"], r["to_psa"]) for r in changed}
        entity = connectwise.companies if noun == "company" else connectwise.sites
        try:
            record = self.write(planned, lambda: self.cw.patch(path, record_id, patch),
                                also=lambda con: self._agreed(con, changed, settle))  # fmt: skip
            if record is not None:
                self.written[entity].append(record)
            self.pushed.updated += 1
        except DataError as exc:
            self.run.failures.add(data_failure(
                "eautomate", "customers", first["customer_number"], "psa-update-rejected",
                f"ConnectWise refused the changes of {label(first)} to {noun} {record_id}: "
                f"{exc.message}",
                "Correct the value in e-automate (or the PSA record) as the reason says; the "
                "next run sends it again.",
                label=label(first),
            ))  # fmt: skip

    def update_erp(self, number: str, changed: list[dict]) -> None:
        """Values an operator took from the PSA (or typed) go into the ERP customer."""
        changes = {ERP_FIELDS[r["field"]]: r["to_erp"] for r in changed if r["field"] in ERP_FIELDS}
        lines = {r["field"]: r["to_erp"] for r in changed if r["field"].startswith("address_")}
        if lines:
            current = dict(self.log.con.execute(
                "SELECT 'address_line1', address_line1 UNION ALL "
                "SELECT 'address_line2', address_line2 FROM intermediate.int_erp_customer_fields "
                "WHERE customer_number = ?", [number],
            ).fetchall())  # fmt: skip
            current.update(lines)
            changes["Address"] = "\n".join(v for v in current.values() if v)
        shown = {r["field"]: (r["erp_value"], r["to_erp"] or None) for r in changed}
        planned = Planned("eautomate", "update-customer", f"customer {number}", label(changed[0]),
                          shown)  # fmt: skip
        try:
            self.write(planned, lambda: self.ea.save_customer(number, changes),
                       also=lambda con: self._agreed(con, changed, True))  # fmt: skip
            self.pushed.updated += 1
        except DataError as exc:
            self.run.failures.add(data_failure(
                "eautomate", "customers", number, "erp-update-rejected",
                f"e-automate refused the value chosen for {label(changed[0])}: {exc.message}",
                "Resolve the conflict again with a value e-automate accepts.",
                label=label(changed[0]),
            ))  # fmt: skip

    def _agreed(self, con: duckdb.DuckDBPyConnection, changed: list[dict], settle: bool) -> None:
        """Both sides now hold these values: stamp them, and settle resolved conflicts."""
        now = datetime.now(UTC)
        for r in changed:
            value = r["chosen_key"] if r["action"] == "resolved" else r["erp_key"]
            con.execute(
                "INSERT OR REPLACE INTO sync.field_base VALUES (?, ?, ?, ?, ?, ?, ?)",
                [r["link_kind"], r["customer_number"], r["field"], r["target_key"], value, now,
                 self.run.id],
            )  # fmt: skip
            if settle and r["conflict_id"] is not None:
                con.execute(
                    "UPDATE sync.conflicts SET settled_at = ?, settled_by_run = ? "
                    "WHERE conflict_id = ?",
                    [now, self.run.id, r["conflict_id"]],
                )

    def stamp_agreed(self, customer: str | None) -> None:
        """Fields both sides already agree on: stamp the base, settle their conflicts."""
        where, params = scoped("action = 'in-sync'", customer)
        with self.log.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO sync.field_base SELECT link_kind, customer_number, field, "
                f"target_key, erp_key, now(), ? FROM marts.customer_field_sync WHERE {where} "
                "AND base_value IS DISTINCT FROM erp_key",
                [self.run.id, *params],
            )
            con.execute(
                "UPDATE sync.conflicts SET settled_at = now(), settled_by_run = ?, "
                "resolution = coalesce(resolution, 'agreed') WHERE conflict_id IN (SELECT "
                f"conflict_id FROM marts.customer_field_sync WHERE {where})",
                [self.run.id, *params],
            )

    # --- links written back to the ERP ----------------------------------------------

    def links(self, customer: str | None) -> None:
        sql, params = scoped("SELECT * FROM marts.customer_link_writes WHERE true", customer)
        for row in rows(self.log.con, sql + " ORDER BY link_kind, customer_number", params):
            self.write_link(row, row["customer_number"], row["new_value"], row["current_value"])

    def write_link(self, row: dict, number: str, value: str, current: str | None = None) -> None:
        prop = PROPERTY[row["link_kind"]]
        planned = Planned("eautomate", "set-link", f"customer {number}", label(row),
                          {prop: (current, value or None)})  # fmt: skip
        try:
            self.write(
                planned, lambda: self.ea.set_custom_properties("Customer", number, {prop: value})
            )
            self.pushed.links += 1
        except DataError as exc:
            self.run.failures.add(data_failure(
                "eautomate", "customers", number, "link-write-rejected",
                f"e-automate refused {prop} = {value!r} on {label(row)}: {exc.message}",
                f"Give the customer a custom property configuration that has {prop} "
                "(seed 004: the sync needs the property available to update it).",
                label=label(row),
            ))  # fmt: skip

    # --- partners created -------------------------------------------------------------

    def partners(self, customer: str | None) -> None:
        """Companies for active, unlinked, undisputed ERP customers; sites for the
        locations of linked ones (and of the companies just made)."""
        sql, params = scoped(
            "SELECT f.*, 'customer' AS link_kind FROM marts.mapped_customers m "
            "JOIN intermediate.int_erp_customer_fields f USING (customer_number) "
            "WHERE m.company_id IS NULL AND NOT m.is_excluded AND f.is_active "
            "AND m.finding_code IS NULL AND m.match_rule IS DISTINCT FROM 'unlinked'",
            customer,
            parent="f.customer_number",
            number="f.customer_number",
        )
        companies = {}
        for row in rows(self.log.con, sql + " ORDER BY customer_number", params):
            companies[row["customer_number"]] = self.company(row)
        sql, params = scoped(
            "SELECT f.*, m.company_id, 'location' AS link_kind FROM marts.mapped_locations m "
            "JOIN intermediate.int_erp_customer_fields f USING (customer_number) "
            "WHERE m.site_id IS NULL AND NOT m.is_excluded AND f.is_active "
            "AND m.finding_code IS NULL",
            customer,
            parent="f.parent_customer_number",
            number="f.customer_number",
        )
        for row in rows(self.log.con, sql + " ORDER BY customer_number", params):
            company_id = row["company_id"] or companies.get(row["parent_customer_number"])
            if company_id is not None:
                self.site(row, company_id)

    def recover(self) -> None:
        """Writes a run sent but never recorded (it stopped, or the answer was lost). An
        update is settled as superseded: this run's diff sends it again if still needed.
        A create is looked up by its key: what exists is adopted and linked, what does not
        was never made and is proposed again."""
        updates = ("update-company", "update-site", "update-customer", "set-link")
        for system in ("connectwise", "eautomate"):
            for intent in self.log.pending(system, updates):
                # idempotent writes: this run's diff sends them again if still needed
                self.log.settle(intent.target_key, "superseded")
        for intent in self.log.pending("connectwise", ("create-company", "create-site")):
            sent = {k: after for k, (_, after) in intent.payload["changes"].items()}
            if intent.action == "create-company":
                found = self.cw.find(COMPANIES, identifier=sent["identifier"])
                found = [c for c in found if not c.get("deletedFlag")]
            else:
                company = intent.target_key.rsplit(" ", 1)[1]
                found = self.cw.records(f"{COMPANIES}/{company}/sites",
                                        f"name={literal(sent['name'])}")  # fmt: skip
            made = min((r["id"] for r in found), default=None)
            self.log.settle(intent.target_key, "adopted" if made else "not-applied", made)
            if made is not None:
                kind, number = intent.payload["record"].split(" ", 1)
                self._link(kind, number, made, f"{intent.action[7:]} found by crosswalk")
        for intent in self.log.pending("eautomate", ("create-customer",)):
            company = intent.target_key.rsplit("=", 1)[1]
            found = self.ea.customers_by_property(PROPERTY["customer"], company)
            number = min((c["CustomerNumber"] for c in found), default=None)
            self.log.settle(intent.target_key, "adopted" if number else "not-applied", number)
            if number is not None:
                self._link("customer", number, int(company), "customer found by crosswalk")

    def customers(self) -> None:
        """ERP customers for active PSA companies of the configured types that no ERP
        customer is linked to, claims, numbers or is suggested for (CleanManager's
        "create partners"); a likely partner is for an operator to confirm first."""
        types = self.run.settings.flows.customer_sync.new_customer_company_types
        found = rows(self.log.con, """
            SELECT * FROM intermediate.int_companies_swept c
            WHERE NOT c.is_deleted AND c.status = 'Active'
              AND list_has_any(c.company_types, ?::VARCHAR[])
              AND c.company_id NOT IN (SELECT company_id FROM marts.mapped_customers
                                       WHERE company_id IS NOT NULL)
              AND c.company_id NOT IN (SELECT claimed_company_id FROM marts.mapped_customers
                                       WHERE claimed_company_id IS NOT NULL)
              AND c.company_id NOT IN (SELECT company_id FROM marts.customer_suggestions)
              AND upper(trim(c.identifier)) NOT IN (
                  SELECT upper(trim(customer_number)) FROM staging.stg_eautomate__customers)
              AND upper(trim(coalesce(c.account_number, ''))) NOT IN (
                  SELECT upper(trim(customer_number)) FROM staging.stg_eautomate__customers)
            ORDER BY c.company_id""", [types])  # fmt: skip
        for company in found:
            self.customer(company)

    def customer(self, company: dict) -> None:
        company_id, identifier = company["company_id"], company["identifier"].strip()
        address = "\n".join(v for v in (company["address_line1"], company["address_line2"]) if v)
        body = {
            "CustomerNumber": identifier.upper() if len(identifier) <= 15 else None,
            "CustomerName": company["company_name"][:100],
            "Address": address or None,
            "City": company["city"],
            "State": company["state"],
            "Zip": company["zip"],
            "Phone1": company["phone_number"],
            "Fax": company["fax_number"],
            "WebSite": company["website"],
            "CustomProperties": [{"Name": PROPERTY["customer"], "Value": str(company_id)}],
        }
        body = {k: v for k, v in body.items() if v}
        target = f"customer {PROPERTY['customer']}={company_id}"
        record = f"company {company_id}"
        shown = {k: (None, v) for k, v in body.items() if k != "CustomProperties"}
        planned = Planned("eautomate", "create-customer", target, record, shown)

        def find() -> str | None:
            found = self.ea.customers_by_property(PROPERTY["customer"], str(company_id))
            return min((c["CustomerNumber"] for c in found), default=None)

        def rejected(exc: DataError) -> Failure:
            name = f'company {company_id} "{company["company_name"]}"'
            return data_failure(
                "connectwise", "companies", company_id, "customer-create-rejected",
                f"e-automate refused {name} as a customer: {exc.message}",
                "Correct the company in ConnectWise as the reason says; the next run creates "
                "the customer.",
                label=name,
            )  # fmt: skip

        made = self._create(planned, find, lambda: self.ea.add_customer(body)["CustomerNumber"],
                            rejected)  # fmt: skip
        if made is not None:
            number, how = made
            self._link("customer", number, company_id, f"customer {how} by crosswalk")

    @staticmethod
    def _create_once(create, find, attempts: int = 3) -> Any:
        """``create``; when its answer is lost, ``find`` tells whether it was made, and
        only when it was not is it sent again (``attempts`` times in all; a lost last
        answer is the caller's to look up)."""
        for _ in range(attempts - 1):
            try:
                return create()
            except OutcomeUnknown:
                made = find()
                if made is not None:
                    return made
        return create()

    def _link(self, kind: str, number: str, made: int, note: str) -> None:
        """Record a partner crosswalk made (or found after a lost answer) in sync.links."""
        with self.log.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO sync.links (kind, source_system, source_key, "
                "target_system, target_key, made_by, note, created_at, run_id, broken_at, "
                "broken_reason) VALUES (?, 'eautomate', ?, 'connectwise', ?, 'crosswalk', ?, ?, "
                "?, NULL, NULL)",
                [kind, number, str(made), note, datetime.now(UTC), self.run.id],
            )

    def company(self, row: dict) -> int | None:
        number = row["customer_number"]
        config = self.run.settings.flows.customer_sync
        body = {"identifier": number[:30], **_address(row, "state")}
        if row["website"]:
            body["website"] = row["website"][:255]
        for key, ref in (("types", config.new_company_type_id),
                         ("status", config.new_company_status_id),
                         ("territory", config.new_company_territory_id)):  # fmt: skip
            if ref is not None:
                body[key] = [{"id": ref}] if key == "types" else {"id": ref}
        target = f"company identifier={number}"

        def find() -> int | None:
            found = [
                c for c in self.cw.find(COMPANIES, identifier=number) if not c.get("deletedFlag")
            ]
            return min(c["id"] for c in found) if found else None

        return self._partner(row, "company", target, body, find,
                             lambda: self.cw.create(COMPANIES, body)["id"])  # fmt: skip

    def site(self, row: dict, company_id: int) -> int | None:
        body = _address(row, "stateReference")
        path = f"{COMPANIES}/{company_id}/sites"
        target = f"site {body['name']!r} of company {company_id}"

        def find() -> int | None:
            found = self.cw.records(path, f"name={literal(body['name'])}")
            return min(s["id"] for s in found) if found else None

        return self._partner(row, "site", target, body, find,
                             lambda: self.cw.create(path, body)["id"])  # fmt: skip

    def _partner(self, row: dict, noun: str, target: str, body: dict, find, create) -> int | None:
        """A PSA company or site for an ERP record, linked in ``sync.links`` and in the
        ERP's custom property."""

        def rejected(exc: DataError) -> Failure:
            return data_failure(
                "eautomate", "customers", row["customer_number"], f"{noun}-create-rejected",
                f"ConnectWise refused the {noun} for {label(row)}: {exc.message}",
                f"Correct the customer in e-automate as the reason says; the next run creates "
                f"the {noun}.",
                label=label(row),
            )  # fmt: skip

        planned = Planned("connectwise", f"create-{noun}", target, label(row),
                          {k: (None, v) for k, v in body.items()})  # fmt: skip
        made = self._create(planned, find, create, rejected)
        if made is None:
            return None
        record_id, how = made
        self._link(
            row["link_kind"], row["customer_number"], record_id, f"{noun} {how} by crosswalk"
        )
        self.write_link(row, row["customer_number"], str(record_id))
        return record_id

    def _create(self, planned: Planned, find, create, rejected) -> tuple[Any, str] | None:
        """Adopt the record ``find`` finds, else ``create`` it through the push log; a lost
        answer is looked up again. Returns the record's key and "created" or "found", or
        None when planning or refused (``rejected`` makes the failure)."""
        if self.run.plan:
            self.run.planned.append(planned)
            return None
        made, outcome = find(), "adopted"
        if made is None:
            self.run.planned.append(planned)
            push = self.log.intend(planned.system, planned.action, planned.target,
                                   planned.payload())  # fmt: skip
            try:
                made, outcome = self._create_once(create, find), "done"
            except OutcomeUnknown:
                made, outcome = find(), "done"
                if made is None:
                    self.log.finish(push, "not-applied", None, "answers lost; nothing found")
                    raise
            except DataError as exc:
                self.log.finish(push, "failed", None, str(exc))
                self.pushed.failed += 1
                self.run.failures.add(rejected(exc))
                return None
            self.log.finish(push, outcome, made)
        self.log.settle(planned.target, "adopted", made)
        counter = "created" if outcome == "done" else "adopted"
        setattr(self.pushed, counter, getattr(self.pushed, counter) + 1)
        return made, "created" if outcome == "done" else "found"


def _psa_value(path: str, value: str) -> Any:
    """A PATCH value: empty removes the field; a site's state is a reference."""
    if not value:
        return None
    return {"identifier": value} if path == "stateReference" else value


def _address(row: dict, state: str) -> dict[str, Any]:
    """A new company's or site's name and address from the ERP record, cut to the limits."""
    values = {
        "name": (row["customer_name"] or row["customer_number"])[:50],
        "addressLine1": row["address_line1"] and row["address_line1"][:50],
        "addressLine2": row["address_line2"] and row["address_line2"][:50],
        "city": row["city"] and row["city"][:50],
        state: row["state"] and _psa_value(state, row["state"][:50]),
        "zip": row["zip"] and row["zip"][:12],
        "phoneNumber": row["phone"] and row["phone"][:30],
        "faxNumber": row["fax"] and row["fax"][:30],
    }
    return {k: v for k, v in values.items() if v}


def land_written(run: Run, written: dict[Entity, list[dict]]) -> None:
    """Land the records as the PSA answered the writes: a site changes without its company
    changing, and sites are read again only with a changed company."""
    for entity, records in written.items():
        checked = validate(entity, records)
        run.warehouse.land(entity.system, entity.name, entity.primary_key, checked.table,
                           run.id, checked.rejected)  # fmt: skip


@task(cache_policy=NO_CACHE)
def push_customers(
    run: Run, cw: ConnectWise | None, ea: EAutomate | None, customer: str | None = None
) -> Pushed:
    """Every push of the customer sync, in order: partners created, fields, links."""
    with PushLog.open(run.warehouse, run.id, run.flow) as log:
        pusher = Pusher(run, log, cw, ea)
        if cw is not None and ea is not None:
            if not run.plan:
                pusher.recover()
            if run.settings.flows.customer_sync.create_companies:
                pusher.partners(customer)
            if run.settings.flows.customer_sync.create_customers and customer is None:
                pusher.customers()
            pusher.fields(customer)
        if ea is not None:
            pusher.links(customer)
    land_written(run, pusher.written)
    if customer is None:  # one customer's run leaves the others' failures open
        run.failures.looked_at("eautomate", "customers", CODES)
        run.failures.looked_at("connectwise", "companies", COMPANY_CODES)
    pusher.logger.info("customer pushes: %s", pusher.pushed)
    return pusher.pushed
