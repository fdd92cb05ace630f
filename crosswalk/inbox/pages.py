"""The inbox's pages: each reads the marts and ``sync`` tables a run left, and each decision
is a POST that goes through ``crosswalk.decisions`` (what the CLI does), records who made it,
and takes effect on the flow's next run."""

from __future__ import annotations

import contextlib

from crosswalk import codes, decisions, report
from crosswalk.cli.records import KINDS
from crosswalk.config import SYNC_FIELDS
from crosswalk.decisions import NEXT_RUN
from crosswalk.errors import OWNER_TITLES, Owner
from crosswalk.inbox import waiting as waiting_records
from crosswalk.inbox.web import HTTPError, NotBuilt, Request, Response, inside, redirect, url

CUSTOMER_SYNC = "customer-sync"
# What the Waiting page lists: the first causes of each owner and code (as a report does;
# the errors view has them all), the first records of each cause (its failure's page, all).
WAITING_CAUSES = 50
WAITING_LISTED = 20


def today(request: Request) -> Response:
    """What waits for a person, per flow and owner, and each flow's last run."""
    waiting = request.rows(
        "SELECT flow, owner, count(*) AS failures FROM sync.errors WHERE status = 'open' "
        "GROUP BY ALL ORDER BY flow, owner"
    )
    decisions_waiting = request.rows(
        "SELECT (SELECT count(*) FROM sync.conflicts WHERE resolved_at IS NULL "
        "AND settled_at IS NULL) AS conflicts"
    )[0]
    try:
        decisions_waiting |= request.rows(
            "SELECT (SELECT count(*) FROM marts.unmapped_customers) AS unmapped, "
            "(SELECT count(DISTINCT customer_number) FROM marts.customer_suggestions) "
            "AS suggested"
        )[0]
        runs = request.rows("SELECT * FROM marts.sync_health ORDER BY flow")
    except Exception:  # no customer-sync yet: the counts that exist still show
        runs = []
    held: list[dict] = []
    for source in waiting_records.SOURCES:
        try:
            by_owner = waiting_records.held_per_owner(request.rows, source)
        except NotBuilt:
            continue
        held += [
            {"flow": source.flow, "noun": source.noun, "owner": owner, "records": count}
            for owner, count in by_owner.items()
        ]
    return request.render(
        "today.html",
        held=held,
        waiting=waiting,
        owners={str(o): OWNER_TITLES[o] for o in Owner},
        counts=decisions_waiting,
        runs=runs,
    )


def suggestions(request: Request) -> Response:
    """Likely partners (evidence and score) and every unmapped customer with its reason;
    a pair confirmed or rejected since the last run is already left out."""
    rows = request.rows(
        "SELECT s.* FROM marts.customer_suggestions AS s "
        "WHERE NOT EXISTS (SELECT 1 FROM sync.rejected_suggestions AS r "
        "  WHERE r.customer_number = s.customer_number AND r.company_id = s.company_id::VARCHAR) "
        "AND NOT EXISTS (SELECT 1 FROM sync.links AS l WHERE l.kind = 'customer' "
        "  AND l.source_key = s.customer_number) "
        "ORDER BY s.customer_number, s.suggestion_rank"
    )
    unmapped = request.rows(
        "SELECT u.customer_number, u.customer_name, u.unmapped_code, u.unmapped_reason, u.fix, "
        "u.suggestion_count, l.target_key AS decided FROM marts.unmapped_customers AS u "
        "LEFT JOIN sync.links AS l ON l.kind = 'customer' AND l.source_key = u.customer_number "
        "ORDER BY u.customer_number"
    )
    return request.render("suggestions.html", suggestions=rows, unmapped=unmapped)


def _landed(request: Request, kind: str, key: str) -> str:
    """``key`` when a run landed a record of ``kind`` (the CLI's lookup, KINDS); else 404."""
    record = KINDS[kind]
    if not key or not request.rows(
        f"SELECT 1 FROM {record.table} WHERE CAST({record.key} AS VARCHAR) = ? "
        f"AND {record.where}", [key],
    ):  # fmt: skip
        raise HTTPError(404, f"No {record.name} {key!r} in what the last {record.flow} read.")
    return key


def _kind(request: Request) -> str:
    kind = request.field("kind", "customer")
    if kind not in decisions.KINDS:
        raise HTTPError(400, f"A link is one of {', '.join(decisions.KINDS)}, not {kind!r}.")
    return kind


