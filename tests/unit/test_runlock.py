"""One run at a time per warehouse (crosswalk/runlock.py), across processes: a run holding
the lock is named by the one that finds it held, the lock goes with the process that held
it, readers read the read copy while a run holds the file, and an operator's decision
waits for the run a moment, then refuses in one line."""

import os
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from crosswalk import decisions, runlock
from crosswalk.cli import BUSY_EXIT, app
from crosswalk.runlock import WarehouseBusy, holder, one_run, publish_read_copy
from crosswalk.warehouse import Warehouse

from ..conftest import release, run_holding


@pytest.fixture
def running(tmp_path):
    """A warehouse with a read copy, held by a run in another process."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    warehouse.migrate()
    warehouse.start_run("run-1", "customer-sync", plan=False, full_refresh=False)
    publish_read_copy(warehouse.path)
    with run_holding(warehouse.path) as process:
        yield warehouse, process


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


def test_a_decision_refuses_in_one_line_while_a_run_holds_the_warehouse_and_is_saved_after(
    running, tmp_path, monkeypatch
):
    """Every decision command writes through the one helper (cli.decisions._deciding):
    while a run holds the warehouse it waits a moment, then prints the one line naming the
    run, exits 75 and saves nothing; once the run has ended the same command is saved."""
    warehouse, process = running
    monkeypatch.setattr("crosswalk.config.DECISION_WAIT_SECONDS", 0.5)
    config = tmp_path / "crosswalk.toml"
    config.write_text(f"[warehouse]\npath = {str(warehouse.path)!r}\n", encoding="utf-8")
    command = ["conflicts", "own", "fax", "psa", "--config", str(config)]

    refused = CliRunner().invoke(app, command)
    assert refused.exit_code == BUSY_EXIT, refused.output
    assert refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert line.startswith(
        f"decision not saved after waiting 0.5 s: customer-sync (pid {process.pid}, since "
    )
    assert line.endswith(f"is running on {warehouse.path.resolve()}")

    release(process)
    with warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sync.field_owners").fetchone() == (0,)
    saved = CliRunner().invoke(app, command)
    assert saved.exit_code == 0, saved.output
    assert "The fax of every customer always goes PSA -> ERP" in saved.stdout
    with warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT field, owner FROM sync.field_owners").fetchall() == [
            ("fax", "psa")
        ]


def test_a_decision_holds_the_run_lock_while_it_writes(tmp_path):
    """A run started while a decision is written finds the warehouse held by it (and
    waits for it, as for a run); the lock goes when the decision is saved."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    who = [sys.executable, "-c", "import sys; from pathlib import Path; "
           "from crosswalk.runlock import holder; print(holder(Path(sys.argv[1])))",
           str(warehouse.path)]  # fmt: skip
    with warehouse.deciding("decision", wait_minutes=0) as con:
        decisions.exclude(con, "customer-sync", "eautomate", "C1", "test", by="pat")
        seen = subprocess.run(who, capture_output=True, text=True, check=True).stdout
    assert seen.startswith(f"decision (pid {os.getpid()}, since ")
    assert subprocess.run(who, capture_output=True, text=True, check=True).stdout == "None\n"
    with warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT record_key FROM sync.exclusions").fetchall() == [("C1",)]
