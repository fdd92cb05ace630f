"""What the essensys APIs (Operate and Connect) share, for their two clients: a Bearer
key, ``page``/``per_page`` paging up to 500 records with ``{"data", "meta"}``, and errors
as ``{"error": {"code", "message", "fields"}}`` (specs/operate-connect.md). Retries,
throttling and typed errors come from :mod:`crosswalk.http`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from crosswalk.http import HttpClient, RetryPolicy

MAX_PAGE_SIZE = 500


def parse_error(response: requests.Response) -> tuple[str | None, str, str | None, list]:
    """``(code, message, field, details)``: the message names each field and its reason."""
    try:
        body = response.json()
    except ValueError:
        return None, (response.text or response.reason or "no body")[:500], None, []
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, str(body)[:500], None, []
    fields = error.get("fields") if isinstance(error.get("fields"), dict) else {}
    details = [{"field": name, "message": str(reason)} for name, reason in fields.items()]
    message = str(error.get("message") or response.reason or "")
    if details:
        message += ": " + "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return error.get("code"), message, next(iter(fields), None), details


class EssensysClient:
    """A session with one essensys API: ``pages`` reads a collection, the rest write."""

    system = "essensys"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        per_minute: int | None = None,
    ):
        self.page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
        self.http = HttpClient(
            self.system,
            base_url,
            {"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            retry=retry,
            per_minute=per_minute,
            parse_error=parse_error,
        )

    def pages(self, path: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """Every record of a collection, a page at a time (``params`` filter it)."""
        query = {k: v for k, v in params.items() if v is not None}
        page = 1
        while True:
            body = self.http.request(
                "GET", path, params={**query, "page": page, "per_page": self.page_size}
            ).json()
            records = body.get("data") or []
            if records:
                yield records
            total = int((body.get("meta") or {}).get("total") or 0)
            if len(records) < self.page_size or page * self.page_size >= total:
                return
            page += 1

    def records(self, path: str, **params: Any) -> list[dict[str, Any]]:
        return [record for page in self.pages(path, **params) for record in page]

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.http.request("GET", path, params=params).json()

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.http.request("POST", path, json=dict(body or {}), expected=(200, 201)).json()

    def patch(self, path: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.http.request("PATCH", path, json=dict(changes)).json()

    def delete(self, path: str) -> None:
        self.http.request("DELETE", path, expected=(200, 204))