TARGETS = {"customer": "company", "location": "site"}


def link(request: Request) -> Response:
    """Link an ERP customer to a PSA company (or a location to a site): a suggestion
    confirmed, an unmapped or wrongly linked record linked to the one typed or found."""
    kind = _kind(request)
    record = _landed(request, kind, request.field("customer"))
    target = _landed(request, TARGETS[kind], request.field("company") or request.field("target"))
    with request.deciding() as con:
        decisions.set_link(
            con, kind, record, target, made_by="operator",
            note=request.field("note") or "linked in the inbox", decided_by=request.user,
        )  # fmt: skip
    request.notice(f"Linked {kind} {record} to PSA {TARGETS[kind]} {target}; {NEXT_RUN}.")
    return redirect(inside(request.field("back"), "/suggestions"))


def unlink(request: Request) -> Response:
    """An operator's "this record has no partner": no rule links it again."""
    kind = _kind(request)
    record = _landed(request, kind, request.field("customer"))
    with request.deciding() as con:
        decisions.unlink(
            con, kind, record, note=request.field("note") or "unlinked in the inbox",
            decided_by=request.user,
        )  # fmt: skip
    request.notice(f"Unlinked {kind} {record}: no rule links it again; {NEXT_RUN}.")
    return redirect(inside(request.field("back"), "/links"))


def reset(request: Request) -> Response:
    """Forget the decision for a record: the matching rules decide again."""
    kind = _kind(request)
    record = request.field("customer")
    with request.deciding() as con:
        forgotten = decisions.reset_link(con, kind, record)
    request.notice(
        f"The rules decide {kind} {record} again; {NEXT_RUN}."
        if forgotten
        else f"No decision for {kind} {record} to forget: the rules decide it already."
    )
    return redirect(inside(request.field("back"), "/links"))


def reject(request: Request) -> Response:
    customer = _landed(request, "customer", request.field("customer"))
    company = _landed(request, "company", request.field("company"))
    with request.deciding() as con:
        decisions.reject_suggestion(
            con, customer, company, by=request.user, note=request.field("note") or None
        )
    request.notice(f"Customer {customer} and PSA company {company} will not be suggested again.")
    return redirect("/suggestions")


def links(request: Request) -> Response:
    """Links that contradict the data (wrong links) and links whose target has gone
    (broken links): every record involved, the finding and the fix; link to the right
    record, say it has no partner, or let the rules decide."""
    findings = request.rows(
        "SELECT 'customer' AS kind, customer_number, customer_name, NULL AS parent_number, "
        "claimed_company_id AS claimed_id, NULL::BIGINT AS parent_company_id, "
        "finding_company_id, finding_code, finding, fix FROM marts.mapped_customers "
        "WHERE finding_code IS NOT NULL UNION ALL "
        "SELECT 'location', customer_number, customer_name, parent_customer_number, "
        "claimed_site_id, company_id, finding_company_id, finding_code, finding, fix "
        "FROM marts.mapped_locations WHERE finding_code IS NOT NULL "
        "ORDER BY kind, finding_code, customer_number"
    )
    company_ids = [
        c
        for f in findings
        for c in (f["finding_company_id"], f["parent_company_id"],
                  f["claimed_id"] if f["kind"] == "customer" else None)
        if c is not None
    ]  # fmt: skip
    companies = _by_key(request, "company_id", COMPANIES_OF, company_ids)
    site_ids = [f["claimed_id"] for f in findings if f["kind"] == "location" and f["claimed_id"]]
    sites = _by_key(request, "site_id", SITES_OF, site_ids)
    others = request.rows(
        "SELECT customer_number, customer_name, coalesce(claimed_company_id, company_id, "
        "finding_company_id) AS on_company FROM marts.mapped_customers "
        "WHERE coalesce(claimed_company_id, company_id, finding_company_id) "
        "IN (SELECT unnest(?)) ORDER BY customer_number",
        [sorted(companies)],
    )
    links_made = request.rows("SELECT * FROM sync.links WHERE kind IN ('customer', 'location')")
    decided = {(row["kind"], row["source_key"]): row for row in links_made}
    for f in findings:
        f["records"] = _involved(f, companies, sites, others)
        f["decision"] = decided.get((f["kind"], f["customer_number"]))
        f["companies"] = [
            r for r in f["records"] if r["what"] == "PSA company" and not r.get("deleted")
        ]
    broken = request.rows(
        "SELECT kind, source_system, source_key, target_system, target_key, made_by, "
        "broken_at, broken_reason FROM sync.links WHERE broken_at IS NOT NULL "
        "ORDER BY kind, source_key"
    )
    return request.render("links.html", findings=findings, broken=broken)


