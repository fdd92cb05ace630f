"""What waits in every flow, record by record, for the inbox's Waiting page.

A flow's report says each cause once (a company not mapped, a member without a technician,
an account code no account has), naming the first few records it holds back; here the
records held back are listed under their cause (the first of each where thousands wait,
counted in the warehouse). Each source below reads one flow's mart and
says, per waiting record, its code, why it waits and the cause it waits on: the system,
entity and record id of the failure the flow's push step records for it (so the record
finds that failure's fix, owner and page in ``sync.errors``). The causes are grouped as
the failure report groups failures: by owner, then code (``crosswalk.report.by_owner_and_code``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crosswalk import codes
from crosswalk.errors import Owner


@dataclass(frozen=True)
class Source:
    """One flow's waiting records: ``sql`` selects ``record_id``, ``record`` (how people
    name it), ``code``, ``reason``, ``measure`` (hours, money, calls) and the cause's
    ``cause_system``, ``cause_entity``, ``cause_record`` and ``cause_label``."""

    flow: str
    noun: str  # what waits, in the plural
    sql: str


SOURCES = (
    Source(
        "agreement-sync",
        "agreement invoices",
        """
        WITH waiting AS (
            SELECT * FROM marts.agreement_contract_sync WHERE action = 'waiting'
        ),
        items AS (
            SELECT DISTINCT agreement_id, item_number
            FROM intermediate.int_agreement_lines_planned WHERE NOT is_item_known
        )
        SELECT
            w.agreement_id::VARCHAR AS record_id,
            'agreement ' || w.agreement_id || ' "' || w.agreement_name || '", invoice '
                || coalesce(w.invoice_number, '?') AS record,
            w.waiting_code AS code,
            w.waiting_reason AS reason,
            'amount ' || w.psa_amount AS measure,
            CASE WHEN w.waiting_code IN ('agreement-company-unmapped',
                                         'agreement-bill-to-unmapped') THEN 'connectwise'
                 WHEN w.waiting_code LIKE 'contract-number-%' THEN 'connectwise'
                 ELSE 'eautomate' END AS cause_system,
            CASE WHEN w.waiting_code IN ('agreement-company-unmapped',
                                         'agreement-bill-to-unmapped') THEN 'companies'
                 WHEN w.waiting_code LIKE 'contract-number-%' THEN 'agreements'
                 WHEN w.waiting_code = 'contract-item-missing' THEN 'items'
                 ELSE 'contracts' END AS cause_entity,
            CASE w.waiting_code
                WHEN 'agreement-company-unmapped' THEN w.company_id::VARCHAR
                WHEN 'agreement-bill-to-unmapped' THEN w.bill_to_company_id::VARCHAR
                WHEN 'contract-item-missing' THEN items.item_number
                WHEN 'contract-template-missing' THEN '**CW ' || w.agreement_type
                ELSE w.agreement_id::VARCHAR END AS cause_record,
            CASE w.waiting_code
                WHEN 'agreement-company-unmapped' THEN 'company '
                    || coalesce(w.company_identifier, w.company_id::VARCHAR)
                    || ' "' || w.company_name || '"'
                WHEN 'agreement-bill-to-unmapped' THEN 'bill-to company '
                    || coalesce(w.bill_to_identifier, w.bill_to_company_id::VARCHAR)
                    || ' "' || w.bill_to_name || '"'
                WHEN 'contract-item-missing' THEN 'item ' || items.item_number
                WHEN 'contract-template-missing' THEN 'template **CW ' || w.agreement_type
                ELSE 'agreement ' || w.agreement_id || ' "' || w.agreement_name || '"'
            END AS cause_label
        FROM waiting AS w
        LEFT JOIN items
            ON w.waiting_code = 'contract-item-missing' AND items.agreement_id = w.agreement_id
        """,
    ),
    Source(
        "service-sync",
        "tickets",
        """
        WITH waiting AS (
            SELECT * FROM marts.service_call_sync WHERE action = 'waiting'
        ),
        members AS (
            SELECT DISTINCT ticket_id, waiting_code, member_identifier
            FROM intermediate.int_service_time_planned WHERE waiting_code IS NOT NULL
        )
        SELECT
            w.ticket_id::VARCHAR AS record_id,
            'ticket ' || w.ticket_id || ' "' || w.summary || '"' AS record,
            w.waiting_code AS code,
            CASE w.waiting_code
                WHEN 'ticket-company-unmapped' THEN 'company '
                    || coalesce(w.company_identifier, w.company_id::VARCHAR)
                    || ' is not mapped to an ERP customer'
                WHEN 'customer-inactive' THEN 'customer ' || w.call_customer_number
                    || ' is inactive in e-automate'
                WHEN 'ticket-customer-changed' THEN 'the ticket is now customer '
                    || w.call_customer_number || '''s, its open call ' || w.open_call_number
                    || ' customer ' || w.open_call_customer_number || '''s'
                WHEN 'ticket-moved-customer-unknown' THEN 'moved to customer '
                    || w.call_customer_number || ', which e-automate does not have'
                ELSE 'time by member ' || members.member_identifier
                    || ', who has no ERP technician'
            END AS reason,
            w.new_hours || ' hours' AS measure,
            CASE WHEN w.waiting_code IN ('customer-inactive', 'ticket-customer-changed')
                THEN 'eautomate' ELSE 'connectwise' END AS cause_system,
            CASE w.waiting_code
                WHEN 'ticket-company-unmapped' THEN 'companies'
                WHEN 'customer-inactive' THEN 'customers'
                WHEN 'ticket-customer-changed' THEN 'calls'
                WHEN 'ticket-moved-customer-unknown' THEN 'tickets'
                ELSE 'members' END AS cause_entity,
            CASE w.waiting_code
                WHEN 'ticket-company-unmapped' THEN w.company_id::VARCHAR
                WHEN 'customer-inactive' THEN w.call_customer_number
                WHEN 'ticket-customer-changed' THEN w.open_call_number
                WHEN 'ticket-moved-customer-unknown' THEN w.ticket_id::VARCHAR
                ELSE members.member_identifier END AS cause_record,
            CASE w.waiting_code
                WHEN 'ticket-company-unmapped' THEN 'company '
                    || coalesce(w.company_identifier, w.company_id::VARCHAR)
                    || ' "' || w.company_name || '"'
                WHEN 'customer-inactive' THEN 'customer ' || w.call_customer_number
                WHEN 'ticket-customer-changed' THEN 'call ' || w.open_call_number
                WHEN 'ticket-moved-customer-unknown'
                    THEN 'ticket ' || w.ticket_id || ' "' || w.summary || '"'
                ELSE 'member ' || members.member_identifier END AS cause_label
        FROM waiting AS w
        LEFT JOIN members
            ON members.ticket_id = w.ticket_id AND members.waiting_code = w.waiting_code
        """,
    ),
    # ERP calls for the PSA (to_psa): each failure is on the call itself. A call waits on
    # the failure the next run raises (reason_code), else on its open one: held on the
    # sent hold after a FAIL, or tried again by every run (its ticket refused, its hold
    # refused). A call on the hold with no failure open was held by hand: not listed.
    Source(
        "service-sync",
        "ERP calls for the PSA",
        """
        WITH failures AS (
            SELECT record_id AS call_number, code, message FROM sync.errors
            WHERE status = 'open' AND system = 'eautomate' AND entity = 'calls'
                AND code IN ('call-customer-unmapped', 'call-company-inactive',
                             'ticket-create-rejected', 'call-hold-rejected')
            QUALIFY row_number() OVER (PARTITION BY record_id
                ORDER BY code = 'call-hold-rejected', last_seen_at DESC) = 1
        ),
        waiting AS (
            SELECT c.*, coalesce(c.reason_code, f.code) AS code, f.message
            FROM marts.call_ticket_sync AS c LEFT JOIN failures AS f USING (call_number)
            WHERE coalesce(c.reason_code, f.code) IS NOT NULL
        )
        SELECT
            call_number AS record_id,
            'call ' || call_number || ' "' || summary || '"' AS record,
            code,
            CASE
                WHEN code = 'call-customer-unmapped' AND company_id IS NULL THEN 'customer '
                    || customer_number || ' is not mapped to a PSA company'
                WHEN code = 'call-customer-unmapped' THEN 'customer ' || customer_number
                    || ' was not mapped; it is now (company '
                    || coalesce(company_identifier, company_id::VARCHAR) || ')'
                WHEN code = 'call-company-inactive' THEN 'its PSA company '
                    || coalesce(company_identifier, company_id::VARCHAR) || ' is inactive'
                ELSE message
            END || CASE
                WHEN action = 'held' THEN '; held on ' || hold_code
                    || ' until the hold is released or the call retried'
                WHEN reason_code IS NULL THEN '; every run tries it again'
                ELSE '' END
                || coalesce('; a retry was asked by ' || retry_asked_by, '') AS reason,
            call_type || ' call of ' || strftime(call_date, '%Y-%m-%d') AS measure,
            'eautomate' AS cause_system,
            'calls' AS cause_entity,
            call_number AS cause_record,
            'call ' || call_number || ' (' || customer_number || ')' AS cause_label
        FROM waiting
        """,
    ),
    Source(
        "sales-order-sync",
        "sales orders",
        """
        SELECT
            order_id::VARCHAR AS record_id,
            'sales order ' || order_id || coalesce(' "' || nullif(description, '') || '"', '')
                AS record,
            waiting_code AS code,
            CASE waiting_code
                WHEN 'order-company-unmapped' THEN 'company '
                    || coalesce(company_identifier, company_id::VARCHAR)
                    || ' is not mapped to an ERP customer'
                ELSE 'bill-to company ' || coalesce(bill_to_identifier,
                    bill_to_company_id::VARCHAR) || ' is not mapped to an ERP customer'
            END AS reason,
            'amount ' || planned_total AS measure,
            'connectwise' AS cause_system,
            'companies' AS cause_entity,
            CASE waiting_code WHEN 'order-company-unmapped' THEN company_id::VARCHAR
                ELSE bill_to_company_id::VARCHAR END AS cause_record,
            CASE waiting_code
                WHEN 'order-company-unmapped' THEN 'company '
                    || coalesce(company_identifier, company_id::VARCHAR)
                    || ' "' || company_name || '"'
                ELSE 'company ' || coalesce(bill_to_identifier, bill_to_company_id::VARCHAR)
                    || ' "' || bill_to_name || '"'
            END AS cause_label
        FROM marts.sales_order_sync
        WHERE action = 'waiting'
        """,
    ),
    Source(
        "charge-import",
        "phone calls",
        """
        SELECT
            w.waiting_id AS record_id,
            w.calls || ' call' || CASE WHEN w.calls = 1 THEN '' ELSE 's' END || ' at '
                || coalesce(l.location_name, 'location ' || w.location_id) || ' from '
                || w.source_device || ', ' || w.first_call_date || ' to ' || w.last_call_date
                AS record,
            w.reason_code AS code,
            w.reason || CASE WHEN w.reason_code = 'account-code-blank'
                THEN '; extensions (calls): ' || w.extensions ELSE '' END AS reason,
            'amount ' || w.amount AS measure,
            CASE WHEN w.reason_code = 'account-code-blank' THEN 'calllogs' ELSE 'operate' END
                AS cause_system,
            CASE w.reason_code
                WHEN 'account-code-blank' THEN 'calls'
                WHEN 'import-map-product-missing' THEN 'device_import_maps'
                ELSE 'account_codes' END AS cause_entity,
            CASE w.reason_code
                WHEN 'import-map-product-missing' THEN w.source_device
                ELSE w.location_id || '|' || w.application_id || '|'
                    || coalesce(w.account_code, 'no code') END AS cause_record,
            CASE w.reason_code
                WHEN 'import-map-product-missing' THEN 'device import map ' || w.source_device
                WHEN 'account-code-blank' THEN 'calls without an account code at '
                    || coalesce(l.location_name, 'location ' || w.location_id)
                ELSE 'account code "' || w.account_code || '" at '
                    || coalesce(l.location_name, 'location ' || w.location_id)
            END AS cause_label
        FROM marts.waiting_calls AS w
        LEFT JOIN staging.stg_operate__locations AS l USING (location_id)
        """,
    ),
)
FLOWS = tuple(dict.fromkeys(source.flow for source in SOURCES))


@dataclass
class Cause:
    """One failure and the records that wait on it (``waiting`` of them; ``records`` holds
    them all, or the first when the read was bounded); ``owner``, ``code``, ``title`` and
    ``record_id`` are what the report groups and orders by."""

    flow: str
    code: str
    owner: str
    title: str
    record_id: str
    fix: str
    error_id: str | None
    records: list[dict[str, Any]] = field(default_factory=list)
    waiting: int = 0


# A waiting record's open failure: the one its flow's push recorded for its cause.
_FAILURE = (
    "LEFT JOIN sync.errors AS e ON e.flow = ? AND e.status = 'open' AND e.code = w.code "
    "AND e.system = w.cause_system AND e.entity = w.cause_entity "
    "AND e.record_id = w.cause_record"
)
_CAUSE = "PARTITION BY w.code, w.cause_system, w.cause_entity, w.cause_record"


def read(
    rows: Callable[[str, list | None], list[dict[str, Any]]],
    source: Source,
    cause: tuple[str, str, str] | None = None,
    first: int | None = None,
) -> list[dict[str, Any]]:
    """``source``'s waiting records, each with its open failure's id, owner and fix
    (None where the flow's last run recorded none) and how many records wait on the same
    cause (``waiting_on_cause``); only those of ``cause`` (system, entity, record id) when
    given; only the ``first`` of each cause (by record) when given: a large world holds
    hundreds of thousands back, and a page lists a few of each cause."""
    where, params = "", [source.flow]
    if cause is not None:
        where = "WHERE w.cause_system = ? AND w.cause_entity = ? AND w.cause_record = ?"
        params += list(cause)
    bounded = "" if first is None else f"WHERE place <= {int(first)}"
    return rows(
        f"SELECT * EXCLUDE (place) FROM (SELECT w.*, e.error_id, e.owner, e.fix, "
        f"count(*) OVER ({_CAUSE}) AS waiting_on_cause, "
        f"row_number() OVER ({_CAUSE} ORDER BY w.record) AS place "
        f"FROM ({source.sql}) AS w {_FAILURE} {where}) {bounded} "
        "ORDER BY code, cause_record, record",
        params,
    )


def held_per_owner(
    rows: Callable[[str, list | None], list[dict[str, Any]]], source: Source
) -> dict[str, int]:
    """How many records ``source`` holds back, per owner of what they wait on (a record
    waiting on causes of two owners counts for each), counted in the warehouse."""
    found = rows(
        f"SELECT coalesce(e.owner, k.owner, ?) AS owner, count(DISTINCT w.record_id) AS n "
        f"FROM ({source.sql}) AS w {_FAILURE} "
        "LEFT JOIN (SELECT unnest(?) AS code, unnest(?) AS owner) AS k ON k.code = w.code "
        "GROUP BY 1 ORDER BY 1",
        [
            str(Owner.CONFIG),
            source.flow,
            list(codes.CODES),
            [e.owner for e in codes.CODES.values()],
        ],
    )
    return {row["owner"]: row["n"] for row in found}


def held(rows: Callable[[str, list | None], list[dict[str, Any]]], source: Source) -> int:
    """How many records ``source`` holds back."""
    return rows(f"SELECT count(DISTINCT record_id) AS n FROM ({source.sql})", [])[0]["n"]


def causes(source: Source, records: list[dict[str, Any]]) -> list[Cause]:
    """The records grouped by the failure they wait on. A record whose failure is not
    (yet) in ``sync.errors`` takes the owner and the general fix of its code."""
    found: dict[tuple, Cause] = {}
    for row in records:
        key = (row["code"], row["cause_system"], row["cause_entity"], row["cause_record"])
        if key not in found:
            entry = codes.CODES.get(row["code"])
            found[key] = Cause(
                flow=source.flow,
                code=row["code"],
                owner=row["owner"] or (entry.owner if entry else str(Owner.CONFIG)),
                title=row["cause_label"] or f"{row['cause_entity']} {row['cause_record']}",
                record_id=row["cause_record"] or "",
                fix=row["fix"] or (entry.fix if entry else ""),
                error_id=row["error_id"],
                waiting=row["waiting_on_cause"],
            )
        found[key].records.append(row)
    return list(found.values())
