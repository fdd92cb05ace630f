"""Faults everywhere (issue 19, item 3): a cycle of every flow with throttling, server
errors, dropped connections, answers lost after the system acted and slow answers on all
four systems at once ends as a clean cycle of the same world does, by natural key
(``emulators.snapshot``), and every retry kept the APIs' rules (``crosswalk.http.Tally``).
``bench/faults.py`` is the same at a larger scale, with its figures."""

import os

import pytest

from crosswalk.http import Tally
from emulators import serve, snapshot
from flows import FLOWS, cycle

from ..conftest import seeded

# Retry-After 0 keeps the test short; the waits it asks for are checked all the same.
FAULTS = {"throttle": 0.2, "error": 0.05, "drop": 0.01, "lost": 0.01, "slow": 0.02}

pytestmark = pytest.mark.cycle  # minutes of work: make test-cycles, not make test


@pytest.fixture(scope="module")
def cycles(tmp_path_factory, prefect_server, small_world):
    """A clean cycle and one with faults, each on its own copy of the session's world:
    label -> (runs, tally, faults injected per system, end state)."""
    os.environ.update(serve.CREDENTIALS)
    ends = {}
    for label, faults in (("clean", {}), ("faults", FAULTS)):
        data = seeded(tmp_path_factory.mktemp(f"cycle-{label}"), small_world)
        with serve.start(data, seed=7, scale="small", port_base=0) as running:
            for server in running.servers.values():
                server.faults.configure(seed=7, retry_after=0, slow_seconds=0.05, **faults)
            with Tally.counting() as tally:
                runs = cycle(str(running.config))
            injected = {name: dict(s.faults.injected) for name, s in running.servers.items()}
            ends[label] = (runs, tally, injected, snapshot.state(running.store))
    return ends


def test_every_flow_completes_with_faults_on_every_system(cycles):
    runs, tally, injected, _ = cycles["faults"]
    assert {name: run.status for name, run in runs.items()} == dict.fromkeys(FLOWS, "completed")
    for system, kinds in injected.items():
        assert sum(kinds.values()) > 0, f"no fault injected on {system}"
        assert tally.retries[system] > 0, f"{system}: no retry"
    assert all(sum(k[kind] for k in injected.values()) > 0 for kind in FAULTS)


def test_every_retry_kept_the_rules(cycles):
    _, tally, _, _ = cycles["faults"]
    assert tally.broken == []
    clean = cycles["clean"][1]
    assert sum(clean.retries.values()) == 0
    assert sum(tally.requests.values()) > sum(clean.requests.values())


def test_the_end_state_is_the_clean_cycles_by_natural_key(cycles):
    clean_runs, _, _, clean = cycles["clean"]
    _, _, _, faulty = cycles["faults"]
    difference = snapshot.compare(clean, faulty)
    assert difference.counts() == {"duplicates": 0, "missing": 0, "extra": 0, "changed": 0}, (
        difference
    )
    assert sum(len(r.planned) for r in clean_runs.values()) > 0  # the cycle wrote something