COMPANIES_OF = (
    "SELECT company_id, identifier, company_name, is_deleted "
    "FROM staging.stg_connectwise__companies WHERE company_id IN (SELECT unnest(?))"
)
SITES_OF = (
    "SELECT s.site_id, s.site_name, s.company_id, c.company_name, c.identifier "
    "FROM staging.stg_connectwise__sites AS s LEFT JOIN staging.stg_connectwise__companies "
    "AS c USING (company_id) WHERE s.site_id IN (SELECT unnest(?))"
)


def _by_key(request: Request, key: str, sql: str, ids: list) -> dict:
    return {row[key]: row for row in request.rows(sql, [sorted(set(ids))])} if ids else {}


def _involved(finding: dict, companies: dict, sites: dict, others: list[dict]) -> list[dict]:
    """Every record a wrong link is about: the ERP record (and a location's parent), the
    PSA company or site it names, the company the finding points at, and any other ERP
    customer on one of those companies."""

    def company(company_id: int | None, role: str) -> dict | None:
        if company_id is None:
            return None
        found = companies.get(company_id)
        if found is None:
            return {"what": "PSA company", "id": company_id, "label": "not in ConnectWise",
                    "role": role, "deleted": True}  # fmt: skip
        label = f'{found["identifier"]} "{found["company_name"]}"'
        return {"what": "PSA company", "id": company_id, "label": label, "role": role,
                "deleted": found["is_deleted"]}  # fmt: skip

    kind = finding["kind"]
    records = [{"what": f"ERP {kind}", "id": finding["customer_number"],
                "label": finding["customer_name"], "role": "this record"}]  # fmt: skip
    if kind == "location":
        records.append({"what": "ERP customer", "id": finding["parent_number"], "label": "",
                        "role": "its parent"})  # fmt: skip
        if finding["claimed_id"] is not None:
            site = sites.get(finding["claimed_id"])
            records.append({
                "what": "PSA site", "id": finding["claimed_id"], "role": "it is linked to",
                "label": f'"{site["site_name"]}" of company {site["identifier"]} '
                         f'"{site["company_name"]}"' if site else "not in ConnectWise",
            })  # fmt: skip
        records.append(company(finding["parent_company_id"], "its parent's company"))
    else:
        records.append(company(finding["claimed_id"], "it is linked to"))
    if finding["finding_company_id"] not in (finding["claimed_id"], finding["parent_company_id"]):
        records.append(company(finding["finding_company_id"], "the finding is about"))
    ids = {r["id"] for r in records if r and r["what"] == "PSA company"}
    records += [
        {"what": "ERP customer", "id": o["customer_number"], "label": o["customer_name"],
         "role": f"also on company {o['on_company']}"}
        for o in others
        if o["on_company"] in ids and o["customer_number"] != finding["customer_number"]
    ]  # fmt: skip
    return [r for r in records if r]


SEARCH_LIMIT = 50


def search(request: Request) -> Response:
    """The PSA companies (for a location: sites) matching a name, number, phone or
    postcode, to link the ERP record to the one chosen."""
    kind = request.query.get("kind", "customer")
    if kind not in decisions.KINDS:
        raise HTTPError(400, f"Search for a customer or a location, not {kind!r}.")
    number = _landed(request, kind, request.query.get("customer", ""))
    (record,) = request.rows(
        "SELECT customer_number, customer_name, address, city, zip, phone "
        "FROM staging.stg_eautomate__customers WHERE customer_number = ?",
        [number],
    )
    text = request.query.get("q", "").strip()
    found = _search(request, kind, text) if text else []
    return request.render(
        "search.html", kind=kind, record=record, q=text, found=found, limit=SEARCH_LIMIT,
        back=url("/search", kind=kind, customer=number, q=text), target=TARGETS[kind],
    )  # fmt: skip


