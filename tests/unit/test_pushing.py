"""The one write mechanism (crosswalk/pushing.py) on a real warehouse, with the system
played by functions that count their calls: plans send nothing, every write is in the
push log, creates are looked up before and after a lost answer, earlier runs' unknown
outcomes are settled, refusals become failures and the batch goes on."""

import dataclasses
import io
import json
from decimal import Decimal

import pytest
from rich.console import Console

from crosswalk import progress, pushing
from crosswalk.config import load_settings
from crosswalk.errors import data_failure
from crosswalk.http import DataError, OutcomeUnknown
from crosswalk.pipeline import Run
from crosswalk.pushing import BOUNDARIES, Chaos, Pusher, Write, Writes
from schemas import connectwise

WRITE = Write(
    "connectwise", "update-company", "company 7", "customer ACME01",
    {"city": ("Tampa", "Brandon"), "phoneNumber": (None, "813-555-0100")},
)  # fmt: skip


@pytest.fixture
def settings(config_file):
    return load_settings(config_file)


def a_run(settings, plan=False, run_id="run-1") -> Run:
    run = Run(run_id, "customer-sync", settings, plan=plan)
    run.warehouse.migrate()
    return run


def log_rows(run):
    with run.warehouse.connect(read_only=True) as con:
        return con.execute(
            "SELECT run_id, action, target_key, outcome, target_id, payload FROM sync.push_log "
            "ORDER BY intended_at"
        ).fetchall()


def refused(exc):
    return data_failure("eautomate", "customers", "ACME01", "psa-update-rejected", exc.message,
                        "fix it")  # fmt: skip


def create(identifier):
    """The write that creates the company for customer ``identifier``."""
    return Write("connectwise", "create-company", f"company identifier={identifier}",
                 f"customer {identifier}", {"identifier": (None, identifier)},
                 key={"identifier": identifier})  # fmt: skip


class System:
    """A system that makes records and can lose answers: ``lose`` answers are lost, the
    first ``drop`` of them before the record is made."""

    def __init__(self, lose=0, drop=0):
        self.records, self.sends, self.lookups = {}, 0, 0
        self.lose, self.drop = lose, drop

    def send(self, identifier):
        self.sends += 1
        if self.drop:
            self.drop -= 1
            self.lose -= 1
            raise OutcomeUnknown("connectwise", "connection reset before it was read")
        self.records[identifier] = 100 + len(self.records)
        if self.lose:
            self.lose -= 1
            raise OutcomeUnknown("connectwise", "connection reset after it was made")
        return self.records[identifier]

    def find(self, identifier):
        self.lookups += 1
        return self.records.get(identifier)


def test_a_plan_collects_every_write_and_sends_nothing(settings):
    run = a_run(settings, plan=True)
    system = System()
    with Pusher.open(run) as pusher:
        sent = pusher.update(WRITE, lambda: pytest.fail("sent in a plan"), refused=refused)
        made = pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                             send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
    assert sent.outcome == "planned" and made is None
    assert [w.action for w in run.planned] == ["update-company", "create-company"]
    assert system.sends == 0 and log_rows(run) == []


def test_a_plan_does_not_list_a_create_the_run_would_adopt(settings):
    run = a_run(settings, plan=True)
    system = System()
    system.records["ACME01"] = 55
    with Pusher.open(run) as pusher:
        made = pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                             send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
    assert made is None and run.planned == [] and system.lookups == 1


def test_a_write_is_logged_before_and_after_with_what_it_means(settings):
    run = a_run(settings)
    seen = []
    with Pusher.open(run) as pusher:

        def send():  # the intent is there, without an outcome, before the call
            seen.extend(pusher.con.execute("SELECT outcome FROM sync.push_log").fetchall())
            return {"id": 7}

        def also(con):
            con.execute("CREATE TABLE meant AS SELECT 1 AS x")

        sent = pusher.update(WRITE, send, refused=refused, also=also)
    assert sent.outcome == "done" and sent.answer == {"id": 7}
    assert seen == [(None,)]
    ((run_id, action, target, outcome, _, payload),) = log_rows(run)
    assert (run_id, action, target, outcome) == ("run-1", "update-company", "company 7", "done")
    assert json.loads(payload)["changes"] == {
        "city": ["Tampa", "Brandon"], "phoneNumber": [None, "813-555-0100"]
    }  # fmt: skip
    with run.warehouse.connect(read_only=True) as con:
        assert con.execute("SELECT x FROM meant").fetchall() == [(1,)]


