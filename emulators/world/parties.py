"""ERP customers and locations, PSA companies, sites and contacts, and the links between them:
the truth (``world.customers.cw_company_id`` / ``cw_site_id``) next to what the incumbent wrote
into the ERP custom properties and into the companies (identifier, accountNumber)."""

import random
from dataclasses import dataclass, field

import pyarrow as pa

from . import names
from .cases import quota
from .catalog import World
from .common import (
    ANCHOR_TS,
    DAY,
    HOUR,
    START_TS,
    YEAR,
    between,
    clip,
    info,
    iso,
    midnight,
    stream,
)
from .people import People
from .store import Store

FIRST_COMPANY_ID = 250
FIRST_SITE_ID = 1001
FIRST_CONTACT_ID = 501
# The dealer moved onto the PSA two years before the window: older companies date from then.
GO_LIVE_TS = START_TS - 2 * YEAR
DEALER_NAME = "Suncoast Office Technologies"
VENDOR_NAMES = (
    "Sharp Business Systems",
    "Canon Solutions America",
    "Kyocera Document Solutions",
    "Ingram Micro",
    "TD SYNNEX",
    "D&H Distributing",
    "Dell Technologies",
    "Pax8",
    "Fortinet",
    "Ubiquiti",
    "Staples Business Advantage",
    "Konica Minolta",
    "Xerox",
    "Lexmark",
    "HP Inc.",
    "Supplies Network",
)


@dataclass(slots=True, eq=False)
class Customer:
    name: str
    address: dict
    created: int
    parent: "Customer | None" = None
    label: str = ""  # a location's place within its parent ("Warehouse")
    customer_id: int = 0
    number: str = ""
    phone: str = ""
    fax: str | None = None
    email: str | None = None
    website: str | None = None
    customer_type: str = "MIXED"
    updated: int = 0
    is_active: bool = True
    on_hold: bool = False
    sync: bool = True
    sync_property: str | None = None
    bill_to: int | None = None
    own_number: bool = False
    duplicate_name: bool = False  # shares its name with another customer
    key: str = "identifier"  # where its company holds the number: identifier|account|neither
    wrong_victim: "Customer | None" = None  # whose number its company's identifier holds
    locations: list["Customer"] = field(default_factory=list)
    company: "Company | None" = None  # truth, parents
    merged_from: "Company | None" = None  # the deleted duplicate, merged into ``company``
    site_id: int | None = None  # truth, locations
    company_property: str | None = None
    site_property: str | None = None


@dataclass(slots=True)
class Site:
    id: int
    ref: dict
    address1: str
    city: str
    state: str
    zip: str


@dataclass(slots=True)
class Contact:
    id: int
    ref: dict
    email: str | None
    phone: str | None


@dataclass(slots=True, eq=False)
class Company:
    kind: str  # client | prospect | vendor | merged
    name: str
    created: int
    customer: Customer | None = None
    id: int = 0
    identifier: str = ""
    ref: dict = field(default_factory=dict)
    weight: float = 1.0
    branch: str = "TPA"
    deleted_at: int | None = None
    sites: list[Site] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    agreements: list = field(default_factory=list)  # filled by the agreements part


@dataclass
class Parties:
    dealer: Customer
    customers: list[Customer]
    companies: list[Company]

    @property
    def clients(self) -> list[Company]:
        """Live companies with an ERP customer: who buys agreements, raises tickets, orders."""
        return [c for c in self.companies if c.kind == "client"]

    @property
    def without_customer(self) -> list[Company]:
        return [c for c in self.companies if c.kind in ("prospect", "vendor")]


def build(seed: int, scale, world: World, people: People, store: Store) -> Parties:
    rng = stream(seed, "customers")
    parents = _parents(rng, scale)
    _pick_customer_cases(stream(seed, "customer_cases"), parents)
    customers = _locations(rng, scale, parents)
    companies = _companies(stream(seed, "companies"), scale, parents)
    _write_companies(stream(seed, "company_records"), world, people, store, companies)
    _properties(stream(seed, "properties"), parents, companies, store)
    _write_customers(store, customers)
    return Parties(parents[0], customers, companies)