def _search(request: Request, kind: str, text: str) -> list[dict]:
    """Companies (or sites) whose name or first address line contains ``text``, whose
    id, Company ID or account number it is, whose phone number holds its digits (four or
    more), or whose postcode starts with it; live ones and name matches first."""
    if kind == "customer":
        records = (
            "SELECT company_id AS id, identifier, account_number, company_name AS name, "
            "address_line1, city, zip, phone_number, status, is_deleted "
            "FROM staging.stg_connectwise__companies"
        )
    else:
        records = (
            "SELECT s.site_id AS id, c.identifier, c.account_number, "
            "c.company_name || ': ' || s.site_name AS name, s.address_line1, s.city, s.zip, "
            "s.phone_number, CASE WHEN s.is_inactive THEN 'inactive' END AS status, "
            "coalesce(c.is_deleted, false) AS is_deleted FROM staging.stg_connectwise__sites "
            "AS s LEFT JOIN staging.stg_connectwise__companies AS c USING (company_id)"
        )
    return request.rows(
        f"SELECT * FROM ({records}) WHERE name ILIKE '%' || $text || '%' "
        "OR address_line1 ILIKE '%' || $text || '%' OR CAST(id AS VARCHAR) = $text "
        "OR upper(identifier) = upper($text) OR upper(account_number) = upper($text) "
        "OR (length($digits) >= 4 AND regexp_replace(coalesce(phone_number, ''), '[^0-9]', "
        "'', 'g') LIKE '%' || $digits || '%') "
        "OR (length($postcode) >= 3 AND replace(upper(coalesce(zip, '')), ' ', '') "
        "LIKE $postcode || '%') "
        f"ORDER BY is_deleted, name NOT ILIKE '%' || $text || '%', name LIMIT {SEARCH_LIMIT}",
        {
            "text": text,
            "digits": "".join(ch for ch in text if ch.isdigit()),
            "postcode": text.replace(" ", "").upper(),
        },
    )


def exclusions(request: Request) -> Response:
    """Customers an operator left out (with who, when and why), and those the
    configuration or the ERP leaves out."""
    by_operator = request.rows(
        "SELECT record_key AS customer_number, reason, excluded_by, excluded_at "
        "FROM sync.exclusions WHERE flow = ? ORDER BY record_key",
        [CUSTOMER_SYNC],
    )
    try:
        by_rule = request.rows(
            "SELECT customer_number, customer_name, exclusion_reason FROM marts.mapped_customers "
            "WHERE is_excluded AND customer_number NOT IN "
            "(SELECT record_key FROM sync.exclusions WHERE flow = ?) ORDER BY customer_number",
            [CUSTOMER_SYNC],
        )
    except Exception:
        by_rule = []
    return request.render("exclusions.html", by_operator=by_operator, by_rule=by_rule)


def exclude(request: Request) -> Response:
    customer = _landed(request, "customer", request.field("customer"))
    reason = request.field("reason")
    if not reason:
        raise HTTPError(400, "Say why the customer is left out, for the next person.")
    with request.deciding() as con:
        decisions.exclude(con, CUSTOMER_SYNC, "eautomate", customer, reason, by=request.user)
    request.notice(f"Customer {customer} is excluded from customer-sync; {NEXT_RUN}.")
    return redirect("/exclusions")


def include(request: Request) -> Response:
    customer = request.field("customer")
    with request.deciding() as con:
        taken_back = decisions.include(con, CUSTOMER_SYNC, customer)
    request.notice(
        f"Customer {customer} is back in customer-sync; {NEXT_RUN}."
        if taken_back
        else f"Customer {customer} was not excluded by an operator."
    )
    return redirect("/exclusions")


ERROR_FILTERS = ("flow", "owner", "code", "status")


def errors(request: Request) -> Response:
    """The errors view (``sync.errors``), filtered by flow, owner, code and status."""
    chosen = {name: request.query.get(name, "") for name in ERROR_FILTERS}
    chosen["status"] = chosen["status"] or "open"
    where, params = ["true"], []
    for name in ("flow", "owner", "code"):
        if chosen[name]:
            where.append(f"{name} = ?")
            params.append(chosen[name])
    if chosen["status"] != "all":
        where.append("status = ?")
        params.append(chosen["status"])
    rows = request.rows(
        "SELECT error_id, flow, owner, code, label, record_id, message, fix, status, url, "
        f"last_seen_at, times_seen FROM sync.errors WHERE {' AND '.join(where)} "
        "ORDER BY flow, owner, code, coalesce(label, record_id) LIMIT 1000",
        params,
    )
    choices = {
        name: [r["v"] for r in request.rows(
            f"SELECT DISTINCT {name} AS v FROM sync.errors ORDER BY 1")]
        for name in ("flow", "owner", "code")
    }  # fmt: skip
    choices["status"] = ["open", "resolved", "all"]
    return request.render("errors.html", rows=rows, chosen=chosen, choices=choices)


