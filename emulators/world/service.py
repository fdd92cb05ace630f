"""Service tickets, projects and project tickets, and the time booked on them.

Service and project tickets share one id sequence in creation order; tickets are made and
written in batches as they are numbered, so memory stays flat however many there are.

What happened after the incumbent synced a ticket (``Desk.after_sync``, drawn from a stream of
its own, so the desk's own draws do not move): closed service tickets with time, of a company
whose customer syncs, worked only by members with a known technician number, closed at least
three days before the anchor, make a pool (all of them at small scale, about 4,000 at any
scale); from it, by quota, time booked up to 30 days after the call was made (tickets closed
in the last 120 days; the call still OKToInvoice), time booked after the call was invoiced
(tickets closed at least 60 days before the anchor),
and tickets moved to another company afterwards (no agreement, no PSA invoice; the ticket, its
site, contact and time entries go to the other company). The late entries are numbered after
every other entry, as the PSA numbers them; the tickets they change are patched in place.
``world.synced_tickets`` tells the ERP part which tickets the incumbent synced for these cases,
with the company the ticket had then and the call's status at the anchor.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from .agreements import Picker
from .cases import CASES, quota
from .catalog import World
from .common import (
    ANCHOR_TS,
    DAY,
    HOUR,
    MINUTE,
    START_TS,
    clip,
    info,
    iso,
    midnight,
    money,
    stream,
)
from .invoices import Invoices
from .parties import Company, Parties
from .people import Member, People
from .store import Store, dumps

FIRST_PROJECT_ID = 901
FIRST_TICKET_ID = 200001
FIRST_TIME_ENTRY_ID = 600001
SPAN = ANCHOR_TS - START_TS
# Board -> share of service tickets, share of its tickets with no time, mean days to resolve.
BOARDS = {
    "Help Desk": (45, 0.22, 2.0),
    "Field Service": (25, 0.18, 5.0),
    "Managed Print": (18, 0.25, 3.0),
    "Alerts": (12, 0.80, 0.5),
}
MODELS = (
    "Sharp MX-3071",
    "Canon iR-ADV C5535i",
    "Kyocera TASKalfa 4053ci",
    "HP LaserJet M608",
    "Ricoh IM C3000",
    "Konica bizhub C450i",
    "Xerox AltaLink C8130",
)
SUMMARIES = {
    "Hardware": ("Laptop will not boot - {user}", "Monitor flickering at front desk",
                 "Replace failed SSD in {host}", "Docking station not detecting displays"),
    "Software": ("Outlook keeps asking for password", "QuickBooks won't open after update",
                 "Can't print to \\\\fileserver\\{host}", "Adobe Acrobat license expired"),
    "Network": ("VPN disconnects every {n} minutes", "Wi-Fi slow in conference room",
                "Internet down at {site}", "Firewall blocking vendor portal"),
    "User Admin": ("New user setup: {user}", "Disable account for {user}",
                   "Password reset for {user}", "Add {user} to shared mailbox"),
    "Email": ("Emails to {domain} bouncing", "Phishing e-mail reported by {user}",
              "Mailbox full - {user}"),
    "Copier Repair": ('Copier error "SC{code}" on {model}', "Paper jam in tray {n} - {model}",
                      "Streaks on copies from {model}", "{model} making grinding noise"),
    "Printer Repair": ("Printer offline - {model}", "Fuser error on {model}",
                       "Printer printing blank pages"),
    "Install": ("Install new {model} at {site}", "Relocate {model} to 2nd floor",
                "Set up scan-to-email on {model}"),
    "Preventive Maintenance": ("PM visit: {model}", "Quarterly PM - {site}"),
    "Toner/Supplies": ("Toner low on {model} (auto)", "Order toner & drum for {model}",
                       "Supplies request: {n} black cartridges"),
    "Meter Read": ("Meter read missing for {model}", "Meter read for billing - {site}"),
    "Monitoring Alert": ("CPU > 90% on {host}", "Disk C: < 10% free on {host}",
                         "Agent offline: {host}", "Ping failed: {host}"),
    "Backup Failure": ("Backup job failed on {host}", "Backup warning: {n} files skipped"),
}  # fmt: skip
NOTES = (
    "Called user, reproduced the issue and fixed it remotely.",
    "Replaced fuser unit; ran test pages, all OK.",
    "Cleared jam, cleaned feed rollers.\nAdvised customer to fan paper before loading.",
    "Reset password and confirmed login with user.",
    "Updated driver to the latest version; printed test page.",
    "Ordered parts; will return when they arrive.",
    "Rebooted the device, monitored for 15 minutes - stable.",
    'Customer says "works now", closing.',
    "Onsite: swapped network cable, port 12 on the switch was bad.",
    "Travel to site.",
)
PROJECT_PHASES = ("Planning", "Procurement", "Implementation", "Cutover", "Closeout")


TASKS = ("Site survey", "Order hardware", "Configure", "Deploy", "Test", "Train users",
         "Document", "Migrate data")  # fmt: skip


@dataclass(slots=True)
class Project:
    id: int
    ref: dict
    company: Company
    type_ref: dict
    fixed_fee: bool
    start: int
    end: int
    manager: Member
    phases: list[tuple[dict, int, int]]  # (ref, from, to)
    tickets: list[tuple[int, dict, int]] = field(default_factory=list)  # (date, phase, budget)
    issued: int = 0  # project tickets made so far
    budget_hours: float = 0.0
    actual_hours: float = 0.0
    billable: float = 0.0


@dataclass(slots=True)
class Entry:
    """A time entry on its way to the table, with what its ticket needs to know of it."""

    doc: dict
    start: int
    end: int
    member: Member
    rate: float
    case: str | None


@dataclass(slots=True)
class Synced:
    """A closed ticket the incumbent could have synced, as the after-sync cases need it."""

    ticket_id: int
    closed: int
    updated: int
    hours: float
    company: Company
    entry: dict  # its last time entry, the shape of time booked later
    member: Member
    agreement: bool
    invoiced: bool


AFTER_SYNC_CASES = ("time_entry_after_invoiced_call", "time_entry_after_call",
                    "ticket_moved_after_sync")  # fmt: skip
POOL = 4000  # closed tickets the after-sync cases are picked from, at most (about)


def build(
    seed: int,
    scale,
    world: World,
    people: People,
    parties: Parties,
    invoices: Invoices,
    store: Store,
) -> None:
    projects = _plan_projects(stream(seed, "projects"), scale, world, people, parties)
    desk = Desk(seed, scale, world, people, invoices, store)
    desk.run(parties, projects)
    desk.after_sync(parties)
    _write_projects(stream(seed, "project_records"), stream(seed, "project_billing"), world,
                    projects, invoices, store)  # fmt: skip


def patch(store: Store, table: str, rows: list[tuple[int, int, str]], key: str = "t.id") -> None:
    """JSON merge patches ``(key, moment, patch)`` applied in place to the records of
    ``table`` whose ``key`` matches: ``_info.lastUpdated`` becomes the later of the record's
    own and the patch's moment (for changes decided after the records were written)."""
    if not rows:
        return
    store.flush()
    batch = pa.table({
        "key": pa.array([r[0] for r in rows], pa.int64()),
        "stamp": pa.array([r[1] for r in rows], pa.timestamp("s")),
        "patch": pa.array([r[2] for r in rows], pa.string()),
    })  # fmt: skip
    con = store.con
    con.register("_world_patch", batch)
    con.execute(
        f"""UPDATE connectwise.{table} t
            SET doc = json_merge_patch(t.doc, json_merge_patch(p.patch, json_object(
                    '_info', json_object('lastUpdated', strftime(
                        greatest(t.last_updated, p.stamp), '%Y-%m-%dT%H:%M:%SZ')))))::VARCHAR,
                last_updated = greatest(t.last_updated, p.stamp)
            FROM _world_patch p WHERE p.key = {key}"""
    ).fetchall()
    con.unregister("_world_patch")


