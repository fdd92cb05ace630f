"""HTTP mechanics every system client shares: one session, a request budget, retries
that know what is safe to repeat, and typed errors.

Retry rules (DESIGN.md section 5):
- 429 is always retried after ``Retry-After`` (the server did not act on the request);
- a connection that could not be opened is always retried (nothing was sent);
- 5xx, read timeouts and dropped connections are retried for idempotent calls (GET,
  PUT, PATCH, DELETE, or any call the client marks ``idempotent``, such as a read sent as
  a POST); for a POST the outcome is unknown, so :class:`OutcomeUnknown` is raised at once
  and the caller looks its deterministic key up before trying again;
- any other 4xx is the caller's problem and is never retried, and so is an error
  response the client's ``error_class`` names (an API that answers refusals with a 500).

Errors carry what an operator needs: the system, the HTTP status, the API's own code,
message and field, and the request that failed (never its credentials).

Every attempt and every retry is a DEBUG record on the ``crosswalk.http`` logger, with its
system, method, cause and wait as attributes (never a URL's query or a header):
:class:`Tally` counts them per system and checks each retry against the rules above.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import requests
from requests.auth import AuthBase

from crosswalk import money

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
log = logging.getLogger("crosswalk.http")


class RemoteError(Exception):
    """A call to a system failed; subclasses say whose problem it is."""

    kind = "transient"

    def __init__(
        self,
        system: str,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        request: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
    ):
        self.system = system
        self.status = status
        self.code = code
        self.field = field
        self.request = request
        self.details = list(details)
        self.message = message
        where = f" ({request})" if request else ""
        status_text = f"{status} " if status else ""
        super().__init__(f"{status_text}{code + ': ' if code else ''}{message}{where}")


class DataError(RemoteError):
    """The system refused the record or the query (a 4xx): fix the data, don't retry."""

    kind = "data"


class CredentialsRefused(RemoteError):
    """Credentials or permissions refused (401/403): a configuration problem."""

    kind = "config"


class NotFound(DataError):
    """The record does not exist (404)."""


class TransientError(RemoteError, ConnectionError):
    """Throttling, server errors or the network outlasted every retry (an OSError, so a
    Prefect task retries it later)."""


class SystemUnreachable(TransientError):
    """The system did not answer: connection refused, timed out or reset."""


class OutcomeUnknown(TransientError):
    """A non-idempotent call may or may not have been applied."""


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, capped; ``Retry-After`` wins when given."""

    attempts: int = 6
    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    max_retry_after: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    random: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_retry_after)
            except ValueError:
                pass
        return self.random.uniform(0, min(self.cap_seconds, self.base_seconds * 2**attempt))


class RequestBudget:
    """At most ``per_minute`` requests a minute from this client (None: no limit), so an
    integration stays under the system's throttling threshold instead of hitting it."""

    def __init__(self, per_minute: int | None):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


ErrorParser = Callable[[requests.Response], tuple[str | None, str, str | None, list]]
# Maps an error response (and the code parse_error read) to the error raised at once,
# never retried; None leaves the decision to the status.
ErrorClass = Callable[[requests.Response, str | None], "type[RemoteError] | None"]


def json_error(response: requests.Response) -> tuple[str | None, str, str | None, list]:
    """``(code, message, field, details)`` from a ``{code|error, message, errors}`` body."""
    try:
        body = response.json()
    except ValueError:
        return None, (response.text or response.reason or "no body")[:500], None, []
    if not isinstance(body, dict):
        return None, str(body)[:500], None, []
    details = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    message = str(body.get("message") or response.reason or "")
    if details:
        message += ": " + "; ".join(str(e.get("message", e)) for e in details)
    field_name = next((e.get("field") for e in details if e.get("field")), None)
    return body.get("code") or body.get("error"), message, field_name, details


