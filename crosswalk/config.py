"""crosswalk.toml: one validated configuration for every flow.

Secrets never live in the file. A secret setting is a reference, either
``{ env = "VARIABLE" }`` or ``{ prefect_secret = "block-name" }``, resolved when a
flow starts so that a missing variable is reported by name before any work is done.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from crosswalk.calllogs import BUILT_IN, Layout

CONFIG_ENV = "CROSSWALK_CONFIG"
WAREHOUSE_ENV = "CROSSWALK_WAREHOUSE"
DEFAULT_CONFIG = Path("crosswalk.toml")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(Exception):
    """A configuration problem; the message names the file, the key and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret lives: an environment variable or a Prefect Secret block."""

    env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Prefect's block names: lower-case letters, digits and dashes.
    prefect_secret: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")

    @model_validator(mode="before")
    @classmethod
    def _not_the_secret_itself(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                'give a reference, { env = "VARIABLE" } or { prefect_secret = "block" }, '
                "never the secret itself"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.prefect_secret is None):
            raise ValueError("set exactly one of 'env' or 'prefect_secret'")
        return self

    def describe(self) -> str:
        if self.env:
            return f"environment variable {self.env}"
        return f"Prefect Secret block {self.prefect_secret!r}"

    def resolve(self, key: str) -> SecretStr:
        """The secret's value; ``key`` is the setting's dotted name, used in errors. The
        value is remembered for ``redact`` (crosswalk/errors.py)."""
        if self.env:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{key}: environment variable {self.env} is not set")
        else:
            from prefect.blocks.system import Secret  # a block load needs the Prefect API

            try:
                value = str(Secret.load(self.prefect_secret).get())
            except ValueError as exc:
                raise ConfigError(
                    f"{key}: Prefect Secret block {self.prefect_secret!r} not found"
                ) from exc
        _resolved.add(value)
        return SecretStr(value)


# Every secret value this process resolved: what is redacted from messages and reports.
_resolved: set[str] = set()


def resolved_secrets() -> set[str]:
    return set(_resolved)


HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/@]+(/\S*)?$")]
# user:password@ in a URL: credentials written into the configuration.
URL_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")


class SystemConfig(_Strict):
    """What every system shares: where it is, and an optional folder of exported records.

    ``fixtures`` makes extraction read JSON exports (``<folder>/<system>/<entity>.json``,
    in the API's own shape) instead of calling the API: for offline loads and the
    demo until a system's client exists.
    """

    base_url: HttpUrl
    fixtures: Path | None = None
    page_size: int = Field(default=1000, ge=1, le=1000)
    timeout_seconds: float = Field(default=30, gt=0)
    # Stay under the system's throttling threshold; None sends as fast as answers come.
    requests_per_minute: int | None = Field(default=None, ge=1)

    def secrets(self) -> dict[str, SecretRef]:
        return {name: value for name, value in self if isinstance(value, SecretRef)}


class ConnectWiseConfig(SystemConfig):
    company: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    public_key: SecretRef
    private_key: SecretRef


class EAutomateConfig(SystemConfig):
    company_id: str = Field(min_length=1)
    user: str = Field(min_length=1)
    password: SecretRef
    # AuthInfo.Version and, for a registered partner, AuthInfo.PartnerToken.
    version: str = Field(default="25.0", pattern=r"^\d{1,2}(\.\d{1,3}){0,3}$")
    partner_token: SecretRef | None = None
    # e-automate's date-times are the dealer's local time without offset.
    time_zone: str = "America/New_York"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class OperateConfig(SystemConfig):
    api_key: SecretRef
    approver_key: SecretRef | None = None


class ConnectConfig(SystemConfig):
    api_key: SecretRef


class Systems(_Strict):
    connectwise: ConnectWiseConfig | None = None
    eautomate: EAutomateConfig | None = None
    operate: OperateConfig | None = None
    connect: ConnectConfig | None = None


# At most this long a decision waits for a run holding the warehouse before it is refused.
DECISION_WAIT_SECONDS = 5.0


class WarehouseConfig(_Strict):
    """``[warehouse]``: the DuckDB file, what a run does when another run holds it
    (crosswalk/runlock.py): wait for it, at most ``wait_minutes``, or refuse at once, and
    how much memory DuckDB may take in a run (``memory_limit``, DuckDB's spelling: "1GB",
    "1500MB", "2GiB"; beyond it DuckDB works from files beside the warehouse; "" leaves
    DuckDB's own default, 80% of the machine)."""

    path: Path = Path("data/warehouse.duckdb")
    when_busy: Literal["wait", "refuse"] = "wait"
    wait_minutes: float = Field(default=60, ge=0)
    memory_limit: str = Field(
        default="1GB", pattern=r"^(|\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB))$"
    )

    @property
    def minutes_to_wait(self) -> float:
        return self.wait_minutes if self.when_busy == "wait" else 0

    @property
    def minutes_to_wait_for_decision(self) -> float:
        """An operator's decision waits for a run as a run would, but for a moment at
        most: a person is waiting for the answer."""
        return min(self.minutes_to_wait, DECISION_WAIT_SECONDS / 60)


class DbtConfig(_Strict):
    project_dir: Path = PROJECT_ROOT / "dbt_project"
    threads: int = Field(default=2, ge=1, le=16)


class ExtractConfig(_Strict):
    overlap_minutes: int = Field(default=5, ge=0)


# A bare address (ops@example.com); the sender may also carry a display name.
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")]
Sender = Annotated[
    str, Field(pattern=r"^([^<>\r\n,;]*<[^@\s<>,;\"]+@[^@\s<>,;\"]+>|[^@\s<>,;\"]+@[^@\s<>,;\"]+)$")
]


class SmtpConfig(_Strict):
    """The mail server failure reports go through. ``tls``: ``starttls`` (port 587 by
    default), ``ssl`` (465) or ``none`` (25, for a relay on the same host or network)."""

    host: str = Field(min_length=1, pattern=r"^[^\s/:]+$")
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = Field(default=None, min_length=1)
    password: SecretRef | None = None
    sender: Sender
    ca_file: Path | None = None
    timeout_seconds: float = Field(default=30, gt=0)

    @model_validator(mode="after")
    def _user_and_password_together(self) -> SmtpConfig:
        if (self.user is None) != (self.password is None):
            raise ValueError("set both 'user' and 'password', or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.tls]


class ReportConfig(_Strict):
    """Failure reports: e-mailed through ``smtp`` when it is set, else written as ``.eml``
    files to ``outbox``. An open failure is in at most ``max_times`` e-mails; a report lists
    at most ``max_per_group`` failures of one owner and code and counts the rest."""

    max_times: int = Field(default=3, ge=1)
    max_per_group: int = Field(default=50, ge=1)
    outbox: Path = Path("data/outbox")
    recipients: list[EmailAddress] = []
    smtp: SmtpConfig | None = None


class FlowConfig(_Strict):
    enabled: bool = True
    # Who gets this flow's failure reports; unset: report.recipients.
    recipients: list[EmailAddress] | None = None


SyncField = Literal["name", "address", "address_line1", "address_line2", "city", "state", "zip",
                    "phone", "fax", "website"]  # fmt: skip
SYNC_FIELDS = get_args(SyncField)
FieldOwner = Literal["erp", "psa"]


def _field_owners(owners: dict[str, Any]) -> dict[str, Any]:
    """``field = owner`` for every customer, ``NUMBER = {field = owner}`` for one (and its
    locations); "address" is both lines. A field name with a table, or a customer number
    with a word, is refused with what was meant."""
    out: dict[str, Any] = {}
    for key, value in owners.items():
        if isinstance(value, dict):
            if key in SYNC_FIELDS:
                raise ValueError(f"field_owners.{key}: a field's owner is erp or psa, not a table")
            out[key] = _field_owners(value)
        elif key not in SYNC_FIELDS:
            raise ValueError(
                f"field_owners.{key}: not a field ({', '.join(SYNC_FIELDS)}); for one customer "
                f'write field_owners.{key} = {{ website = "psa" }}'
            )
        else:
            for field in ("address_line1", "address_line2") if key == "address" else (key,):
                out[field] = value
    return out


class CustomerSyncConfig(FlowConfig):
    """Which ERP customers the customer sync takes (empty lists take every value), and
    whether locations follow their parents to PSA sites."""

    customer_types: list[str] = []
    branches: list[str] = []
    territories: list[str] = []
    contract_types: list[str] = []  # only customers with an active ERP contract of these
    locations: bool = True
    # false: read, map and report only; nothing is written to either system.
    push: bool = True
    # Fields the sync leaves alone in the PSA ("address" is both address lines).
    skip_fields: list[SyncField] = []
    # A field's direction for good (Connectworks' arrows): "erp" (its value always goes to
    # the PSA, never a conflict) or "psa" (the PSA's value goes into the ERP), for every
    # customer (website = "psa") or for one and its locations (C1001 = { phone = "psa" }).
    field_owners: dict[str, FieldOwner | dict[SyncField, FieldOwner]] = {}
    # The incumbent's insert option: active ERP customers without a partner become PSA
    # companies (identifier = customer number), their locations sites.
    create_companies: bool = False
    new_company_type_id: int | None = Field(default=None, ge=1)
    new_company_status_id: int | None = Field(default=None, ge=1)
    new_company_territory_id: int | None = Field(default=None, ge=1)
    # The other direction (CleanManager's "create partners"): active PSA companies of these
    # types that no ERP customer is linked to become ERP customers, numbered by their
    # Company ID where it fits (15 characters) and is free, else by e-automate.
    create_customers: bool = False
    new_customer_company_types: list[str] = ["Client"]
    # Every company id is read again (deletions, merges) when the last sweep is older.
    sweep_hours: int = Field(default=24, ge=0)

    @field_validator("field_owners", mode="before")
    @classmethod
    def _owners(cls, value: Any) -> Any:
        return _field_owners(value) if isinstance(value, dict) else value

    def owners(self) -> list[tuple[str | None, str, str]]:
        """``field_owners`` as ``(customer, field, owner)``; customer None: every customer."""
        return [
            (key if isinstance(value, dict) else None, field, owner)
            for key, value in self.field_owners.items()
            for field, owner in (value.items() if isinstance(value, dict) else [(key, value)])
        ]


class ChargeImportConfig(FlowConfig):
    """``[flows.charge_import]``: where call logs come from, how they are read, and what
    the flow may do in Operate and Connect (crosswalk.example.toml documents each key)."""

    first_date: date | None = None  # a site's first import starts here (unset: 31 days ago)
    overlap_days: int = Field(default=2, ge=0, le=60)
    layout: str = "generic"  # the layout of every Connect call-logger location ...
    location_layouts: dict[str, str] = {}  # ... unless its Operate location id is here
    inbox: Path | None = None  # files dropped in <inbox>/<location id>/<layout>/
    layouts: dict[str, Layout] = {}  # added to (or replacing) the built-in layouts
    reference_text: str = Field(default="Call charges imported by crosswalk", max_length=255)
    lines_per_request: int = Field(default=500, ge=1, le=500)
    complete_sheets: bool = False
    approve_sheets: bool = False
    send_to_connect: bool = True

    @model_validator(mode="after")
    def _layouts_known(self) -> ChargeImportConfig:
        known = {**BUILT_IN, **self.layouts}
        if self.layout not in known:
            raise ValueError(f"layout: unknown layout {self.layout!r}; known: {', '.join(known)}")
        for location, name in self.location_layouts.items():
            if not location.isdigit():
                raise ValueError(f"location_layouts.{location}: not an Operate location id")
            if name not in known:
                raise ValueError(
                    f"location_layouts.{location}: unknown layout {name!r}; "
                    f"known: {', '.join(known)}"
                )
        if self.approve_sheets and not self.complete_sheets:
            raise ValueError("approve_sheets: a sheet is approved only once completed; "
                             "set complete_sheets = true as well")  # fmt: skip
        return self

    def all_layouts(self) -> dict[str, Layout]:
        return {**BUILT_IN, **self.layouts}

    def layout_of(self, location_id: int) -> str:
        return self.location_layouts.get(str(location_id), self.layout)


class AgreementSyncConfig(FlowConfig):
    """``[flows.agreement_sync]``: which PSA agreement invoices become ERP contracts, and
    how (crosswalk.example.toml documents each key). Names are checked against what the
    PSA serves at the start of every run."""

    # Billing status names of the invoices synced (the incumbent's variable 10); empty: all.
    invoice_statuses: list[str] = []
    # Agreement type names synced (variable 2); empty: all.
    agreement_types: list[str] = []
    # The template for a type without its own "**CW <type>" template.
    default_template: str = Field(default="**CW Default", min_length=1, max_length=20)
    # A new contract is numbered "<prefix>-<agreement id>-<revision>".
    contract_prefix: str = Field(default="CW", pattern=r"^[A-Za-z0-9]{1,8}$")
    # Where the PSA invoice number goes on the contract.
    invoice_number_in: Literal["po", "remarks"] = "po"
    # Terminate the contract of an agreement cancelled or expired in the PSA.
    terminate_ended: bool = False
    termination_code: str | None = Field(default=None, min_length=1)
    # false: read, decide and report only; nothing is written to either system.
    push: bool = True

    @model_validator(mode="after")
    def _termination_code_when_terminating(self) -> AgreementSyncConfig:
        if self.terminate_ended and self.termination_code is None:
            raise ValueError(
                "termination_code: terminate_ended = true needs the e-automate termination "
                "code to use"
            )
        return self


class ToPsaConfig(_Strict):
    """``[flows.service_sync.to_psa]``: ERP service calls worked in the PSA (the incumbent's
    ID912). Each call of ``call_types`` (and ``branches``, the customer's branch) becomes a
    PSA ticket and is put on ``sent_hold_code``, whether that worked or not; the service
    sync brings the ticket's time back to the same call. Empty ``call_types``: off."""

    call_types: list[str] = []
    # The customer's ERP branch; empty: every branch.
    branches: list[str] = []
    # The ticket's board, status, type and priority (names, checked against the PSA's).
    board: str = Field(default="Help Desk", min_length=1)
    status: str = Field(default="New", min_length=1)
    type: str | None = Field(default=None, min_length=1)
    priority: str | None = Field(default=None, min_length=1)
    # The ERP hold code a call is put on once it was tried (checked against the hold codes).
    sent_hold_code: str = Field(default="CW", min_length=1, max_length=15)
    # Who gets the e-mail of each attempt (one line per call, OK or FAIL first); unset:
    # the service sync's recipients.
    recipients: list[EmailAddress] | None = None


class ServiceSyncConfig(FlowConfig):
    """``[flows.service_sync]``: which PSA tickets become ERP service calls, and how
    (crosswalk.example.toml documents each key). Board, status and code names are checked
    against what the systems serve at the start of every run."""

    # "status": tickets in these board statuses (empty: every closed ticket); "invoiced":
    # tickets whose time is on a PSA invoice (the incumbent's invoice-only mode).
    mode: Literal["status", "invoiced"] = "status"
    statuses: dict[str, list[str]] = {}
    # Only tickets closed (or, still open, entered) on or after this day; unset: all.
    first_date: date | None = None
    # PSA member identifier -> ERP technician number, for members whose technician
    # number (employeeIdentifer) is missing or differs.
    technicians: dict[str, str] = {}
    # The contract of a ticket with no linked agreement and no single active contract.
    contract_fallback: str | None = Field(default=None, min_length=1)
    # ERP call type by board, bill code by ticket type, activity code by work type.
    call_type: str = Field(default="IT", min_length=1)
    call_types: dict[str, str] = {}
    bill_code: str = Field(default="T&M", min_length=1)
    bill_code_agreement: str = Field(default="CONTRACT", min_length=1)
    bill_codes: dict[str, str] = {}
    activity_code: str = Field(default="LABOR", min_length=1)
    activity_codes: dict[str, str] = {}
    # The status a new call is made in; OKToInvoice needs labor (a ticket has time).
    call_status: Literal["OKToInvoice", "Pending"] = "OKToInvoice"
    # Labor hours: the time entry's actual hours or its billed hours.
    hours: Literal["actual", "billed"] = "actual"
    # Time entries not billable: left off the call, or sent at zero hours.
    non_billable: Literal["skip", "zero"] = "skip"
    # The ERP non-inventory item a fixed-fee project's invoiced amount is billed with, a
    # line on the call of the project ticket whose time the invoice bills (ID522).
    fixed_fee_item: str = Field(default="CW-FIXEDFEE", min_length=1, max_length=30)
    # Every time entry id is read again (deletions) when the last sweep is older.
    sweep_hours: int = Field(default=24, ge=0)
    # ERP calls that become PSA tickets, and back (ID912).
    to_psa: ToPsaConfig = ToPsaConfig()
    # false: read, decide and report only; nothing is written to either system.
    push: bool = True


class SalesOrderSyncConfig(FlowConfig):
    """``[flows.sales_order_sync]``: which PSA sales orders become ERP sales orders, and
    how (crosswalk.example.toml documents each key). Status and product type names are
    checked against the PSA's, items and codes against the ERP's, at the start of every
    run."""

    # Sales-order status names synced; empty: every status that is not closed.
    statuses: list[str] = []
    # Product type (or product class) -> the ERP item template an item the ERP lacks is
    # made from; a type not named here uses "<item_template_prefix><type>".
    item_templates: dict[str, str] = {}
    item_template_prefix: str = Field(default="**CWItem ", min_length=1, max_length=25)
    # The item a line gets when its item cannot be made (a template missing or without codes).
    error_item: str = Field(default="**CWError", min_length=1, max_length=30)
    # The on-hold code an order with an error-item line is made on, and the one for a
    # customer on hold that has no code of its own.
    hold_code: str = Field(default="BadSync", min_length=1, max_length=15)
    customer_hold_code: str = Field(default="CH", min_length=1, max_length=15)
    # Where the PSA order id goes on the ERP order: "[CW SO #<id>]" opening the
    # description, or "CW-SO-<id>" as the PO (the PSA PO then opens the description).
    key_in: Literal["description", "po"] = "description"
    # The PSA order's custom field the ERP order number is written into.
    order_number_field: str = Field(default="ZCJ_SONumber", min_length=1, max_length=30)
    # false: read, decide and report only; nothing is written to either system.
    push: bool = True


class Flows(_Strict):
    customer_sync: CustomerSyncConfig = CustomerSyncConfig()
    agreement_sync: AgreementSyncConfig = AgreementSyncConfig()
    service_sync: ServiceSyncConfig = ServiceSyncConfig()
    sales_order_sync: SalesOrderSyncConfig = SalesOrderSyncConfig()
    charge_import: ChargeImportConfig = ChargeImportConfig()


# "scrypt$n$r$p$salt$hash" or "pbkdf2_sha256$iterations$salt$hash", salt and hash in
# base64: what `crosswalk inbox --hash-password` prints (crosswalk/inbox/auth.py).
PasswordHash = Annotated[
    str,
    Field(
        pattern=r"^(scrypt\$\d+\$\d+\$\d+|pbkdf2_sha256\$\d+)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$"
    ),
]


class InboxConfig(_Strict):
    """``[inbox]``: the operators' inbox (``crosswalk inbox``). Off the loopback address it
    needs ``users`` (name -> password hash) or ``proxy_user_header``, the header a trusted
    reverse proxy names the signed-in user with. ``secret`` signs session cookies (unset: a
    random one, so sessions end when the inbox restarts); ``base_url`` is where operators
    reach it, for the links in failure e-mails."""

    base_url: HttpUrl | None = None
    users: dict[str, PasswordHash] = {}
    proxy_user_header: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9-]*$")
    secret: SecretRef | None = None

    @field_validator("users")
    @classmethod
    def _user_names(cls, users: dict[str, str]) -> dict[str, str]:
        for name in users:
            if not re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", name):
                raise ValueError(f"{name!r}: a user name is letters, digits and . _ @ -")
        return users

    @property
    def has_authentication(self) -> bool:
        return bool(self.users or self.proxy_user_header)


class Settings(_Strict):
    _source: Path | None = PrivateAttr(default=None)
    # Every string value the file sets, by dotted key: where a secret written in it is found.
    _written: tuple[tuple[str, str], ...] = PrivateAttr(default=())
    warehouse: WarehouseConfig = WarehouseConfig()
    dbt: DbtConfig = DbtConfig()
    extract: ExtractConfig = ExtractConfig()
    systems: Systems = Systems()
    flows: Flows = Flows()
    report: ReportConfig = ReportConfig()
    inbox: InboxConfig = InboxConfig()

    @field_validator("systems")
    @classmethod
    def _some_system(cls, systems: Systems) -> Systems:
        if not any(value for _, value in systems):
            raise ValueError("configure at least one of connectwise, eautomate, operate, connect")
        return systems

    def system(self, name: str, flow: str) -> SystemConfig:
        """The named system's settings, or a config error saying which flow needs it."""
        system = getattr(self.systems, name)
        if system is None:
            raise ConfigError(f"{self._where()}systems.{name}: missing, and {flow} needs it")
        return system

    def resolve_secrets(self, system_names: list[str]) -> dict[str, dict[str, SecretStr]]:
        """Every secret the named systems use, by system and setting; else one ConfigError
        naming every secret missing, one a line."""
        resolved: dict[str, dict[str, SecretStr]] = {}
        missing = []
        for name in system_names:
            resolved[name] = {}
            for key, ref in getattr(self.systems, name).secrets().items():
                try:
                    resolved[name][key] = ref.resolve(f"{self._where()}systems.{name}.{key}")
                except ConfigError as exc:
                    missing.append(str(exc))
        if missing:
            raise ConfigError("\n".join(missing))
        for name, secrets in resolved.items():
            for key, value in secrets.items():
                self._refuse_written(f"systems.{name}.{key}", value)
        return resolved

    def _refuse_written(self, key: str, value: SecretStr) -> None:
        """A ConfigError when the secret ``key`` names is also written in the file, in a
        setting's value: named by where it is, never shown."""
        secret = value.get_secret_value()
        if len(secret) < WRITTEN_MIN_LENGTH:
            return
        written = [where for where, text in self._written if secret in text]
        if written:
            raise ConfigError(
                f"{self._where()}{', '.join(written)}: holds the value of the secret {key}; "
                "a secret is never written in the configuration file: remove it there and "
                "keep it only where the reference names (the value is not shown)"
            )

    def read_from_files(self) -> dict[str, Path]:
        """The systems read from export files (``fixtures``) instead of their API."""
        return {
            name: system.fixtures for name, system in self.systems if system and system.fixtures
        }

    def recipients(self, flow: str) -> list[str]:
        """Who gets ``flow``'s failure reports: its own list, else ``report.recipients``."""
        own = getattr(self.flows, flow.replace("-", "_")).recipients
        return list(self.report.recipients if own is None else own)

    def smtp_password(self) -> SecretStr | None:
        smtp = self.report.smtp
        if smtp is None or smtp.password is None:
            return None
        password = smtp.password.resolve(f"{self._where()}report.smtp.password")
        self._refuse_written("report.smtp.password", password)
        return password

    @property
    def source(self) -> Path | None:
        """The file these settings were read from."""
        return self._source

    def _where(self) -> str:
        return f"{self._source}: " if self._source else ""


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    """``--config``, else ``CROSSWALK_CONFIG``, else ``./crosswalk.toml``."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(explicit: str | os.PathLike | None = None) -> Settings:
    """Read and validate the configuration; raises ConfigError naming every bad key."""
    path = config_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: configuration file not found (give --config or set {CONFIG_ENV})"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(raw, source=path)


def parse_settings(raw: dict[str, Any], source: Path | None = None) -> Settings:
    where = f"{source}: " if source else ""
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise ConfigError(where + "\n  ".join(problems)) from None
    settings = _anchor_paths(settings, source.parent if source else Path.cwd())
    settings._source = source.resolve() if source else None
    settings._written = tuple(_strings(raw))
    return settings


# Shorter values are too likely to occur by chance (and to be redacted out of ordinary text).
SECRET_MIN_LENGTH = 4
# A file is refused for holding a secret only when the secret is this long: a shorter one
# (the demo's e-automate password "demo") is too likely a part of a path or a name.
WRITTEN_MIN_LENGTH = 6


def _strings(raw: Any, key: str = "") -> list[tuple[str, str]]:
    """Every string value (and table key) in the parsed file, by dotted key."""
    if isinstance(raw, dict):
        return [
            found
            for name, value in raw.items()
            for found in [(f"{key}{name}", str(name)), *_strings(value, f"{key}{name}.")]
        ]
    if isinstance(raw, list):
        return [found for i, value in enumerate(raw) for found in _strings(value, f"{key}{i}.")]
    return [(key.rstrip("."), raw)] if isinstance(raw, str) else []


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: required key is missing"
    if error["type"] == "string_pattern_mismatch" and key.endswith("base_url"):
        if URL_USERINFO.search(str(error["input"])):
            return (
                f"{key}: a URL with a user name or password in it; credentials are never "
                "written in the configuration file: give them as the system's secret "
                "settings (the URL is not shown)"
            )
        return f"{key}: not an http(s) URL: {error['input']!r}"
    if error["type"] == "string_pattern_mismatch" and key.endswith("prefect_secret"):
        return (
            f"{key}: not a Prefect block name (lower-case letters, digits and dashes); "
            "the block's name goes here, never the secret (the value is not shown)"
        )
    if error["type"] == "string_pattern_mismatch" and (
        "recipients" in key or key.endswith("sender")
    ):
        return f"{key}: not an e-mail address: {error['input']!r}"
    if error["type"] == "string_pattern_mismatch" and key.startswith("inbox.users."):
        return f"{key}: not a password hash (make one with `crosswalk inbox --hash-password`)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{key}: {message}"


def _anchor_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths in the file are relative to the file; CROSSWALK_WAREHOUSE wins."""
    warehouse = Path(os.environ.get(WAREHOUSE_ENV) or base / settings.warehouse.path)
    systems = {
        name: system.model_copy(update={"fixtures": base / system.fixtures})
        if system and system.fixtures
        else system
        for name, system in settings.systems
    }
    report = settings.report
    smtp = report.smtp
    if smtp and smtp.ca_file:
        smtp = smtp.model_copy(update={"ca_file": (base / smtp.ca_file).resolve()})
    report = report.model_copy(update={"outbox": (base / report.outbox).resolve(), "smtp": smtp})
    flows = settings.flows
    if flows.charge_import.inbox:
        charges = flows.charge_import
        flows = flows.model_copy(
            update={"charge_import": charges.model_copy(update={"inbox": base / charges.inbox})}
        )
    return settings.model_copy(
        update={
            "warehouse": settings.warehouse.model_copy(update={"path": warehouse.resolve()}),
            "report": report,
            "dbt": settings.dbt.model_copy(
                update={"project_dir": (base / settings.dbt.project_dir).resolve()}
            ),
            "systems": Systems(**systems),
            "flows": flows,
        }
    )
