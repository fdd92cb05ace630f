"""Every write to the decisions crosswalk keeps: ``sync.links``, ``sync.exclusions``,
``sync.conflicts``, ``sync.rejected_suggestions`` and ``sync.field_owners``.

A link says which PSA record an ERP record is (``customer``: an ERP parent customer and a
PSA company; ``location``: an ERP location and a PSA site), who decided it (``operator``
or ``crosswalk``) and whether its target has gone. An exclusion leaves a record out of a
flow. A conflict is a field both systems changed since they last agreed, until an
operator picks a value and a run settles it. A field's owner is the side whose value
always wins, for one customer or for all.

Each function takes an open DuckDB connection and does not commit: the CLI calls it
inside ``Warehouse.transaction()``, a push step inside the transaction that records its
write, so a decision and what it depends on are kept or lost together.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

KINDS = ("customer", "location")
TAKES = ("erp", "psa")
ALL_CUSTOMERS = "*"  # sync.field_owners' customer_number of a decision for every customer
# When a customer-sync decision takes effect, as the CLI and the inbox tell the operator.
NEXT_RUN = "the next `crosswalk run customer-sync` applies it"


def set_link(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    number: str,
    target: str,
    *,
    made_by: str,
    note: str | None = None,
    run_id: str | None = None,
    decided_by: str | None = None,
) -> None:
    """Link ERP record ``number`` (e-automate) to PSA record ``target`` (ConnectWise); an
    empty ``target`` means "linked to nothing", which no rule overrides. Replaces any
    earlier decision for the record, and a link set again is no longer broken.
    ``decided_by`` names the person behind an operator's link."""
    if kind not in KINDS:
        raise ValueError(f"a link's kind is one of {', '.join(KINDS)}, not {kind!r}")
    con.execute(
        "INSERT OR REPLACE INTO sync.links (kind, source_system, source_key, target_system, "
        "target_key, made_by, note, created_at, run_id, broken_at, broken_reason, decided_by) "
        "VALUES (?, 'eautomate', ?, 'connectwise', ?, ?, ?, now(), ?, NULL, NULL, ?)",
        [kind, number, target, made_by, note, run_id, decided_by],
    )


def unlink(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    number: str,
    *,
    note: str | None = None,
    decided_by: str | None = None,
) -> None:
    """An operator's "this record has no partner": no rule links it again."""
    set_link(con, kind, number, "", made_by="operator", note=note, decided_by=decided_by)


def reject_suggestion(
    con: duckdb.DuckDBPyConnection,
    customer_number: str,
    company_id: str,
    *,
    by: str,
    note: str | None = None,
) -> None:
    """An operator's "customer ``customer_number`` is not company ``company_id``": the pair
    is never suggested again (``int_customer_suggestions`` leaves it out)."""
    con.execute(
        "INSERT OR REPLACE INTO sync.rejected_suggestions (customer_number, company_id, "
        "rejected_by, note, rejected_at) VALUES (?, ?, ?, ?, now())",
        [customer_number, str(company_id), by, note],
    )


def reset_link(con: duckdb.DuckDBPyConnection, kind: str, number: str) -> bool:
    """Forget the decision for a record: the matching rules decide again. False: there
    was none."""
    return bool(
        con.execute(
            "DELETE FROM sync.links WHERE kind = ? AND source_key = ? RETURNING source_key",
            [kind, number],
        ).fetchall()
    )


