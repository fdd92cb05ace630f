"""sales-order-sync at a scale: API calls, writes and wall time of a first full run and of
a re-run with nothing changed, and how far the orders' money agrees with the PSA's.

    .venv/bin/python bench/sales_order_sync.py [--scale medium] [--seed 1] [--keep DIR]

Serves a fresh seeded world from a temporary folder (in this process), maps customers
once with customer-sync (reading and mapping only), then runs sales-order-sync twice
(ephemeral Prefect, the default configuration: every open order status) and prints, per
run, the wall time, the requests each emulated system answered, the writes by action,
and the reconciliation in marts.mapped_sales_orders.
"""

import functools

import served

print = functools.partial(print, flush=True)  # progress shows while it runs


def reconcile(con) -> None:
    agreeing, total, psa, erp = con.execute(
        "SELECT count(*) FILTER (WHERE is_money_in_agreement), count(*), "
        "coalesce(sum(psa_total), 0), coalesce(sum(erp_total), 0) "
        "FROM marts.mapped_sales_orders WHERE action = 'in-sync'"
    ).fetchone()
    actions = con.execute(
        "SELECT action, count(*) FROM marts.mapped_sales_orders GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    print(f"\nreconciliation: {agreeing} of {total} orders in sync agree with the PSA to the "
          f"cent; PSA {psa}, ERP {erp}, difference {erp - psa}")  # fmt: skip
    print("next actions: " + ", ".join(f"{action} {n}" for action, n in actions))


def load_flow():
    from flows.sales_order_sync.flow import sales_order_sync

    return sales_order_sync


if __name__ == "__main__":
    served.flow_bench("sales-order-sync", load_flow, reconcile)
