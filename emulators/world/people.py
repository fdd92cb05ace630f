"""PSA members and ERP technicians: who logs time, and which of them the ERP can recognise."""

import random
from dataclasses import dataclass

import pyarrow as pa

from . import names
from .cases import quota
from .catalog import World
from .common import ANCHOR_TS, DAY, START_TS, YEAR, info, iso, midnight
from .store import Store

# role -> (work role, default work type, boards the member works, security role)
ROLES = {
    "helpdesk": ("Help Desk Tech", "Remote", ("Help Desk", "Alerts"), "Technician"),
    "field": ("Field Technician", "Onsite", ("Field Service", "Managed Print"), "Technician"),
    "copier": ("Copier Technician", "Onsite", ("Field Service", "Managed Print"), "Technician"),
    "engineer": ("Network Engineer", "Remote", ("Help Desk", "Alerts", "Projects"), "Technician"),
    "pm": ("Project Manager", "Project", ("Projects",), "Manager"),
    "sales": ("Sales", "Remote", (), "Sales"),
    "admin": ("Help Desk Tech", "Remote", (), "Admin"),
    "api": ("Help Desk Tech", "Remote", (), "API"),
}
TECH_ROLES = ("helpdesk", "field", "copier", "engineer")
API_MEMBERS = (("CeoJuiceAPI", "CEO Juice", "Integration"), ("CrosswalkAPI", "Crosswalk", None))
FIRST_MEMBER_ID = 101


@dataclass(slots=True)
class Member:
    id: int
    identifier: str
    ref: dict  # MemberReference {id, identifier, name}
    role: str
    work_role: dict
    work_type: dict
    hired: int
    left: int | None
    mapped: bool  # its employeeIdentifer is its ERP technician number

    def active_at(self, ts: int) -> bool:
        return self.hired <= ts and (self.left is None or ts < self.left)


@dataclass
class People:
    members: list[Member]
    by_board: dict[str, list[Member]]
    sales: list[Member]
    managers: list[Member]
    admins: list[Member]
    api: Member  # the incumbent integration's member: updatedBy on synced records

    def worker(self, rng: random.Random, board: str, ts: int) -> Member:
        """A member who works ``board`` and was employed at ``ts``."""
        pool = self.by_board[board]
        for _ in range(8):
            member = rng.choice(pool)
            if member.active_at(ts):
                return member
        return next((m for m in pool if m.active_at(ts)), pool[0])