def test_an_intent_is_committed_before_its_call_and_a_dying_step_keeps_its_outcomes(
    settings,
):
    """One commit per write: the outcome of a write waits for the next intent's commit,
    so a step that dies keeps every outcome but the one in flight."""
    run = a_run(settings)
    committed = []

    def send():  # what another connection sees while the call is out
        with run.warehouse.connect() as other:
            committed.append(other.execute(
                "SELECT target_key, outcome FROM sync.push_log ORDER BY intended_at"
            ).fetchall())  # fmt: skip
        return {}

    second = Write("connectwise", "update-company", "company 8", "customer ACME02", {})
    with pytest.raises(RuntimeError, match="the step died"), Pusher.open(run) as pusher:
        pusher.update(WRITE, send, refused=refused)
        pusher.update(second, send, refused=refused)
        raise RuntimeError("the step died")
    assert committed == [
        [("company 7", None)],
        [("company 7", "done"), ("company 8", None)],
    ]
    assert [(r[2], r[3]) for r in log_rows(run)] == [("company 7", "done"), ("company 8", "done")]


def test_a_refused_write_is_a_failure_and_the_batch_goes_on(settings):
    run = a_run(settings)
    answers = iter([DataError("connectwise", "city is too long", status=400), {"id": 8}])

    def send():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with Pusher.open(run) as pusher:
        first = pusher.update(WRITE, send, refused=refused)
        second = pusher.update(WRITE, send, refused=refused)
    assert (first.outcome, second.outcome) == ("failed", "done")
    assert first.error.message == "city is too long"
    assert [f.code for f in run.failures.found.values()] == ["psa-update-rejected"]
    assert [r[3] for r in log_rows(run)] == ["failed", "done"]


def test_a_lost_update_answer_is_read_back_when_the_step_can(settings):
    run = a_run(settings)

    def lost():
        raise OutcomeUnknown("operate", "timed out")

    with Pusher.open(run) as pusher:
        sent = pusher.update(WRITE, lost, refused=refused, lost=lambda: 12)
        with pytest.raises(OutcomeUnknown):
            pusher.update(WRITE, lost, refused=refused)
    assert (sent.outcome, sent.answer) == ("adopted", 12)
    assert [(r[3], r[4]) for r in log_rows(run)] == [("adopted", "12"), (None, None)]


def test_a_create_already_made_is_adopted_without_sending(settings):
    run = a_run(settings)
    system = System()
    system.records["ACME01"] = 55
    with Pusher.open(run) as pusher:
        made = pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                             send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
    assert (made.key, made.created, system.sends) == (55, False, 0)
    assert run.planned == [] and log_rows(run) == []


@pytest.mark.parametrize(
    ("lose", "drop", "sends", "outcome"),
    [
        (0, 0, 1, "done"),  # answered
        (1, 0, 1, "done"),  # made, answer lost: found, not sent again
        (1, 1, 2, "done"),  # lost before it was made: not found, sent again
        (2, 1, 2, "done"),  # sent again, made, answer lost again: found
    ],
)
def test_a_create_is_made_exactly_once_whatever_answers_are_lost(
    settings, lose, drop, sends, outcome
):
    run = a_run(settings)
    system = System(lose=lose, drop=drop)
    with Pusher.open(run) as pusher:
        made = pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                             send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
    assert (made.key, made.created) == (system.records["ACME01"], True)
    assert len(system.records) == 1 and system.sends == sends
    assert [(r[3], r[4]) for r in log_rows(run)] == [(outcome, str(made.key))]


def test_a_create_whose_every_answer_is_lost_stays_unmade_and_the_batch_goes_on(settings):
    run = a_run(settings)
    system = System(lose=6, drop=6)
    with Pusher.open(run) as pusher:
        lost = pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                             send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
        made = pusher.create(create("ACME02"), find=lambda: system.find("ACME02"),
                             send=lambda: system.send("ACME02"), refused=refused)  # fmt: skip
    assert lost is None and made.created and system.sends == 7
    assert list(system.records) == ["ACME02"]
    assert [r[3] for r in log_rows(run)] == ["not-applied", "done"]
    (failure,) = run.failures.found.values()
    assert (failure.code, failure.kind, failure.record_id) == (
        "write-outcome-unknown", "transient", "company identifier=ACME01",
    )  # fmt: skip
    assert "no answer came back from 6 sends" in failure.message


def test_the_next_run_settles_what_an_earlier_run_left_unknown(settings):
    crashed = a_run(settings)
    system = System()
    with Pusher.open(crashed) as pusher:
        for identifier in ("MADE01", "LOST01"):
            pusher.log.intend("connectwise", "create-company", f"company identifier={identifier}",
                              create(identifier).payload())  # fmt: skip
        pusher.log.intend("connectwise", "update-company", "company 7", WRITE.payload())
    system.records["MADE01"] = 77  # the crash came after ConnectWise made it

    rerun, adopted = a_run(settings, run_id="run-2"), []
    with Pusher.open(rerun) as pusher:
        pusher.recover(
            {"create-company": lambda key: system.find(key["identifier"])},
            updates=("update-company",),
            adopted=lambda key, made: adopted.append((key["identifier"], made)),
        )
    assert adopted == [("MADE01", 77)]
    assert [(r[2], r[3], r[4]) for r in log_rows(rerun)] == [
        ("company identifier=MADE01", "adopted", "77"),
        ("company identifier=LOST01", "not-applied", None),
        ("company 7", "superseded", None),
    ]


