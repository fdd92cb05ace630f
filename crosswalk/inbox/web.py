"""The inbox's WSGI application: requests, sessions, authentication, CSRF, routing and
rendering. The pages themselves are in ``crosswalk.inbox.pages``.

Every request opens the warehouse (one read-only connection for its reads, a transaction
for a decision) and closes it before it answers: a flow run needs the file to itself
(DuckDB: one writer process), so the inbox never holds it between requests. While a run
holds the warehouse, pages read the read copy its last run left (crosswalk/runlock.py),
and a decision waits a moment for the run, then says in one line which run holds it and
gives the form back as it was sent. Requests are served in threads at once: reads share
the warehouse, a decision has it alone (``Access``).
"""

from __future__ import annotations

import getpass
import hmac
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import duckdb
import jinja2

from crosswalk.inbox.auth import Sessions, verify_password
from crosswalk.runlock import WarehouseBusy
from crosswalk.warehouse import Warehouse, rows

if TYPE_CHECKING:
    from crosswalk.config import Settings

COOKIE = "crosswalk_inbox"
MAX_FORM_BYTES = 256 * 1024
HEADERS = [
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]  # fmt: skip
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # every value is text: a customer named <script> is shown, not run
    undefined=jinja2.StrictUndefined,
)


class HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class NotBuilt(Exception):
    """A mart the page reads does not exist yet: no run of its flow built it."""


class Access:
    """Many requests read the warehouse at once; a decision waits until none reads and
    writes it alone. In one process DuckDB refuses a read-write connection to a file while
    a read-only one is open (and the reverse), and two decisions at once could conflict on
    a key or on ``migrate``'s tables. One per application: a process serves one inbox."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writing = False
        self._waiting = 0  # decisions waiting: no new reader goes before them

    def start_reading(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: not self._writing and not self._waiting)
            self._readers += 1

    def stop_reading(self) -> None:
        with self._changed:
            self._readers -= 1
            self._changed.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._changed:
            self._waiting += 1
            try:
                self._changed.wait_for(lambda: not self._writing and not self._readers)
            finally:
                self._waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()


@dataclass
class Response:
    body: str = ""
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


def redirect(location: str) -> Response:
    """After a POST, back to a page with GET (a reload does not decide twice)."""
    return Response(status=303, headers=[("Location", location)])


@dataclass
class Request:
    app: Inbox
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, list[str]]
    session: dict
    user: str | None = None
    # One read-only connection for the request's reads, closed when it is answered.
    _reading: duckdb.DuckDBPyConnection | None = None
    _deciding: bool = False

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0].strip() if values else default

    def notice(self, message: str) -> None:
        """Said once, on the next page shown."""
        self.session["notice"] = message

    def rows(self, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
        if self._deciding:  # it would wait for its own decision forever (Access)
            raise RuntimeError("inside deciding(), read through the decision's connection")
        if self._reading is None:
            if not self.app.warehouse.path.exists():
                raise NotBuilt(f"no warehouse at {self.app.warehouse.path}")
            self.app.access.start_reading()
            try:
                self._reading = self.app.warehouse.open_reading()
            except BaseException:
                self.app.access.stop_reading()
                raise
        try:
            return rows(self._reading, sql, params or [])
        except duckdb.CatalogException as exc:
            raise NotBuilt(str(exc).splitlines()[0]) from None

    def done_reading(self) -> None:
        if self._reading is not None:
            reading, self._reading = self._reading, None
            try:
                reading.close()
            finally:
                self.app.access.stop_reading()

    @contextmanager
    def deciding(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction for a decision through ``crosswalk.decisions``, inside the run
        lock (the CLI's path; WarehouseBusy while a run holds it); the request's reading
        connection is closed first (DuckDB: one configuration per file in a process), and
        no other request reads or decides meanwhile (``Access``)."""
        self.done_reading()
        wait = self.app.settings.warehouse.minutes_to_wait_for_decision
        with self.app.access.writing():
            self._deciding = True
            try:
                with self.app.warehouse.deciding("decision", wait) as con:
                    yield con
            finally:
                self._deciding = False

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        body = TEMPLATES.get_template(template).render(
            csrf=self.session["csrf"],
            user=self.user,
            notice=self.session.pop("notice", None),
            path=self.path,
            query=self.query,
            url=url,
            **values,
        )
        return Response(body, status)


def busy(request: Request, message: str) -> Response:
    """A run holds the warehouse: ``message`` says which; a decision's form comes back as
    it was sent, to send again once the run has ended."""
    if request.method != "POST":
        return request.render("problem.html", status=503, title="The warehouse is busy",
                              message=message)  # fmt: skip
    kept = [(name, value) for name, values in request.form.items() if name != "csrf"
            for value in values]  # fmt: skip
    back = inside(request.field("back"), request.path.rsplit("/", 1)[0] or request.path)
    return request.render("busy.html", status=503, title="The warehouse is busy",
                          message=message, kept=kept, back=back)  # fmt: skip


