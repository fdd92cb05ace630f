"""service-sync at a scale: API calls, writes and wall time of a first full run and of a
re-run with nothing changed, and how far the hours on ERP calls agree with the PSA's.

    .venv/bin/python bench/service_sync.py [--scale medium] [--seed 1] [--keep DIR]

Serves a fresh seeded world from a temporary folder (in this process), maps customers
once with customer-sync (reading and mapping only), then runs service-sync twice
(ephemeral Prefect) and prints, per run, the wall time, the requests each emulated system
answered (ConnectWise by method, e-automate by operation), the writes by action, and the
hours reconciliation in marts.ticket_hours: tickets whose hours agree, the hours on each
side, and why the rest differ; and per state, the project invoices (ID522) with their fixed
fees and hours against the ERP's (marts.project_invoice_sync).
"""

import functools

import served

print = functools.partial(print, flush=True)  # progress shows while it runs


def reconcile(con) -> None:
    agreeing, total, psa, erp = con.execute(
        "SELECT count(*) FILTER (WHERE difference_reason IS NULL), count(*), "
        "coalesce(sum(psa_billable_hours), 0), coalesce(sum(erp_hours), 0) "
        "FROM marts.ticket_hours"
    ).fetchone()
    reasons = con.execute(
        "SELECT split_part(difference_reason, ':', 1) || ' ' || "
        "coalesce(split_part(difference_reason, ': ', 2), ''), count(*), "
        "sum(difference_hours) FROM marts.ticket_hours WHERE difference_reason "
        "IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    print(f"\nreconciliation: {agreeing} of {total} tickets' hours agree; PSA billable "
          f"{psa} h, on ERP labor {erp} h")  # fmt: skip
    print("differ: " + ", ".join(f"{why.strip()} {n} ({h} h)" for why, n, h in reasons))
    states = con.execute(
        "SELECT state || coalesce(' ' || reason_code, ''), count(*), "
        "coalesce(sum(fee_amount), 0), coalesce(sum(erp_fee_amount), 0), "
        "coalesce(sum(billed_hours), 0), coalesce(sum(erp_hours), 0) "
        "FROM marts.project_invoice_sync GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    print("project invoices: " + "; ".join(
        f"{state} {n} (fees {fee} / ERP {erp_fee}, hours {hours} / ERP {erp_hours})"
        for state, n, fee, erp_fee, hours, erp_hours in states))  # fmt: skip


def load_flow():
    from flows.service_sync.flow import service_sync

    return service_sync


if __name__ == "__main__":
    served.flow_bench("service-sync", load_flow, reconcile)
