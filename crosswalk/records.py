"""How people name a record and open it in its own system, for failure reports.

A report line names the record the way its users know it (the ERP customer number, the
ticket number, the company's Company ID) and, where the system has a web address for
a record, links to it. ConnectWise Manage opens any record by type and id through its
``openrecord.rails`` router; the specs (../shared/specs/) do not document it, so the
address is our convention, built from the configured ``base_url`` and company.
e-automate is a desktop application and Operate's records have no documented address,
so their lines carry the label and the id only; a failure on an ERP record links to the
PSA company it is about, where there is one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from crosswalk.config import ConnectWiseConfig, Settings
from crosswalk.entities import flatten

SYSTEM_NAMES = {
    "connectwise": "ConnectWise Manage",
    "eautomate": "e-automate",
    "operate": "Operate",
    "connect": "Connect",
    "calllogs": "call logs",
    "crosswalk": "crosswalk",
}


@dataclass(frozen=True)
class RecordKind:
    """``noun`` and the fields that name a record: ``number`` (what users search by)
    and ``name``; ``link`` is the ConnectWise record type that opens it."""

    noun: str
    number: str
    name: str | None = None
    number_title: str = "id"
    prefix: str = ""
    link: str | None = None


KINDS: dict[tuple[str, str], RecordKind] = {
    ("connectwise", "companies"): RecordKind(
        "company", "identifier", "name", "Company ID", link="CompanyFV"
    ),
    ("connectwise", "agreements"): RecordKind("agreement", "id", "name", link="AgreementFV"),
    ("connectwise", "tickets"): RecordKind(
        "ticket", "id", "summary", "ticket number", prefix="#", link="ServiceFV"
    ),
    ("eautomate", "customers"): RecordKind(
        "customer", "customer_number", "customer_name", "customer number"
    ),
    # A customer with a parent: e-automate keeps it among customers, people call it this.
    ("eautomate", "locations"): RecordKind(
        "location", "customer_number", "customer_name", "location number"
    ),
    ("eautomate", "contracts"): RecordKind("contract", "contract_number", None, "contract number"),
    ("eautomate", "calls"): RecordKind("call", "call_number", None, "call number"),
    ("eautomate", "items"): RecordKind("item", "item", "description", "item number"),
    ("eautomate", "technicians"): RecordKind(
        "technician", "technician_number", None, "technician number"
    ),
    ("operate", "accounts"): RecordKind("account", "id", "name"),
    ("calllogs", "calls"): RecordKind("call-log line", "source", number_title="file and line"),
}


def record_id(key: str | None, record: dict[str, Any]) -> str:
    """The id a failure names a record by: its primary key as read, or, when the record
    has none, a fingerprint of its content (the same record read again has the same)."""
    if key:
        return key
    text = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)
    return "unkeyed-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def noun(system: str, entity: str) -> str:
    kind = KINDS.get((system, entity))
    return kind.noun if kind else entity.removesuffix("s")


def label(
    system: str,
    entity: str,
    record: dict[str, Any] | None,
    rid: str,
    source: str | None = None,
) -> str:
    """``customer ACME01 "Acme Copier & Print"``; a record without its number says so and
    where it was read (``customer (no customer number) "…", customers.json#10``)."""
    kind = KINDS.get((system, entity))
    row = flatten(record) if record else {}
    if kind is None:
        return f"{entity.removesuffix('s')} {rid}"
    number = row.get(kind.number)
    if number in (None, ""):
        number = None if rid.startswith("unkeyed-") or kind.number != "id" else rid
    shown = f"{kind.prefix}{number}" if number else f"(no {kind.number_title})"
    text = f"{kind.noun} {shown}"
    name = row.get(kind.name) if kind.name else None
    if name not in (None, ""):
        text += f' "{name}"'
    if number is None and source:
        text += f", {source}"
    return text


def link(settings: Settings, system: str, entity: str, rid: str) -> str | None:
    """The record's web address where its system has one."""
    kind = KINDS.get((system, entity))
    config = settings.systems.connectwise
    if not (kind and kind.link and system == "connectwise" and config and rid.isdigit()):
        return None
    return connectwise_link(config, kind.link, rid)


def connectwise_link(config: ConnectWiseConfig, record_type: str, rid: str) -> str:
    """``<site>/<codebase>/services/system_io/router/openrecord.rails?...&recid=<id>``."""
    site = config.base_url.split("/apis/", 1)[0].rstrip("/")
    if "/" not in site.split("://", 1)[-1]:  # a bare site: on-premise servers answer this codebase
        site += "/v4_6_release"
    query = urlencode(
        {"locale": "en_US", "companyName": config.company, "recordType": record_type},
        quote_via=quote,
    )
    return f"{site}/services/system_io/router/openrecord.rails?{query}&recid={quote(rid)}"
