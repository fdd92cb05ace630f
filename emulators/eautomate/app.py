"""ECI e-automate's PublicAPI as crosswalk carries it (specs/eautomate-api.md): JSON operations
posted to ``/PublicAPI/<Operation>``, served over the world's ``eautomate`` schema.

Every call carries ``AuthInfo`` (``User``, ``Password``, ``CompanyID``, ``Version``, and
``PartnerToken`` when the emulator is given one); anything else is a ``soap:Client`` fault.
Faults are HTTP 500 with ``{"Fault": {"faultcode", "faultstring", "detail"}}``; ``detail``
carries ``Code`` (``InvalidLogin``, ``InvalidRequest``, ``UnknownOperation``, ``NotFound``,
``Validation``, ``Duplicate``, ``InvalidState``, ``TooManyKeys`` for ``soap:Client``;
``ServerError``, ``ServerBusy`` for ``soap:Server``) and, where one record or field is at
fault, ``Key`` and ``Field``.

Injected faults: ``error`` is the ``soap:Server`` fault IIS answers when a request times out
inside the service; the spec has no 429, so ``throttle`` is a ``soap:Server`` "server busy"
fault (``Code`` ``ServerBusy``) with a ``Retry-After`` header, which is how an overloaded
ASP.NET service answers. Both say nothing about whether a write was applied, so a client
retries reads and treats a write's outcome as unknown. ``slow`` and ``drop`` are the
framework's.

The clock: the server's local time in the dealer's zone (``ZONE``), without offset. It never
goes backwards, and a stamp (``getCurrentTimeStamp``, a list's ``TimeStamp``) and every write's
``LastUpdate`` are taken under the store's write lock, so a write committed after a stamp was
handed out carries a ``LastUpdate`` at or after it: a delta read from a stamp misses nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from emulators.eautomate.operations import (
    KEEP_PROPERTIES,
    OPERATIONS,
    Operations,
    fault,
    fault_body,
)
from emulators.framework import ApiError, Request, Response, Store, json_response
from emulators.world.erp import ZONE

VERSION = re.compile(r"^\d{1,2}(\.\d{1,3}){0,3}$")
OLDEST_VERSION = (8, 7)  # CEO Juice's integration needs 8.7 or later


class Clock:
    """The server's wall clock in its zone, naive; each reading is later than the last (and
    than ``floor``), so no write shares its ``LastUpdate`` with a stamp handed out."""

    def __init__(self, zone: str, floor: datetime | None = None):
        self.zone = ZoneInfo(zone)
        self.last = floor or datetime.min

    def now(self) -> datetime:
        current = datetime.now(self.zone).replace(tzinfo=None)
        self.last = max(current, self.last + timedelta(microseconds=1))
        return self.last


class EAutomate:
    """The emulated ERP; one instance serves one ``Store``."""

    name = "eautomate"

    def __init__(
        self,
        store: Store,
        *,
        user: str = "api",
        password: str = "demo",
        company_id: str = "dealer",
        partner_token: str | None = None,
        zone: str = ZONE,
    ):
        if not store.one("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'eautomate' LIMIT 1"):
            raise ValueError(
                f"{store.path} has no eautomate schema: it was generated before the "
                "e-automate emulator existed; delete it (or use another data folder) to "
                "generate the world again"
            )
        store.prepare(KEEP_PROPERTIES)
        self.store = store
        self.user, self.password, self.company_id = user, password, company_id
        self.partner_token = partner_token
        (latest,) = store.one(
            "SELECT max(t) FROM (SELECT max(last_update) AS t FROM eautomate.customers"
            " UNION ALL SELECT max(last_update) FROM eautomate.contracts"
            " UNION ALL SELECT max(last_update) FROM eautomate.calls)"
        )
        self.clock = Clock(zone, latest)
        self.operations = Operations(store, self.clock)

    def restored(self) -> None:
        """The store holds an earlier state again (the chaos harness): numbers are handed
        out from what it holds, as they were the first time."""
        self.operations = Operations(self.store, self.clock)

    def fault(self, kind: str, retry_after: int) -> Response:
        if kind == "throttle":
            body = fault_body(
                "soap:Server",
                "Server was unable to process request. ---> The server is too busy; "
                "try again later.",
                "ServerBusy",
            )
            return json_response(body, 500, {"Retry-After": str(retry_after)})
        body = fault_body(
            "soap:Server",
            "Server was unable to process request. ---> Timeout expired. The timeout period "
            "elapsed prior to completion of the operation or the server is not responding.",
            "ServerError",
        )
        return json_response(body, 500)

    def handle(self, request: Request) -> Response:
        segments = request.segments
        if len(segments) != 2 or segments[0] != "publicapi":
            raise ApiError(404, {"Message": f"No HTTP resource was found at {request.path}."})
        if request.method != "POST":
            raise ApiError(
                405,
                fault_body("soap:Client", "PublicAPI operations are POSTed.", "InvalidRequest"),
            )
        body = request.json(fault("The request body is not JSON.", "InvalidRequest"))
        if not isinstance(body, dict):
            raise fault("The request body must be a JSON object.", "InvalidRequest")
        self.authenticate(body.get("AuthInfo"))
        operation = OPERATIONS.get(segments[1])
        if operation is None:
            raise fault(
                f"Server did not recognize the value of HTTP Header SOAPAction: "
                f"{request.path.rsplit('/', 1)[-1]}.",
                "UnknownOperation",
            )
        params = {k: v for k, v in body.items() if k != "AuthInfo"}
        return json_response(operation(self.operations, params))

    def authenticate(self, auth: object) -> None:
        if not isinstance(auth, dict):
            raise fault("AuthInfo is required.", "InvalidLogin", field="AuthInfo")
        user, password = auth.get("User"), auth.get("Password")
        company = auth.get("CompanyID")
        if (
            not isinstance(user, str)
            or user.lower() != self.user.lower()
            or password != self.password
            or not isinstance(company, str)
            or company.lower() != self.company_id.lower()
        ):
            raise fault(
                "Invalid login: the User, Password and CompanyID do not match a user of "
                "this company.",
                "InvalidLogin",
                field="AuthInfo",
            )
        version = auth.get("Version")
        if not isinstance(version, str) or not VERSION.match(version):
            raise fault(
                f"Version {version!r} is not an API version (e.g. '25.0').",
                "InvalidLogin",
                field="Version",
            )
        if tuple(int(part) for part in version.split(".")[:2]) < OLDEST_VERSION:
            raise fault(f"Version {version} is not supported.", "InvalidLogin", field="Version")
        if self.partner_token is not None and auth.get("PartnerToken") != self.partner_token:
            raise fault(
                "PartnerToken is not valid for this company.", "InvalidLogin", field="PartnerToken"
            )
