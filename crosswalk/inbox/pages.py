"""The inbox's pages: each reads the marts and ``sync`` tables a run left, and each decision
is a POST that goes through ``crosswalk.decisions`` (what the CLI does), records who made it,
and takes effect on the flow's next run."""

from __future__ import annotations

from crosswalk import decisions
from crosswalk.errors import OWNER_TITLES, Owner
from crosswalk.inbox.web import HTTPError, Request, Response, redirect, url

CUSTOMER_SYNC = "customer-sync"
NEXT_RUN = "the next `crosswalk run customer-sync` applies it"


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
    return request.render(
        "today.html",
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


def _known(request: Request, customer: str, company: str) -> tuple[str, str]:
    """The customer and company named in a form, refused unless the last run landed both."""
    if not customer or not company.isdigit():
        raise HTTPError(400, "Give an ERP customer number and a PSA company id.")
    if not request.rows(
        "SELECT 1 FROM marts.mapped_customers WHERE customer_number = ?", [customer]
    ):
        raise HTTPError(404, f"No ERP customer {customer} in the last customer-sync.")
    if not request.rows("SELECT 1 FROM raw_connectwise.companies WHERE id = ?", [int(company)]):
        raise HTTPError(404, f"No PSA company {company} in the last customer-sync.")
    return customer, company


def link(request: Request) -> Response:
    """Confirm a suggestion, or link an unmapped customer to a company typed in."""
    customer, company = _known(request, request.field("customer"), request.field("company"))
    with request.deciding() as con:
        decisions.set_link(
            con, "customer", customer, company, made_by="operator",
            note=request.field("note") or "confirmed in the inbox", decided_by=request.user,
        )  # fmt: skip
    request.notice(f"Linked customer {customer} to PSA company {company}; {NEXT_RUN}.")
    return redirect("/suggestions")


def reject(request: Request) -> Response:
    customer, company = _known(request, request.field("customer"), request.field("company"))
    with request.deciding() as con:
        decisions.reject_suggestion(
            con, customer, company, by=request.user, note=request.field("note") or None
        )
    request.notice(f"Customer {customer} and PSA company {company} will not be suggested again.")
    return redirect("/suggestions")


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
    customer = request.field("customer")
    if not customer or not request.rows(
        "SELECT 1 FROM marts.mapped_customers WHERE customer_number = ?", [customer]
    ):
        raise HTTPError(404, f"No ERP customer {customer!r} in the last customer-sync.")
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
    """One failure in full: when it was first and last seen, how often, and reported."""
    found = request.rows("SELECT * FROM sync.errors WHERE error_id = ?", [error_id])
    if not found:
        raise HTTPError(404, f"No failure {error_id}.")
    return request.render("error.html", e=found[0])


def conflicts(request: Request) -> Response:
    """Open conflicts per linked customer: each field's base, ERP and PSA values side by
    side, and a choice per field, all settled with one submit."""
    rows = request.rows(
        "SELECT c.conflict_id, c.kind, c.source_key, c.target_key, c.field, c.base_value, "
        "c.erp_value, c.psa_value, c.raised_at, c.resolution, c.resolved_value, c.resolved_by "
        "FROM sync.conflicts AS c WHERE c.settled_at IS NULL "
        "ORDER BY c.kind, c.source_key, c.field"
    )
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["kind"], row["source_key"], row["target_key"]), []).append(row)
    return request.render("conflicts.html", groups=groups)


def resolve(request: Request) -> Response:
    """Each field's choice: ``erp`` (ERP -> PSA), ``psa`` (PSA -> ERP), ``value`` (the
    typed value on both sides) or nothing yet; all chosen ones in one transaction."""
    chosen = []
    for name, values in request.form.items():
        if not name.startswith("take-") or not values[0]:
            continue
        conflict_id = name.removeprefix("take-")
        if not conflict_id.isdigit() or values[0] not in ("erp", "psa", "value"):
            raise HTTPError(400, f"Not a choice: {name}={values[0]}.")
        typed = request.field(f"value-{conflict_id}")
        if values[0] == "value" and not typed:
            raise HTTPError(400, f"Conflict {conflict_id}: type the value to keep.")
        chosen.append((int(conflict_id), values[0], typed))
    if not chosen:
        request.notice("Nothing chosen: pick a direction or a value for a field first.")
        return redirect("/conflicts")
    try:
        with request.deciding() as con:
            for conflict_id, take, typed in chosen:
                decisions.resolve_conflict(
                    con, conflict_id,
                    take=None if take == "value" else take,
                    value=typed if take == "value" else None,
                    by=request.user,
                )  # fmt: skip
    except LookupError as exc:
        raise HTTPError(409, f"{exc}: another decision or a run settled it; nothing was "
                             "changed.") from None  # fmt: skip
    request.notice(f"{len(chosen)} field(s) decided; {NEXT_RUN} to both systems.")
    return redirect("/conflicts")


def login_form(request: Request) -> Response:
    if not request.app.config.users:
        return redirect("/")
    return request.render("login.html", next=request.query.get("next", "/"), problem=None)


def login(request: Request) -> Response:
    target = request.field("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # only back into the inbox
    if request.app.sign_in(request, request.field("user"), request.field("password")):
        return redirect(target)
    return request.render(
        "login.html", status=401, next=target, problem="Wrong user name or password."
    )


def logout(request: Request) -> Response:
    request.session.clear()
    request.session.update(request.app.sessions.new())
    return redirect(url("/login") if request.app.config.users else "/")


ROUTES = [
    ("GET", "/", today),
    ("GET", "/suggestions", suggestions),
    ("POST", "/suggestions/link", link),
    ("POST", "/suggestions/reject", reject),
    ("GET", "/exclusions", exclusions),
    ("POST", "/exclusions/add", exclude),
    ("POST", "/exclusions/remove", include),
    ("GET", "/errors", errors),
    ("GET", "/errors/(?P<error_id>[0-9a-f]{1,64})", error),
    ("GET", "/conflicts", conflicts),
    ("POST", "/conflicts", resolve),
    ("GET", "/login", login_form),
    ("POST", "/login", login),
    ("POST", "/logout", logout),
]
