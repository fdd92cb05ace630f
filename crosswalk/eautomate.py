"""ECI e-automate PublicAPI client: transport only (specs/eautomate-api.md).

- One seam, :class:`Transport`: ``call(operation, params, idempotent=...)`` returns the
  operation's result. :class:`JsonTransport` carries it as JSON over HTTP (``POST
  {base}/PublicAPI/{Operation}`` with ``AuthInfo``); a SOAP transport can replace it
  without any flow noticing.
- Faults: ``soap:Client`` is the request's fault and is never retried: a login fault is
  :class:`CredentialsRefused`, a missing record :class:`NotFound`, anything else
  :class:`DataError` naming the record and the field. ``soap:Server`` faults, the
  "server busy" answer and dropped connections are retried with backoff for reads and
  for writes that are safe to repeat (partial saves, property sets); for a create the
  outcome is unknown (:class:`OutcomeUnknown`) and the caller looks its key up.
- Delta reads: :meth:`EAutomate.changes` takes the server's ``TimeStamp`` first, then lists
  the skinny rows changed at or after the given stamp; :meth:`EAutomate.details` fetches full
  records in bulk, at most 500 keys a call (falling back to one call per record where a
  server lacks the bulk operation).
- Time: e-automate speaks the dealer's local time without offset. :meth:`EAutomate.local`
  turns a UTC cursor into the server's spelling, :meth:`EAutomate.aware` and
  :meth:`EAutomate.with_offsets` give its date-times their offset, so nothing downstream
  has to know the zone.
"""

from __future__ import annotations

import copy
import functools
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import requests

from crosswalk.http import (
    CredentialsRefused,
    DataError,
    HttpClient,
    NotFound,
    RemoteError,
    RetryPolicy,
    body,
    json_error,
)

SYSTEM = "eautomate"
EVERYTHING = "1900-01-01T00:00:00"  # an empty TimeStamp is a fault, as in the real service
MAX_KEYS = 500
STAMP_REUSE = 60.0  # seconds one read of the server's clock serves (current_timestamp)
_LOCAL_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")


@functools.cache
def _dated(key: str) -> bool:
    """A field e-automate names as a date-time (``…Date``, ``LastUpdate``)."""
    return key.endswith("Date") or key == "LastUpdate"


class Transport(Protocol):
    """How operations reach the server; the only thing a SOAP transport would replace."""

    def call(self, operation: str, params: Mapping[str, Any], *, idempotent: bool) -> Any:
        """The operation's result; raises the typed errors of :mod:`crosswalk.http`."""
        ...


@dataclass(frozen=True)
class AuthInfo:
    user: str
    password: str
    company_id: str
    version: str = "25.0"
    partner_token: str | None = None

    def as_json(self) -> dict[str, str]:
        auth = {
            "User": self.user,
            "Password": self.password,
            "CompanyID": self.company_id,
            "Version": self.version,
        }
        if self.partner_token:
            auth["PartnerToken"] = self.partner_token
        return auth


def _fault(response: requests.Response) -> dict | None:
    try:
        body = response.json()
    except ValueError:
        return None
    fault = body.get("Fault") if isinstance(body, dict) else None
    return fault if isinstance(fault, dict) else None


def fault_error(response: requests.Response) -> tuple[str | None, str, str | None, list]:
    """``(code, message, field, details)`` of a ``{"Fault": {...}}`` body: the detail's
    ``Code`` and ``Field``, the fault string naming the record."""
    fault = _fault(response)
    if fault is None:
        return json_error(response)
    detail = fault.get("detail") if isinstance(fault.get("detail"), dict) else {}
    message = str(fault.get("faultstring") or response.reason or "fault")
    key = detail.get("Key")
    if key and str(key) not in message:
        message = f"{key}: {message}"
    code = detail.get("Code") or fault.get("faultcode")
    return code, message, detail.get("Field"), [{"faultcode": fault.get("faultcode"), **detail}]


def fault_class(response: requests.Response, code: str | None) -> type[RemoteError] | None:
    """``soap:Client`` faults are final; ``soap:Server`` ones are left to the retry rules."""
    fault = _fault(response)
    if fault is None or fault.get("faultcode") != "soap:Client":
        return None
    if code == "InvalidLogin":
        return CredentialsRefused
    if code == "NotFound":
        return NotFound
    return DataError


