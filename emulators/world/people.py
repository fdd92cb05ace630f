"""PSA members and ERP technicians: who logs time, and which of them the ERP can recognise."""

import random
from dataclasses import dataclass

import pyarrow as pa

from . import names
from .cases import quota
from .catalog import World
from .common import ANCHOR_TS, DAY, START_TS, YEAR, info, iso, midnight
from .store import Store

# role -> (work role, default work type, boards the member works, security role, title)
ROLES = {
    "helpdesk": ("Help Desk Tech", "Remote", ("Help Desk", "Alerts"), "Technician",
                 "Help Desk Technician"),
    "field": ("Field Technician", "Onsite", ("Field Service", "Managed Print"), "Technician",
              "Field Technician"),
    "copier": ("Copier Technician", "Onsite", ("Field Service", "Managed Print"), "Technician",
               "Copier Technician"),
    "engineer": ("Network Engineer", "Remote", ("Help Desk", "Alerts", "Projects"), "Technician",
                 "Network Engineer"),
    "pm": ("Project Manager", "Project", ("Projects",), "Manager", "Project Manager"),
    "sales": ("Sales", "Remote", (), "Sales", "Account Executive"),
    "admin": ("Help Desk Tech", "Remote", (), "Admin", "Service Coordinator"),
    "api": ("Help Desk Tech", "Remote", (), "API", "Integration"),
}  # fmt: skip
TECH_ROLES = ("helpdesk", "field", "copier", "engineer")
# The default first, then the exact quotas among technicians.
TECH_CASES = ("member_with_technician", "member_inactive", "member_without_technician",
              "member_unknown_technician")  # fmt: skip
# The incumbent integration's member first: it made and keeps the synced records.
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


def build(rng: random.Random, scale, world: World, store: Store) -> People:
    total = scale.members
    admins = 1 + total // 40
    sales = max(2, round(total * 0.06))
    pms = max(1, round(total * 0.04))
    techs = total - len(API_MEMBERS) - admins - sales - pms
    roles = ["admin"] * admins + ["sales"] * sales + ["pm"] * pms
    cycle = ("helpdesk", "field", "engineer", "helpdesk", "copier")
    roles += [cycle[i % len(cycle)] for i in range(techs)]
    rng.shuffle(roles)

    positions = [i for i, role in enumerate(roles) if role in TECH_ROLES]
    counts = [quota(case, len(positions)) for case in TECH_CASES[1:]]
    picked = rng.sample(positions, sum(counts))
    case_at = {}
    for case, count in zip(TECH_CASES[1:], counts, strict=True):
        case_at.update((position, case) for position in picked[:count])
        picked = picked[count:]

    identifiers = names.Identifiers()
    members: list[Member] = []
    docs: list[tuple[int, int, dict]] = []  # (updated, hired, doc)
    technicians: list[tuple] = []

    def add(first: str, last: str | None, role: str, **kwargs) -> Member:
        member_id = FIRST_MEMBER_ID + len(members)
        member, doc, updated = _member(rng, world, identifiers, member_id, first, last, role,
                                       **kwargs)  # fmt: skip
        members.append(member)
        docs.append((updated, member.hired, doc))
        return member

    for identifier, first, last in API_MEMBERS:
        api = add(first, last, "api", identifier=identifier, hired=START_TS - 400 * DAY)
        store.case("member_api", "connectwise", "members", api.id)
    tech_number = 1000
    for position, role in enumerate(roles):
        first, last = names.person(rng)
        if role not in TECH_ROLES:
            add(first, last, role)
            continue
        tech_number += 1
        number = f"T{tech_number}"
        case = case_at.get(position, TECH_CASES[0])
        hired = left = None
        if case == "member_inactive":
            left = START_TS + rng.randint(200, 900) * DAY
        elif rng.random() < 0.1:  # joined during the window: no time before that
            hired = START_TS + rng.randint(30, 700) * DAY
        shown = {"member_without_technician": None, "member_unknown_technician": number[1:]}
        member = add(first, last, role, number=shown.get(case, number), hired=hired, left=left)
        member.mapped = case in ("member_with_technician", "member_inactive")
        store.case(case, "connectwise", "members", member.id)
        technicians.append((number, first, last, member.identifier, left is None, member.id,
                            member.hired))  # fmt: skip
    for _ in range(scale.erp_only_technicians):
        tech_number += 1
        first, last = names.person(rng)
        technicians.append((f"T{tech_number}", first, last, None, True, None, START_TS - 90 * DAY))

    admin = next(m for m in members if m.role == "admin").identifier
    for updated, hired, doc in docs:
        doc["_info"] = info(updated, admin, hired, admin)
        store.records["members"].put(doc["id"], None, updated, doc)
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
        api=members[0],
    )


def _member(
    rng: random.Random,
    world: World,
    identifiers: names.Identifiers,
    member_id: int,
    first: str,
    last: str | None,
    role: str,
    identifier: str | None = None,
    number: str | None = None,
    hired: int | None = None,
    left: int | None = None,
) -> tuple[Member, dict, int]:
    work_role, work_type, _, security, title = ROLES[role]
    if identifier is None:
        stem = (names.ascii_letters(first)[:1] + names.ascii_letters(last)).lower()[:13]
        identifier = identifiers.from_name(stem)
    else:
        identifiers.claim(identifier)
    if hired is None:
        hired = START_TS - rng.randint(30, 3000) * DAY
    email = f"{identifier.lower()}@dealer.example.com"
    doc = {
        "id": member_id,
        "identifier": identifier,
        "firstName": first,
        "officeEmail": email,
        "primaryEmail": email,
        "officePhone": names.phone(rng, "813"),
        "inactiveFlag": left is not None,
        "hireDate": iso(midnight(hired)),
        "type": world.member_type["API" if role == "api" else "Employee"],
        "workRole": world.work_roles[work_role],
        "workType": world.work_types[work_type],
        "defaultLocation": world.location[rng.choice(("TPA", "TPA", "ORL", "MIA", "JAX"))],
        "defaultDepartment": world.department["ADMIN" if role in ("api", "admin") else "SVC"],
        "timeZone": world.time_zone,
        "securityRole": world.security_role[security],
        "licenseClass": "A" if role == "api" else "F",
        "defaultEmail": "Office",
        "defaultPhone": "Office",
        "agreementInvoicingDisplayOptions": "RemainOnInvoicingScreen",
        "invoicingDisplayOptions": "RemainOnInvoicingScreen",
        "invoiceScreenDefaultTabFormat": "ShowInvoicingTab",
        "title": title,
    }
    if last:
        doc["lastName"] = last
    if number:
        doc["employeeIdentifer"] = number  # sic: the API's own spelling
    if left is not None:
        doc["inactiveDate"] = iso(midnight(left))
    updated = min(ANCHOR_TS - DAY, (left or hired) + rng.randint(1, 200) * DAY)
    ref = {"id": member_id, "identifier": identifier, "name": f"{first} {last}" if last else first}
    member = Member(member_id, identifier, ref, role, world.work_roles[work_role],
                    world.work_types[work_type], hired, left, False)  # fmt: skip
    return member, doc, updated  # _info is added once the admins are known


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
