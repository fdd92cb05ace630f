"""One run at a time per warehouse (crosswalk/runlock.py), across processes: a run holding
the lock is named by the one that finds it held, the lock goes with the process that held
it, and readers read the read copy while a run holds the file."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from crosswalk import runlock
from crosswalk.runlock import WarehouseBusy, holder, one_run, publish_read_copy
from crosswalk.warehouse import Warehouse

# A run in another process: it takes the lock, says so, opens the warehouse for writing
# (as a run's step does) and keeps both until it is told to stop.
HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    from pathlib import Path
    from crosswalk.runlock import one_run
    path = Path(sys.argv[1])
    with one_run(path, "customer-sync"):
        con = duckdb.connect(str(path))
        print("holding", flush=True)
        sys.stdin.readline()
        con.close()
    """
)


@pytest.fixture
def running(tmp_path):
    """A warehouse with a read copy, held by a run in another process."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    publish_read_copy(warehouse.path)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "holding\n"
    yield warehouse, process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_second_run_refuses_naming_the_running_one(running, monkeypatch):
    warehouse, process = running
    monkeypatch.setattr(runlock, "GRACE_SECONDS", 0.2)
    with (
        pytest.raises(WarehouseBusy) as busy,
        one_run(warehouse.path, "service-sync", wait_minutes=0),
    ):
        pytest.fail("entered while another run holds the warehouse")
    line = str(busy.value)
    assert "\n" not in line
    assert line.startswith(f"service-sync not started: customer-sync (pid {process.pid}, since ")
    assert str(warehouse.path.resolve()) in line
    assert holder(warehouse.path).pid == process.pid


def test_a_waiting_run_says_once_whom_it_waits_for_and_starts_when_it_ends(running):
    warehouse, process = running
    told = []

    def waiting(line):
        told.append(line)
        process.stdin.write("\n")  # the running one finishes now
        process.stdin.flush()

    with one_run(warehouse.path, "service-sync", wait_minutes=1, on_wait=waiting):
        assert holder(warehouse.path) is None  # this process holds it
        assert runlock.held_here(warehouse.path)
    assert len(told) == 1 and f"customer-sync (pid {process.pid}" in told[0]
    assert not runlock.held_here(warehouse.path)


def test_the_lock_goes_with_a_killed_run(running):
    warehouse, process = running
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert holder(warehouse.path) is None
    with one_run(warehouse.path, "customer-sync", wait_minutes=0), warehouse.transaction() as con:
        con.execute("UPDATE sync.runs SET status = 'failed'")


def test_readers_read_the_read_copy_while_a_run_holds_the_file(running):
    warehouse, _ = running
    with warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT flow, status FROM sync.runs").fetchall() == [
            ("customer-sync", "running")
        ]
        (database,) = con.execute("SELECT current_database()").fetchone()
    assert database == "warehouse"  # dbt's views name their database after the file


def test_the_lock_is_reentrant_and_names_the_innermost_flow(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with one_run(path, "all"):
        outer = runlock.lock_path(path).read_text()
        with one_run(path, "charge-import"):
            assert '"charge-import"' in runlock.lock_path(path).read_text()
        assert runlock.lock_path(path).read_text() == outer  # "all", since it began
        assert runlock.held_here(path)
    assert not runlock.held_here(path)