class JsonTransport:
    """PublicAPI operations as JSON: ``POST {base}/PublicAPI/{Operation}``."""

    def __init__(
        self,
        base_url: str,
        auth: AuthInfo,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        per_minute: int | None = None,
        session: requests.Session | None = None,
    ):
        self.auth = auth.as_json()
        self.http = HttpClient(
            SYSTEM,
            base_url,
            {"Content-Type": "application/json", "Accept": "application/json"},
            timeout=timeout,
            retry=retry,
            per_minute=per_minute,
            parse_error=fault_error,
            error_class=fault_class,
            session=session,
        )

    def call(self, operation: str, params: Mapping[str, Any], *, idempotent: bool) -> Any:
        response = self.http.request(
            "POST",
            f"PublicAPI/{operation}",
            json={"AuthInfo": self.auth, **params},
            idempotent=idempotent,
        )
        return body(response)


@dataclass(frozen=True)
class Changes:
    """A delta read: the server's stamp taken before it, and the skinny rows it listed."""

    stamp: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Detail:
    """How one record type is listed and fetched."""

    list_operation: str
    key: str  # the key field of a list row
    bulk: str | None = None  # bulk detail operation and its parameter
    bulk_parameter: str = ""
    single: str | None = None  # one-record operation and its parameter
    single_parameter: str = ""


DETAILS: dict[str, Detail] = {
    "customers": Detail("getCustomerList", "CustomerNumber", "getCustomerDataList",
                        "CustomerNumbers", "getCustomer", "CustomerNumber"),
    "technicians": Detail("getTechnicianList", "TechnicianNumber"),  # list rows are whole
    "items": Detail("getItemList", "Item", "getItemDataList", "Items", "getItem", "Item"),
    "contracts": Detail("getContractList", "ContractID", "getContractDataList", "ContractIDs",
                        "getContract", "ContractID"),
    "calls": Detail("getCallList", "CallNumber", "getCallDataList", "CallNumbers", "getCall",
                    "CallNumber"),
    "sales_orders": Detail("getSalesOrderList", "SONumber", "getSalesOrderDataList",
                           "SONumbers", "getSalesOrder", "SONumber"),
}  # fmt: skip
CODE_LISTS = ("CustomerType", "Branch", "Territory", "ContractType", "CallType", "CallStatus",
              "BillCode", "ActivityCode", "SalesCode", "InventoryCode", "ExpenseCode")  # fmt: skip


