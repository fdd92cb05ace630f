"""ConnectWise Manage REST API 3.0 client: transport only (specs/connectwise-manage-api.md).

- Auth: Basic ``company+public:private`` and the integration's ``clientId`` on every call.
- The codebase comes from ``login/companyinfo/<company>`` unless the base URL already
  names it (``…/v4_6_release/apis/3.0``).
- Lists are read with forward-only paging (``pageId`` = the last id read), which never
  skips or repeats a record when others edit the set, up to 1,000 records a call.
- Condition values are quoted by :func:`literal`, so a name like ``O"Brien & Sons``
  neither breaks nor widens a query.
- Writes: POST (201), PATCH with ``replace``/``remove`` operations for changed fields
  only, DELETE (204). Retries, throttling and typed errors come from :mod:`crosswalk.http`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from crosswalk.http import CredentialsRefused, HttpClient, RetryPolicy, body

PAGE_SIZE = 1000
API_PATH = "apis/3.0"

# Landed entity -> collection path; "{id}" is the parent record of a child collection
# (the API has no collection of all sites or all additions).
ENDPOINTS: dict[str, str] = {
    "companies": "company/companies",
    "sites": "company/companies/{id}/sites",
    "contacts": "company/contacts",
    "agreements": "finance/agreements",
    "agreement_types": "finance/agreements/types",
    "billing_statuses": "finance/billingStatuses",
    "additions": "finance/agreements/{id}/additions",
    "invoices": "finance/invoices",
    "tickets": "service/tickets",
    "boards": "service/boards",
    "board_statuses": "service/boards/{id}/statuses",
    "time_entries": "time/entries",
    "project_tickets": "project/tickets",
    "projects": "project/projects",
    "project_phases": "project/projects/{id}/phases",
    "sales_orders": "sales/orders",
    "order_statuses": "sales/orders/statuses",
    "products": "procurement/products",
    "catalog_items": "procurement/catalog",
    "product_types": "procurement/types",
    "members": "system/members",
}


def literal(value: Any) -> str:
    """``value`` as a conditions literal: strings double-quoted with ``\\`` and ``"``
    escaped, date-times in brackets as UTC ``Z``, booleans and null bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return f"[{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def in_list(values: list[Any]) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


class ConnectWise:
    """A session with one ConnectWise Manage company."""

    def __init__(
        self,
        base_url: str,
        company: str,
        public_key: str,
        private_key: str,
        client_id: str,
        *,
        page_size: int = PAGE_SIZE,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        per_minute: int | None = None,
    ):
        token = base64.b64encode(f"{company}+{public_key}:{private_key}".encode()).decode()
        self.company = company
        self.page_size = min(max(page_size, 1), PAGE_SIZE)
        self.http = HttpClient(
            "connectwise",
            base_url,
            {
                "Authorization": f"Basic {token}",
                "clientId": client_id,
                "Accept": "application/vnd.connectwise.com+json; version=2025.1",
                "Content-Type": "application/json",
            },
            timeout=timeout,
            retry=retry,
            per_minute=per_minute,
        )
        self._api: str | None = base_url.rstrip("/") if API_PATH in base_url else None

    @classmethod
    def from_settings(cls, config, secrets: Mapping[str, Any]) -> ConnectWise:
        """From ``[systems.connectwise]`` and its resolved secrets."""
        return cls(
            config.base_url,
            config.company,
            secrets["public_key"].get_secret_value(),
            secrets["private_key"].get_secret_value(),
            config.client_id,
            page_size=config.page_size,
            timeout=config.timeout_seconds,
            per_minute=config.requests_per_minute,
        )

    @property
    def api(self) -> str:
        """``<site>/<codebase>/apis/3.0``, discovering the codebase on first use."""
        if self._api is None:
            info = self.http.request("GET", f"login/companyinfo/{self.company}").json()
            if not isinstance(info, dict) or not info.get("Codebase"):
                raise CredentialsRefused(
                    "connectwise",
                    f"company {self.company!r} is unknown at {self.http.base_url}",
                    request="GET login/companyinfo",
                )
            self._api = f"{self.http.base_url}/{info['Codebase'].strip('/')}/{API_PATH}"
        return self._api

    def _url(self, path: str) -> str:
        return f"{self.api}/{path.strip('/')}"

    # --- reads --------------------------------------------------------------------

    def pages(
        self,
        path: str,
        conditions: str | None = None,
        *,
        child_conditions: str | None = None,
        fields: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching record in id order, a page (up to 1,000) at a time.

        Forward-only paging asks for ``id > last id read``; it ends on a short page or
        when the ``Link`` header names no next page.
        """
        params: dict[str, Any] = {"pageSize": self.page_size}
        if conditions:
            params["conditions"] = conditions
        if child_conditions:
            params["childConditions"] = child_conditions
        if fields:
            params["fields"] = fields
        after = 0
        while True:
            response = self.http.request(
                "GET",
                self._url(path),
                params={**params, "pageId": after} if after else params,
                headers={"pagination-type": "forward-only"},
            )
            records = body(response)
            if records:
                yield records
            if len(records) < self.page_size or 'rel="next"' not in response.headers.get(
                "Link", ""
            ):
                return
            after = records[-1]["id"]

    def records(self, path: str, conditions: str | None = None, **kwargs) -> list[dict]:
        return [record for page in self.pages(path, conditions, **kwargs) for record in page]

    def get(self, path: str, record_id: int) -> dict[str, Any]:
        return self.http.request("GET", self._url(f"{path}/{record_id}")).json()

    def count(self, path: str, conditions: str | None = None) -> int:
        params = {"conditions": conditions} if conditions else None
        return int(
            self.http.request("GET", self._url(f"{path}/count"), params=params).json()["count"]
        )

    def find(self, path: str, **equals: Any) -> list[dict[str, Any]]:
        """Records whose fields equal the given values (``identifier="C001"``)."""
        condition = " and ".join(f"{k.replace('__', '/')}={literal(v)}" for k, v in equals.items())
        return self.records(path, condition)

    # --- writes -------------------------------------------------------------------

    def create(self, path: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return self.http.request("POST", self._url(path), json=dict(record), expected=(201,)).json()

    def patch(self, path: str, record_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Send only ``changes``: ``replace`` for a value, ``remove`` for None."""
        operations = [
            {"op": "remove", "path": key}
            if value is None
            else {"op": "replace", "path": key, "value": value}
            for key, value in changes.items()
        ]
        return self.http.request("PATCH", self._url(f"{path}/{record_id}"), json=operations).json()

    def delete(self, path: str, record_id: int) -> None:
        self.http.request("DELETE", self._url(f"{path}/{record_id}"), expected=(204,))
