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

Every write goes through ``crosswalk.pushing``: in the push log before it is sent and
after, creates looked up by their key first, a plan run listing field by field what it
would send.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk import decisions, records
from crosswalk.connectwise import ConnectWise, literal
from crosswalk.eautomate import EAutomate
from crosswalk.entities import Entity
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError
from crosswalk.pipeline import Run
from crosswalk.pushing import Made, Pusher, Sent, Write, shown
from crosswalk.warehouse import rows
from schemas import connectwise, eautomate

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

    @property
    def wrote(self) -> bool:
        """Whether any system holds something new (what the findings may have changed)."""
        return bool(self.updated or self.links or self.created or self.adopted)


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


def entity(row: dict) -> str:
    """What a failure names: the ERP location, or the customer."""
    return "locations" if row["link_kind"] == "location" else "customers"


def partner(row: dict) -> str:
    """The PSA record a pair's fields go to: ``company 12`` or ``site 34 of company 12``."""
    if row["link_kind"] == "location" and row.get("site_id") is not None:
        return f"site {row['site_id']} of company {row['company_id']}"
    return f"company {row['company_id']}"


class CustomerPush:
    """One push step's systems and writes; each method handles one kind of write."""

    def __init__(self, pusher: Pusher, cw: ConnectWise | None, ea: EAutomate | None):
        self.pusher, self.cw, self.ea = pusher, cw, ea
        self.run = pusher.run
        self.con = pusher.con
        self.pushed = Pushed()
        self.settings = pusher.run.settings
        # ERP customers this step wrote to, read back at its end (``read_back``).
        self.changed: set[str] = set()

    # --- fields -----------------------------------------------------------------------

    def fields(self, customer: str | None) -> None:
        sql, params = scoped(
            "SELECT * FROM marts.customer_field_sync WHERE (action <> 'in-sync' OR is_truncated)",
            customer,
        )
        found = rows(self.con, sql + " ORDER BY link_kind, customer_number, field", params)
        self.truncations([r for r in found if r["is_truncated"]])
        self.raise_conflicts([r for r in found if r["action"] == "conflict"])
        to_psa, to_erp = defaultdict(list), defaultdict(list)
        for row in found:
            if row["to_psa"] is not None:
                to_psa[(row["link_kind"], row["target_key"])].append(row)
            if row["to_erp"] is not None:
                to_erp[row["customer_number"]].append(row)
        for changed in self.pusher.each(list(to_psa.values()), "PSA records to update"):
            self.update_psa(changed, settle=not any(r["to_erp"] is not None for r in changed))
        for number, changed in self.pusher.each(list(to_erp.items()), "ERP customers to update"):
            self.update_erp(number, changed)
        if not self.run.plan:
            self.stamp_agreed(customer)

    def truncations(self, found: list[dict]) -> None:
        for row in found:
            self.run.failures.add(data_failure(
                "eautomate", entity(row), f"{row['customer_number']}/{row['field']}",
                "field-truncated",
                f"{label(row)}: {row['field']} is {len(row['erp_value'])} characters, more than "
                f"the {row['psa_limit']} ConnectWise holds; {partner(row)} holds "
                f"{row['erp_sent']!r}",
                f"Shorten the {row['field']} in e-automate if the cut is wrong; until then "
                f"crosswalk sends its first {row['psa_limit']} characters.",
                label=label(row), url=self.url(row),
            ))  # fmt: skip

    def raise_conflicts(self, found: list[dict]) -> None:
        for row in found:
            if not self.run.plan:
                with self.pusher.transaction() as con:
                    row["conflict_id"] = decisions.raise_conflict(
                        con, kind=row["link_kind"], source_key=row["customer_number"],
                        target_key=row["target_key"], field=row["field"],
                        base_value=row["base_value"], erp_value=row["erp_value"],
                        psa_value=row["psa_value"], run_id=self.run.id,
                        conflict_id=row["conflict_id"],
                    )  # fmt: skip
            self.pushed.conflicts += 1
            conflict = row["conflict_id"] or "(new)"
            self.run.failures.add(data_failure(
                "eautomate", entity(row), f"{row['customer_number']}/{row['field']}",
                "field-conflict",
                f"{label(row)}: {row['field']} changed in e-automate ({shown(row['erp_value'])}) "
                f"and in ConnectWise {partner(row)} ({shown(row['psa_value'])}) since they last "
                f"agreed; neither is sent (conflict {conflict})",
                f"Pick one: crosswalk conflicts resolve {conflict} --take erp (or --take psa, "
                "or --value TEXT); the next run sends it.",
                label=label(row), url=self.url(row),
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
        write = Write("connectwise", f"update-{noun}", f"{noun} {record_id}", label(first),
                      changes)  # fmt: skip
        patch = {r["psa_path"]: _psa_value(r["psa_path"], r["to_psa"]) for r in changed}

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "eautomate", entity(first), first["customer_number"], "psa-update-rejected",
                f"ConnectWise refused the changes of {label(first)} to {partner(first)}: "
                f"{exc.message}",
                "Correct the value in e-automate (or the PSA record) as the reason says; the "
                "next run sends it again.",
                label=label(first), url=self.url(first),
            )  # fmt: skip

        sent = self.pusher.update(write, lambda: self.cw.patch(path, record_id, patch),
                                  refused=refused,
                                  also=lambda con: self._agreed(con, changed, settle),
                                  lands=connectwise.companies if noun == "company"
                                  else connectwise.sites)  # fmt: skip
        self._count("updated", sent)

    def update_erp(self, number: str, changed: list[dict]) -> None:
        """Values an operator took from the PSA (or typed), and those of fields the PSA
        owns (field_owners), go into the ERP customer."""
        changes = {ERP_FIELDS[r["field"]]: r["to_erp"] for r in changed if r["field"] in ERP_FIELDS}
        lines = {r["field"]: r["to_erp"] for r in changed if r["field"].startswith("address_")}
        if lines:
            current = dict(self.con.execute(
                "SELECT 'address_line1', address_line1 UNION ALL "
                "SELECT 'address_line2', address_line2 FROM intermediate.int_erp_customer_fields "
                "WHERE customer_number = ?", [number],
            ).fetchall())  # fmt: skip
            current.update(lines)
            changes["Address"] = "\n".join(v for v in current.values() if v)
        shown = {r["field"]: (r["erp_value"], r["to_erp"] or None) for r in changed}
        write = Write("eautomate", "update-customer", f"customer {number}", label(changed[0]),
                      shown)  # fmt: skip

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "eautomate", entity(changed[0]), number, "erp-update-rejected",
                f"e-automate refused the value chosen for {label(changed[0])} (from "
                f"{partner(changed[0])}): {exc.message}",
                "Resolve the conflict again with a value e-automate accepts."
                if any(r["action"] == "resolved" for r in changed)
                else "Correct the value in ConnectWise, which owns the field (field_owners), "
                "to one e-automate accepts; the next run sends it again.",
                label=label(changed[0]), url=self.url(changed[0]),
            )  # fmt: skip

        sent = self.pusher.update(write, lambda: self.ea.save_customer(number, changes),
                                  refused=refused,
                                  also=lambda con: self._agreed(con, changed, True))  # fmt: skip
        if sent.outcome == "done":
            self.changed.add(number)
        self._count("updated", sent)

    def _agreed(self, con: duckdb.DuckDBPyConnection, changed: list[dict], settle: bool) -> None:
        """Both sides now hold these values: stamp them, and settle resolved conflicts."""
        now = datetime.now(UTC)
        base = {  # one row a field (the last, were one named twice), one statement a write
            (r["link_kind"], r["customer_number"], r["field"]): [
                r["link_kind"], r["customer_number"], r["field"], r["target_key"],
                {"resolved": r["chosen_key"], "to-erp": r["psa_key"]}.get(
                    r["action"], r["erp_key"]
                ), now, self.run.id,
            ]
            for r in changed
        }  # fmt: skip
        if base:
            con.execute(
                "INSERT OR REPLACE INTO sync.field_base VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(base)),
                [value for row in base.values() for value in row],
            )
        conflicts = [r["conflict_id"] for r in changed if r["conflict_id"] is not None]
        if settle and conflicts:
            decisions.settle_conflicts(con, conflicts, self.run.id)

    def stamp_agreed(self, customer: str | None) -> None:
        """Fields both sides already agree on: stamp the base, settle their conflicts."""
        where, params = scoped("action = 'in-sync'", customer)
        with self.pusher.transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO sync.field_base SELECT link_kind, customer_number, field, "
                f"target_key, erp_key, now(), ? FROM marts.customer_field_sync WHERE {where} "
                "AND base_value IS DISTINCT FROM erp_key",
                [self.run.id, *params],
            )
            agreed = con.execute(
                f"SELECT conflict_id FROM marts.customer_field_sync WHERE {where} "
                "AND conflict_id IS NOT NULL",
                params,
            ).fetchall()
            if agreed:
                decisions.settle_conflicts(con, [c for (c,) in agreed], self.run.id, "agreed")

    # --- links written back to the ERP ----------------------------------------------

    def links(self, customer: str | None) -> None:
        sql, params = scoped("SELECT * FROM marts.customer_link_writes WHERE true", customer)
        found = rows(self.con, sql + " ORDER BY link_kind, customer_number", params)
        for row in self.pusher.each(found, "links"):
            self.write_link(row, row["customer_number"], row["new_value"], row["current_value"])

    def write_link(self, row: dict, number: str, value: str, current: str | None = None) -> None:
        prop = PROPERTY[row["link_kind"]]
        write = Write("eautomate", "set-link", f"customer {number}", label(row),
                      {prop: (current, value or None)})  # fmt: skip

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "eautomate", entity(row), number, "link-write-rejected",
                f"e-automate refused {prop} = {value!r} on {label(row)}: {exc.message}",
                f"Give the customer a custom property configuration that has {prop} "
                "(seed 004: the sync needs the property available to update it).",
                label=label(row),
            )  # fmt: skip

        sent = self.pusher.update(
            write,
            lambda: self.ea.set_custom_properties("Customer", number, {prop: value}),
            refused=refused,
        )
        if sent.outcome == "done":
            self.changed.add(number)
        self._count("links", sent)

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
        found = rows(self.con, sql + " ORDER BY customer_number", params)
        for row in self.pusher.each(found, "companies to create"):
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
        found = rows(self.con, sql + " ORDER BY customer_number", params)
        for row in self.pusher.each(found, "sites to create"):
            company_id = row["company_id"] or companies.get(row["parent_customer_number"])
            if company_id is not None:
                self.site(row, company_id)

    # How each create finds what it made, from its key: before it is sent, after a lost
    # answer, and when a later run settles it.

    def find_company(self, key: dict) -> int | None:
        found = self.cw.find(COMPANIES, identifier=key["identifier"])
        return min((c["id"] for c in found if not c.get("deletedFlag")), default=None)

    def find_site(self, key: dict) -> int | None:
        found = self.cw.records(f"{COMPANIES}/{key['company']}/sites",
                                f"name={literal(key['name'])}")  # fmt: skip
        return min((s["id"] for s in found), default=None)

    def find_customer(self, key: dict) -> str | None:
        found = self.ea.customers_by_property(PROPERTY["customer"], str(key["company"]))
        return min((c["CustomerNumber"] for c in found), default=None)

    def recover(self) -> None:
        """Writes an earlier run sent but never recorded: a create found made is adopted
        and linked; an update is superseded (this run's diff sends it again if needed)."""
        self.pusher.recover(
            {"create-company": self.find_company, "create-site": self.find_site,
             "create-customer": self.find_customer},
            updates=("update-company", "update-site", "update-customer", "set-link"),
            adopted=lambda key, made: self._linked(key, made, "found"),
        )  # fmt: skip

    def _linked(self, key: dict, made: Any, how: str) -> None:
        """Record a partner crosswalk made (or found made) in sync.links."""
        if "number" in key:  # a PSA company or site for an ERP record
            kind, number, target, noun = key["kind"], key["number"], made, key["noun"]
        else:  # an ERP customer for a PSA company
            kind, number, target, noun = "customer", made, key["company"], "customer"
        with self.pusher.transaction() as con:
            decisions.set_link(con, kind, number, str(target), made_by="crosswalk",
                               note=f"{noun} {how} by crosswalk", run_id=self.run.id)  # fmt: skip

    def customers(self) -> None:
        """ERP customers for active PSA companies of the configured types that no ERP
        customer is linked to, claims, numbers or is suggested for (CleanManager's
        "create partners"); a likely partner is for an operator to confirm first."""
        types = self.run.settings.flows.customer_sync.new_customer_company_types
        found = rows(self.con, """
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
        for company in self.pusher.each(found, "customers to create"):
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
        key = {"company": company_id}
        write = Write(
            "eautomate", "create-customer", f"customer {PROPERTY['customer']}={company_id}",
            f"company {company_id}",
            {k: (None, v) for k, v in body.items() if k != "CustomProperties"}, key=key,
        )  # fmt: skip

        def refused(exc: DataError) -> Failure:
            name = f'company {company_id} "{company["company_name"]}"'
            return data_failure(
                "connectwise", "companies", company_id, "customer-create-rejected",
                f"e-automate refused {name} as a customer: {exc.message}",
                "Correct the company in ConnectWise as the reason says; the next run creates "
                "the customer.",
                label=name,
            )  # fmt: skip

        made = self.pusher.create(write, find=lambda: self.find_customer(key),
                                  send=lambda: self.ea.add_customer(body)["CustomerNumber"],
                                  refused=refused)  # fmt: skip
        if self._made(made, key):
            self.changed.add(made.key)

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
        return self._partner(row, "company", f"company identifier={number}",
                             {"identifier": number[:30]}, body, self.find_company,
                             lambda: self._created(connectwise.companies,
                                                   self.cw.create(COMPANIES, body)))  # fmt: skip

    def site(self, row: dict, company_id: int) -> int | None:
        body = _address(row, "stateReference")
        path = f"{COMPANIES}/{company_id}/sites"
        return self._partner(row, "site", f"site {body['name']!r} of company {company_id}",
                             {"company": company_id, "name": body["name"]}, body,
                             self.find_site,
                             lambda: self._created(connectwise.sites,
                                                   self.cw.create(path, body)))  # fmt: skip

    def _created(self, entity: Entity, record: dict) -> int:
        """A record a create made lands as ConnectWise answered it (a link to it then
        names a company or site the warehouse knows); returns its id."""
        self.pusher.written(entity, record)
        return record["id"]

    def read_back(self) -> None:
        """The ERP customers this step wrote to land as e-automate now holds them, so the
        models built after the push see the links written back (500 a bulk read)."""
        if self.changed and not self.run.plan:
            for page in self.ea.details("customers", sorted(self.changed)):
                self.pusher.written(eautomate.customers, list(self.ea.with_offsets(page)))

    def _partner(self, row: dict, noun: str, target: str, found_by: dict, body: dict,
                 find, send) -> int | None:  # fmt: skip
        """A PSA company or site for an ERP record, linked in ``sync.links`` and in the
        ERP's custom property."""

        def refused(exc: DataError) -> Failure:
            return data_failure(
                "eautomate", entity(row), row["customer_number"], f"{noun}-create-rejected",
                f"ConnectWise refused the new {target} for {label(row)}: {exc.message}",
                f"Correct the customer in e-automate as the reason says; the next run creates "
                f"the {noun}.",
                label=label(row),
            )  # fmt: skip

        key = {**found_by, "kind": row["link_kind"], "number": row["customer_number"],
               "noun": noun}  # fmt: skip
        write = Write("connectwise", f"create-{noun}", target, label(row),
                      {k: (None, v) for k, v in body.items()}, key=key)  # fmt: skip
        made = self.pusher.create(write, find=lambda: find(key), send=send, refused=refused)
        if not self._made(made, key):
            return None
        self.write_link(row, row["customer_number"], str(made.key))
        return made.key

    def _made(self, made: Made | None, key: dict) -> bool:
        """Link what a create made or found; False when it was only planned or refused."""
        if made is None:
            if not self.run.plan:
                self.pushed.failed += 1
            return False
        self._linked(key, made.key, "created" if made.created else "found")
        self._count("created" if made.created else "adopted")
        return True

    def url(self, row: dict) -> str | None:
        """The web address of the PSA company a pair's failure is about."""
        return records.link(self.settings, "connectwise", "companies", str(row["company_id"]))

    def _count(self, counter: str, sent: Sent | None = None) -> None:
        if sent is not None and sent.outcome == "failed":
            counter = "failed"
        setattr(self.pushed, counter, getattr(self.pushed, counter) + 1)


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


@task(cache_policy=NO_CACHE)
def push_customers(
    run: Run, cw: ConnectWise | None, ea: EAutomate | None, customer: str | None = None
) -> Pushed:
    """Every push of the customer sync, in order: partners created, fields, links."""
    with Pusher.open(run) as pusher:
        push = CustomerPush(pusher, cw, ea)
        if cw is not None and ea is not None:
            push.recover()
            if run.settings.flows.customer_sync.create_companies:
                push.partners(customer)
            if run.settings.flows.customer_sync.create_customers and customer is None:
                push.customers()
            push.fields(customer)
        if ea is not None:
            push.links(customer)
            push.read_back()
    if customer is None:  # one customer's run leaves the others' failures open
        for erp in ("customers", "locations"):
            run.failures.looked_at("eautomate", erp, CODES)
        run.failures.looked_at("connectwise", "companies", COMPANY_CODES)
    get_run_logger().info("customer pushes: %s", push.pushed)
    return push.pushed
