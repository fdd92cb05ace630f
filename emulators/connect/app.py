"""essensys Connect's REST API as specs/operate-connect.md shapes it, over the world's
``connect`` tables: clients (created "Awaiting Provisioning"; a second client with the
same billing reference on the same site is 409; converting is a person's job) and each
site's call-logger export, rendered on download (``exports.py``).
"""

from __future__ import annotations

from datetime import timedelta

from emulators import rest
from emulators.connect import exports
from emulators.framework import Request, Response, json_response

API = ["api"]
KEYS = {"demo-connect": "user"}
TYPES = ("Residential", "Virtual")
MAX_EXPORT_DAYS = 366

CLIENTS = rest.Collection(
    "client",
    "SELECT id, name, type, status, "
    f"{rest.iso('start_date')} AS start_date, {rest.iso('end_date')} AS end_date, "
    f"billing_reference, site_id, {rest.iso('updated_at')} AS updated_at FROM connect.clients",
    filters={
        "billing_reference": ("billing_reference", "VARCHAR"),
        "site_id": ("site_id", "BIGINT"),
        "status": ("status", "VARCHAR"),
    },
)
SITES = rest.Collection("site", "SELECT id, name FROM connect.sites", updated=None)


class Connect(rest.System):
    """The emulated telephony system; one instance serves one ``Store``."""

    name = "connect"
    default_keys = KEYS

    def handle(self, request: Request) -> Response:
        segments = request.segments
        if segments[:1] != API:
            raise rest.error(404, "not_found", f"no API at {request.path}")
        rest.authenticate(request, self.keys)
        path, method = segments[1:], request.method
        if path == ["clients"]:
            if method == "GET":
                return CLIENTS.list(self.store, request)
            if method == "POST":
                return self.create_client(request)
        elif len(path) == 2 and path[0] == "clients":
            if method == "GET":
                return CLIENTS.record(self.store, rest.record_id(path[1], "client"))
        elif len(path) == 3 and path[0] == "clients" and path[2] == "convert":
            if method == "POST":
                return self.convert(rest.record_id(path[1], "client"))
        elif path == ["sites"]:
            if method == "GET":
                return SITES.list(self.store, request)
        elif len(path) == 3 and path[0] == "sites" and path[2] == "call-logs":
            if method == "GET":
                return self.call_logs(request, rest.record_id(path[1], "site"))
        else:
            raise rest.error(404, "not_found", f"no resource at {request.path}")
        raise rest.error(405, "method_not_allowed", f"{method} is not allowed on {request.path}")

    def create_client(self, request: Request) -> Response:
        body = rest.body_object(request)
        problems: dict[str, str] = {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            problems["name"] = "required, 1 to 100 characters"
        if body.get("type") not in TYPES:
            problems["type"] = f"must be one of {', '.join(TYPES)}, got {body.get('type')!r}"
        moments = {}
        for key in ("start_date", "end_date"):
            try:
                moments[key] = rest.parse_moment(body.get(key), key)
            except rest.ApiError as exc:
                problems.update(exc.body["error"]["fields"])
        if len(moments) == 2 and moments["end_date"] < moments["start_date"]:
            problems["end_date"] = "must not be before start_date"
        reference = body.get("billing_reference")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 50):
            problems["billing_reference"] = "text of at most 50 characters"
        with self.store.write() as cur:
            site = body.get("site_id")
            if (
                not isinstance(site, int)
                or not cur.execute("SELECT 1 FROM connect.sites WHERE id = ?", [site]).fetchone()
            ):
                problems["site_id"] = f"site {site!r} does not exist"
            if problems:
                raise rest.invalid(problems)
            if reference:
                clash = cur.execute(
                    "SELECT id FROM connect.clients WHERE site_id = ? AND billing_reference = ?",
                    [site, reference],
                ).fetchone()
                if clash:
                    raise rest.error(
                        409, "duplicate_billing_reference",
                        f"client {clash[0]} on site {site} already has billing reference "
                        f"{reference!r}",
                        {"billing_reference": f"already used by client {clash[0]}"},
                    )  # fmt: skip
            new_id = rest.next_id(cur, "connect.clients")
            cur.execute(
                "INSERT INTO connect.clients "
                "VALUES (?, ?, ?, 'Awaiting Provisioning', ?, ?, ?, ?, ?)",
                [new_id, name.strip(), body["type"], moments["start_date"], moments["end_date"],
                 reference, site, rest.now()],
            )  # fmt: skip
            doc = CLIENTS.document(self.store, new_id, cur)
        return json_response(doc, 201)

    def convert(self, client: int) -> Response:
        with self.store.write() as cur:
            doc = CLIENTS.document(self.store, client, cur)
            if doc["status"] == "Active":
                raise rest.error(409, "already_active", f"client {client} is already Active")
            cur.execute(
                "UPDATE connect.clients SET status = 'Active', updated_at = ? WHERE id = ?",
                [rest.now(), client],
            )
            doc = CLIENTS.document(self.store, client, cur)
        return json_response(doc)

    def call_logs(self, request: Request, site: int) -> Response:
        if not self.store.one("SELECT 1 FROM connect.sites WHERE id = ?", [site]):
            raise rest.not_found("site", site)
        first = rest.parse_date(request.param("from"), "from", status=400)
        last = rest.parse_date(request.param("to"), "to", status=400)
        if last < first:
            raise rest.error(400, "bad_request", "to is before from", {"to": "before from"})
        if last - first > timedelta(days=MAX_EXPORT_DAYS):
            raise rest.error(
                400, "bad_request", f"at most {MAX_EXPORT_DAYS} days per export",
                {"to": f"more than {MAX_EXPORT_DAYS} days after from"},
            )  # fmt: skip
        fmt = (request.param("format") or "generic").lower()
        if fmt not in exports.FORMATS:
            raise rest.error(
                400, "bad_request", f"format must be one of {', '.join(exports.FORMATS)}",
                {"format": f"unknown format {fmt!r}"},
            )  # fmt: skip
        text = exports.render(self.store, site, first, last, fmt)
        name = f"site-{site}-{first:%Y%m%d}-{last:%Y%m%d}-{fmt}.csv"
        return Response(
            200,
            text,
            {
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )
