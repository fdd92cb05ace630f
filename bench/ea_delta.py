"""e-automate delta-read throughput: what a full and an incremental extraction read per second.

    .venv/bin/python bench/ea_delta.py [--scale large] [--data data/bench-large] [--seed 1]

Generates the world once into ``--data`` (reused afterwards; a folder made before the
e-automate emulator existed is refused, delete it), serves it from a separate process
(``crosswalk emulators serve``, so emulator and client do not share a GIL) and measures,
through crosswalk's own source (the server's stamp, the skinny delta list, bulk details
in chunks of 500, offsets added to local date-times):
- per entity (customers with custom properties, contracts with lines, calls with labor):
  the delta list (rows, ms) and the whole read (records, s, records/s);
- an incremental read of the calls changed in the world's last month;
- the time to validate what was read (pandera), and the client's peak RSS.
"""

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import requests

from crosswalk.eautomate import DETAILS, AuthInfo, EAutomate, JsonTransport
from crosswalk.entities import validate
from crosswalk.sources import EAutomateSource
from emulators import serve
from schemas import eautomate

ENTITIES = (eautomate.customers, eautomate.contracts, eautomate.calls)


def wait_for(url: str, process: subprocess.Popen) -> None:
    for _ in range(3000):
        try:
            requests.post(f"{url}/PublicAPI/getCurrentTimeStamp", json={}, timeout=1)
            return
        except requests.ConnectionError:
            if process.poll() is not None:
                raise RuntimeError("the emulators stopped before answering") from None
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def read(source: EAutomateSource, entity, since: str | None) -> tuple[int, int, float, float]:
    """(records, pages, seconds, seconds validating) of one delta read."""
    started, records, pages, checking = time.perf_counter(), 0, 0, 0.0
    for page in source.pages(entity, since):
        records += len(page.records)
        pages += 1
        mark = time.perf_counter()
        validate(entity, page.records)
        checking += time.perf_counter() - mark
    return records, pages, time.perf_counter() - started - checking, checking


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--port-base", type=int, default=8890)
    args = parser.parse_args()
    data = (args.data or Path(f"data/bench-{args.scale}")).resolve()
    started = time.perf_counter()
    serve.open_world(data, args.seed, args.scale)
    print(f"world ready in {time.perf_counter() - started:.1f} s ({data})")
    crosswalk = str(Path(sys.executable).parent / "crosswalk")
    command = [crosswalk, "emulators", "serve", "--data", str(data), "--seed", str(args.seed),
               "--scale", args.scale, "--port-base", str(args.port_base)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port_base + serve.OFFSETS['eautomate']}"
    try:
        wait_for(url, server)
        client = EAutomate(JsonTransport(url, AuthInfo("api", "demo", "dealer"), timeout=300))
        source = EAutomateSource(client)
        for entity in ENTITIES:
            mark = time.perf_counter()
            rows = client.changes(entity.name, None).rows
            listed = time.perf_counter() - mark
            print(
                f"{DETAILS[entity.name].list_operation} from 1900: {len(rows):,} skinny rows "
                f"in {listed * 1000:,.0f} ms ({len(rows) / listed:,.0f} rows/s)"
            )
            records, pages, seconds, checking = read(source, entity, None)
            print(
                f"full read {entity}: {records:,} records in {pages:,} pages, {seconds:.1f} s, "
                f"{records / seconds:,.0f} records/s (validation {checking:.1f} s more)"
            )
        since = "2025-12-01T05:00:00+00:00"
        records, pages, seconds, _ = read(source, eautomate.calls, since)
        print(
            f"incremental read eautomate.calls since {since[:10]}: {records:,} records in "
            f"{pages:,} pages, {seconds:.2f} s, {records / seconds:,.0f} records/s"
        )
        records, pages, seconds, _ = read(source, eautomate.calls, "2030-01-01T00:00:00+00:00")
        print(f"unchanged read eautomate.calls: {records} records, {seconds * 1000:.0f} ms")
    finally:
        server.terminate()
        server.wait(timeout=60)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (client) {rss:.0f} MiB")


if __name__ == "__main__":
    main()
