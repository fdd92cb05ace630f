"""service-sync, to the PSA: ERP service calls worked in the PSA (seed 004, the incumbent's
ID912), a step of the service sync before its push of calls, so that the way back is the
service sync's own.

``marts.call_ticket_sync`` says per call of ``[flows.service_sync.to_psa] call_types`` what
to do; this module does it through ``crosswalk.pushing``:

- create-ticket: a PSA ticket on the configured board, status, type and priority, for the
  company the customer maps to (the site its location maps to), the summary the call's
  description cut to 100, the call's number, caller and equipment in the initial
  description, the call number in ``externalXRef``: the key it is looked up by before it is
  made and after a lost answer (the landed tickets, then the PSA), so it is made once;
- then the call goes on ``sent_hold_code`` with ``[CW #<ticket>]`` opening its description,
  the key the service sync finds it by when the ticket's time comes back;
- a call whose customer is not mapped, whose company is inactive, or whose ticket the PSA
  refuses goes on the hold all the same, as the incumbent does, and is a failure with the
  fix; nothing is made half-way. Taking it off hold in the ERP, or ``crosswalk calls retry``
  (a decision this step acts on and then clears), tries it again;
- every attempt is a line of one e-mail per run to ``to_psa.recipients``: OK or FAIL first,
  the call, the customer, the ticket made or the reason and the fix. A FAIL is mailed once:
  a call tried again only because e-automate refused its hold, failing as before, is left
  out (the run's report keeps it) until its failure changes or an operator retries it;
- the configured names are checked first (``check_to_psa`` against the landed boards and
  code lists, ``check_ticket_type`` against the board's types, ``check_ticket_priority``
  against the PSA's priorities): a typo is a configuration failure naming the key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk import decisions, mail
from crosswalk import report as render
from crosswalk.config import ConfigError, ToPsaConfig
from crosswalk.connectwise import ConnectWise, literal
from crosswalk.eautomate import EAutomate
from crosswalk.errors import data_failure
from crosswalk.http import DataError
from crosswalk.pipeline import DEFAULT_SENDER, Run
from crosswalk.pushing import Pusher, Write
from crosswalk.warehouse import rows
from schemas import eautomate

TICKETS = "service/tickets"
PRIORITIES = "service/priorities"
DESCRIPTION = 2048  # e-automate's limit on a call's description
SUMMARY = 100  # ConnectWise's limit on a ticket's summary
CALL_CODES = ("call-customer-unmapped", "call-company-inactive", "ticket-create-rejected",
              "call-hold-rejected")  # fmt: skip
FIXES = {
    "call-customer-unmapped": "Map customer {customer} to its PSA company (crosswalk links set "
    "{customer} COMPANY), then take call {call} off hold in e-automate (or crosswalk calls "
    "retry {call}); the next run makes the ticket.",
    "call-company-inactive": "Reactivate the company in ConnectWise, or map customer "
    "{customer} to the company that goes on, then take call {call} off hold (or crosswalk "
    "calls retry {call}); the next run makes the ticket.",
}


def call_label(row: dict) -> str:
    return f"call {row['call_number']} ({row['customer_number']})"


@task(cache_policy=NO_CACHE)
def check_to_psa(run: Run) -> None:
    """The hold code, call types, board and status of ``[flows.service_sync.to_psa]`` are
    ones the systems serve: a typo is a configuration failure naming the key, not a call
    held with a ticket that can never be made."""
    config = run.settings.flows.service_sync.to_psa
    if not config.call_types:
        return
    problems = []
    with run.warehouse.connect(read_only=True) as con:

        def served(list_type: str) -> list[str]:
            return [c for (c,) in con.execute(
                "SELECT code FROM raw_eautomate.code_lists WHERE list_type = ? ORDER BY code",
                [list_type]).fetchall()]  # fmt: skip

        for key, list_type, wanted in (("sent_hold_code", "HoldCode", [config.sent_hold_code]),
                                       ("call_types", "CallType", config.call_types)):  # fmt: skip
            codes = served(list_type)
            upper = {c.upper() for c in codes}
            unknown = [w for w in wanted if codes and w.upper() not in upper]
            if unknown:
                problems.append(
                    f"flows.service_sync.to_psa.{key}: {', '.join(map(repr, unknown))} "
                    f"{'is' if len(unknown) == 1 else 'are'} not in e-automate's {list_type} "
                    f"list (it has: {', '.join(codes)})"
                )
        boards = con.execute(
            "SELECT b.name, list(s.name ORDER BY s.name) FILTER (WHERE s.name IS NOT NULL) "
            "FROM raw_connectwise.boards b "
            "LEFT JOIN raw_connectwise.board_statuses s ON s.board__id = b.id GROUP BY b.name"
        ).fetchall()
    statuses = dict(boards)
    if statuses and config.board not in statuses:
        problems.append(
            f"flows.service_sync.to_psa.board: {config.board!r} is not a board ConnectWise "
            f"serves (it serves: {', '.join(sorted(statuses))})"
        )
    elif statuses and config.status not in (statuses[config.board] or []):
        problems.append(
            f"flows.service_sync.to_psa.status: {config.status!r} is not a status of board "
            f"{config.board!r} (it has: {', '.join(statuses[config.board] or [])})"
        )
    if problems:
        raise ConfigError("; ".join(problems))


def check_ticket_type(config: ToPsaConfig, cw: ConnectWise, board_id: int | None) -> None:
    """``to_psa.type`` is a type of the board (``/service/boards/{id}/types``, read here:
    the warehouse keeps no ticket types): a typo is a configuration failure naming the key,
    not every ticket refused one by one."""
    if not config.type or board_id is None:
        return
    types = sorted({t["name"] for t in cw.records(f"service/boards/{board_id}/types",
                                                  fields="id,name")})  # fmt: skip
    if types and config.type.upper() not in {t.upper() for t in types}:
        raise ConfigError(
            f"flows.service_sync.to_psa.type: {config.type!r} is not a type of board "
            f"{config.board!r} (it has: {', '.join(types)})"
        )


def check_ticket_priority(config: ToPsaConfig, cw: ConnectWise) -> int | None:
    """``to_psa.priority`` is a priority ConnectWise serves (``/service/priorities``, read
    here: the warehouse keeps none): a typo is a configuration failure naming the key, not
    every ticket refused one by one. Its id is the reference the ticket is made with."""
    if not config.priority:
        return None
    served = sorted(cw.records(PRIORITIES, fields="id,name,sortOrder"),
                    key=lambda p: (p.get("sortOrder") or 0, p["name"]))  # fmt: skip
    for priority in served:
        if priority["name"].upper() == config.priority.upper():
            return int(priority["id"])
    raise ConfigError(
        f"flows.service_sync.to_psa.priority: {config.priority!r} is not a priority "
        f"ConnectWise serves (it serves: {', '.join(p['name'] for p in served) or 'none'})"
    )


@dataclass(frozen=True)
class Attempt:
    """One call tried: OK (the ticket made or found) or FAIL (the reason and the fix)."""

    ok: bool
    call: str
    customer: str
    outcome: str
    fix: str = ""
    code: str = ""  # a FAIL's failure code and message, as the run's report keeps them
    message: str = ""
    retried: bool = False  # an operator asked for it (crosswalk calls retry)


class ToPsa:
    """The writes of the to-PSA step: tickets made, calls held and keyed."""

    def __init__(self, pusher: Pusher, cw: ConnectWise, ea: EAutomate):
        self.pusher, self.cw, self.ea = pusher, cw, ea
        self.run = pusher.run
        self.con = pusher.con
        self.config = pusher.run.settings.flows.service_sync.to_psa
        self.attempts: list[Attempt] = []
        self.priority_id: int | None = None  # check_ticket_priority's answer
        (self.board_id, self.status_id) = self.con.execute(
            "SELECT b.id, s.id FROM raw_connectwise.boards b LEFT JOIN "
            "raw_connectwise.board_statuses s ON s.board__id = b.id AND s.name = ? "
            "WHERE b.name = ? LIMIT 1", [self.config.status, self.config.board]
        ).fetchone() or (None, None)  # fmt: skip

    def find_ticket(self, key: dict) -> int | None:
        """The ticket whose ``externalXRef`` is the call's number: in the landed tickets,
        else in the PSA. Whether ``externalXRef`` can be a condition is not documented for
        every version: when refused, the company's tickets changed since the landed copy
        are read and compared here."""
        call = key["call"]
        landed = self.con.execute(
            "SELECT min(id) FROM raw_connectwise.tickets WHERE external_x_ref = ?", [call]
        ).fetchone()[0]
        if landed is not None:
            return int(landed)
        try:
            found = self.cw.records(TICKETS, f"externalXRef={literal(call)}", fields="id")
        except DataError:
            (since,) = self.con.execute(
                "SELECT max(cursor_value) FROM sync.watermarks "
                "WHERE system = 'connectwise' AND entity = 'tickets'"
            ).fetchone()
            since = since or "1900-01-01T00:00:00Z"
            found = [
                t for t in self.cw.records(
                    TICKETS, f"company/id={key['company']} and lastUpdated>=[{since}]")
                if t.get("externalXRef") == call
            ]  # fmt: skip
        return min((int(t["id"]) for t in found), default=None)

    def recover(self) -> None:
        self.pusher.recover({"create-ticket": self.find_ticket}, updates=("hold-call",))

    def attempt(self, row: dict) -> None:
        """One call: its ticket made (or found), then the call held and keyed; a call that
        cannot go is held with the reason."""
        if row["action"] == "failed":
            code = row["reason_code"]
            reason = (
                f"customer {row['customer_number']} is not mapped to a PSA company"
                if code == "call-customer-unmapped"
                else f"its PSA company {row['company_identifier']} is inactive"
            )
            self.failed(row, code, reason, FIXES[code].format(
                customer=row["customer_number"], call=row["call_number"]))  # fmt: skip
            return
        ticket = self.create(row)
        if ticket is None and not self.pusher.plan:
            return  # refused: failed() held it
        self.hold(row, ticket)
        if ticket is not None:
            cut = (f"; summary cut from {len(row['description'].strip())} to {SUMMARY} "
                   "characters" if row["is_summary_cut"] else "")  # fmt: skip
            self.attempts.append(Attempt(True, row["call_number"], row["customer_number"],
                                         f"ticket {ticket}{cut}"))  # fmt: skip

    def create(self, row: dict) -> int | None:
        call = row["call_number"]
        body = {
            "summary": row["summary"],
            "company": {"id": row["company_id"]},
            "board": {"id": self.board_id} if self.board_id else {"name": self.config.board},
            "status": {"id": self.status_id} if self.status_id else {"name": self.config.status},
            "externalXRef": call,
            "initialDescription": initial_description(row),
        }
        if row["site_id"] is not None:
            body["site"] = {"id": row["site_id"]}
        if self.config.type:
            body["type"] = {"name": self.config.type}
        if self.priority_id is not None:
            body["priority"] = {"id": self.priority_id}
        changes = {
            "summary": (None, row["summary"]),
            "company": (None, row["company_identifier"]),
            "board": (None, self.config.board),
            "status": (None, self.config.status),
            "externalXRef": (None, call),
        }
        if self.priority_id is not None:
            changes["priority"] = (None, self.config.priority)
        key = {"call": call, "company": row["company_id"]}
        write = Write("connectwise", "create-ticket", f"ticket for call {call}",
                      call_label(row), changes, key=key)  # fmt: skip
        refusal: list[DataError] = []

        def refused(exc: DataError) -> None:
            refusal.append(exc)

        made = self.pusher.create(
            write,
            find=lambda: self.find_ticket(key),
            send=lambda: int(self.cw.create(TICKETS, body)["id"]),
            refused=refused,
        )
        if refusal:
            self.failed(
                row, "ticket-create-rejected",
                f"ConnectWise refused the ticket: {refusal[0].message}",
                f"Correct what ConnectWise names, then take call {call} off hold "
                f"(or crosswalk calls retry {call}); the next run makes the ticket.",
            )  # fmt: skip
        return None if made is None else int(made.key)

    def failed(self, row: dict, code: str, reason: str, fix: str) -> None:
        failure = data_failure(
            "eautomate", "calls", row["call_number"], code,
            f"{call_label(row)} \"{row['summary']}\" did not become a PSA ticket: {reason}; "
            f"it is on hold {self.config.sent_hold_code}",
            fix, label=call_label(row),
        )  # fmt: skip
        self.run.failures.add(failure)
        self.attempts.append(Attempt(False, row["call_number"], row["customer_number"], reason,
                                     fix, code, failure.message,
                                     row["retry_asked_at"] is not None))  # fmt: skip
        self.hold(row, None)

    def hold(self, row: dict, ticket: int | None) -> None:
        """The call on the sent hold code, and ``[CW #<ticket>]`` opening its description
        when a ticket was made; one ``saveCall``, harmless to repeat."""
        call, sent = row["call_number"], self.config.sent_hold_code
        changes, body = {}, {}
        if (row["hold_code"] or "").upper() != sent.upper():
            changes["HoldCode"] = (row["hold_code"], sent)
            body["HoldCode"] = sent
        if ticket is not None or (self.pusher.plan and row["action"] == "create-ticket"):
            keyed = f"[CW #{ticket if ticket is not None else '(new)'}] {row['description']}"
            changes["Description"] = (row["description"], keyed[:DESCRIPTION])
            body["Description"] = keyed[:DESCRIPTION]
        if changes:
            write = Write("eautomate", "hold-call", f"call {call}", call_label(row), changes)
            self.pusher.update(
                write,
                lambda: self.ea.save_call(call, body),
                refused=lambda exc: data_failure(
                    "eautomate", "calls", call, "call-hold-rejected",
                    f"e-automate refused to hold {call_label(row)}"
                    + (f" and key it to ticket {ticket}" if ticket is not None else "")
                    + f": {exc.message}",
                    f"Correct what e-automate names on call {call}; the next run holds it.",
                    label=call_label(row),
                ),
                lost=lambda: self.ea.call_record(call),
                lands=eautomate.calls,
                landed=self.ea.with_offsets,
            )  # fmt: skip
        if row["retry_asked_at"] is not None and not self.pusher.plan:
            with self.pusher.transaction() as con:
                decisions.call_retried(con, call)


def initial_description(row: dict) -> str:
    lines = [f"e-automate call {row['call_number']} ({row['call_type']}) for customer "
             f"{row['customer_number']}"]  # fmt: skip
    if row["caller"]:
        lines.append(f"Caller: {row['caller']}")
    if row["equipment_number"]:
        lines.append(f"Equipment: {row['equipment_number']}")
    lines += ["", row["description"] or ""]
    return "\n".join(lines)


@task(cache_policy=NO_CACHE)
def push_calls_to_psa(run: Run, cw: ConnectWise, ea: EAutomate) -> list[Attempt]:
    """Every call to try, in call order: a ticket made and the call held, or the call held
    with the reason; then the attempts' e-mail."""
    with Pusher.open(run) as pusher:
        step = ToPsa(pusher, cw, ea)
        check_ticket_type(step.config, cw, step.board_id)
        step.priority_id = check_ticket_priority(step.config, cw)
        step.recover()
        for row in rows(pusher.con, "SELECT * FROM marts.call_ticket_sync "
                        "WHERE action <> 'held' ORDER BY call_number"):  # fmt: skip
            step.attempt(row)
        again = repeated_failures(pusher.con, run.flow, step.attempts)
    attempted = [a.call for a in step.attempts]
    if not run.plan:
        run.failures.looked_at("eautomate", "calls", CALL_CODES, record_ids=attempted)
    actions = Counter(w.action for w in run.planned)
    verb = "would be" if run.plan else "were"
    run.notes.append(f"calls to the PSA: {actions['create-ticket']} ticket(s) {verb} made, "
                     f"{actions['hold-call']} call(s) {verb} held")  # fmt: skip
    if again:
        calls = ", ".join(sorted(again))
        run.notes.append(f"calls to the PSA: {len(again)} call(s) failed again as before, not "
                         f"e-mailed again (the run's report has them): {calls}")  # fmt: skip
    get_run_logger().info("to the PSA: %s", "; ".join(run.notes[-2 if again else -1 :]))
    mailed = [a for a in step.attempts if a.call not in again]
    if mailed and not run.plan:
        send_attempts(run, mailed)
    return step.attempts


def repeated_failures(con, flow: str, attempts: list[Attempt]) -> set[str]:
    """The calls whose FAIL would be mailed again unchanged: the same failure (code and
    message) is open from an earlier run, no retry was asked, and crosswalk could not hold
    the call then (its open ``call-hold-rejected``), so its being tried again is not an
    operator taking it off hold. Such a call is mailed once, then again when its failure
    changes or an operator retries it; the run's report still lists it (at most
    ``report.max_times``)."""
    failed = {a.call: a for a in attempts if not a.ok and not a.retried}
    if not failed:
        return set()
    known: dict[str, dict[str, str]] = {}
    for call, code, message in con.execute(
        "SELECT record_id, code, message FROM sync.errors WHERE flow = ? AND status = 'open' "
        "AND system = 'eautomate' AND entity = 'calls' AND list_contains(?, record_id)",
        [flow, sorted(failed)],
    ).fetchall():
        known.setdefault(call, {})[code] = message
    return {
        call
        for call, a in failed.items()
        if known.get(call, {}).get(a.code) == a.message
        and "call-hold-rejected" in known.get(call, {})
    }


def send_attempts(run: Run, attempts: list[Attempt]) -> mail.Delivery:
    """The per-attempt e-mail: one line per call tried, OK or FAIL first."""
    settings = run.settings
    recipients = settings.flows.service_sync.to_psa.recipients
    if recipients is None:
        recipients = settings.recipients(run.flow)
    smtp = settings.report.smtp
    now = datetime.now(UTC)
    message = mail.compose_attempts(
        render.Attempts(run.flow, run.id, now, tuple(
            render.AttemptLine(a.ok, a.call, a.customer, a.outcome, a.fix) for a in attempts)),
        smtp.sender if smtp else DEFAULT_SENDER, list(recipients),
    )  # fmt: skip
    name = f"{now:%Y%m%dT%H%M%SZ}-{run.flow}-calls-{run.id[:8]}"
    delivery = mail.deliver(message, settings.report, list(recipients), settings.smtp_password,
                            name)  # fmt: skip
    (get_run_logger().warning if delivery.note else get_run_logger().info)(
        "calls to the PSA: e-mail of %d attempt(s) %s", len(attempts), delivery
    )
    return delivery
