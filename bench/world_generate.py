"""World generation: time, rows per table, file size and peak RSS at one scale.

    .venv/bin/python bench/world_generate.py [--scale large] [--seed 1]

Writes the world into a temporary folder and removes it afterwards. Peak RSS is the process's
(Python and DuckDB together), as ``/usr/bin/time -v`` reports it.
"""

import argparse
import resource
import tempfile
from pathlib import Path

from emulators.world import SCALES, generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=list(SCALES), default="large")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crosswalk-world-") as folder:
        summary = generate(Path(folder) / "dealer.duckdb", seed=args.seed, scale=args.scale)
        size = summary.path.stat().st_size / 2**20
        print(summary)
        records = sum(
            count
            for table, count in summary.counts.items()
            if table.startswith("connectwise.") and not table.endswith(("refs", "audit_trail"))
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{records:,} PSA records in {summary.seconds:.1f} s "
            f"({records / summary.seconds:,.0f} records/s); "
            f"file {size:,.0f} MiB; peak RSS {peak:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
