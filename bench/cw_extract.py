"""ConnectWise emulator page latency and client extraction throughput.

    .venv/bin/python bench/cw_extract.py [--scale large] [--data data/bench-large] [--seed 1]

Generates the world once into ``--data`` (reused afterwards), serves it from a separate
process (``crosswalk emulators serve``, so emulator and client do not share a GIL) and
measures:
- page latency: 1,000 tickets filtered by ``lastUpdated`` (navigable and forward-only),
  median and 95th percentile over 50 requests at spread-out offsets;
- client throughput: every ticket (and time entry) read through crosswalk's client in
  forward-only pages of 1,000, records/s, plus the time to validate those pages;
- peak RSS of this (client) process.
"""

import argparse
import functools
import random
import resource
import statistics
import time
from pathlib import Path

import requests
import served

from crosswalk.connectwise import ConnectWise
from emulators import serve

HEADERS = {"clientId": serve.CLIENT_ID}
print = functools.partial(print, flush=True)  # progress shows while it runs


def latency(server_url: str, auth: dict, forward: bool, rng: random.Random) -> list[float]:
    api = f"{server_url}/v4_6_release/apis/3.0/service/tickets"
    session = requests.Session()
    session.headers.update(auth)
    if forward:
        session.headers["pagination-type"] = "forward-only"
    times = []
    for _ in range(50):
        month = rng.randint(1, 12)
        params = {"conditions": f"lastUpdated >= [2025-{month:02d}-01T00:00:00Z]", "pageSize": 1000}
        if forward:
            params["pageId"] = rng.randint(0, 500_000)
        else:
            params["page"] = rng.randint(1, 20)
        started = time.perf_counter()
        response = session.get(api, params=params, timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--latency-only", action="store_true", help="Skip the full extraction.")
    args = parser.parse_args()
    data = (args.data or Path(f"data/bench-{args.scale}")).resolve()
    started = time.perf_counter()
    serve.open_world(data, args.seed, args.scale)
    print(f"world ready in {time.perf_counter() - started:.1f} s ({data})")
    with served.apart(data, args.seed, args.scale, 8790) as url:
        client = ConnectWise(url, "dealer", "demo-public", "demo-private", serve.CLIENT_ID)
        auth = dict(client.http.session.headers)
        rng = random.Random(1)
        for forward in (False, True):
            times = sorted(latency(url, auth, forward, rng))
            kind = "forward-only" if forward else "navigable"
            print(
                f"page of 1,000 tickets by lastUpdated ({kind}): median "
                f"{statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95)]:.1f} ms"
            )
        for path in () if args.latency_only else ("service/tickets", "time/entries"):
            started, records, pages = time.perf_counter(), 0, 0
            for page in client.pages(path):
                records += len(page)
                pages += 1
            elapsed = time.perf_counter() - started
            print(
                f"extract {path}: {records:,} records in {pages:,} pages, {elapsed:.1f} s, "
                f"{records / elapsed:,.0f} records/s"
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
