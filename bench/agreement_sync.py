"""agreement-sync at a scale: API calls, writes and wall time of a first full run and of a
re-run with nothing changed, and how far the contracts' money agrees with the PSA's.

    .venv/bin/python bench/agreement_sync.py [--scale medium] [--seed 1] [--keep DIR]

Serves a fresh seeded world from a temporary folder (in this process), maps customers
once with customer-sync (reading and mapping only), then runs agreement-sync twice
(ephemeral Prefect) and prints, per run, the wall time, the requests each emulated system
answered (ConnectWise by method, e-automate by operation), the writes by action, and the
reconciliation in marts.mapped_agreements: contracts in agreement out of those linked,
and the money that differs.
"""

import functools

import served

print = functools.partial(print, flush=True)  # progress shows while it runs


def reconcile(con) -> None:
    agreeing, total, psa, erp = con.execute(
        "SELECT count(*) FILTER (WHERE is_in_agreement), count(*), "
        "coalesce(sum(psa_amount), 0), coalesce(sum(erp_amount), 0) "
        "FROM marts.mapped_agreements WHERE next_action = 'in-sync'"
    ).fetchone()
    waiting = con.execute(
        "SELECT waiting_code, count(*) FROM marts.mapped_agreements "
        "WHERE next_action = 'waiting' GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    print(f"\nreconciliation: {agreeing} of {total} contracts the sync keeps agree with "
          f"the PSA to the cent; PSA {psa}, ERP {erp}, difference {erp - psa}")  # fmt: skip
    print("waiting: " + ", ".join(f"{code} {n}" for code, n in waiting))


def load_flow():
    from flows.agreement_sync.flow import agreement_sync

    return agreement_sync


if __name__ == "__main__":
    served.flow_bench("agreement-sync", load_flow, reconcile)
