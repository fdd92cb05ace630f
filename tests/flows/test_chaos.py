"""Crash anywhere, every flow: the short version of ``bench/chaos.py`` (issue 19).

One small world for the module. Per flow that writes (``emulators.chaos.FLOWS``): a plan run
lands the flow's records and builds its models; from there a clean push, and then, from
the same start, the push stopped at five step boundaries in turn (one at random, then
before the intent, between intent and request, between request and outcome and after the
outcome of a push's first write), each stop a run of its own, then pushed to its end. The
systems must then hold what the clean push left, by natural key: nothing duplicated, missing
or extra. A whole run of the flow after that (extract, build, push) writes nothing. The stops
are the write path's chaos hook raising in this process, and the pushes of a series share
the models built before it, so a push re-sends what an earlier one of the series sent: the
write amplification of a crash and its re-run is the benchmark's to measure, with whole
``crosswalk run`` processes SIGKILLed.
"""

import random
import uuid

import pytest

from crosswalk.config import load_settings
from crosswalk.pipeline import Run
from emulators.chaos import BOUNDARIES, FLOWS, Bench

from ..conftest import seeded

pytestmark = pytest.mark.flow

# The flows in the order they run: customer-sync's plan run maps the customers the others'
# records go to.
ORDER = ("customer-sync", "charge-import", "agreement-sync", "service-sync", "sales-order-sync")


@pytest.fixture(scope="module")
def bench(tmp_path_factory, small_world, prefect_server):
    from emulators import serve

    data = seeded(tmp_path_factory.mktemp("chaos"), small_world)
    with serve.start(data, seed=7, scale="small", port_base=0) as running:
        yield Bench(data, running)


def test_every_flow_that_writes_is_declared():
    from flows import FLOWS as ALL

    assert sorted(FLOWS) == sorted(ALL) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_a_push_stopped_at_every_step_boundary_ends_as_a_clean_one(bench, credentials, name):
    from prefect.flows import load_flow_from_entrypoint
    from prefect.logging import disable_run_logger

    from flows import FLOWS as ENTRYPOINTS

    chaotic = FLOWS[name]
    config = bench.config(chaotic)
    settings = load_settings(config)
    flow = load_flow_from_entrypoint(ENTRYPOINTS[name])
    planned = flow(config=str(config), plan=True)
    assert planned.status == "completed", planned.message
    bench.keep_start()

    def push() -> None:
        """The flow's push steps in a run of their own, as each process of a re-run."""
        with disable_run_logger():
            chaotic.push(Run(uuid.uuid4().hex, name, settings))

    bench.restore()
    bench.writes()
    push()
    clean_writes = sum(bench.writes().values())
    clean = bench.held(chaotic)
    assert clean_writes > 0, f"{name} has nothing to write in this world: nothing is tested"

    writes = max(1, clean_writes)
    # The random stop first: the first push of a series passes every boundary the clean
    # one did; then the four kinds, each at the first write a push sends.
    kills = [random.Random(name).randrange(writes * len(BOUNDARIES)) + 1, 1, 2, 3, 4]
    point = bench.push_series(push, kills)
    found = bench.held(chaotic).against(clean)
    assert point.killed, f"{name}: a push ended before its stop"
    assert (found.duplicates, found.missing, found.extra) == (0, 0, 0), found.samples

    again = flow(config=str(config))
    assert again.status == "completed", again.message
    assert sum(bench.writes().values()) == 0, [str(w) for w in again.planned]
    assert bench.held(chaotic).against(clean).samples == []