def test_an_adoption_closes_the_open_intents_on_its_target_of_this_step_and_of_earlier_runs(
    settings,
):
    """Only targets with an open intent are settled (no scan of the log per write), and
    those are: one an earlier run left open, and one this step left open."""
    earlier = a_run(settings)
    with Pusher.open(earlier) as pusher:
        pusher.log.intend("connectwise", "create-company", "company identifier=OLD01")
    run, system = a_run(settings, run_id="run-2"), System()
    system.records.update(OLD01=70, NEW01=71)
    with Pusher.open(run) as pusher:
        pusher.log.intend("connectwise", "create-company", "company identifier=NEW01")
        for identifier in ("OLD01", "NEW01", "NONE01"):
            pusher.create(create(identifier), find=lambda i=identifier: system.find(i),
                          send=lambda i=identifier: system.send(i), refused=refused)  # fmt: skip
        assert pusher.log.settle("company identifier=NONE01", "adopted") == 0
    assert [(r[0], r[2], r[3], r[4]) for r in log_rows(run)] == [
        ("run-1", "company identifier=OLD01", "adopted", "70"),
        ("run-2", "company identifier=NEW01", "adopted", "71"),
        ("run-2", "company identifier=NONE01", "done", "102"),
    ]


class Killed(BaseException):
    """What the chaos hook raises here in place of the SIGKILL: nothing after it runs."""


