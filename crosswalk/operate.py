"""essensys Operate REST client: transport only (specs/operate-connect.md).

Bearer key (the approver key, when configured, only for approving), ``page``/``per_page``
paging, and the calls the charge import makes: read the landed collections, look batch
sheets and their lines up by their keys, create and append, complete and approve, and
mark accounts sent to Connect.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from crosswalk.essensys import EssensysClient

API = "api/v1"
# Landed entity -> collection.
ENDPOINTS: dict[str, str] = {
    "locations": "locations",
    "accounts": "accounts",
    "applications": "applications",
    "account_codes": "account-codes",
    "product_groups": "product-groups",
    "products": "products",
    "device_import_maps": "device-import-maps",
}


class Operate(EssensysClient):
    system = "operate"

    def __init__(self, base_url: str, api_key: str, approver_key: str | None = None, **kwargs):
        super().__init__(base_url.rstrip("/") + "/" + API, api_key, **kwargs)
        self.approver = (
            EssensysClient(base_url.rstrip("/") + "/" + API, approver_key, **kwargs)
            if approver_key
            else None
        )
        if self.approver:
            self.approver.http.system = self.system

    @classmethod
    def from_settings(cls, config, secrets: Mapping[str, Any]) -> Operate:
        """From ``[systems.operate]`` and its resolved secrets."""
        approver = secrets.get("approver_key")
        return cls(
            config.base_url,
            secrets["api_key"].get_secret_value(),
            approver.get_secret_value() if approver else None,
            page_size=config.page_size,
            timeout=config.timeout_seconds,
            per_minute=config.requests_per_minute,
        )

    def collection(self, entity: str, updated_since: str | None = None) -> Iterator[list[dict]]:
        return self.pages(ENDPOINTS[entity], updated_since=updated_since)

    # --- batch sheets -------------------------------------------------------------------

    def find_sheets(self, location_id: int, product_group_id: int, batch_date: str) -> list[dict]:
        return self.records(
            "batch-sheets",
            location_id=location_id,
            product_group_id=product_group_id,
            batch_date=batch_date,
        )

    def sheet(self, sheet_id: int) -> dict[str, Any]:
        return self.get(f"batch-sheets/{sheet_id}")

    def sheet_lines(self, sheet_id: int) -> Iterator[list[dict]]:
        return self.pages(f"batch-sheets/{sheet_id}/lines")

    def create_sheet(self, sheet: Mapping[str, Any]) -> dict[str, Any]:
        return self.post("batch-sheets", sheet)

    def append_lines(self, sheet_id: int, lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self.post(f"batch-sheets/{sheet_id}/lines", {"lines": list(lines)})

    def update_sheet(self, sheet_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Approving needs the approver key: used for any change that approves."""
        client = self.approver if "approved" in changes and self.approver else self
        return client.patch(f"batch-sheets/{sheet_id}", changes)

    # --- accounts -----------------------------------------------------------------------

    def update_account(self, account_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.patch(f"accounts/{account_id}", changes)

    def add_account_code(self, account_id: int, application_id: int, code: str) -> dict:
        return self.post(
            f"accounts/{account_id}/account-codes", {"application_id": application_id, "code": code}
        )