def _plan_projects(
    rng: random.Random, scale, world: World, people: People, parties: Parties
) -> list[Project]:
    picker = Picker([c for c in parties.clients if c.contacts])
    starts = sorted(
        rng.randint(START_TS + 30 * DAY, ANCHOR_TS - 20 * DAY) for _ in range(scale.projects)
    )
    fixed = set(rng.sample(range(scale.projects), quota("project_fixed_fee", scale.projects)))
    projects, phase_id = [], 0
    for n, start in enumerate(starts):
        project_id = FIRST_PROJECT_ID + n
        company = picker.pick(rng, start)
        type_ref = rng.choice(world.project_types)
        end = start + rng.randint(45, 240) * DAY
        name = clip(f"{type_ref['name']} - {company.name}", 100)
        manager = rng.choice(people.managers)
        project = Project(project_id, {"id": project_id, "name": name}, company, type_ref,
                          n in fixed, start, end, manager, [])  # fmt: skip
        count = rng.randint(2, 4)
        step = (end - start) // count
        for k, phase_name in enumerate((*PROJECT_PHASES[: count - 1], PROJECT_PHASES[-1])):
            phase_id += 1
            ref = world.add_phase(project.ref, phase_id, f"{k + 1} - {phase_name}")
            project.phases.append((ref, start + k * step, start + (k + 1) * step))
        projects.append(project)
    weights = [rng.uniform(0.5, 2.0) for _ in projects]
    for project in rng.choices(projects, weights=weights, k=scale.project_tickets):
        started = [phase for phase in project.phases if phase[1] < ANCHOR_TS - DAY]
        phase, low, high = rng.choice(started)
        date = rng.randint(low, min(high, ANCHOR_TS - DAY))
        project.tickets.append((date, phase, rng.choice((2, 4, 4, 8, 8, 16, 24))))
    return projects