def _parents(rng: random.Random, scale) -> list[Customer]:
    taken = {DEALER_NAME, *names.SPECIAL_NAMES}
    parents = [Customer(DEALER_NAME, _dealer_address(), GO_LIVE_TS - 12 * YEAR)]
    for i in range(scale.customers - 1):
        if i < len(names.SPECIAL_NAMES):
            name = names.SPECIAL_NAMES[i]
        else:
            name = names.company_name(rng)
            while name in taken or len(name) > 50:
                name = names.company_name(rng)
            taken.add(name)
        # Most customers predate the PSA; some arrive during the window.
        if rng.random() < 0.75:
            created = GO_LIVE_TS - rng.randint(1, 8 * 365) * DAY
        else:
            created = rng.randint(GO_LIVE_TS, ANCHOR_TS - 60 * DAY)
        parents.append(Customer(name, names.address(rng), created))
    for customer in parents:
        _contact_details(rng, customer)
    return parents


def _dealer_address() -> dict:
    return {
        "address1": "4200 W Cypress St",
        "address2": "Suite 300",
        "city": "Tampa",
        "state": "FL",
        "zip": "33607",
        "country": "US",
        "area": "813",
        "branch": "TPA",
        "territory": "WEST",
    }


def _contact_details(rng: random.Random, customer: Customer) -> None:
    domain = f"{names.slug(customer.name)}.example.com"
    customer.phone = names.phone(rng, customer.address["area"])
    customer.fax = names.phone(rng, customer.address["area"]) if rng.random() < 0.35 else None
    customer.email = f"info@{domain}" if rng.random() < 0.6 else None
    customer.website = f"www.{domain}" if rng.random() < 0.5 else None
    customer.customer_type = rng.choices(("MPS", "IT", "COPIER", "MIXED"), (3, 3, 2, 2))[0]
    customer.updated = between(rng, max(customer.created, START_TS), ANCHOR_TS - DAY)