class EAutomate:
    """A session with one e-automate company."""

    def __init__(
        self, transport: Transport, *, time_zone: str = "America/New_York", chunk: int = MAX_KEYS
    ):
        self.transport = transport
        self.zone = ZoneInfo(time_zone)
        self.chunk = min(max(chunk, 1), MAX_KEYS)
        self._no_bulk: set[str] = set()
        self._offsets: dict[str, str] = {}  # by hour (``YYYY-MM-DDTHH``)
        self._spelt: dict[timedelta | None, str] = {}  # an offset as ISO 8601 spells it
        self._stamp: tuple[float, str] | None = None

    @classmethod
    def from_settings(
        cls, config, secrets: Mapping[str, Any], retry: RetryPolicy | None = None
    ) -> EAutomate:
        """From ``[systems.eautomate]`` and its resolved secrets."""
        token = secrets.get("partner_token")
        auth = AuthInfo(
            config.user,
            secrets["password"].get_secret_value(),
            config.company_id,
            config.version,
            token.get_secret_value() if token else None,
        )
        transport = JsonTransport(
            config.base_url,
            auth,
            timeout=config.timeout_seconds,
            retry=retry,
            per_minute=config.requests_per_minute,
        )
        return cls(transport, time_zone=config.time_zone, chunk=config.page_size)

    def call(self, operation: str, *, idempotent: bool, **params: Any) -> Any:
        return self.transport.call(operation, params, idempotent=idempotent)

    def read(self, operation: str, **params: Any) -> Any:
        return self.call(operation, idempotent=True, **params)

    # --- time ---------------------------------------------------------------------------

    def local(self, moment: str | datetime) -> str:
        """A date-time as the server spells it: local wall-clock time, no offset (a naive
        value is taken as UTC, as crosswalk's cursors are)."""
        value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo("UTC"))
        return value.astimezone(self.zone).replace(tzinfo=None).isoformat()

    def aware(self, local: str) -> str:
        """A server date-time with the dealer's offset (``…T10:00:00-05:00``); a time in
        the hour repeated when clocks go back is taken as the first of the two."""
        offset = self._offset(local)
        if offset is None:
            raise ValueError(f"{local!r} is not a local date-time")
        return local + offset

    def _offset(self, local: str) -> str | None:
        """The dealer's offset at the local date-time ``local``, as ISO 8601 spells it
        (None: no calendar has its hour). Offsets change on the hour: one zone lookup an
        hour (``_offsets``, by ``YYYY-MM-DDTHH``), each distinct offset spelt once. An hour
        the offset changes within is looked up a value at a time (its ``_offsets`` entry
        empty): Lord Howe Island's clocks go forward half an hour at 2:00, so its 2:00 to
        2:29 that day take the offset before and 2:30 to 2:59 the one after."""
        hour = local[:13]
        offset = self._offsets.get(hour)
        if offset is None:  # the hour's first lookup
            try:
                start = datetime.fromisoformat(f"{hour}:00")
            except ValueError:
                return None
            end = start.replace(minute=59, second=59, microsecond=999_999)
            delta = self.zone.utcoffset(start)
            whole = delta == self.zone.utcoffset(end)
            offset = self._offsets[hour] = self._spell(delta) if whole else ""
        if offset:
            return offset
        try:
            return self._spell(self.zone.utcoffset(datetime.fromisoformat(local)))
        except ValueError:
            return None

    def _spell(self, delta: timedelta | None) -> str:
        """An offset as ISO 8601 spells it (``-05:00``), spelt once."""
        spelt = self._spelt.get(delta)
        if spelt is None:
            moment = datetime(2000, 1, 1, tzinfo=timezone(delta or timedelta(0)))
            spelt = self._spelt[delta] = moment.isoformat()[19:]
        return spelt

    def instant(self, local: str) -> datetime:
        """A server date-time as an aware UTC datetime."""
        return datetime.fromisoformat(self.aware(local)).astimezone(UTC)

    def with_offsets(self, value: Any, *, in_place: bool = False) -> Any:
        """A record (or a list of them) with every local date-time given its offset;
        dates stay dates.

        e-automate names its date-time fields ``…Date`` or ``LastUpdate``; only those are
        looked at. A date-time of an hour no calendar has (February 30th) is left as it
        is, for validation to quarantine its record. A copy, unless ``in_place``: records
        that are the caller's own (a page just parsed) get their offsets where they are.
        The walk is the costliest step of reading calls (a page of 500 has thousands of
        labor times), so it looks the hour's offset up itself rather than through
        :meth:`aware`."""
        if not in_place:
            value = copy.deepcopy(value)
        offsets, spell, local = self._offsets, self._offset, _LOCAL_DATETIME.match

        def walk(value: Any) -> None:
            if type(value) is list:
                for item in value:
                    if type(item) is dict or type(item) is list:
                        walk(item)
                return
            for key, field in value.items():  # replacing a key's value keeps the dict's size
                kind = type(field)
                if kind is str:
                    if _dated(key) and local(field):
                        offset = offsets.get(field[:13]) or spell(field)
                        if offset is not None:
                            value[key] = field + offset
                elif kind is dict or kind is list:
                    walk(field)

        if type(value) is dict or type(value) is list:
            walk(value)
        return value

    # --- reads --------------------------------------------------------------------------

    def current_timestamp(self) -> str:
        """The server's clock, read once for the entities a run lists together: a stamp
        taken before a list is read is a safe cursor for it, however much earlier (the
        next run reads a little more again), so one read serves for ``STAMP_REUSE`` s."""
        now = time.monotonic()
        if self._stamp is None or now - self._stamp[0] > STAMP_REUSE:
            self._stamp = (now, self.read("getCurrentTimeStamp")["TimeStamp"])
        return self._stamp[1]

    def changes(self, entity: str, since: str | None) -> Changes:
        """Rows of ``entity`` changed at or after ``since`` (the server's local spelling;
        None: everything), with the server's stamp taken before the list was read."""
        stamp = self.current_timestamp()
        listed = self.read(DETAILS[entity].list_operation, TimeStamp=since or EVERYTHING)
        return Changes(stamp, list(listed.get("Details") or []))

    def details(self, entity: str, keys: Sequence[Any]) -> Iterator[list[dict[str, Any]]]:
        """Full records for ``keys``, one bulk call per chunk of at most 500; records gone
        since they were listed are left out."""
        spec = DETAILS[entity]
        for start in range(0, len(keys), self.chunk):
            chunk = list(keys[start : start + self.chunk])
            if spec.bulk and entity not in self._no_bulk:
                try:
                    found = self.read(spec.bulk, **{spec.bulk_parameter: chunk})
                    yield list(found.get("Details") or [])
                    continue
                except DataError as exc:
                    if exc.code != "UnknownOperation":
                        raise
                    self._no_bulk.add(entity)  # this server has no bulk read: one by one
            records = []
            for key in chunk:
                try:
                    records.append(self.read(spec.single, **{spec.single_parameter: key}))
                except NotFound:
                    continue
            yield records

    def customer(self, number: str) -> dict[str, Any]:
        return self.read("getCustomer", CustomerNumber=number)

    def customers_by_property(self, name: str, value: str) -> list[dict[str, Any]]:
        found = self.read("GetCustomerByCustomAttribute", Attribute=name, AttributeValue=value)
        return list(found.get("Details") or [])

    def custom_property_attributes(self, group: str) -> list[dict[str, Any]]:
        return self.read("getCustomPropertyAttributes", GroupType=group)

    def code_list(self, list_type: str) -> list[dict[str, Any]]:
        """A code list: one of :data:`CODE_LISTS`, ``HoldCode`` (calls) or ``OnHoldCode``
        (customers and sales orders)."""
        if list_type == "HoldCode":
            found = self.read("getHoldCodeList")
        elif list_type == "OnHoldCode":
            found = self.read("getOnHoldCodeList")
        else:
            found = self.read("getCodeList", ListType=list_type)
        return list(found.get("Details") or [])

    def item(self, item: str) -> dict[str, Any]:
        return self.read("getItem", Item=item)

    def contract(self, contract_id: int) -> dict[str, Any]:
        return self.read("getContract", ContractID=contract_id)

    def contract_invoices(self, contract_id: int) -> list[dict[str, Any]]:
        return self.read("getContractInvoices", ContractID=contract_id)

    def call_record(self, number: str) -> dict[str, Any]:
        return self.read("getCall", CallNumber=number)

    def sales_order(self, number: str) -> dict[str, Any]:
        return self.read("getSalesOrder", SONumber=number)

    # --- writes -------------------------------------------------------------------------
    # Saves send only the fields given (a partial save) and are safe to repeat; creates
    # are not: after an unknown outcome the caller looks the record up by its key.

    def add_customer(self, customer: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("addCustomer", idempotent=False, Customer=dict(customer))

    def save_customer(self, number: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.call(
            "saveCustomer", idempotent=True, Customer={**changes, "CustomerNumber": number}
        )

    def set_custom_properties(
        self, group: str, key: str | int, values: Mapping[str, str | None]
    ) -> list[dict[str, Any]]:
        """Set (or, with None, remove) custom properties; returns the record's full list."""
        properties = [{"Name": name, "Value": value or ""} for name, value in values.items()]
        return self.call(
            "setCustomProperties", idempotent=True, GroupType=group, Key=key, Properties=properties
        )

    def add_item(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("addItem", idempotent=False, ItemData=dict(item))

    def save_item(self, item_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("saveItem", idempotent=True, ItemData={**changes, "ItemID": item_id})

    def add_contract_from_template(
        self,
        template: str,
        customer: str,
        start: str,
        *,
        expires: str | None = None,
        bill_to: str | None = None,
        po_number: str | None = None,
        remarks: str | None = None,
        lines: Sequence[Mapping[str, Any]] | None = None,
        number: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A contract copied from the ``**CW <type>`` template; ``lines`` are
        ``{Item, Description, Quantity, Rate}`` (the template's lines when None)."""
        params: dict[str, Any] = {
            "TemplateNumber": template,
            "CustomerNumber": customer,
            "StartDate": start,
            "ExpDate": expires,
            "BillToNumber": bill_to,
            "PONumber": po_number,
            "Remarks": remarks,
            "ContractNumber": number,
            "Details": [dict(line) for line in lines] if lines is not None else None,
            "CustomProperties": [{"Name": k, "Value": v} for k, v in properties.items()]
            if properties
            else None,
        }
        params = {k: v for k, v in params.items() if v is not None}
        return self.call("addContractFromTemplate", idempotent=False, **params)

    def save_contract(self, contract_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.call(
            "saveContract", idempotent=True, Contract={**changes, "ContractID": contract_id}
        )

    def renew_contract(self, contract_id: int) -> dict[str, Any]:
        return self.call("renewContract", idempotent=False, ContractID=contract_id)

    def terminate_contract(self, contract_id: int, code: str) -> dict[str, Any]:
        return self.call(
            "terminateContract", idempotent=True, ContractID=contract_id, TerminationCode=code
        )

    def add_call(self, call: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("addCall", idempotent=False, Call=dict(call))

    def save_call(self, number: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        return self.call("saveCall", idempotent=True, Call={**changes, "CallNumber": number})

    def save_sales_order(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """Create (no ``SONumber``) or partially update a sales order."""
        return self.call(
            "saveSalesOrder", idempotent=bool(order.get("SONumber")), SalesOrder=dict(order)
        )
