"""Crash anywhere, every flow (issue 19): per flow that writes, kill points at each step
boundary of its writes and at random moments, each run again to its end and once more,
compared with a clean run of the same world by natural keys.

    .venv/bin/python bench/chaos.py [--scale small] [--seed 1] [--kills 100] [--chain 1]
                                    [--flow NAME]

Serves a fresh seeded world from a temporary folder (in this process) and one Prefect
server for every run; each run is ``crosswalk run <flow>`` in a process group of its own,
SIGKILLed by the write path's test hook (``CROSSWALK_CHAOS_KILL_AT``) or after a random
time (``emulators/chaos.py``). Prints per flow: the clean run's writes, the kills, records
duplicated, missing and extra, the last runs' writes, and the write amplification (writes
of the killed run and its re-runs over the clean run's; 1.0 plus at most the one write in
flight at the kill is right).

``--chain K`` kills K runs in a row before one runs to its end: the re-run of a killed run
is killed again at the next kill point (a crash while recovering from a crash), so a chain
tests K kill points for the price of one run from the start; the allowed amplification is
then 1.0 plus one write per kill.
"""

import argparse
import functools
import tempfile
import time
from collections import Counter
from pathlib import Path

import served

print = functools.partial(print, flush=True)  # progress shows while it runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=("small", "medium"), default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=100, help="kills per flow")
    parser.add_argument(
        "--chain", type=int, default=1, help="kills in a row: each re-run killed again"
    )
    parser.add_argument("--flow", action="append", help="only this flow (repeatable)")
    parser.add_argument("--keep", type=Path, help="a folder to keep the world and runs in")
    parser.add_argument("--verbose", action="store_true", help="each kill point's figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as folder:
        data = args.keep or Path(folder)
        began = time.perf_counter()
        with served.world(data, args.scale, args.seed) as running:
            print(f"world ({args.scale}, seed {args.seed}): {time.perf_counter() - began:.1f} s")
            from prefect.settings import PREFECT_API_URL
            from prefect.testing.utilities import prefect_test_harness

            from emulators.chaos import FLOWS, Bench

            with prefect_test_harness(server_startup_timeout=120):
                bench = Bench(data, running, PREFECT_API_URL.value())
                pristine = data / "pristine.duckdb"
                running.store.save(pristine)
                rows = []
                for name in args.flow or FLOWS:
                    rows.append(chaos(bench, FLOWS[name], pristine, args))
            print("\n| flow | clean writes | kills | duplicates | missing | extra | "
                  "last-run writes | amplification (mean / max) | allowed |")  # fmt: skip
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for row in rows:
                print("| " + " | ".join(str(v) for v in row) + " |")


def chaos(bench, chaotic, pristine: Path, args) -> list:
    from emulators.chaos import Found, kill_points

    began = time.perf_counter()
    bench.prepare(chaotic, pristine)
    ran, clean, boundaries = bench.clean(chaotic)
    clean_writes = sum(ran.writes.values())
    print(f"\n{chaotic.flow}: prepared and clean run in {time.perf_counter() - began:.1f} s "
          f"(run {ran.seconds:.1f} s); {clean_writes} writes "
          f"({', '.join(f'{k} {n}' for k, n in sorted(ran.writes.items()))}); "
          f"{boundaries} step boundaries")  # fmt: skip
    found, kills, last, ratios, undeclared = Found(), 0, 0, [], Counter()
    # A run of a chain may end before its kill (a re-run has less to do than the run it
    # follows): chains are tried until the flow has taken its --kills.
    points = kill_points(boundaries, args.kills * 5, args.seed, ran.seconds)
    chains = [points[i : i + args.chain] for i in range(0, len(points), args.chain)]
    for i, chain in enumerate(chains):
        if kills >= args.kills:
            break
        result = bench.kill_chain(chaotic, clean, chain, clean_writes=clean_writes)
        kills += result.killed
        found.duplicates += result.found.duplicates
        found.missing += result.found.missing
        found.extra += result.found.extra
        last += result.last_writes
        undeclared += result.undeclared
        ratios.append(result.writes / clean_writes if clean_writes else 1.0)
        if args.verbose or result.found.kinds or result.last_writes or result.undeclared:
            seen = result.found
            print(f"  {i + 1}. {result.where}: killed {result.killed}, {result.writes} writes "
                  f"in {result.killed + result.reruns + 1} runs, last run {result.last_writes}; "
                  f"dup {seen.duplicates} missing {seen.missing} extra {seen.extra} "
                  f"{seen.samples} {dict(result.undeclared)}")  # fmt: skip
        elif (i + 1) % 10 == 0:
            print(f"  {i + 1} chains, {kills} kills, {time.perf_counter() - began:.0f} s")
    if undeclared:
        print(f"  undeclared writes: {dict(undeclared)}")
    allowed = (clean_writes + args.chain) / clean_writes if clean_writes else 1.0
    mean = sum(ratios) / len(ratios) if ratios else 0.0
    print(f"{chaotic.flow}: {time.perf_counter() - began:.0f} s")
    return [chaotic.flow, clean_writes, kills, found.duplicates, found.missing, found.extra,
            last, f"{mean:.3f} / {max(ratios, default=0):.3f}", f"{allowed:.3f}"]  # fmt: skip


if __name__ == "__main__":
    main()