class Desk:
    """The service desk over three years: numbers service and project tickets in the order they
    were raised and books time on them, writing each as it goes."""

    def __init__(self, seed: int, scale, world: World, people: People, invoices: Invoices,
                 store: Store) -> None:  # fmt: skip
        self.rng = stream(seed, "tickets")
        self.time_rng = stream(seed, "time_entries")
        self.scale, self.world, self.people = scale, world, people
        self.invoices, self.store = invoices, store
        self.next_ticket, self.next_entry = FIRST_TICKET_ID, FIRST_TIME_ENTRY_ID
        self.after_rng = stream(seed, "after_sync")
        self.pool: list[Synced] = []
        self.pool_share = min(1.0, POOL / scale.tickets)
        with_time = sum(share * (1 - none) for share, none, _ in BOARDS.values())
        with_time /= sum(share for share, _, _ in BOARDS.values())
        # Mean entries on a ticket with time, so the total lands near Scale.time_entries
        # (cancelled tickets have none; overlaps and project tickets add about as many).
        self.mean_entries = max(1.0, scale.time_entries / (scale.tickets * with_time))

    def run(self, parties: Parties, projects: list[Project]) -> None:
        rng, total = self.rng, self.scale.tickets
        clients = Picker(parties.clients)
        others = Picker(parties.without_customer)
        boards = list(BOARDS)
        weights = [BOARDS[b][0] for b in boards]
        planned = sorted(
            ((date, project, phase, budget) for project in projects
             for date, phase, budget in project.tickets),
            key=lambda plan: (plan[0], plan[1].id),
        )  # fmt: skip
        pending = 0
        for i in range(total):
            spread = START_TS + int((i + rng.random()) * SPAN / total)
            day, second = divmod(spread, DAY)
            entered = day * DAY + 12 * HOUR + second * 11 // 24  # business hours, order kept
            while pending < len(planned) and planned[pending][0] <= entered:
                self.project_ticket(*planned[pending])
                pending += 1
            board = rng.choices(boards, weights)[0]
            without_customer = rng.random() < CASES["ticket_company_without_customer"].share
            company = (others if without_customer else clients).pick(rng, entered)
            self.service_ticket(board, company, entered)
        for plan in planned[pending:]:
            self.project_ticket(*plan)

    def service_ticket(self, board_name: str, company: Company, entered: int) -> None:
        rng, world = self.rng, self.world
        if company.kind == "vendor":
            board_name = "Help Desk"
        board = world.boards[board_name]
        _, no_time, resolve_days = BOARDS[board_name]
        kind = rng.choice(board.types)
        doc = self._base(_summary(rng, kind["name"], company), company, board.ref, entered)
        ticket_id = doc["id"]
        doc["recordType"] = "ServiceTicket"
        doc["type"] = kind
        doc["severity"] = doc["impact"] = "Medium" if rng.random() < 0.9 else "High"
        if rng.random() < 0.05:
            doc["poNumber"] = f"PO{rng.randint(1000, 99999)}"
        source = {"Alerts": "Monitoring", "Managed Print": "Portal"}.get(board_name)
        source = source or rng.choice(("Phone", "Phone", "Email", "Portal", "Walk-In"))
        doc["source"] = world.source[source]
        agreement = None
        covering = [a for a in company.agreements if a.start <= entered < a.stop]
        if covering and rng.random() < 0.7:
            agreement = doc["agreement"] = rng.choice(covering).ref

        delay = rng.expovariate(1 / (resolve_days * DAY))
        if rng.random() < 0.02:
            delay = float(ANCHOR_TS)  # forgotten: still open
        closed_at = int(entered + max(delay, 10 * MINUTE))
        closed = closed_at < ANCHOR_TS
        cancelled = closed and board.cancelled is not None and rng.random() < 0.04
        recent = ANCHOR_TS - closed_at < 10 * DAY
        if closed and not cancelled and board.completed and recent and rng.random() < 0.5:
            status, closed = board.completed, False  # done, waiting for someone to close it
        elif closed:
            status = board.cancelled if cancelled else board.closed
        else:
            status = rng.choice(board.open)
        doc["status"] = status

        owner = self.people.worker(rng, board_name, entered)
        entries = []
        if not cancelled and rng.random() >= no_time:
            finish = closed_at if closed else min(ANCHOR_TS - HOUR, closed_at)
            entries = self._entries(doc, entered, finish, board_name, agreement, owner, 0.85)
        doc["actualHours"] = round(sum(e.doc["actualHours"] for e in entries), 2)
        if rng.random() < 0.3:
            doc["budgetHours"] = float(rng.choice((1, 2, 4, 8)))
        if entries or rng.random() < 0.8:
            doc["owner"] = entries[0].member.ref if entries else owner.ref
        invoice = None
        billed = sum(e.doc["hoursBilled"] * e.rate for e in entries)
        if closed and closed_at < ANCHOR_TS - 20 * DAY and billed and rng.random() < 0.5:
            invoice = self.invoices.add(
                rng,
                kind="Standard",
                apply_to="Ticket",
                apply_to_id=ticket_id,
                company=company,
                date=closed_at - closed_at % DAY + DAY,
                service=billed,
                by=doc["owner"]["identifier"],
                extra={"ticket": {"id": ticket_id, "summary": doc["summary"]}},
            )
        closer = entries[-1].member.identifier if entries else owner.identifier
        doc["closedFlag"] = closed
        if closed:
            doc["closedDate"] = doc["dateResolved"] = iso(closed_at)
            doc["closedBy"] = closer
        elif rng.random() < 0.15:
            doc["customerUpdatedFlag"] = True
        if entries:
            doc["dateResponded"] = entries[0].doc["timeStart"]
        last = max(entered + 5 * MINUTE, *(e.end for e in entries), closed_at if closed else 0)
        updated = min(ANCHOR_TS - MINUTE, last + rng.randint(1, 30) * MINUTE)
        entered_by = "RMM" if source == "Monitoring" else owner.identifier
        doc["_info"] = info(updated, closer, entered, entered_by)
        self.store.records["tickets"].put(ticket_id, None, updated, doc)

        for case, holds in (
            ("ticket_without_time", not entries),
            ("ticket_closed_without_time", closed and not entries),
            ("ticket_company_without_customer", company.customer is None),
            ("ticket_on_agreement", agreement is not None),
            ("ticket_unmapped_technician", any(not e.member.mapped for e in entries)),
        ):
            if holds:
                self.store.case(case, "connectwise", "tickets", ticket_id)
        self._audit("Ticket", ticket_id, entered, entered_by,
                    closed_at if closed else None, status["name"], entries)  # fmt: skip
        self._write_entries(entries, closed_at if closed else None, invoice)
        customer = company.customer
        if (
            closed
            and entries
            and closed_at < ANCHOR_TS - 3 * DAY
            and customer is not None
            and customer.sync
            and customer.company is company
            and all(e.member.mapped and e.member.active_at(ANCHOR_TS - DAY) for e in entries)
            and self.after_rng.random() < self.pool_share
        ):
            last = entries[-1]
            self.pool.append(Synced(ticket_id, closed_at, updated, doc["actualHours"], company,
                                    dict(last.doc), last.member, agreement is not None,
                                    invoice is not None))  # fmt: skip

    def after_sync(self, parties: Parties) -> None:
        """Time booked after the incumbent's call, and tickets moved after it (module doc)."""
        rng, pool = self.after_rng, self.pool
        old = [c for c in pool if c.closed < ANCHOR_TS - 60 * DAY]
        picked: dict[str, list[Synced]] = {}
        taken: set[int] = set()
        for case, among in (
            ("time_entry_after_invoiced_call", old),
            ("time_entry_after_call", [c for c in pool if c.closed >= ANCHOR_TS - 120 * DAY]),
            ("ticket_moved_after_sync", [c for c in pool if not c.agreement and not c.invoiced]),
        ):
            free = [c for c in among if c.ticket_id not in taken]
            chosen = rng.sample(free, min(len(free), quota(case, len(pool))))
            picked[case] = sorted(chosen, key=lambda c: c.ticket_id)
            taken |= {c.ticket_id for c in chosen}
        patches: list[tuple[str, int, int, str]] = []  # (table, id or ticket id, stamp, patch)
        late = sorted(
            [(c, "time_entry_after_invoiced_call") for c in picked[AFTER_SYNC_CASES[0]]]
            + [(c, "time_entry_after_call") for c in picked[AFTER_SYNC_CASES[1]]],
            key=lambda pair: pair[0].ticket_id,
        )
        for candidate, case in late:
            patches.append(self._late_entry(rng, candidate, case))
        movers = [c for c in parties.clients
                  if c.customer is not None and c.customer.sync and c.customer.is_active
                  and c.customer.company is c]  # fmt: skip
        for candidate in picked["ticket_moved_after_sync"]:
            patches += self._move(rng, candidate, movers)
        patch(self.store, "tickets", [p[1:] for p in patches if p[0] == "tickets"])
        patch(self.store, "time_entries", [p[1:] for p in patches if p[0] == "time_entries"],
              "json_extract(t.doc, '$.chargeToId')::BIGINT")  # fmt: skip
        status = {"time_entry_after_call": "OKToInvoice", "time_entry_after_invoiced_call":
                  "Invoiced", "ticket_moved_after_sync": None}  # fmt: skip
        self.store.table(
            "world.synced_tickets",
            sorted((c.ticket_id, c.company.id, status[case])
                   for case, chosen in picked.items() for c in chosen),
            pa.schema([("ticket_id", pa.int64()), ("company_id", pa.int64()),
                       ("call_status", pa.string())]),
        )  # fmt: skip

    def _late_entry(self, rng: random.Random, ticket: Synced, case: str) -> tuple:
        """One entry booked after the call was made (and, for the invoiced case, after the
        call was invoiced: the ERP invoices a synced call 15 to 30 days after it closed)."""
        if case == "time_entry_after_invoiced_call":
            day = ticket.closed + rng.randint(35, 55) * DAY
        else:
            left = (ANCHOR_TS - ticket.closed) // DAY  # at least 3: the pool's rule
            day = ticket.closed + rng.randint(1, min(30, left - 2)) * DAY
        start = day - day % DAY + rng.choice((13, 14, 15, 16, 17, 18)) * HOUR
        minutes = rng.choice((15, 30, 45, 60, 90))
        end = start + minutes * MINUTE
        hours = round(minutes / 60, 2)
        doc = {k: v for k, v in ticket.entry.items() if k not in ("invoice", "status", "_info")}
        doc.update(id=self.next_entry, timeStart=iso(start), timeEnd=iso(end),
                   actualHours=hours, notes=rng.choice(NOTES), dateEntered=iso(end))  # fmt: skip
        self.next_entry += 1
        if ticket.agreement:
            rate = self.world.rates[doc["workRole"]["id"]]
            doc.update(hoursBilled=0.0, invoiceHours=0.0, agreementHours=hours,
                       agreementAmount=money(hours * rate))  # fmt: skip
        else:
            doc.update(billableOption="Billable", hoursBilled=hours, invoiceHours=hours)
        doc["status"] = "Open" if ANCHOR_TS - end < 20 * DAY else "ApprovedByTierTwo"
        updated = min(ANCHOR_TS - MINUTE, end + rng.randint(1, 120) * MINUTE)
        doc["_info"] = info(updated, doc["enteredBy"], end, doc["enteredBy"])
        self.store.records["time_entries"].put(doc["id"], None, updated, doc)
        self.store.case(case, "connectwise", "time_entries", doc["id"])
        self.store.audit_entry("Ticket", ticket.ticket_id, end, {
            "text": f"Time entry added by {ticket.member.ref['name']}.",
            "enteredDate": iso(end), "enteredBy": ticket.member.identifier,
            "auditType": "Ticket", "auditSubType": "Time", "auditSource": "Ticket",
        })  # fmt: skip
        ticket.hours = round(ticket.hours + hours, 2)
        stamp = max(ticket.updated, updated)
        ticket.updated = stamp
        return ("tickets", ticket.ticket_id, stamp, dumps({"actualHours": ticket.hours}))

    def _move(self, rng: random.Random, ticket: Synced, movers: list[Company]) -> list[tuple]:
        """The ticket goes to another company after the incumbent synced it; its time entries
        follow (the PSA moves them with the ticket)."""
        old = ticket.company
        new = rng.choice([c for c in movers if c is not old and c.created < ticket.closed])
        moved = min(ANCHOR_TS - HOUR, ticket.closed + rng.randint(1, 10) * DAY)
        stamp = max(ticket.updated, moved)
        site = new.sites[0]
        patch: dict = {
            "company": new.ref,
            "site": site.ref,
            "siteName": clip(site.ref["name"], 50),
            "addressLine1": site.address1,
            "city": site.city,
            "stateIdentifier": site.state,
            "zip": site.zip,
            "location": self.world.location[new.branch],
            "contact": None,
            "contactName": None,
            "contactPhoneNumber": None,
            "contactEmailAddress": None,
            "_info": {"updatedBy": ticket.member.identifier},
        }
        if new.contacts:
            contact = new.contacts[0]
            patch.update(
                contact=contact.ref,
                contactName=contact.ref["name"],
                contactPhoneNumber=contact.phone,
                contactEmailAddress=contact.email,
            )
        self.store.case("ticket_moved_after_sync", "connectwise", "tickets", ticket.ticket_id)
        self.store.audit_entry("Ticket", ticket.ticket_id, moved, {
            "text": f'Company changed from "{old.ref["name"]}" to "{new.ref["name"]}".',
            "enteredDate": iso(moved), "enteredBy": ticket.member.identifier,
            "auditType": "Ticket", "auditSubType": "Company", "auditSource": "Ticket",
        })  # fmt: skip
        entries = {"company": new.ref}
        return [("tickets", ticket.ticket_id, stamp, dumps(patch)),
                ("time_entries", ticket.ticket_id, stamp, dumps(entries))]  # fmt: skip

    def project_ticket(self, entered: int, project: Project, phase: dict, budget: int) -> None:
        rng = self.rng
        board = self.world.boards["Projects"]
        company = project.company
        stage = phase["name"].split(" - ", 1)[1]
        summary = clip(f"{stage}: {rng.choice(TASKS)} - {company.name}", 100)
        doc = self._base(summary, company, board.ref, entered)
        ticket_id = doc["id"]
        doc["isIssueFlag"] = False
        doc["project"] = project.ref
        doc["phase"] = phase
        doc["department"] = self.world.department["PRJ"]
        project.issued += 1
        doc["wbsCode"] = f"{phase['name'].split(' ', 1)[0]}.{project.issued}"
        doc["budgetHours"] = float(budget)
        closed_at = entered + rng.randint(1, 30) * DAY
        closed = closed_at < ANCHOR_TS and rng.random() < 0.9
        status = doc["status"] = board.closed if closed else rng.choice(board.open)
        owner = self.people.worker(rng, "Projects", entered)
        entries = []
        if rng.random() >= CASES["project_ticket_without_time"].share:
            finish = closed_at if closed else ANCHOR_TS - HOUR
            billable = 0.0 if project.fixed_fee else 0.9
            entries = self._entries(doc, entered, finish, "Projects", None, owner, billable)
        hours = round(sum(e.doc["actualHours"] for e in entries), 2)
        project.actual_hours += hours
        project.budget_hours += budget
        project.billable += sum(e.doc["hoursBilled"] * e.rate for e in entries)
        doc["actualHours"] = hours
        doc["owner"] = owner.ref
        doc["closedFlag"] = closed
        if closed:
            doc["closedDate"] = iso(closed_at)
            doc["closedBy"] = owner.identifier
        last = max(entered + 5 * MINUTE, *(e.end for e in entries), closed_at if closed else 0)
        updated = min(ANCHOR_TS - MINUTE, last + rng.randint(1, 30) * MINUTE)
        doc["_info"] = info(updated, owner.identifier, entered, project.manager.identifier)
        self.store.records["project_tickets"].put(ticket_id, None, updated, doc)
        if not entries:
            self.store.case(
                "project_ticket_without_time", "connectwise", "project_tickets", ticket_id
            )
        self._audit("ProjectTicket", ticket_id, entered, project.manager.identifier,
                    closed_at if closed else None, status["name"], entries)  # fmt: skip
        self._write_entries(entries, closed_at if closed else None, None)

    def _base(self, summary: str, company: Company, board_ref: dict, entered: int) -> dict:
        """What service and project tickets have in common; takes the next ticket id."""
        rng, world = self.rng, self.world
        site = company.sites[0] if rng.random() < 0.6 else rng.choice(company.sites)
        doc = {
            "id": self.next_ticket,
            "summary": summary,
            "board": board_ref,
            "company": company.ref,
            "site": site.ref,
            "siteName": clip(site.ref["name"], 50),
            "addressLine1": site.address1,
            "city": site.city,
            "stateIdentifier": site.state,
            "zip": site.zip,
            "priority": rng.choices(world.priorities, (3, 12, 70, 15))[0],
            "location": world.location[company.branch],
            "department": world.department["SVC"],
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "customerUpdatedFlag": False,
            "approved": True,
        }
        self.next_ticket += 1
        if company.contacts and rng.random() < 0.85:
            contact = rng.choice(company.contacts)
            doc["contact"] = contact.ref
            doc["contactName"] = contact.ref["name"]
            if contact.phone:
                doc["contactPhoneNumber"] = contact.phone
            if contact.email:
                doc["contactEmailAddress"] = contact.email
        if rng.random() < 0.1:
            doc["requiredDate"] = iso(entered + rng.randint(1, 14) * DAY)
        return doc

    def _entries(
        self,
        ticket: dict,
        begin: int,
        finish: int,
        board: str,
        agreement: dict | None,
        owner: Member,
        billable_share: float,
    ) -> list[Entry]:
        """Time on one ticket, in quarter hours between its creation and its close (or now)."""
        rng, world = self.time_rng, self.world
        window = max(finish - begin, HOUR)
        slots = []
        for _ in range(1 + int(rng.random() * (2 * self.mean_entries - 1))):  # mean: mean_entries
            start = begin + int(rng.random() * window)
            start += -start % (15 * MINUTE)  # never before the ticket
            minutes = rng.choice((15, 30, 30, 45, 60, 60, 90, 120, 180, 240))
            end = min(start + minutes * MINUTE, ANCHOR_TS - MINUTE)
            start = min(start, end - 15 * MINUTE)
            member = owner if rng.random() < 0.75 and owner.active_at(start) else None
            slots.append((start, end, member or self.people.worker(rng, board, start), None))
        slots.sort(key=lambda slot: slot[0])
        if rng.random() < CASES["time_entry_overlap"].share:
            start, end, member, _ = slots[0]
            later = start + (end - start) // 2 // (15 * MINUTE) * 15 * MINUTE
            late_end = min(ANCHOR_TS - MINUTE, max(end, later + 30 * MINUTE))
            slots.insert(1, (later, late_end, member, "time_entry_overlap"))
        entries = []
        for start, end, member, case in slots:
            hours = round((end - start) / HOUR, 2)
            work = "Project" if board == "Projects" else member.work_type["name"]
            doc = {
                "id": self.next_entry,
                "company": ticket["company"],
                "chargeToId": ticket["id"],
                "chargeToType": "ProjectTicket" if board == "Projects" else "ServiceTicket",
                "ticket": {"id": ticket["id"], "summary": ticket["summary"]},
                "member": member.ref,
                "locationId": ticket["location"]["id"],
                "businessUnitId": ticket["department"]["id"],
                "workType": world.work_types["Onsite" if work == "Onsite" else
                                             "Project" if work == "Project" else "Remote"],
                "workRole": member.work_role,
                "timeStart": iso(start),
                "timeEnd": iso(end),
                "hoursDeduct": 0.0,
                "actualHours": hours,
                "notes": rng.choice(NOTES),
                "addToDetailDescriptionFlag": False,
                "addToInternalAnalysisFlag": False,
                "addToResolutionFlag": False,
                "emailResourceFlag": False,
                "emailContactFlag": False,
                "emailCcFlag": False,
                "dateEntered": iso(end),
                "enteredBy": member.identifier,
            }  # fmt: skip
            self.next_entry += 1
            if board == "Projects":
                doc["project"] = ticket["project"]
                doc["phase"] = ticket["phase"]
            rate = world.rates[member.work_role["id"]]
            if agreement is not None:
                doc["agreement"] = agreement
                doc.update(billableOption="Billable", hoursBilled=0.0, invoiceHours=0.0,
                           agreementHours=hours, agreementAmount=money(hours * rate))  # fmt: skip
            elif rng.random() < billable_share:
                doc.update(billableOption="Billable", hoursBilled=hours, invoiceHours=hours)
            else:
                option = rng.choice(("DoNotBill", "NoCharge"))
                doc.update(billableOption=option, hoursBilled=0.0, invoiceHours=0.0)
            entries.append(Entry(doc, start, end, member, rate, case))
        return entries

    def _write_entries(
        self, entries: list[Entry], closed_at: int | None, invoice: dict | None
    ) -> None:
        rng = self.time_rng
        settled = closed_at is not None and closed_at < ANCHOR_TS - 20 * DAY
        for entry in entries:
            doc = entry.doc
            if not settled:
                status = rng.choice(("Open", "Open", "PendingApproval", "ApprovedByTierOne"))
            elif "agreement" in doc:
                status = "BilledAgreement"
            elif invoice is not None and doc["hoursBilled"]:
                status = "Billed"
                doc["invoice"] = invoice
            else:
                status = "ApprovedByTierTwo"
            doc["status"] = status
            updated = entry.end + rng.randint(1, 120) * MINUTE
            if settled:
                updated = max(updated, closed_at + rng.randint(1, 15) * DAY)
            updated = min(ANCHOR_TS - MINUTE, updated)
            doc["_info"] = info(updated, doc["enteredBy"], entry.end, doc["enteredBy"])
            self.store.records["time_entries"].put(doc["id"], None, updated, doc)
            if entry.case:
                self.store.case(entry.case, "connectwise", "time_entries", doc["id"])

    def _audit(
        self,
        kind: str,
        ticket_id: int,
        entered: int,
        by: str,
        closed_at: int | None,
        status: str,
        entries: list[Entry],
    ) -> None:
        """History for a share of tickets (Scale.ticket_audit_share): created, time, closed."""
        if self.time_rng.random() >= self.scale.ticket_audit_share:
            return
        rows = [(entered, "Ticket was created.", "Ticket", by)]
        for entry in entries[:2]:
            text = f"Time entry added by {entry.member.ref['name']}."
            rows.append((entry.end, text, "Time", entry.member.identifier))
        if closed_at is not None:
            closer = entries[-1].member.identifier if entries else by
            text = f'Status changed from "New" to "{status}".'
            rows.append((closed_at, text, "Status", closer))
        for at, text, sub, who in rows:
            self.store.audit_entry(
                kind,
                ticket_id,
                at,
                {
                    "text": text,
                    "enteredDate": iso(at),
                    "enteredBy": who,
                    "auditType": kind,
                    "auditSubType": sub,
                    "auditSource": "Ticket",
                },
            )


