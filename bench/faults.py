"""A full cycle of every flow with faults on all four systems at once, against a clean
cycle of the same world (issue 19, item 3).

    .venv/bin/python bench/faults.py [--scale small] [--seed 1] [--throttle 0.2]
        [--error 0.05] [--drop 0.01] [--lost 0.01] [--slow 0.02] [--slow-seconds 0.5]
        [--retry-after 1]

Serves two copies of one seeded world in this process, runs every flow once in order on
each (customers first), the second with throttling (429 with ``Retry-After``), server
errors, dropped connections, answers lost after the system acted (``--lost``) and slow
answers drawn per request on every system, then
prints per system the requests crosswalk sent and the retries by cause, the faults each
emulator injected, every retry that broke the APIs' rules (a write whose outcome was
unknown sent again, a wait shorter than ``Retry-After``), the flows' outcomes, and the
difference between the two end states by natural key (``emulators.snapshot``).
"""

import argparse
import functools
import tempfile
import time
from pathlib import Path

import served

from emulators import snapshot

print = functools.partial(print, flush=True)  # progress shows while it runs


def run(label: str, data: Path, args, faults: dict | None):
    from crosswalk.http import Tally
    from flows import cycle

    with served.world(data, args.scale, args.seed) as running:
        for server in running.servers.values():
            server.faults.configure(
                seed=args.seed, retry_after=args.retry_after, slow_seconds=args.slow_seconds,
                **(faults or {}),
            )  # fmt: skip
        config = data / "crosswalk.toml"
        config.write_text(running.config.read_text(encoding="utf-8"), encoding="utf-8")
        began = time.perf_counter()
        with Tally.counting() as tally:
            runs = cycle(str(config))
        seconds = time.perf_counter() - began
        for server in running.servers.values():
            server.faults.clear()
        print(f"\n{label}: {seconds:.1f} s")
        for name, flow_run in runs.items():
            print(f"  {name}: {flow_run.status}, {len(flow_run.planned)} writes")
        print("  | system | requests | retries | by cause | faults injected |")
        for name, server in running.servers.items():
            causes = ", ".join(
                f"{cause} {n}" for (system, cause), n in sorted(tally.causes.items())
                if system == name
            )  # fmt: skip
            injected = ", ".join(f"{k} {n}" for k, n in server.faults.injected.items() if n)
            print(f"  | {name} | {tally.requests[name]} | {tally.retries[name]} | "
                  f"{causes or '-'} | {injected or '-'} |")  # fmt: skip
        for broken in tally.broken:
            print(f"  RULE BROKEN: {broken}")
        return snapshot.state(running.store), runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "medium"), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--throttle", type=float, default=0.2)
    parser.add_argument("--error", type=float, default=0.05)
    parser.add_argument("--drop", type=float, default=0.01)
    parser.add_argument("--lost", type=float, default=0.01, help="answers lost after the write")
    parser.add_argument("--slow", type=float, default=0.02)
    parser.add_argument("--slow-seconds", type=float, default=0.5)
    parser.add_argument("--retry-after", type=int, default=1)
    args = parser.parse_args()
    faults = {"throttle": args.throttle, "error": args.error, "drop": args.drop,
              "lost": args.lost, "slow": args.slow}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as folder:
        clean, _ = run("clean cycle", Path(folder) / "clean", args, None)
        # The same world again, generated from the seed (the clean one holds its writes).
        faulty, _ = run("cycle with faults", Path(folder) / "faults", args, faults)
    difference = snapshot.compare(clean, faulty)
    print(f"\nend state against the clean cycle, by natural key: {difference.counts()}")
    for section in ("duplicates", "missing", "extra", "changed"):
        for table, keys in getattr(difference, section).items():
            print(f"  {section} in {table}: {len(keys)}, e.g. {keys[:3]}")


if __name__ == "__main__":
    main()