@pytest.mark.parametrize(
    ("kill_at", "sent", "outcomes", "landed"),
    [(1, 0, [], []), (2, 0, [None], []), (3, 1, [None], []), (4, 1, ["done"], ["ACME01"])],
)
def test_a_write_killed_at_each_step_boundary_lands_its_answer_only_with_its_outcome(
    settings, monkeypatch, kill_at, sent, outcomes, landed
):
    """The record a write's answer holds is in the warehouse exactly when its outcome is:
    a run after a kill before the outcome finds the intent open (and supersedes it),
    one after it diffs against the answer."""
    run, sends, killed = a_run(settings), [], []

    def kill(where):
        killed.append(where)
        raise Killed(where)

    def send():
        sends.append(1)
        return {"id": 7, "identifier": "ACME01", "deletedFlag": False}

    monkeypatch.setattr(pushing, "chaos", Chaos(kill_at, kill))
    with pytest.raises(Killed), Pusher.open(run) as pusher:
        pusher.update(WRITE, send, refused=refused, lands=connectwise.company_ids)
    assert killed == [BOUNDARIES[kill_at - 1]] and len(sends) == sent
    assert [r[3] for r in log_rows(run)] == outcomes
    pushing.land_left(run.warehouse, [connectwise.company_ids])  # as the next run starts
    with run.warehouse.connect(read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        found = con.execute(
            "SELECT identifier FROM raw_connectwise.company_ids"
        ).fetchall() if "company_ids" in tables else []  # fmt: skip
    assert [i for (i,) in found] == landed


def landed_ids(run):
    with run.warehouse.connect(read_only=True) as con:
        kept = con.execute("SELECT count(*) FROM sync.unlanded").fetchone()[0]
        ids = con.execute("SELECT id, identifier FROM raw_connectwise.company_ids ORDER BY id")
        return ids.fetchall(), kept


def test_answers_land_in_batches_and_what_a_stopped_step_kept_lands_when_the_next_run_starts(
    settings, monkeypatch
):
    """Answers land together every LAND_EVERY records (the last answer of a record wins);
    a step stopped before its batch landed leaves the rest kept, not lost, and a later
    step of the same run does not take them; the next run's start lands them."""
    monkeypatch.setattr(pushing, "LAND_EVERY", 3)
    run = a_run(settings)

    def answer(id, identifier):
        return lambda: {"id": id, "identifier": identifier, "deletedFlag": False}

    with pytest.raises(Killed), Pusher.open(run) as pusher:
        for id, identifier in [(1, "A"), (2, "B"), (1, "A2"), (3, "C"), (4, "D")]:
            pusher.update(WRITE, answer(id, identifier), refused=refused,
                          lands=connectwise.company_ids)  # fmt: skip
        raise Killed("after five writes")
    assert landed_ids(run) == ([(1, "A2"), (2, "B")], 2)  # the first three; two kept
    with Pusher.open(run) as pusher:  # another step of the same run
        pusher.update(WRITE, answer(5, "E"), refused=refused, lands=connectwise.company_ids)
    assert landed_ids(run) == ([(1, "A2"), (2, "B"), (5, "E")], 2)
    assert pushing.land_left(run.warehouse, [connectwise.companies]) == 0  # not read
    assert pushing.land_left(run.warehouse, [connectwise.company_ids]) == 2
    assert landed_ids(run) == ([(1, "A2"), (2, "B"), (3, "C"), (4, "D"), (5, "E")], 0)


def test_every_write_passes_its_four_boundaries_in_order(settings, monkeypatch):
    run, passed = a_run(settings), []
    counting = Chaos(kill_at=10**6, kill=passed.append)
    monkeypatch.setattr(pushing, "chaos", counting)
    system = System()
    with Pusher.open(run) as pusher:
        pusher.update(WRITE, lambda: None, refused=refused)
        pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                      send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
        pusher.create(create("ACME01"), find=lambda: system.find("ACME01"),
                      send=lambda: system.send("ACME01"), refused=refused)  # fmt: skip
    assert counting.passed == 2 * len(BOUNDARIES) and passed == []  # the adoption sends nothing


def test_a_write_reads_field_by_field_and_as_one_json_line():
    write = Write("operate", "create-sheet", "batch-sheet location=3", "location 3",
                  {"lines": (None, 40)}, money=Decimal("12.50"))  # fmt: skip
    assert str(write) == "operate create-sheet batch-sheet location=3 (location 3) [12.50]: " \
        "lines: (empty) -> 40"  # fmt: skip
    assert json.loads(write.to_json("charge-import")) == {
        "flow": "charge-import", "system": "operate", "action": "create-sheet",
        "target": "batch-sheet location=3", "record": "location 3",
        "changes": {"lines": {"before": None, "after": 40}}, "money": "12.50",
    }  # fmt: skip


def test_a_runs_writes_past_those_kept_in_memory_come_back_whole_and_in_order():
    writes = Writes(in_memory=2)
    made = [Write("eautomate", "create-call", f"call {n}", f"ticket {n}",
                  {"hours": (None, Decimal(n) / 4), "closed": (None, None)},
                  money=Decimal("0.10") * n, key={"ticket": n})
            for n in range(5)]  # fmt: skip
    for write in made:
        writes.append(write)
    sheet = Write("operate", "create-sheet", "sheet 1", "location 1", detail={"lines": ["a1"]})
    writes.append(sheet)  # the line hashes only the push log keeps
    assert list(writes)[-1] == dataclasses.replace(sheet, detail=None)
    writes = Writes(in_memory=2)
    for write in made:
        writes.append(write)
    assert len(writes) == 5 and writes._rest is not None
    assert list(writes) == made and writes == made
    # Two readers at once, and a write appended between their reads, each see theirs.
    first, second = iter(writes), iter(writes)
    assert [next(first), next(first), next(first)] == made[:3]
    assert next(second) == made[0]
    writes.append(made[0])
    assert list(first) == [*made[3:], made[0]] and len(writes) == 6
    assert Writes() == [] and writes != made


def test_the_writes_sent_are_counted_and_said_at_the_steps_end(settings, caplog):
    """A create found (adopted, nothing sent) is not a write; a create and an update sent
    are. A step that sends nothing says nothing."""
    run = a_run(settings)
    system = System()
    system.records["FOUND01"] = 55
    with caplog.at_level("INFO", logger="crosswalk.push"), Pusher.open(run) as pusher:
        pusher.update(WRITE, lambda: {"id": 7}, refused=refused)
        for identifier in ("ACME01", "FOUND01"):
            pusher.create(create(identifier), find=lambda i=identifier: system.find(i),
                          send=lambda i=identifier: system.send(i), refused=refused)  # fmt: skip
        assert pusher.progress.done == 2
    assert caplog.messages[-1].startswith("customer-sync: writes: 2 writes, ")
    caplog.clear()
    with caplog.at_level("INFO", logger="crosswalk.push"), Pusher.open(a_run(settings)):
        pass
    assert caplog.messages == []


def test_a_step_counts_its_records_of_their_total_beside_the_writes(settings):
    """On a terminal, the records a step acts on show as a bar of known total (what a
    write count alone cannot give: a record may ask for several writes, or none)."""
    console = Console(file=io.StringIO(), force_terminal=True)
    seen = []
    with progress.terminal(console, "customer-sync"), Pusher.open(a_run(settings)) as pusher:
        for record in pusher.each(["a", "b", "c"], "companies"):
            (bar,) = [t for t in progress._bars.tasks if t.description.endswith(": companies")]
            seen.append((record, bar.completed, bar.total))
        assert [t.description for t in progress._bars.tasks] == [
            "customer-sync", "customer-sync: writes"
        ]  # fmt: skip
    assert seen == [("a", 0, 3), ("b", 1, 3), ("c", 2, 3)]