def _epoch(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())


def _summary(rng: random.Random, kind: str, company: Company) -> str:
    user = f"{rng.choice(('Ana', 'Ben', 'Chloé', 'Dev', 'Eli', 'Fatima'))} " + rng.choice(
        ("Ortiz", "Shah", "Brennan", "O'Neil", "Kim")
    )
    host = f"{company.identifier[:6].upper()}-{rng.choice(('SRV', 'PC', 'LT', 'FS'))}"
    text = rng.choice(SUMMARIES[kind]).format(
        user=user,
        host=f"{host}{rng.randint(1, 40):02d}",
        n=rng.randint(2, 30),
        site=company.sites[-1].ref["name"],
        domain="example.org",
        code=rng.randint(300, 999),
        model=rng.choice(MODELS),
    )
    return clip(text, 100)


def _write_projects(
    rng: random.Random,
    billing: random.Random,
    world: World,
    projects: list[Project],
    invoices: Invoices,
    store: Store,
) -> None:
    """Projects, their phases and their invoices; project time is invoiced once billed.

    Half of the fixed-fee projects and half of the others (at least one of each) bill by
    phase (drawn from a stream of their own): each phase ending 10 days before the anchor
    (the last one once the project closed) gets a Progress invoice applied to the phase
    (``applyToType`` ProjectPhase, ``phase``): a fixed-fee project's phase its share of the
    fee after the down payment, any other the billable time booked before the invoice date.
    The rest bill on completion: one invoice applied to the project once it closed.
    An invoice takes the time it bills (``invoice``, status Billed): an actual-rates
    invoice the billable entries it counts, a fixed-fee one every entry it covers (the fee
    bills them all); time booked later stays unbilled."""
    by_phase = set()
    for group in ([p for p in projects if p.fixed_fee], [p for p in projects if not p.fixed_fee]):
        size = quota("project_billed_by_phase", len(group))
        by_phase |= {p.id for p in billing.sample(group, size)}
    store.flush()
    entries: dict[int, list[tuple]] = {}  # phase id -> (entry id, end, billed, amount)
    for entry_id, phase_id, end, billed, role in store.con.execute(
        """SELECT id, json_extract(doc, '$.phase.id')::BIGINT, doc->>'$.timeEnd',
                  (doc->>'$.hoursBilled')::DOUBLE, json_extract(doc, '$.workRole.id')::BIGINT
           FROM connectwise.time_entries WHERE doc->>'$.chargeToType' = 'ProjectTicket'
           ORDER BY id"""
    ).fetchall():
        amount = money(billed * world.rates[role])
        entries.setdefault(phase_id, []).append((entry_id, _epoch(end), billed, amount))
    billed_entries: list[tuple[int, int, str]] = []

    def bill(invoice: dict, date: int, taken: list[tuple]) -> None:
        for entry_id, *_ in taken:
            billed_entries.append((entry_id, date + 9 * HOUR,
                                   dumps({"invoice": invoice, "status": "Billed"})))  # fmt: skip

    for project in projects:
        company = project.company
        closed = project.end + 15 * DAY < ANCHOR_TS and rng.random() < 0.85
        status = (
            "Closed" if closed else rng.choice(("Open", "In Progress", "In Progress", "On Hold"))
        )
        fee = money(round(rng.uniform(4000, 60000), -2)) if project.fixed_fee else None
        doc = {
            "id": project.id,
            "name": project.ref["name"],
            "board": world.boards["Projects"].ref,
            "company": company.ref,
            "contact": company.contacts[0].ref,
            "billToCompany": company.ref,
            "status": world.project_status[status],
            "type": project.type_ref,
            "manager": project.manager.ref,
            "location": world.location[company.branch],
            "department": world.department["PRJ"],
            "billingMethod": "FixedFee" if project.fixed_fee else "ActualRates",
            "estimatedStart": iso(project.start - project.start % DAY),
            "estimatedEnd": iso(project.end - project.end % DAY),
            "actualStart": iso(project.start - project.start % DAY),
            "budgetHours": float(project.budget_hours),
            "actualHours": round(project.actual_hours, 2),
            "estimatedHours": float(project.budget_hours),
            "percentComplete": 100.0 if closed else float(rng.randint(5, 95)),
            "closedFlag": closed,
            "billTime": "Billable",
            "billExpenses": "Billable",
            "billProducts": "Billable",
            "billingRateType": "WorkRole",
            "budgetAnalysis": "ActualHours",
        }
        if fee is not None:
            doc["billingAmount"] = fee
            doc["downpayment"] = money(fee * 0.3)
        if closed:
            doc["actualEnd"] = iso(project.end - project.end % DAY)
        updated = min(
            ANCHOR_TS - HOUR, (project.end if closed else ANCHOR_TS) - rng.randint(1, 10) * HOUR
        )
        updated = max(updated, project.start + HOUR)
        doc["_info"] = info(
            updated, project.manager.identifier, project.start, project.manager.identifier
        )
        store.records["projects"].put(project.id, None, updated, doc)
        if project.fixed_fee:
            store.case("project_fixed_fee", "connectwise", "projects", project.id)
        phased = project.id in by_phase
        store.case(
            "project_billed_by_phase" if phased else "project_billed_on_completion",
            "connectwise",
            "projects",
            project.id,
        )
        by = project.manager.identifier
        extra = {"project": project.ref}
        mine = [e for ref, _, _ in project.phases for e in entries.get(ref["id"], ())]
        for k, (ref, _, high) in enumerate(project.phases):
            last = k == len(project.phases) - 1
            date = midnight(high) + DAY
            due = date < ANCHOR_TS - 10 * DAY and (closed or not last) and phased
            taken = [e for e in entries.get(ref["id"], ()) if e[1] < date]
            if not project.fixed_fee:
                taken = [e for e in taken if e[2] > 0]
            amount = (
                (fee - fee * 0.3) / len(project.phases)
                if fee is not None
                else sum(e[3] for e in taken)
            )
            if due and amount > 0:
                invoice = invoices.add(
                    billing,
                    kind="Progress",
                    apply_to="ProjectPhase",
                    apply_to_id=ref["id"],
                    company=company,
                    date=date,
                    service=amount,
                    by=by,
                    extra={**extra, "phase": ref},
                )
                bill(invoice, date, taken)
            _write_phase(store, world, project, k, doc, phased, date if due else None, by)
        if phased:
            closed = False  # billed phase by phase: no invoice on completion
        if fee is not None:
            ref = invoices.add(
                rng,
                kind="DownPayment",
                apply_to="Project",
                apply_to_id=project.id,
                company=company,
                date=project.start - project.start % DAY,
                service=fee * 0.3,
                by=by,
                extra=extra,
            )
            store.case("invoice_down_payment", "connectwise", "invoices", ref["id"])
            if closed:
                end = project.end - project.end % DAY + DAY
                invoice = invoices.add(
                    rng,
                    kind="Progress",
                    apply_to="Project",
                    apply_to_id=project.id,
                    company=company,
                    date=project.end - project.end % DAY + DAY,
                    service=fee * 0.7,
                    by=by,
                    extra=extra,
                )
                bill(invoice, end, [e for e in mine if e[1] < end])
        elif closed and project.billable:
            end = project.end - project.end % DAY + DAY
            taken = [e for e in mine if e[1] < end and e[2] > 0]
            invoice = invoices.add(
                rng,
                kind="Standard",
                apply_to="Project",
                apply_to_id=project.id,
                company=company,
                date=end,
                service=sum(e[3] for e in taken),
                by=by,
                extra=extra,
            )
            bill(invoice, end, taken)
    patch(store, "time_entries", billed_entries)


