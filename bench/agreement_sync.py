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

import argparse
import functools
import tempfile
import time
from pathlib import Path

import served

print = functools.partial(print, flush=True)  # progress shows while it runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="a folder to keep the world and warehouse in")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-agreement-sync-") as folder:
        data = args.keep or Path(folder)
        began = time.perf_counter()
        with served.world(data, args.scale, args.seed) as on:
            print(f"world ({args.scale}, seed {args.seed}): {time.perf_counter() - began:.1f} s")
            from crosswalk.config import load_settings
            from crosswalk.warehouse import Warehouse
            from flows.agreement_sync.flow import agreement_sync

            config = served.mapped_then_twice(data, on, agreement_sync)
            # The marts were built before the last run's (empty) push: they hold the end state.
            with Warehouse(load_settings(config).warehouse.path).connect(read_only=True) as con:
                kept = con.execute(
                    "SELECT count(*) FILTER (WHERE is_in_agreement), count(*), "
                    "coalesce(sum(psa_amount), 0), coalesce(sum(erp_amount), 0) "
                    "FROM marts.mapped_agreements WHERE next_action = 'in-sync'"
                ).fetchone()
                waiting = con.execute(
                    "SELECT waiting_code, count(*) FROM marts.mapped_agreements "
                    "WHERE next_action = 'waiting' GROUP BY 1 ORDER BY 2 DESC"
                ).fetchall()
            agreeing, total, psa, erp = kept
            print(f"\nreconciliation: {agreeing} of {total} contracts the sync keeps agree with "
                  f"the PSA to the cent; PSA {psa}, ERP {erp}, difference {erp - psa}")  # fmt: skip
            print("waiting: " + ", ".join(f"{code} {n}" for code, n in waiting))


if __name__ == "__main__":
    main()
