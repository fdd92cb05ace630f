"""customer-sync at a scale: API calls and wall time of a first full run and of a re-run
with nothing changed.

    .venv/bin/python bench/customer_sync.py [--scale medium] [--seed 1] [--create]

Serves a fresh seeded world from a temporary folder (in this process), runs customer-sync
against it twice (ephemeral Prefect) and prints, per run, the wall time, the requests
each emulated system answered by method (reads and writes apart), and what the push step
did. ``--create`` switches on ``create_companies`` (companies and sites for every active
ERP customer and location without a partner).
"""

import argparse
import functools
import itertools
import tempfile
import time
from collections import Counter
from pathlib import Path

import served

print = functools.partial(print, flush=True)  # progress shows while it runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "medium", "large"), default="medium")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--create", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-customer-sync-") as folder:
        data = Path(folder)
        began = time.perf_counter()
        with served.world(data, args.scale, args.seed) as on:
            print(f"world ({args.scale}, seed {args.seed}): {time.perf_counter() - began:.1f} s")
            config = data / "crosswalk.toml"
            text = on.config.read_text(encoding="utf-8")
            extra = "\n[flows.customer_sync]\ncreate_companies = true\n" if args.create else ""
            config.write_text(text + extra, encoding="utf-8")
            from flows.customer_sync.flow import customer_sync

            for label in ("first run", "no-change run"):
                served.requests_answered(on)
                began = time.perf_counter()
                run = customer_sync(config=str(config))
                seconds = time.perf_counter() - began
                landed = run.totals().landed
                print(f"\n{label}: {run.status} in {seconds:.1f} s; "
                      f"{len(run.planned)} writes; landed {landed} records")  # fmt: skip
                for line in served.requests_answered(on):
                    print(line)
                actions = Counter(p.action for p in run.planned)
                if actions:
                    print("  writes: " + ", ".join(f"{a} {n}" for a, n in sorted(actions.items())))
                if label == "no-change run":
                    for planned in itertools.islice(run.planned, 10):
                        print(f"    {planned}")


if __name__ == "__main__":
    main()