def error(request: Request, error_id: str) -> Response:
    """One failure in full: when it was first and last seen, how often, and reported; and
    every record that waits on it (the e-mail names the first few)."""
    found = request.rows("SELECT * FROM sync.errors WHERE error_id = ?", [error_id])
    if not found:
        raise HTTPError(404, f"No failure {error_id}.")
    e = found[0]
    held: list[dict] = []
    for source in waiting_records.SOURCES:
        if source.flow != e["flow"]:
            continue
        cause = (e["system"], e["entity"], e["record_id"])
        with contextlib.suppress(NotBuilt):  # its models were dropped or not built since
            held += [r for r in waiting_records.read(request.rows, source, cause)
                     if r["code"] == e["code"]]  # fmt: skip
    return request.render("error.html", e=e, held=held)


def conflicts(request: Request) -> Response:
    """Open conflicts per linked customer: each field's base, ERP and PSA values side by
    side, and a choice per field, all settled with one submit; and every field's direction
    set for good, by an operator or by crosswalk.toml."""
    rows = request.rows(
        "SELECT c.conflict_id, c.kind, c.source_key, c.target_key, c.field, c.base_value, "
        "c.erp_value, c.psa_value, c.raised_at, c.resolution, c.resolved_value, c.resolved_by "
        "FROM sync.conflicts AS c WHERE c.settled_at IS NULL "
        "ORDER BY c.kind, c.source_key, c.field"
    )
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["source_key"], row["target_key"]), []).append(row)
    try:
        decided = request.rows(
            "SELECT * FROM sync.field_owners ORDER BY customer_number = ?, customer_number, "
            "field", [decisions.ALL_CUSTOMERS],
        )  # fmt: skip
    except NotBuilt:  # a warehouse from before sync.field_owners: no decision yet
        decided = []
    configured = request.app.settings.flows.customer_sync.owners()
    return request.render(
        "conflicts.html", groups=groups, decided=decided, configured=configured,
        every=decisions.ALL_CUSTOMERS, fields=SYNC_FIELDS,
    )  # fmt: skip


def resolve(request: Request) -> Response:
    """Each field's choice: ``erp`` (ERP -> PSA), ``psa`` (PSA -> ERP), ``value`` (the
    typed value on both sides) or nothing yet; and, per field, its direction for good
    (``own-ID``: ``erp`` or ``psa``, for ``customer`` or for ``all``); all chosen ones in
    one transaction."""
    chosen, owned = [], []
    for name, values in request.form.items():
        if name.startswith("own-") and values[0]:
            conflict_id = name.removeprefix("own-")
            owner, _, scope = values[0].partition(":")
            if (
                not conflict_id.isdigit()
                or owner not in decisions.TAKES
                or scope not in ("customer", "all")
            ):
                raise HTTPError(400, f"Not a direction: {name}={values[0]}.")
            owned.append((int(conflict_id), owner, scope))
        if not name.startswith("take-") or not values[0]:
            continue
        conflict_id = name.removeprefix("take-")
        if not conflict_id.isdigit() or values[0] not in ("erp", "psa", "value"):
            raise HTTPError(400, f"Not a choice: {name}={values[0]}.")
        typed = request.field(f"value-{conflict_id}")
        if values[0] == "value" and not typed:
            raise HTTPError(400, f"Conflict {conflict_id}: type the value to keep.")
        chosen.append((int(conflict_id), values[0], typed))
    if not chosen and not owned:
        request.notice("Nothing chosen: pick a direction or a value for a field first.")
        return redirect("/conflicts")
    fields = {
        row["conflict_id"]: row
        for row in request.rows(
            "SELECT conflict_id, source_key, field FROM sync.conflicts "
            "WHERE settled_at IS NULL AND list_contains(?, conflict_id)",
            [[conflict_id for conflict_id, _, _ in owned]],
        )
    } if owned else {}  # fmt: skip
    try:
        with request.deciding() as con:
            for conflict_id, take, typed in chosen:
                decisions.resolve_conflict(
                    con, conflict_id,
                    take=None if take == "value" else take,
                    value=typed if take == "value" else None,
                    by=request.user,
                )  # fmt: skip
            for conflict_id, owner, scope in owned:
                if conflict_id not in fields:
                    raise LookupError(f"no open conflict {conflict_id}")
                decisions.set_field_owner(
                    con, fields[conflict_id]["field"], owner,
                    customer=fields[conflict_id]["source_key"] if scope == "customer" else None,
                    by=request.user, note="set in the inbox",
                )  # fmt: skip
    except LookupError as exc:
        raise HTTPError(409, f"{exc}: another decision or a run settled it; nothing was "
                             "changed.") from None  # fmt: skip
    said = [f"{len(chosen)} field(s) decided"] if chosen else []
    said += [f"{len(owned)} field(s) given a direction for good"] if owned else []
    request.notice(f"{'; '.join(said)}; {NEXT_RUN} to both systems.")
    return redirect("/conflicts")