def _write_phase(
    store: Store,
    world: World,
    project: Project,
    k: int,
    project_doc: dict,
    phased: bool,
    billed: int | None,
    by: str,
) -> None:
    """``/project/projects/{id}/phases``: how the phase is billed and whether it is done."""
    ref, low, high = project.phases[k]
    done = high < ANCHOR_TS - 10 * DAY
    doc = {
        "id": ref["id"],
        "projectId": project.id,
        "description": ref["name"],
        "board": project_doc["board"],
        "status": world.phase_status["Closed" if done else "Open"],
        "wbsCode": str(k + 1),
        "billTime": "Billable",
        "billExpenses": "Billable",
        "billProducts": "Billable",
        "markAsMilestoneFlag": False,
        "billSeparatelyFlag": phased,
        "billPhaseClosedFlag": phased,
        "billProjectClosedFlag": not phased,
        "billingMethod": project_doc["billingMethod"],
        "scheduledStart": iso(midnight(low)),
        "scheduledEnd": iso(midnight(high)),
        "locationId": project_doc["location"]["id"],
        "businessUnitId": project_doc["department"]["id"],
    }
    if low < ANCHOR_TS:
        doc["actualStart"] = iso(midnight(low))
    if done:
        doc["actualEnd"] = iso(midnight(high))
    updated = min(ANCHOR_TS - HOUR, max(low, (billed or high) + HOUR))
    doc["_info"] = info(updated, by, project.start, by)
    store.records["project_phases"].put(ref["id"], project.id, updated, doc)