def mark_broken_links(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Mark each link whose target ``intermediate.int_links_checked`` found gone as broken,
    with the reason; a link already broken keeps its first reason. Returns
    ``(kind, source_key, target_key, broken_reason)`` of each link marked now."""
    return con.execute(
        "UPDATE sync.links AS l SET broken_at = now(), broken_reason = c.gone_reason "
        "FROM intermediate.int_links_checked AS c "
        "WHERE l.kind = c.link_kind AND l.source_key = c.source_key "
        "AND l.target_key = c.target_key AND l.broken_at IS NULL "
        "AND c.gone_reason IS NOT NULL "
        "RETURNING l.kind, l.source_key, l.target_key, l.broken_reason"
    ).fetchall()


def exclude(
    con: duckdb.DuckDBPyConnection,
    flow: str,
    system: str,
    key: str,
    reason: str | None,
    *,
    by: str = "operator",
) -> None:
    """Leave record ``key`` of ``system`` out of ``flow``; excluding it again replaces the
    reason."""
    con.execute(
        "INSERT OR REPLACE INTO sync.exclusions (flow, system, record_key, reason, excluded_by, "
        "excluded_at) VALUES (?, ?, ?, ?, ?, now())",
        [flow, system, key, reason, by],
    )


def include(con: duckdb.DuckDBPyConnection, flow: str, key: str) -> bool:
    """Take record ``key`` back into ``flow``. False: it was not excluded."""
    return bool(
        con.execute(
            "DELETE FROM sync.exclusions WHERE flow = ? AND record_key = ? RETURNING record_key",
            [flow, key],
        ).fetchall()
    )


def raise_conflict(
    con: duckdb.DuckDBPyConnection,
    *,
    kind: str,
    source_key: str,
    target_key: str,
    field: str,
    base_value: str | None,
    erp_value: str | None,
    psa_value: str | None,
    run_id: str,
    conflict_id: int | None = None,
) -> int:
    """Record a field both sides changed since ``base_value``, and return its id; with the
    ``conflict_id`` of one still open, refresh the two values it now holds instead."""
    if conflict_id is not None:
        con.execute(
            "UPDATE sync.conflicts SET erp_value = ?, psa_value = ? WHERE conflict_id = ?",
            [erp_value, psa_value, conflict_id],
        )
        return conflict_id
    (made,) = con.execute(
        "INSERT INTO sync.conflicts (kind, source_key, target_key, field, base_value, "
        "erp_value, psa_value, raised_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?) "
        "RETURNING conflict_id",
        [kind, source_key, target_key, field, base_value, erp_value, psa_value, run_id],
    ).fetchone()
    return made


def resolve_conflict(
    con: duckdb.DuckDBPyConnection,
    conflict_id: int,
    *,
    take: str | None,
    value: str | None,
    by: str,
) -> None:
    """An operator's choice for an open conflict: the ERP's value (``take="erp"``), the
    PSA's (``"psa"``), or ``value`` on both sides. The next run writes it where it is
    missing and settles the conflict."""
    if (take is None) == (value is None) or take not in (None, *TAKES):
        raise ValueError("resolve a conflict with take='erp', take='psa', or a value")
    resolved = con.execute(
        "UPDATE sync.conflicts SET resolution = ?, resolved_value = ?, resolved_by = ?, "
        "resolved_at = now() WHERE conflict_id = ? AND settled_at IS NULL RETURNING conflict_id",
        [take or "value", value, by, conflict_id],
    ).fetchall()
    if not resolved:
        raise LookupError(f"no open conflict {conflict_id}")


def settle_conflicts(
    con: duckdb.DuckDBPyConnection,
    conflict_ids: Iterable[int],
    run_id: str,
    resolution: str | None = None,
) -> None:
    """Both sides hold the same value again: the conflicts are settled by run ``run_id``.
    ``resolution`` names how, for those no operator resolved (``"agreed"``: the two
    sides came to agree by themselves). A settled conflict stays as it was settled."""
    con.execute(
        "UPDATE sync.conflicts SET settled_at = now(), settled_by_run = ?, "
        "resolution = coalesce(resolution, ?) "
        "WHERE conflict_id IN (SELECT unnest(?::BIGINT[])) AND settled_at IS NULL",
        [run_id, resolution, list(conflict_ids)],
    )


def set_field_owner(
    con: duckdb.DuckDBPyConnection,
    field: str,
    owner: str,
    *,
    customer: str | None,
    by: str,
    note: str | None = None,
) -> list[str]:
    """An operator's "``owner`` (``erp`` or ``psa``) always wins ``field``" for ERP
    customer ``customer`` and its locations, or for every customer (``None``); "address"
    is both lines. Replaces an earlier decision of that scope, and wins over the
    configuration's ``field_owners`` of the same scope (a decision for one customer over
    one for all). Returns the fields decided."""
    _check_owner(field, owner, TAKES)
    fields = _fields(field)
    for one in fields:
        con.execute(
            "INSERT OR REPLACE INTO sync.field_owners (customer_number, field, owner, "
            "decided_by, note, decided_at) VALUES (?, ?, ?, ?, ?, now())",
            [customer or ALL_CUSTOMERS, one, owner, by, note],
        )
    return fields


def own_field(
    con: duckdb.DuckDBPyConnection,
    field: str,
    owner: str,
    *,
    customer: str | None,
    by: str,
    note: str | None = None,
) -> str:
    """An operator's direction for good (``crosswalk conflicts own``, the inbox's form):
    ``owner`` ``erp`` or ``psa`` sets it (``set_field_owner``), ``config`` forgets it
    (``reset_field_owner``), for ``customer`` or every customer (``None``). Returns the
    sentence that tells the operator what now decides the field; a field or an owner
    that is neither raises ValueError."""
    _check_owner(field, owner, (*TAKES, "config"))
    scope = f"customer {customer}" if customer else "every customer"
    if owner == "config":
        if reset_field_owner(con, field, customer=customer):
            return f"The {field} of {scope} goes as crosswalk.toml says again; {NEXT_RUN}."
        return f"No decision on the {field} of {scope} to forget."
    set_field_owner(con, field, owner, customer=customer, by=by, note=note)
    arrow = "ERP -> PSA" if owner == "erp" else "PSA -> ERP"
    return f"The {field} of {scope} always goes {arrow}; {NEXT_RUN}."


def _check_owner(field: str, owner: str, owners: tuple[str, ...]) -> None:
    from crosswalk.config import SYNC_FIELDS

    if field not in SYNC_FIELDS or owner not in owners:
        forgets = " (config: crosswalk.toml decides)" if "config" in owners else ""
        raise ValueError(f"a field ({', '.join(SYNC_FIELDS)}) is owned by erp or psa{forgets}, "
                         f"not {field!r} by {owner!r}")  # fmt: skip


def reset_field_owner(con: duckdb.DuckDBPyConnection, field: str, *, customer: str | None) -> bool:
    """Forget the operator's owner of ``field`` for ``customer`` (``None``: for every
    customer): the configuration decides again. False: there was none."""
    return bool(
        con.execute(
            "DELETE FROM sync.field_owners WHERE customer_number = ? "
            "AND list_contains(?, field) RETURNING field",
            [customer or ALL_CUSTOMERS, _fields(field)],
        ).fetchall()
    )


def _fields(field: str) -> list[str]:
    return ["address_line1", "address_line2"] if field == "address" else [field]


def link_agreement(
    con: duckdb.DuckDBPyConnection,
    agreement_id: int | str,
    contract_number: str,
    *,
    made_by: str,
    note: str | None = None,
    run_id: str | None = None,
) -> None:
    """Link PSA agreement ``agreement_id`` (ConnectWise) to ERP contract ``contract_number``
    (e-automate); an empty number means "linked to no contract": the next invoice makes a
    new one. Replaces any earlier decision for the agreement."""
    _psa_to_erp(con, "agreement", agreement_id, contract_number, made_by, note, run_id)


def break_agreement_link(
    con: duckdb.DuckDBPyConnection,
    agreement_id: int | str,
    contract_number: str,
    reason: str,
    *,
    run_id: str | None = None,
) -> None:
    """The agreement's contract no longer decides (it was terminated): recorded as a
    broken link, kept until a new contract is linked or an operator decides."""
    con.execute(
        "INSERT OR REPLACE INTO sync.links (kind, source_system, source_key, target_system, "
        "target_key, made_by, note, created_at, run_id, broken_at, broken_reason) "
        "VALUES ('agreement', 'connectwise', ?, 'eautomate', ?, 'crosswalk', NULL, now(), ?, "
        "now(), ?)",
        [str(agreement_id), contract_number, run_id, reason],
    )


def link_sales_order(
    con: duckdb.DuckDBPyConnection,
    order_id: int | str,
    so_number: str,
    *,
    made_by: str,
    note: str | None = None,
    run_id: str | None = None,
) -> None:
    """PSA sales order ``order_id`` (ConnectWise) is ERP sales order ``so_number``
    (e-automate): the order the sales-order sync made or found by its key."""
    _psa_to_erp(con, "sales-order", order_id, so_number, made_by, note, run_id)


def move_ticket(
    con: duckdb.DuckDBPyConnection,
    ticket_id: int | str,
    customer_number: str,
    *,
    made_by: str,
    note: str | None = None,
) -> None:
    """Send PSA ticket ``ticket_id``'s service call to ERP customer (or location)
    ``customer_number``, whatever its company maps to; replaces any earlier move."""
    _psa_to_erp(con, "ticket", ticket_id, customer_number, made_by, note, None)


def _psa_to_erp(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    psa_key: int | str,
    erp_key: str,
    made_by: str,
    note: str | None,
    run_id: str | None,
) -> None:
    """A PSA record (source) linked to an ERP record (target), replacing any earlier link
    of that record, and no longer broken."""
    con.execute(
        "INSERT OR REPLACE INTO sync.links (kind, source_system, source_key, target_system, "
        "target_key, made_by, note, created_at, run_id, broken_at, broken_reason) "
        "VALUES (?, 'connectwise', ?, 'eautomate', ?, ?, ?, now(), ?, NULL, NULL)",
        [kind, str(psa_key), erp_key, made_by, note, run_id],
    )


def retry_call(
    con: duckdb.DuckDBPyConnection, call_number: str, *, made_by: str, note: str | None = None
) -> None:
    """Try ERP call ``call_number`` again for the PSA although it is on the sent hold code
    (what taking it off hold in e-automate does): the service sync's next run makes its
    ticket, or holds it again with the reason, and clears the request."""
    con.execute(
        "INSERT OR REPLACE INTO sync.links (kind, source_system, source_key, target_system, "
        "target_key, made_by, note, created_at, run_id, broken_at, broken_reason) "
        "VALUES ('call-retry', 'eautomate', ?, 'connectwise', '', ?, ?, now(), NULL, NULL, "
        "NULL)",
        [call_number, made_by, note],
    )


def call_retried(con: duckdb.DuckDBPyConnection, call_number: str) -> None:
    """The retry asked for ``call_number`` was made."""
    con.execute(
        "DELETE FROM sync.links WHERE kind = 'call-retry' AND source_key = ?", [call_number]
    )