def own(request: Request) -> Response:
    """A field's direction for good (``owner``: ``erp`` or ``psa``), for one customer (and
    its locations) or, without one, for every customer; ``owner=config`` forgets the
    decision, and crosswalk.toml's field_owners decides again."""
    field, owner = request.field("field"), request.field("owner")
    customer = request.field("customer")
    if customer == decisions.ALL_CUSTOMERS:
        customer = ""
    if customer and owner != "config":
        _landed(request, "customer or location", customer)
    try:
        with request.deciding() as con:
            said = decisions.own_field(
                con, field, owner, customer=customer or None, by=request.user,
                note=request.field("note") or "set in the inbox",
            )  # fmt: skip
    except ValueError as exc:
        raise HTTPError(400, f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
    request.notice(said)
    return redirect("/conflicts")


def login_form(request: Request) -> Response:
    if not request.app.config.users:
        return redirect("/")
    return request.render("login.html", next=request.query.get("next", "/"), problem=None)


def login(request: Request) -> Response:
    target = inside(request.field("next", "/"), "/")
    if request.app.sign_in(request, request.field("user"), request.field("password")):
        return redirect(target)
    return request.render(
        "login.html", status=401, next=target, problem="Wrong user name or password."
    )


def logout(request: Request) -> Response:
    request.session.clear()
    request.session.update(request.app.sessions.new())
    return redirect(url("/login") if request.app.config.users else "/")


def waiting(request: Request) -> Response:
    """What each flow holds back (tickets, agreement invoices, sales orders, phone calls),
    under the failure it waits on, grouped as the failure report groups them: by owner,
    then code; each cause with its fix, its page, how many wait on it and the first of
    them (``WAITING_LISTED``), the first ``WAITING_CAUSES`` causes of each code."""
    chosen = request.query.get("flow", "")
    if chosen and chosen not in waiting_records.FLOWS:
        raise HTTPError(404, f"No flow {chosen!r} holds records back.")
    flows = []
    for source in waiting_records.SOURCES:
        if chosen and source.flow != chosen:
            continue
        try:
            records = waiting_records.read(request.rows, source, first=WAITING_LISTED)
            count = waiting_records.held(request.rows, source)
        except NotBuilt:
            flows.append({"source": source, "built": False, "count": 0, "groups": []})
            continue
        groups = [
            (owner, code, codes.title(code), causes[:WAITING_CAUSES], len(causes))
            for owner, code, causes in report.by_owner_and_code(
                waiting_records.causes(source, records)
            )
        ]
        flows.append({"source": source, "built": True, "count": count, "groups": groups})
    return request.render("waiting.html", flows=flows, chosen=chosen)


ROUTES = [
    ("GET", "/", today),
    ("GET", "/suggestions", suggestions),
    ("POST", "/suggestions/link", link),
    ("POST", "/suggestions/reject", reject),
    ("GET", "/links", links),
    ("POST", "/links/set", link),
    ("POST", "/links/unlink", unlink),
    ("POST", "/links/reset", reset),
    ("GET", "/search", search),
    ("GET", "/exclusions", exclusions),
    ("POST", "/exclusions/add", exclude),
    ("POST", "/exclusions/remove", include),
    ("GET", "/waiting", waiting),
    ("GET", "/errors", errors),
    ("GET", "/errors/(?P<error_id>[0-9a-f]{1,64})", error),
    ("GET", "/conflicts", conflicts),
    ("POST", "/conflicts", resolve),
    ("POST", "/conflicts/owner", own),
    ("GET", "/login", login_form),
    ("POST", "/login", login),
    ("POST", "/logout", logout),
]
