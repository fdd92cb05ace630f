"""essensys Connect REST client: transport only (specs/operate-connect.md).

Bearer key, ``page``/``per_page`` paging; clients looked up by billing reference and
created, and each site's call-log export downloaded to a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from crosswalk.essensys import EssensysClient

API = "api"


class Connect(EssensysClient):
    system = "connect"

    def __init__(self, base_url: str, api_key: str, **kwargs):
        super().__init__(base_url.rstrip("/") + "/" + API, api_key, **kwargs)

    @classmethod
    def from_settings(cls, config, secrets: Mapping[str, Any]) -> Connect:
        """From ``[systems.connect]`` and its resolved secrets."""
        return cls(
            config.base_url,
            secrets["api_key"].get_secret_value(),
            page_size=config.page_size,
            timeout=config.timeout_seconds,
            per_minute=config.requests_per_minute,
        )

    def clients(self, billing_reference: str | None = None, site_id: int | None = None) -> list:
        return self.records("clients", billing_reference=billing_reference, site_id=site_id)

    def create_client(self, client: Mapping[str, Any]) -> dict[str, Any]:
        return self.post("clients", client)

    def download_call_log(
        self, site_id: int, first: date, last: date, fmt: str, target: Path
    ) -> Path:
        """The site's calls started from ``first`` to ``last`` in ``fmt``, saved as ``target``."""
        response = self.http.request(
            "GET",
            f"sites/{site_id}/call-logs",
            params={"from": first.isoformat(), "to": last.isoformat(), "format": fmt},
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(response.content)
        return target