def build(seed_rng: random.Random, scale, world: World, store: Store) -> People:
    rng = seed_rng
    total = scale.members
    admins = 1 + total // 40
    sales = max(2, round(total * 0.06))
    pms = max(1, round(total * 0.04))
    techs = total - len(API_MEMBERS) - admins - sales - pms
    roles = ["admin"] * admins + ["sales"] * sales + ["pm"] * pms
    cycle = ("helpdesk", "field", "engineer", "helpdesk", "copier")
    roles += [cycle[i % len(cycle)] for i in range(techs)]
    rng.shuffle(roles)

    tech_positions = [i for i, role in enumerate(roles) if role in TECH_ROLES]
    picks = rng.sample(
        tech_positions,
        quota("member_inactive", len(tech_positions))
        + quota("member_without_technician", len(tech_positions))
        + quota("member_unknown_technician", len(tech_positions)),
    )
    inactive = set(picks[: quota("member_inactive", len(tech_positions))])
    rest = picks[len(inactive) :]
    unnumbered = set(rest[: quota("member_without_technician", len(tech_positions))])
    typo = set(rest[len(unnumbered) :])

    identifiers = names.Identifiers()
    members: list[Member] = []
    technicians: list[tuple] = []
    member_id = FIRST_MEMBER_ID
    docs: list[tuple[int, int, dict]] = []

    def add_member(first, last, role, licence, number=None, hired=None, left=None) -> Member:
        nonlocal member_id
        work_role_name, work_type_name, _, security = ROLES[role]
        if licence == "A":
            identifier = identifiers.claim(first.replace(" ", "") + "API")
        else:
            stem = (names.ascii_letters(first)[:1] + names.ascii_letters(last)).lower()[:13]
            identifier = identifiers.from_name(stem)
        display = f"{first} {last}" if last else first
        ref = {"id": member_id, "identifier": identifier, "name": display}
        hired = hired if hired is not None else START_TS - rng.randint(30, 3000) * DAY
        location = world.location[rng.choice(("TPA", "TPA", "ORL", "MIA", "JAX"))]
        doc = {
            "id": member_id,
            "identifier": identifier,
            "firstName": first,
            "officeEmail": f"{identifier.lower()}@dealer.example.com",
            "primaryEmail": f"{identifier.lower()}@dealer.example.com",
            "officePhone": names.phone(rng, "813"),
            "inactiveFlag": left is not None,
            "hireDate": iso(midnight(hired)),
            "type": world.member_type["API" if licence == "A" else "Employee"],
            "workRole": world.work_roles[work_role_name],
            "workType": world.work_types[work_type_name],
            "defaultLocation": location,
            "defaultDepartment": world.department["ADMIN" if role == "api" else "SVC"],
            "timeZone": world.time_zone,
            "securityRole": world.security_role[security],
            "licenseClass": licence,
            "defaultEmail": "Office",
            "defaultPhone": "Office",
            "agreementInvoicingDisplayOptions": "RemainOnInvoicingScreen",
            "invoicingDisplayOptions": "RemainOnInvoicingScreen",
            "invoiceScreenDefaultTabFormat": "ShowInvoicingTab",
            "title": {
                "helpdesk": "Help Desk Technician",
                "field": "Field Technician",
                "copier": "Copier Technician",
                "engineer": "Network Engineer",
                "pm": "Project Manager",
                "sales": "Account Executive",
                "admin": "Service Coordinator",
            }.get(role, "Integration"),
        }
        if last:
            doc["lastName"] = last
        if number:
            doc["employeeIdentifer"] = number  # sic: the API's own spelling
        if left is not None:
            doc["inactiveDate"] = iso(midnight(left))
        updated = min(ANCHOR_TS - DAY, max(hired, left or hired) + rng.randint(1, 200) * DAY)
        doc["_info"] = info(updated, "admin1", hired, "admin1")
        docs.append((member_id, updated, doc))
        member = Member(
            member_id,
            identifier,
            ref,
            role,
            world.work_roles[work_role_name],
            world.work_types[work_type_name],
            hired,
            left,
            False,
        )
        members.append(member)
        member_id += 1
        return member

    api = [
        add_member(first, last, "api", "A", hired=START_TS - 400 * DAY)
        for _, first, last in API_MEMBERS
    ]
    for member in api:
        store.case("member_api", "connectwise", "members", member.id)
    tech_number = 1000
    for position, role in enumerate(roles):
        first, last = names.person(rng)
        if role not in TECH_ROLES:
            add_member(first, last, role, "F")
            continue
        tech_number += 1
        number = f"T{tech_number}"
        hired = None
        left = None
        if position in inactive:
            left = START_TS + rng.randint(200, 900) * DAY
        elif rng.random() < 0.1:  # joined during the window: no time before that
            hired = START_TS + rng.randint(30, 700) * DAY
        shown = None if position in unnumbered else number[1:] if position in typo else number
        member = add_member(first, last, role, "F", shown, hired, left)
        member.mapped = shown == number
        case = (
            "member_inactive"
            if position in inactive
            else "member_without_technician"
            if position in unnumbered
            else "member_unknown_technician"
            if position in typo
            else "member_with_technician"
        )
        store.case(case, "connectwise", "members", member.id)
        technicians.append(
            (number, first, last, member.ref["identifier"], left is None, member.id, member.hired)
        )

    for _ in range(scale.erp_only_technicians):
        tech_number += 1
        first, last = names.person(rng)
        technicians.append((f"T{tech_number}", first, last, None, True, None, START_TS - 90 * DAY))

    writer = store.records["members"]
    for id_, updated, doc in docs:
        writer.put(id_, None, updated, doc)
    _technicians(rng, store, technicians)

    by_board: dict[str, list[Member]] = {}
    for member in members:
        for board in ROLES[member.role][2]:
            by_board.setdefault(board, []).append(member)
    return People(
        members=members,
        by_board=by_board,
        sales=[m for m in members if m.role == "sales"],
        managers=[m for m in members if m.role == "pm"],
        admins=[m for m in members if m.role == "admin"],
        api=api[0],
    )


def _technicians(rng: random.Random, store: Store, rows: list[tuple]) -> None:
    table = []
    for technician_id, (number, first, last, identifier, active, member_id, hired) in enumerate(
        rows, start=1
    ):
        branch = rng.choice(("TPA", "ORL", "MIA", "JAX"))
        territory = {"TPA": "WEST", "ORL": "CENTRAL", "MIA": "SOUTH", "JAX": "NORTH"}[branch]
        email = f"{(identifier or names.ascii_letters(first[0] + last)).lower()}@dealer.example.com"
        updated = min(ANCHOR_TS - DAY, max(hired, START_TS) + rng.randint(1, YEAR // DAY) * DAY)
        table.append(
            (
                technician_id,
                number,
                first,
                last,
                email,
                branch,
                territory,
                active,
                member_id,
                updated,
            )
        )
        if member_id is None:
            store.case("technician_without_member", "eautomate", "technicians", technician_id)
    store.table(
        "world.technicians",
        table,
        pa.schema(
            [
                ("technician_id", pa.int64()),
                ("technician_number", pa.string()),
                ("first_name", pa.string()),
                ("last_name", pa.string()),
                ("email", pa.string()),
                ("branch", pa.string()),
                ("territory", pa.string()),
                ("is_active", pa.bool_()),
                ("member_id", pa.int64()),
                ("last_update", pa.timestamp("s")),
            ]
        ),
    )