def inside(target: str, default: str) -> str:
    """Where to go back to: only a page of the inbox."""
    return target if target.startswith("/") and not target.startswith("//") else default


def url(path: str, **params: Any) -> str:
    """``path`` with the query ``params`` that have a value."""
    given = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(given)}" if given else path


Handler = Callable[..., Response]


class Inbox:
    """The WSGI application over one configuration's warehouse."""

    def __init__(self, settings: Settings, secret: bytes | None = None):
        self.settings = settings
        self.config = settings.inbox
        self.warehouse = Warehouse(settings.warehouse.path)
        self.sessions = Sessions(secret or secrets.token_bytes(32))
        self.access = Access()
        self.local_user = getpass.getuser()
        self.secure_cookie = bool(self.config.base_url and self.config.base_url.startswith("https"))
        from crosswalk.inbox import pages

        self.routes: list[tuple[str, re.Pattern, Handler]] = [
            (method, re.compile(f"^{pattern}$"), handler)
            for method, pattern, handler in pages.ROUTES
        ]

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        request = self._request(environ)
        try:
            response = self._respond(request, environ)
        except HTTPError as exc:
            response = request.render(
                "problem.html", status=exc.status, title=HTTPStatus(exc.status).phrase,
                message=exc.message,
            )  # fmt: skip
        except NotBuilt as exc:
            response = request.render(
                "problem.html", status=200, title="Nothing to show yet",
                message="No run has built what this page reads yet: run `crosswalk run "
                f"customer-sync` (or `crosswalk run all`) first. ({exc})",
            )  # fmt: skip
        except WarehouseBusy as exc:
            response = busy(request, str(exc))
        except duckdb.IOException as exc:
            response = busy(request, "A flow is running and holds the warehouse; reload in a "
                                     f"moment. ({exc})")  # fmt: skip
        finally:
            request.done_reading()  # a run may need the file: never held between requests
        cookie = SimpleCookie()
        cookie[COOKIE] = self.sessions.dump(request.session)
        morsel = cookie[COOKIE]
        morsel["path"], morsel["httponly"], morsel["samesite"] = "/", True, "Strict"
        morsel["secure"] = self.secure_cookie
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            *HEADERS,
            *response.headers,
            ("Set-Cookie", morsel.OutputString()),
        ]
        body = response.body.encode("utf-8")
        status = HTTPStatus(response.status)
        start_response(f"{status.value} {status.phrase}", headers)
        return [body]

    def _request(self, environ: dict) -> Request:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        session = self.sessions.load(cookie[COOKIE].value if COOKIE in cookie else None)
        form: dict[str, list[str]] = {}
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_FORM_BYTES:
                length = 0
            form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        return Request(
            app=self,
            method=method,
            path=environ.get("PATH_INFO", "/") or "/",
            query=query,
            form=form,
            session=session or self.sessions.new(),
        )

    def _respond(self, request: Request, environ: dict) -> Response:
        if request.method not in ("GET", "POST"):
            raise HTTPError(405, "Only GET (to read) and POST (to decide) are served.")
        if request.method == "POST":
            token = request.field("csrf")
            if not token or not hmac.compare_digest(token, request.session["csrf"]):
                raise HTTPError(403, "This form has no valid CSRF token: reload the page and "
                                     "try again.")  # fmt: skip
        request.user = self._user(request, environ)
        if request.user is None and request.path != "/login":
            return redirect(url("/login", next=request.path))
        for method, pattern, handler in self.routes:
            if method == request.method and (found := pattern.match(request.path)):
                return handler(request, **found.groupdict())
        raise HTTPError(404, f"There is no page {request.path}.")

    def _user(self, request: Request, environ: dict) -> str | None:
        """Who is deciding: the proxy's user, the signed-in user, or on loopback without
        authentication the account the inbox runs as."""
        if self.config.proxy_user_header:
            key = "HTTP_" + self.config.proxy_user_header.upper().replace("-", "_")
            if not environ.get(key):
                raise HTTPError(401, f"No {self.config.proxy_user_header} header: sign in "
                                     "through the proxy.")  # fmt: skip
            return environ[key]
        if self.config.users:
            user = request.session.get("user")
            return user if user in self.config.users else None
        return self.local_user

    def sign_in(self, request: Request, name: str, password: str) -> bool:
        stored = self.config.users.get(name)
        if stored is None or not verify_password(password, stored):
            return False
        request.session.clear()
        request.session.update(self.sessions.new(name))  # a new CSRF token with the new user
        return True