def _pick_customer_cases(rng: random.Random, parents: list[Customer]) -> None:
    """Which parents carry which case: exact quotas of the populations the module doc names."""
    dealer, others = parents[0], parents[1:]
    dealer.sync, dealer.sync_property = False, "No"
    special = others[: len(names.SPECIAL_NAMES)]
    free = others[len(names.SPECIAL_NAMES) :]

    def take(count: int) -> list[Customer]:
        nonlocal free
        chosen = rng.sample(free, count)
        gone = {id(c) for c in chosen}
        free = [c for c in free if id(c) not in gone]
        return chosen

    without = take(quota("customer_without_company", len(others)))
    sync_off = take(quota("customer_sync_off", len(others)))
    for customer in sync_off:
        customer.sync, customer.sync_property = False, "No"
    no_company = [*without, *sync_off[1::2]]  # every other excluded one kept its old company
    for customer in no_company:
        customer.key = "none"
    for customer in without[: len(without) // 2]:  # brand new: not pushed yet
        customer.created = ANCHOR_TS - rng.randint(5, 45) * DAY
        customer.updated = customer.created + rng.randint(1, 24) * HOUR
    # N: parents with a company, special names aside.
    population = len(others) - len(no_company) - len(special)
    for customer in take(quota("company_merged_deleted", population)):
        customer.key = "merged"
    for key, case in (("account", "company_key_in_account_number"),
                      ("neither", "company_key_in_neither")):  # fmt: skip
        for customer in take(quota(case, population)):
            customer.key = key
    victims = rng.sample(no_company, quota("company_identifier_wrong_customer", population))
    for customer, victim in zip(take(len(victims)), victims, strict=True):
        customer.key, customer.wrong_victim = "wrong", victim
    for i, customer in enumerate(special):
        customer.key = ("identifier", "account", "neither")[i % 3]
    candidates = [
        c for c in others[len(special) :] if c.key in ("identifier", "account", "neither")
    ]
    chosen = rng.sample(candidates, quota("company_duplicate_name", population) // 2 * 2)
    for first, second in zip(chosen[::2], chosen[1::2], strict=True):
        second.name = first.name
        first.duplicate_name = second.duplicate_name = True
    for customer in rng.sample(others, quota("customer_on_hold", len(others))):
        customer.on_hold = True
    for customer in rng.sample(others, quota("customer_inactive", len(others))):
        customer.is_active = False
    for customer in parents:
        if customer.sync and rng.random() < 0.5:
            customer.sync_property = "Yes"


def _locations(rng: random.Random, scale, parents: list[Customer]) -> list[Customer]:
    others = parents[1:]
    weights = [rng.paretovariate(1.2) for _ in others]
    owners = rng.choices(others, weights=weights, k=scale.locations)
    counts: dict[int, int] = {}
    for owner in owners:
        counts[id(owner)] = counts.get(id(owner), 0) + 1
    locations: list[Customer] = []
    for parent in others:
        count = counts.get(id(parent), 0)
        labels = list(names.LOCATION_LABELS)
        rng.shuffle(labels)
        for k in range(count):
            label = (
                labels[k]
                if k < len(labels)
                else f"{labels[k % len(labels)]} {k // len(labels) + 1}"
            )
            head = parent.name
            while len(f"{head} - {label}") > 50 and " " in head:
                head = head.rsplit(" ", 1)[0]
            name = clip(f"{head} - {label}", 50)
            if rng.random() < 0.3:
                address = dict(parent.address)  # another floor of the same building
            else:
                address = names.address(rng)
                if rng.random() < 0.6:  # same town
                    address.update({key: parent.address[key] for key in SAME_TOWN})
            location = Customer(
                name,
                address,
                between(rng, parent.created, ANCHOR_TS - 2 * DAY) + HOUR,
                parent=parent,
                label=label,
            )
            _contact_details(rng, location)
            location.customer_type = parent.customer_type
            location.is_active = parent.is_active and rng.random() < 0.97
            location.sync = parent.sync
            parent.locations.append(location)
            locations.append(location)
    for location in rng.sample(locations, quota("location_own_number", len(locations))):
        location.own_number = True
    customers = sorted([*parents, *locations], key=lambda c: c.created)
    numbers = names.Numbers()
    for customer_id, customer in enumerate(customers, start=1):
        customer.customer_id = customer_id
        if customer.parent is None:
            customer.number = numbers.take(customer.name)
        elif customer.own_number:
            customer.number = numbers.take(customer.label)
        else:
            siblings = [s for s in customer.parent.locations if not s.own_number]
            customer.number = f"{customer.parent.number}-{siblings.index(customer) + 1:02d}"
        if customer.parent is not None and rng.random() < 0.3:
            customer.bill_to = customer.parent.customer_id
    return customers


SAME_TOWN = ("city", "state", "zip", "country", "area", "branch", "territory")


def _companies(rng: random.Random, scale, parents: list[Customer]) -> list[Company]:
    companies: list[Company] = []
    for customer in parents[1:]:
        if customer.key == "none":
            continue
        created = max(customer.created, GO_LIVE_TS) + rng.randint(1, 240) * HOUR
        company = Company("client", customer.name, created, customer)
        customer.company = company
        companies.append(company)
        if customer.key == "merged":
            dup_created = min(created + rng.randint(30, 500) * DAY, ANCHOR_TS - 40 * DAY)
            duplicate = Company("merged", _variant(customer.name), dup_created, customer)
            duplicate.deleted_at = (
                dup_created + rng.randint(5, (ANCHOR_TS - dup_created) // DAY - 2) * DAY
            )
            customer.merged_from = duplicate
            companies.append(duplicate)
    taken = {c.name for c in parents}
    for kind, count in (("prospect", scale.prospects), ("vendor", scale.vendors)):
        for i in range(count):
            if kind == "vendor" and i < len(VENDOR_NAMES):
                name = VENDOR_NAMES[i]
            else:
                name = names.company_name(rng)
                while name in taken or len(name) > 50:
                    name = names.company_name(rng)
            taken.add(name)
            low = START_TS if kind == "prospect" else GO_LIVE_TS
            companies.append(Company(kind, name, rng.randint(low, ANCHOR_TS - 2 * DAY)))
    companies.sort(key=lambda c: c.created)
    for company_id, company in enumerate(companies, start=FIRST_COMPANY_ID):
        company.id = company_id
        company.weight = min(40.0, rng.paretovariate(1.3))
    return companies


def _variant(name: str) -> str:
    """The name a duplicate got: the same without its last word, or with a typo."""
    if " " in name:
        return name.rsplit(" ", 1)[0]
    return name + "."


def _write_companies(
    rng: random.Random,
    world: World,
    people: People,
    store: Store,
    companies: list[Company],
) -> None:
    _identify(companies)
    live = [c for c in companies if c.kind == "client"]
    pick = {
        case: {id(c) for c in rng.sample(live, quota(case, len(live)))}
        for case in (
            "company_stale_address",
            "company_phone_format",
            "company_custom_fields",
            "company_without_contacts",
        )
    }
    contact_counts = []
    for company in companies:
        if company.kind == "client":
            count = 0 if id(company) in pick["company_without_contacts"] else rng.randint(1, 4)
        else:
            count = 0 if company.kind == "merged" else rng.randint(1, 2)
        contact_counts.append(count)
    total_contacts = sum(contact_counts)
    inactive_contacts = set(
        rng.sample(range(total_contacts), quota("contact_inactive", total_contacts))
    )
    linked_locations = [location for company in live for location in company.customer.locations]
    no_site = rng.sample(linked_locations, quota("location_without_site", len(linked_locations)))
    unsynced = {id(location) for location in no_site}

    site_id, contact_id = FIRST_SITE_ID, FIRST_CONTACT_ID
    for company, contact_count in zip(companies, contact_counts, strict=True):
        customer = company.customer
        address = dict(customer.address) if customer else names.address(rng)
        phone = customer.phone if customer else names.phone(rng, address["area"])
        updated = _company_updated(rng, company)
        if company.kind == "client":
            by = people.api.identifier  # the incumbent made and keeps the company
            if id(company) in pick["company_stale_address"]:
                # The ERP moved on after the incumbent last wrote the company.
                address = {**names.address(rng), "country": address["country"]}
                if customer.address["state"] == "ON":
                    address.update({k: customer.address[k] for k in ("city", "state", "zip")})
                customer.updated = min(ANCHOR_TS - HOUR, updated + rng.randint(1, 90) * DAY)
            if id(company) in pick["company_phone_format"]:
                phone = names.reformat_phone(phone)
        else:  # a duplicate made by hand, or a prospect or vendor
            by = rng.choice(people.admins if company.kind == "merged" else people.sales).identifier
        company.branch = address["branch"]
        site_id = _write_sites(
            rng, world, store, company, address, phone, unsynced, site_id, updated, by
        )
        for _ in range(contact_count):
            inactive = contact_id - FIRST_CONTACT_ID in inactive_contacts
            company.contacts.append(_contact(rng, world, store, company, contact_id, inactive, by))
            contact_id += 1

        custom = id(company) in pick["company_custom_fields"]
        doc = _company_doc(rng, world, company, address, phone, custom)
        deleter = None
        if company.kind == "merged":
            deleter = rng.choice(people.admins).identifier
            doc["deletedFlag"] = True
            doc["dateDeleted"] = iso(company.deleted_at)
            doc["deletedBy"] = deleter
        doc["_info"] = info(updated, by, company.created, by)
        store.records["companies"].put(company.id, None, updated, doc)
        _company_cases(store, company, pick)
        _company_audit(rng, store, company, updated, by, deleter)
    for location in no_site:
        store.case("location_without_site", "eautomate", "customers", location.customer_id)


def _identify(companies: list[Company]) -> None:
    """Company IDs: customer numbers first, so a name-derived one never takes a number."""
    identifiers = names.Identifiers()
    for company in companies:
        customer = company.customer
        if company.kind == "merged" or (company.kind == "client" and customer.key == "identifier"):
            company.identifier = identifiers.claim(customer.number)
        elif company.kind == "client" and customer.key == "wrong":
            company.identifier = identifiers.claim(customer.wrong_victim.number)
    for company in companies:
        if not company.identifier:
            company.identifier = identifiers.from_name(company.name)
        company.ref = {"id": company.id, "identifier": company.identifier, "name": company.name}


def _write_sites(
    rng: random.Random,
    world: World,
    store: Store,
    company: Company,
    address: dict,
    phone: str,
    unsynced: set[int],
    site_id: int,
    updated: int,
    by: str,
) -> int:
    """The primary site (the company's address), then one per synced ERP location; returns the
    next free site id."""
    places = [("Main", address, phone, True, True, None)]
    if company.kind == "client":
        places += [
            (location.name, location.address, location.phone, False, location.is_active, location)
            for location in company.customer.locations
            if id(location) not in unsynced
        ]
    for name, place, place_phone, primary, active, location in places:
        company.sites.append(
            Site(site_id, {"id": site_id, "name": name}, place["address1"], place["city"],
                 place["state"], place["zip"])
        )  # fmt: skip
        if location is not None:
            location.site_id = site_id
        doc = {
            "id": site_id,
            "name": name,
            "addressLine1": place["address1"],
            "city": place["city"],
            "stateReference": world.state[place["state"]],
            "zip": place["zip"],
            "country": world.country[place["country"]],
            "phoneNumber": place_phone,
            "company": company.ref,
            "inactiveFlag": not active,
            "primaryAddressFlag": primary,
            "defaultBillingFlag": primary,
            "defaultShippingFlag": primary,
            "defaultMailingFlag": primary,
            "billSeparateFlag": False,
            "timeZone": world.time_zone,
        }
        if place.get("address2"):
            doc["addressLine2"] = place["address2"]
        created = max(company.created, min(updated, company.created + rng.randint(0, 400) * DAY))
        changed = max(created, min(updated, created + rng.randint(0, 200) * DAY))
        doc["_info"] = info(changed, by, created, by)
        store.records["sites"].put(site_id, company.id, changed, doc)
        site_id += 1
    return site_id


def _company_updated(rng: random.Random, company: Company) -> int:
    if company.kind == "merged":
        # Deleting by merge does not move lastUpdated: an incremental pull never sees it.
        return rng.randint(company.created, company.deleted_at - DAY)
    updated = between(rng, max(company.created, START_TS), ANCHOR_TS - HOUR)
    duplicate = company.customer.merged_from if company.customer else None
    if duplicate is not None and company.kind == "client":
        updated = max(
            updated, min(ANCHOR_TS - HOUR, duplicate.deleted_at + rng.randint(1, 90) * 60)
        )
    return updated


def _company_doc(
    rng: random.Random, world: World, company: Company, address: dict, phone: str, custom: bool
) -> dict:
    customer = company.customer
    kind = company.kind
    status = "Active"
    if kind == "client" and not customer.is_active:
        status = "Inactive"
    types = {"prospect": "Prospect", "vendor": "Vendor"}.get(kind, "Client")
    doc = {
        "id": company.id,
        "identifier": company.identifier,
        "name": company.name,
        "status": world.company_status[status],
        "types": [world.company_type[types]],
        "addressLine1": address["address1"],
        "city": address["city"],
        "state": address["state"],
        "zip": address["zip"],
        "country": world.country[address["country"]],
        "phoneNumber": phone,
        "territory": world.territory[address["territory"]],
        "market": rng.choice(world.markets),
        "site": company.sites[0].ref,
        "billingTerms": world.billing_terms[0 if rng.random() < 0.8 else rng.randint(1, 3)],
        "taxCode": world.tax_code["ON" if address["state"] == "ON" else "FL"],
        "deletedFlag": False,
        "leadFlag": kind == "prospect",
        "isVendorFlag": kind == "vendor",
        "unsubscribeFlag": False,
        "dateAcquired": iso(midnight(company.created)),
    }
    if address.get("address2"):
        doc["addressLine2"] = address["address2"]
    if customer is not None:
        if customer.fax:
            doc["faxNumber"] = customer.fax
        if customer.website:
            doc["website"] = customer.website
    if company.contacts:
        doc["defaultContact"] = company.contacts[0].ref
    if kind == "client" and customer.key in ("account", "merged"):
        doc["accountNumber"] = customer.number
    elif kind == "client" and customer.key == "neither" and rng.random() < 0.3:
        doc["accountNumber"] = str(company.id)  # some shops number accounts by record id
    if rng.random() < 0.4:
        doc["numberOfEmployees"] = rng.choice((5, 8, 12, 20, 35, 50, 80, 120, 250))
    if custom:
        doc["customFields"] = _custom_fields(rng, company)
    return doc


def _custom_fields(rng: random.Random, company: Company) -> list[dict]:
    customer = company.customer
    fields = [
        {
            "id": 1,
            "caption": "Branch",
            "type": "Text",
            "entryMethod": "EntryField",
            "numberOfDecimals": 0,
            "value": company.branch,
        },
        {
            "id": 2,
            "caption": "Tax Exempt",
            "type": "Checkbox",
            "entryMethod": "EntryField",
            "numberOfDecimals": 0,
            "value": rng.random() < 0.15,
        },
        {
            "id": 3,
            "caption": "Seats",
            "type": "Number",
            "entryMethod": "EntryField",
            "numberOfDecimals": 0,
            "value": rng.randint(1, 400),
        },
        {
            "id": 4,
            "caption": "On Hold Code",
            "type": "Text",
            "entryMethod": "EntryField",
            "numberOfDecimals": 0,
        },
    ]
    if customer is not None and customer.on_hold:
        fields[3]["value"] = "CH"
    return fields


def _contact(
    rng: random.Random,
    world: World,
    store: Store,
    company: Company,
    contact_id: int,
    inactive: bool,
    by: str,
) -> Contact:
    first, last = names.person(rng)
    domain = f"{names.slug(company.name)}.example.com"
    email = f"{names.ascii_letters(first).lower()}.{names.ascii_letters(last).lower()}@{domain}"
    site = company.sites[0] if rng.random() < 0.8 else rng.choice(company.sites)
    items, phone = [], None
    item_id = contact_id * 10
    if rng.random() < 0.9:
        items.append(
            {
                "id": item_id + 1,
                "type": world.communication_type["Email"],
                "value": email,
                "defaultFlag": True,
                "communicationType": "Email",
            }
        )
    else:
        email = None
    if rng.random() < 0.85:
        phone = names.phone(rng, "813").translate({ord(c): None for c in "() -"})
        items.append(
            {
                "id": item_id + 2,
                "type": world.communication_type["Direct"],
                "value": phone,
                "defaultFlag": True,
                "communicationType": "Phone",
            }
        )
        if rng.random() < 0.2:
            items[-1]["extension"] = str(rng.randint(100, 499))
    if rng.random() < 0.3:
        items.append(
            {
                "id": item_id + 3,
                "type": world.communication_type["Cell"],
                "value": names.phone(rng, "727").translate({ord(c): None for c in "() -"}),
                "defaultFlag": phone is None,
                "communicationType": "Phone",
            }
        )
    ref = {"id": contact_id, "name": f"{first} {last}"}
    created = rng.randint(company.created, max(company.created, ANCHOR_TS - 10 * DAY))
    updated = between(rng, created, ANCHOR_TS - HOUR)
    doc = {
        "id": contact_id,
        "firstName": first,
        "lastName": last,
        "company": company.ref,
        "site": site.ref,
        "title": rng.choice(
            (
                "Office Manager",
                "Owner",
                "Controller",
                "IT Coordinator",
                "Practice Administrator",
                "Receptionist",
                "Operations Director",
            )
        ),
        "inactiveFlag": inactive,
        "defaultFlag": not company.contacts,
        "defaultBillingFlag": not company.contacts,
        "types": [rng.choice(world.contact_types)],
        "unsubscribeFlag": False,
        "communicationItems": items,
    }
    if phone:
        doc["defaultPhoneType"] = "Direct"
        doc["defaultPhoneNbr"] = phone
    doc["_info"] = info(updated, by, created, by)
    store.records["contacts"].put(contact_id, None, updated, doc)
    if inactive:
        store.case("contact_inactive", "connectwise", "contacts", contact_id)
    return Contact(contact_id, ref, email, phone)


def _company_cases(store: Store, company: Company, pick: dict) -> None:
    def case(name: str) -> None:
        store.case(name, "connectwise", "companies", company.id)

    customer = company.customer
    if company.kind in ("prospect", "vendor"):
        case(f"company_{company.kind}")
        return
    if company.kind == "merged":
        case("company_merged_deleted")
        return
    key = customer.key
    case(
        {
            "identifier": "company_key_in_identifier",
            "account": "company_key_in_account_number",
            "merged": "company_key_in_account_number",
            "neither": "company_key_in_neither",
            "wrong": "company_identifier_wrong_customer",
        }[key]
    )
    if key == "merged":
        case("company_merge_survivor")
    if company.name in names.SPECIAL_NAMES:
        case("company_special_name")
    if customer.duplicate_name:
        case("company_duplicate_name")
    for name in (
        "company_stale_address",
        "company_phone_format",
        "company_custom_fields",
        "company_without_contacts",
    ):
        if id(company) in pick[name]:
            case(name)


def _company_audit(
    rng: random.Random,
    store: Store,
    company: Company,
    updated: int,
    by: str,
    deleter: str | None,
) -> None:
    created = company.created

    def entry(at: int, text: str, sub: str, who: str) -> None:
        source = "API" if who.endswith("API") else "Company"
        store.audit_entry(
            "Company",
            company.id,
            at,
            {
                "text": text,
                "enteredDate": iso(at),
                "enteredBy": who,
                "auditType": "Company",
                "auditSubType": sub,
                "auditSource": source,
            },
        )

    entry(created, f"Company {company.name} was created.", "Company", by)
    if updated > created + DAY and rng.random() < 0.7:
        entry(updated, "Company details were updated.", "Company", by)
    if company.kind == "merged":
        survivor = company.customer.company
        entry(
            company.deleted_at,
            f'Company merged into "{survivor.name}" ({survivor.identifier}).',
            "Merge",
            deleter,
        )


def _properties(
    rng: random.Random, parents: list[Customer], companies: list[Company], store: Store
) -> None:
    """What the incumbent wrote into ZCJ_CW_CompanyID / ZCJ_CW_SiteAddressRecID."""
    linked = [c for c in parents[1:] if c.company is not None and c.key != "merged"]
    merged = [c for c in parents[1:] if c.key == "merged"]
    live = [c for c in companies if c.kind == "client"]
    for customer in [*linked, *merged]:
        customer.company_property = str(customer.company.id)
    free = list(linked)
    for case in (
        "customer_property_missing",
        "customer_property_wrong_company",
        "customer_property_unknown_company",
    ):
        for customer in rng.sample(free, quota(case, len(linked))):
            free.remove(customer)
            store.case(case, "eautomate", "customers", customer.customer_id)
            if case == "customer_property_missing":
                customer.company_property = None
            elif case == "customer_property_wrong_company":
                other = rng.choice(live)
                while other is customer.company:
                    other = rng.choice(live)
                customer.company_property = str(other.id)
            else:
                customer.company_property = str(companies[-1].id + 1000 + rng.randint(1, 9999))
    for customer in rng.sample(merged, quota("customer_property_deleted_company", len(merged))):
        customer.company_property = str(customer.merged_from.id)
        store.case(
            "customer_property_deleted_company", "eautomate", "customers", customer.customer_id
        )

    sited = [loc for c in parents for loc in c.locations if loc.site_id is not None]
    for location in sited:
        location.site_property = str(location.site_id)
    free = list(sited)
    for case in ("site_property_missing", "site_property_wrong"):
        for location in rng.sample(free, quota(case, len(sited))):
            free.remove(location)
            store.case(case, "eautomate", "customers", location.customer_id)
            if case == "site_property_missing":
                location.site_property = None
            else:
                other = rng.choice(sited)
                while other.parent is location.parent:
                    other = rng.choice(sited)
                location.site_property = str(other.site_id)

    for customer in parents:
        cases = []
        if customer is parents[0]:
            cases.append("dealer_own_customer")
        if customer.key == "none" and customer.sync:
            cases.append("customer_without_company")
        if not customer.sync and customer is not parents[0]:
            cases.append("customer_sync_off")
        if not customer.is_active:
            cases.append("customer_inactive")
        if customer.on_hold:
            cases.append("customer_on_hold")
        for location in customer.locations:
            if location.own_number:
                store.case("location_own_number", "eautomate", "customers", location.customer_id)
        for case in cases:
            store.case(case, "eautomate", "customers", customer.customer_id)


def _write_customers(store: Store, customers: list[Customer]) -> None:
    rows = []
    for c in customers:
        parent = c.parent
        rows.append(
            (
                c.customer_id,
                c.number,
                parent.customer_id if parent else None,
                c.name,
                c.address["address1"],
                c.address.get("address2"),
                c.address["city"],
                c.address["state"],
                c.address["zip"],
                c.address["country"],
                c.phone,
                c.fax,
                c.email,
                c.website,
                c.customer_type,
                c.address["branch"],
                c.address["territory"],
                c.is_active,
                c.on_hold,
                "CH" if c.on_hold else None,
                c.bill_to,
                c.sync,
                c.sync_property,
                c.company.id if c.company and not parent else None,
                c.site_id,
                c.company_property,
                c.site_property,
                c.created,
                c.updated,
            )
        )
    text, big, flag, stamp = pa.string(), pa.int64(), pa.bool_(), pa.timestamp("s")
    columns = (
        ("customer_id", big),
        ("customer_number", text),
        ("parent_customer_id", big),
        ("name", text),
        ("address1", text),
        ("address2", text),
        ("city", text),
        ("state", text),
        ("zip", text),
        ("country", text),
        ("phone", text),
        ("fax", text),
        ("email", text),
        ("website", text),
        ("customer_type", text),
        ("branch", text),
        ("territory", text),
        ("is_active", flag),
        ("on_hold", flag),
        ("hold_code", text),
        ("bill_to_customer_id", big),
        ("sync_to_cw", flag),
        ("sync_to_cw_property", text),
        ("cw_company_id", big),
        ("cw_site_id", big),
        ("cw_company_id_property", text),
        ("cw_site_id_property", text),
        ("created_at", stamp),
        ("last_update", stamp),
    )
    store.table("world.customers", rows, pa.schema(columns))