class _Configured(AuthBase):
    """The credentials are the configuration's, in the client's headers or bodies. A
    session without an ``auth`` of its own looks for the host in ``~/.netrc`` (or
    ``$NETRC``) on every request and, when it is there, sends those credentials in place
    of the configured ``Authorization``."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


_CONFIGURED = _Configured()


class HttpClient:
    """One system's session: base URL, headers, timeout, request budget, retries."""

    def __init__(
        self,
        system: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        per_minute: int | None = None,
        parse_error: ErrorParser = json_error,
        error_class: ErrorClass | None = None,
        session: requests.Session | None = None,
    ):
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.budget = RequestBudget(per_minute)
        self.parse_error = parse_error
        self.error_class = error_class
        self.session = session or requests.Session()
        self.session.headers.update(headers or {})
        if self.session.auth is None:
            self.session.auth = _CONFIGURED
        self.calls = 0

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        expected: Sequence[int] = (200,),
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        """Send, retrying what is safe to retry; returns a response with an expected status.

        ``idempotent`` overrides what the method says: True for a read sent as a POST.
        A ``json`` body's Decimals go as the exact numbers they are (``money.dumps``)."""
        method = method.upper()
        body = None
        if json is not None:
            body = money.dumps(json).encode("utf-8")
            headers = {"Content-Type": "application/json", **(headers or {})}
        safe = method in IDEMPOTENT if idempotent is None else idempotent
        url = self.url(path)
        where = f"{method} {url.removeprefix(self.base_url) or '/'}"
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            self.budget.wait()
            self.calls += 1
            log.debug("%s %s", self.system, method, extra=self._event("request", method, safe))
            try:
                response = self.session.request(
                    method, url, params=params, data=body, headers=headers, timeout=self.timeout,
                    stream=True,
                )  # fmt: skip
                _read_whole(response)
            except requests.ConnectionError as exc:
                sent = not isinstance(exc, requests.ConnectTimeout) and not _refused(exc)
                if sent and not safe:
                    raise OutcomeUnknown(
                        self.system, f"connection lost: {exc}", request=where
                    ) from exc
                if last:
                    raise SystemUnreachable(
                        self.system, f"unreachable: {exc}", request=where
                    ) from exc
                self._wait(method, safe, "sent-lost" if sent else "not-sent", attempt)
                continue
            except requests.Timeout as exc:
                if not safe:
                    raise OutcomeUnknown(self.system, f"timed out: {exc}", request=where) from exc
                if last:
                    raise SystemUnreachable(
                        self.system, f"timed out: {exc}", request=where
                    ) from exc
                self._wait(method, safe, "timeout", attempt)
                continue
            status = response.status_code
            if status in expected:
                return response
            code, message, field_name, details = self.parse_error(response)
            error = dict(status=status, code=code, field=field_name, request=where, details=details)
            refused = self.error_class(response, code) if self.error_class else None
            if refused is not None:
                raise refused(self.system, message, **error)
            if status == 429 or status >= 500:
                if status >= 500 and not safe:
                    raise OutcomeUnknown(self.system, message, **error)
                if last:
                    raise TransientError(self.system, message, **error)
                retry_after = response.headers.get("Retry-After")
                self._wait(method, safe, str(status), attempt, retry_after)
                continue
            if status in (401, 403):
                raise CredentialsRefused(self.system, message, **error)
            if status == 404:
                raise NotFound(self.system, message, **error)
            if 200 <= status < 300:
                raise DataError(self.system, f"unexpected status {status}", **error)
            raise DataError(self.system, message, **error)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _event(self, event: str, method: str, safe: bool, **more: Any) -> dict[str, Any]:
        return {"http_event": event, "system": self.system, "method": method,
                "idempotent": safe, **more}  # fmt: skip

    def _wait(
        self, method: str, safe: bool, cause: str, attempt: int, retry_after: str | None = None
    ) -> None:
        wait = self.retry.delay(attempt, retry_after)
        log.debug(
            "%s %s: %s, retry %d in %.2f s", self.system, method, cause, attempt + 1, wait,
            extra=self._event("retry", method, safe, cause=cause, wait=wait,
                              retry_after=retry_after),
        )  # fmt: skip
        self.retry.sleep(wait)


class Tally(logging.Handler):
    """Counts the attempts and retries of every client in this process, per system, from
    the ``crosswalk.http`` records, and keeps every retry that broke a rule: a write whose
    outcome was unknown sent again, or a wait shorter than the ``Retry-After`` asked.

        with Tally.counting() as tally:
            ...
        tally.requests["connectwise"], tally.retries["connectwise"], tally.broken
    """

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.causes: Counter[tuple[str, str]] = Counter()
        self.broken: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "http_event", None)
        if event == "request":
            self.requests[record.system] += 1
            return
        if event != "retry":
            return
        self.retries[record.system] += 1
        self.causes[(record.system, record.cause)] += 1
        if not record.idempotent and record.cause not in ("429", "not-sent"):
            self.broken.append(f"{record.getMessage()}: a write retried after {record.cause}")
        if record.retry_after is not None:
            try:
                asked = float(record.retry_after)
            except ValueError:
                return
            if record.wait < min(asked, RetryPolicy.max_retry_after):
                self.broken.append(f"{record.getMessage()}: Retry-After was {asked} s")

    @classmethod
    @contextmanager
    def counting(cls) -> Iterator[Tally]:
        tally = cls()
        level, propagate = log.level, log.propagate
        log.addHandler(tally)
        # Counted here, not shown: the run's own log keeps its level.
        log.setLevel(logging.DEBUG)
        log.propagate = False
        try:
            yield tally
        finally:
            log.removeHandler(tally)
            log.setLevel(level)
            log.propagate = propagate


BODY_CHUNK = 1 << 20


def _read_whole(response: requests.Response) -> None:
    """The body read as ``response.content`` would read it (the same generator, so the
    same errors), but a megabyte a read rather than requests' 10 kB: a page of 1,000
    tickets took 130 reads and 1.1 to 1.5 ms of Python, now 0.5. A response that comes
    read already (a test's) is left as it is."""
    if response._content is False and response.raw is not None:
        response._content = b"".join(response.iter_content(BODY_CHUNK))
        response._content_consumed = True


def body(response: requests.Response) -> Any:
    """A response's JSON, parsed by orjson (a page of records several times faster than
    ``response.json()``); what orjson refuses (an integer beyond 64 bits, NaN) by json."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def _refused(exc: requests.ConnectionError) -> bool:
    """True when the connection never opened (nothing reached the server)."""
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text
