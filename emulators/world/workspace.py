"""The workspace operator's side of the world: essensys Operate (billing) and Connect
(telephony), as specs/operate-connect.md and specs/call-logs.md describe them.

One of the dealer's customers runs serviced offices: locations, member accounts at each
location (Residential, Virtual or a custom type), account codes per external application,
products, device import maps for the three call-log formats, Connect clients for the
accounts already sent there, and the calls Connect's call logger recorded at each site
over the two months before the anchor (``PERIOD_DAYS``), stored as segments in
``connect.calls`` and rendered into an export only when one is downloaded.

Records are drawn from ``random.Random(f"{seed}:workspace")``; the calls, millions at large
scale, from a NumPy generator seeded from ``random.Random(f"{seed}:calls")`` and written in
Arrow batches through DuckDB SQL, one site at a time, so memory stays bounded.

Who uses which format is the world's truth (``world.call_loggers``): the first call-logger
location records in the generic format, the second in SMDR, the third in CDR, and so on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from . import names
from .cases import quota
from .common import ANCHOR_TS, DAY, START_TS, stream
from .store import Store

PERIOD_DAYS = 61  # the calls: 2025-11-01 up to the anchor
PERIOD_START_TS = ANCHOR_TS - PERIOD_DAYS * DAY
FIRST_ACCOUNT_ID = 1001
FIRST_SITE_ID = 9001
FIRST_CLIENT_ID = 5001
FIRST_EXTENSION = 2001
FORMATS = ("generic", "smdr", "cdr")
CUSTOM_TYPES = ("Hot Desk Plus", "Coworking", "Day Office")
BUILDINGS = ("House", "Court", "Works", "Exchange", "Studios", "Yard")


@dataclass(frozen=True)
class Size:
    locations: int  # the last one (and every tenth at scale) has no Connect call logger
    accounts: int
    calls: int  # calls over the period, before transfers split some into two segments


SIZES = {
    "small": Size(locations=4, accounts=60, calls=2_400),
    "medium": Size(locations=12, accounts=900, calls=200_000),
    "large": Size(locations=120, accounts=20_000, calls=4_800_000),
}

# Applications charges come from; the three call-log formats' device import maps.
APPLICATIONS = (
    (1, "essensys call logger"),
    (2, "Elephant Call Logger"),
    (3, "Asterisk PBX"),
    (4, "PaperCut"),
)
FORMAT_APPLICATION = {"generic": 1, "smdr": 2, "cdr": 3}
PRODUCT_GROUPS = ((1, "Telephone Charges"), (2, "Printing"), (3, "Meeting Rooms"))
# (id, name, product group, unit price): call charges are priced per started minute.
PRODUCTS = (
    (1, "Call Charges", 1, 0.05),
    (2, "Call Charges - International", 1, 0.40),
    (3, "Print Charges", 2, 0.10),
    (4, "Room Hire", 3, 25.00),
)
# (id, device name, application, extension, header rows, footer rows, ignore zero values,
#  account code, default product)
DEVICE_IMPORT_MAPS = (
    (1, "essensys call logger", 1, "CSV", 1, 1, True, None, 1),
    (2, "Elephant Call Logger", 2, "CLG", 0, 0, True, None, 1),
    (3, "Asterisk CDR", 3, "CSV", 0, 0, True, None, 1),
    (4, "Switchboard", 1, "CSV", 1, 1, False, None, 1),  # its account code: set below
)
# Call categories of outbound calls: share, rate per minute (GBP), number pattern.
CATEGORIES = (
    ("Local", 0.35, 0.02),
    ("National", 0.35, 0.03),
    ("Mobile", 0.25, 0.12),
    ("International", 0.05, 0.45),
)
EXTENSION_NAMES = ("Suite", "Office", "Desk", "Studio", "Room")

DDL = [
    "CREATE SCHEMA operate",
    "CREATE SCHEMA connect",
    """CREATE TABLE operate.locations (id BIGINT NOT NULL, name VARCHAR NOT NULL,
        connect_site_id BIGINT, connect_call_logger BOOLEAN NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.accounts (id BIGINT NOT NULL, name VARCHAR NOT NULL,
        location_id BIGINT NOT NULL, type VARCHAR NOT NULL, status VARCHAR NOT NULL,
        connect_client_id VARCHAR, send_to_connect_requested BOOLEAN NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.applications (id BIGINT NOT NULL, name VARCHAR NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.account_codes (id BIGINT NOT NULL, account_id BIGINT NOT NULL,
        application_id BIGINT NOT NULL, code VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.product_groups (id BIGINT NOT NULL, name VARCHAR NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.products (id BIGINT NOT NULL, name VARCHAR NOT NULL,
        product_group_id BIGINT NOT NULL, unit_price DECIMAL(12, 4) NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.device_import_maps (id BIGINT NOT NULL, device_name VARCHAR NOT NULL,
        application_id BIGINT NOT NULL, file_type VARCHAR NOT NULL, extension VARCHAR NOT NULL,
        header_rows INTEGER NOT NULL, footer_rows INTEGER NOT NULL,
        ignore_zero_values BOOLEAN NOT NULL, account_code VARCHAR,
        default_product_id BIGINT NOT NULL, updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE operate.batch_sheets (id BIGINT NOT NULL, location_id BIGINT NOT NULL,
        product_group_id BIGINT NOT NULL, batch_date DATE NOT NULL, reference_date DATE,
        reference_text VARCHAR, import_type VARCHAR, completed BOOLEAN NOT NULL,
        approved BOOLEAN NOT NULL, created_at TIMESTAMP NOT NULL,
        updated_at TIMESTAMP NOT NULL, total DECIMAL(14, 2) NOT NULL,
        line_count BIGINT NOT NULL)""",
    """CREATE TABLE operate.batch_sheet_lines (id BIGINT NOT NULL,
        batch_sheet_id BIGINT NOT NULL, account_id BIGINT NOT NULL, product_id BIGINT NOT NULL,
        charge_date DATE NOT NULL, quantity DECIMAL(14, 3) NOT NULL,
        unit_price DECIMAL(12, 4) NOT NULL, amount DECIMAL(14, 2) NOT NULL,
        description VARCHAR, source_line_hash VARCHAR, created_at TIMESTAMP NOT NULL)""",
    "CREATE TABLE connect.sites (id BIGINT NOT NULL, name VARCHAR NOT NULL)",
    """CREATE TABLE connect.clients (id BIGINT NOT NULL, name VARCHAR NOT NULL,
        type VARCHAR NOT NULL, status VARCHAR NOT NULL, start_date TIMESTAMP NOT NULL,
        end_date TIMESTAMP NOT NULL, billing_reference VARCHAR, site_id BIGINT NOT NULL,
        updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE connect.extensions (site_id BIGINT NOT NULL, extension VARCHAR NOT NULL,
        name VARCHAR NOT NULL, account_code VARCHAR, account_id BIGINT)""",
    # One row per call segment; a transferred call has two sharing call_id.
    """CREATE TABLE connect.calls (site_id BIGINT NOT NULL, call_id BIGINT NOT NULL,
        segment SMALLINT NOT NULL, segments SMALLINT NOT NULL, started_at TIMESTAMP NOT NULL,
        ring_seconds INTEGER NOT NULL, connected_seconds INTEGER NOT NULL,
        extension VARCHAR NOT NULL, extension_name VARCHAR NOT NULL, account_code VARCHAR,
        caller VARCHAR NOT NULL, dialled_number VARCHAR NOT NULL, direction VARCHAR NOT NULL,
        is_internal BOOLEAN NOT NULL, disposition VARCHAR NOT NULL, category VARCHAR NOT NULL,
        cost DECIMAL(10, 3) NOT NULL, currency VARCHAR NOT NULL, party2 VARCHAR NOT NULL,
        party2_name VARCHAR NOT NULL)""",
    """CREATE TABLE world.call_loggers (location_id BIGINT NOT NULL, site_id BIGINT NOT NULL,
        format VARCHAR NOT NULL, device_name VARCHAR NOT NULL)""",
]


@dataclass
class Account:
    id: int
    name: str
    location: int
    type: str
    created: int
    updated: int
    code: str | None = None  # what the call logger uses
    stored_code: bool = True  # whether Operate holds it
    client_id: int | None = None
    requested: bool = False
    unlinked_client: bool = False


def build(seed: int, scale: str, store: Store) -> None:
    """Write the workspace operator's Operate and Connect records and its calls."""
    size = SIZES[scale]
    rng = stream(seed, "workspace")
    con = store.con
    for statement in DDL:
        con.execute(statement).fetchall()

    # Locations: every one but the last (and every tenth) has a Connect call logger.
    places = list(names.PLACES)
    locations = []
    for index in range(size.locations):
        name = f"{places[index % len(places)]} {BUILDINGS[index // len(places) % len(BUILDINGS)]}"
        logger = index < size.locations - 1 and (index + 1) % 10 != 0
        site = FIRST_SITE_ID + index if logger else None
        locations.append((index + 1, name, site, logger, ANCHOR_TS - rng.randint(30, 900) * DAY))
    loggers = [(loc, site) for loc, _, site, logger, _ in locations if logger]
    formats = {loc: FORMATS[i % len(FORMATS)] for i, (loc, _) in enumerate(loggers)}

    # Accounts, spread over the locations; a few carry special names.
    accounts: list[Account] = []
    for n in range(size.accounts):
        location = locations[n % size.locations][0] if n < size.locations else None
        location = location or rng.randint(1, size.locations)
        name = names.SPECIAL_NAMES[n] if n < 4 else names.company_name(rng)
        kind = rng.random()
        type_ = (
            "Residential" if kind < 0.55 else "Virtual" if kind < 0.85 else rng.choice(CUSTOM_TYPES)
        )
        created = rng.randint(START_TS, ANCHOR_TS - 40 * DAY)
        updated = rng.randint(created, ANCHOR_TS - DAY)
        accounts.append(Account(FIRST_ACCOUNT_ID + n, name, location, type_, created, updated))
    for account in accounts:
        if account.type in CUSTOM_TYPES:
            store.case("account_custom_type", "operate", "accounts", account.id)

    # The call logger's code of each account at a call-logger location; Operate holds it
    # except for the missing ones and those with characters Operate refuses.
    at_logger = [a for a in accounts if a.location in formats]
    taken: dict[int, set[str]] = {}
    for account in at_logger:
        stem = (names.ascii_letters(account.name).upper() + "XXXX")[:6]
        used = taken.setdefault(account.location, set())
        number = 1
        while f"{stem}{number:02d}" in used:
            number += 1
        account.code = f"{stem}{number:02d}"
        used.add(account.code)
    pool = list(at_logger)
    rng.shuffle(pool)
    missing = pool[: quota("account_code_missing", len(pool))]
    special = pool[len(missing) : len(missing) + quota("account_code_special", len(pool))]
    for account in missing:
        account.stored_code = False
        store.case("account_code_missing", "operate", "accounts", account.id)
    for i, account in enumerate(special):
        account.stored_code = False
        mark = "-/&."[i % 4]
        account.code = f"{account.code[:-2]}{mark}{account.code[-2:]}"
        store.case("account_code_special", "operate", "accounts", account.id)

    # Connect: clients for about half the accounts at Connect locations; a few accounts
    # waiting for "Send to Connect", one of them already in Connect but never linked back.
    with_site = {loc: site for loc, _, site, _, _ in locations if site}
    at_connect = [a for a in accounts if a.location in with_site]
    waiting = list(at_connect)
    rng.shuffle(waiting)
    requested = waiting[: quota("account_send_to_connect", len(waiting))]
    for account in requested:
        account.requested = True
        store.case("account_send_to_connect", "operate", "accounts", account.id)
    requested[0].unlinked_client = True
    store.case("account_client_unlinked", "operate", "accounts", requested[0].id)
    for account in at_connect:
        if not account.requested and rng.random() < 0.5:
            account.client_id = 0  # numbered below, in account order
    siteless = [a for a in accounts if a.location not in with_site]
    for account in siteless[: quota("account_send_without_site", len(siteless))]:
        account.requested = True
        store.case("account_send_without_site", "operate", "accounts", account.id)

    clients = []
    for account in accounts:
        if account.client_id is None and not account.unlinked_client:
            continue
        client_id = FIRST_CLIENT_ID + len(clients)
        start = account.created + rng.randint(0, 5) * DAY
        status = "Awaiting Provisioning" if account.unlinked_client else "Active"
        ctype = account.type if account.type in ("Residential", "Virtual") else "Residential"
        clients.append(
            (client_id, account.name, ctype, status, start, start + 365 * DAY, str(account.id),
             with_site[account.location], max(start, account.updated))
        )  # fmt: skip
        if not account.unlinked_client:
            account.client_id = client_id
    for i in range(3):  # made in Connect by hand: no billing reference
        site = loggers[i % len(loggers)][1]
        start = ANCHOR_TS - rng.randint(40, 400) * DAY
        clients.append(
            (FIRST_CLIENT_ID + len(clients), f"Walk-in client {i + 1}", "Virtual", "Active",
             start, start + 365 * DAY, None, site, start)
        )  # fmt: skip

    code_rows = []
    for account in accounts:
        if account.code and account.stored_code:
            code_rows.append((account.id, FORMAT_APPLICATION[formats[account.location]],
                              account.code, account.updated))  # fmt: skip
        if rng.random() < 0.3:  # a PaperCut code for printing
            code_rows.append((account.id, 4, f"P{account.id}",
                              account.updated))  # fmt: skip
    code_rows.sort(key=lambda row: (row[0], row[1]))
    switchboard = next((a for a in at_logger if a.stored_code), None)

    timestamp = pa.timestamp("s")
    store.table(
        "operate.locations",
        locations,
        pa.schema(
            [("id", pa.int64()), ("name", pa.string()), ("connect_site_id", pa.int64()),
             ("connect_call_logger", pa.bool_()), ("updated_at", timestamp)]
        ),
    )  # fmt: skip
    store.table(
        "operate.accounts",
        [
            (a.id, a.name, a.location, a.type, "Active",
             None if a.client_id is None else str(a.client_id), a.requested, a.created,
             a.updated)
            for a in accounts
        ],
        pa.schema(
            [("id", pa.int64()), ("name", pa.string()), ("location_id", pa.int64()),
             ("type", pa.string()), ("status", pa.string()), ("connect_client_id", pa.string()),
             ("send_to_connect_requested", pa.bool_()), ("created_at", timestamp),
             ("updated_at", timestamp)]
        ),
    )  # fmt: skip
    setup = ANCHOR_TS - 900 * DAY
    store.table(
        "operate.applications",
        [(i, name, setup) for i, name in APPLICATIONS],
        pa.schema([("id", pa.int64()), ("name", pa.string()), ("updated_at", timestamp)]),
    )
    store.table(
        "operate.account_codes",
        [(i + 1, *row) for i, row in enumerate(code_rows)],
        pa.schema(
            [("id", pa.int64()), ("account_id", pa.int64()), ("application_id", pa.int64()),
             ("code", pa.string()), ("updated_at", timestamp)]
        ),
    )  # fmt: skip
    store.table(
        "operate.product_groups",
        [(i, name, setup) for i, name in PRODUCT_GROUPS],
        pa.schema([("id", pa.int64()), ("name", pa.string()), ("updated_at", timestamp)]),
    )
    store.table(
        "operate.products",
        [(*row, setup) for row in PRODUCTS],
        pa.schema(
            [("id", pa.int64()), ("name", pa.string()), ("product_group_id", pa.int64()),
             ("unit_price", pa.float64()), ("updated_at", timestamp)]
        ),
    )  # fmt: skip
    maps = [
        (*row[:7], switchboard.code if row[0] == 4 and switchboard else row[7], row[8])
        for row in DEVICE_IMPORT_MAPS
    ]
    store.table(
        "operate.device_import_maps",
        [(i, name, app, "flat", ext, head, foot, zero, code, product, setup)
         for i, name, app, ext, head, foot, zero, code, product in maps],
        pa.schema(
            [("id", pa.int64()), ("device_name", pa.string()), ("application_id", pa.int64()),
             ("file_type", pa.string()), ("extension", pa.string()),
             ("header_rows", pa.int32()), ("footer_rows", pa.int32()),
             ("ignore_zero_values", pa.bool_()), ("account_code", pa.string()),
             ("default_product_id", pa.int64()), ("updated_at", timestamp)]
        ),
    )  # fmt: skip
    store.table(
        "connect.sites",
        [(site, name) for _, name, site, _, _ in locations if site],
        pa.schema([("id", pa.int64()), ("name", pa.string())]),
    )
    store.table(
        "connect.clients",
        clients,
        pa.schema(
            [("id", pa.int64()), ("name", pa.string()), ("type", pa.string()),
             ("status", pa.string()), ("start_date", timestamp), ("end_date", timestamp),
             ("billing_reference", pa.string()), ("site_id", pa.int64()),
             ("updated_at", timestamp)]
        ),
    )  # fmt: skip
    device = {row[0]: row[1] for row in DEVICE_IMPORT_MAPS}
    store.table(
        "world.call_loggers",
        [(loc, site, formats[loc], device[FORMAT_APPLICATION[formats[loc]]])
         for loc, site in loggers],
        pa.schema(
            [("location_id", pa.int64()), ("site_id", pa.int64()), ("format", pa.string()),
             ("device_name", pa.string())]
        ),
    )  # fmt: skip

    extensions = _extensions(rng, loggers, at_logger)
    store.table(
        "connect.extensions",
        extensions,
        pa.schema(
            [
                ("site_id", pa.int64()),
                ("extension", pa.string()),
                ("name", pa.string()),
                ("account_code", pa.string()),
                ("account_id", pa.int64()),
            ]
        ),
    )
    _calls(seed, size, loggers, extensions, store)


def _extensions(
    rng: random.Random, loggers: list[tuple[int, int]], at_logger: list[Account]
) -> list[tuple]:
    """Each site's extensions: a shared reception without an account code, then one to
    three per account, a few without the account's code; a few names carry quotes (they
    reach the CDR's quoted ``clid``)."""
    rows = []
    for location, site in loggers:
        number = FIRST_EXTENSION
        rows.append((site, str(number - 1), "Reception", None, None))
        for account in (a for a in at_logger if a.location == location):
            for _ in range(rng.choice((1, 1, 2, 3))):
                word = rng.choice(EXTENSION_NAMES)
                name = f'{word} "{number % 100}"' if rng.random() < 0.05 else f"{word} {number}"
                # A few extensions were never given their account's code in the logger.
                code = None if rng.random() < 0.04 else account.code
                rows.append((site, str(number), name, code, account.id))
                number += 1
    return rows


def _calls(
    seed: int, size: Size, loggers: list[tuple[int, int]], extensions: list[tuple], store: Store
) -> None:
    """``connect.calls``: per site, calls drawn with NumPy and written as segments."""
    rng = np.random.default_rng(stream(seed, "calls").getrandbits(64))
    per_site: dict[int, list[tuple]] = {}
    for row in extensions:
        per_site.setdefault(row[0], []).append(row)
    weights = np.array([len(per_site[site]) for _, site in loggers], dtype=float)
    counts = np.floor(size.calls * weights / weights.sum()).astype(int)
    shares = np.cumsum([share for _, share, _ in CATEGORIES])
    rates = np.array([rate for _, _, rate in CATEGORIES])
    schema = pa.schema(
        [("site_id", pa.int64()), ("call_id", pa.int64()), ("started", pa.int64()),
         ("ext", pa.int32()), ("other", pa.int32()), ("kind", pa.int8()),
         ("answered", pa.bool_()), ("transferred", pa.bool_()), ("ring", pa.int32()),
         ("billable", pa.int32()), ("second", pa.int32()), ("category", pa.int8()),
         ("digits", pa.int64()), ("blank_code", pa.bool_()), ("cost", pa.float64())]
    )  # fmt: skip
    for (_, site), n in zip(loggers, counts, strict=True):
        exts = per_site[site]
        day = rng.integers(0, PERIOD_DAYS, n)
        # Working hours, busier mid-morning and mid-afternoon.
        second = np.clip(rng.normal(13.5 * 3600, 2.6 * 3600, n), 7 * 3600, 20 * 3600 - 1)
        started = np.sort(PERIOD_START_TS + day * DAY + second.astype(np.int64))
        draw = rng.random(n)
        kind = np.where(draw < 0.10, 2, np.where(draw < 0.32, 1, 0))  # 0 out, 1 in, 2 internal
        answered = rng.random(n) >= np.where(kind == 1, 0.15, 0.05)
        transferred = (kind == 1) & answered & (rng.random(n) < 0.08)
        billable = np.where(
            answered, np.clip(rng.lognormal(4.6, 0.9, n), 3, 3600).astype(np.int32), 0
        )
        second_leg = np.where(transferred, rng.integers(20, 300, n), 0)
        category = np.searchsorted(shares, rng.random(n) * shares[-1])
        cost = np.where((kind == 0) & answered, np.round(rates[category] * billable / 60.0, 3), 0.0)
        batch = pa.table(
            {
                "site_id": np.full(n, site),
                "call_id": 1_000_000 + np.arange(n),
                "started": started,
                "ext": rng.integers(0, len(exts), n).astype(np.int32),
                "other": rng.integers(0, len(exts), n).astype(np.int32),
                "kind": kind.astype(np.int8),
                "answered": answered,
                "transferred": transferred,
                "ring": rng.integers(0, 21, n).astype(np.int32),
                "billable": billable.astype(np.int32),
                "second": second_leg.astype(np.int32),
                "category": category.astype(np.int8),
                "digits": rng.integers(0, 10**7, n),
                "blank_code": rng.random(n) < 0.005,
                "cost": cost,
            },
            schema=schema,
        )
        ext_table = pa.table(
            {
                "idx": pa.array(range(len(exts)), pa.int32()),
                "extension": [row[1] for row in exts],
                "name": [row[2] for row in exts],
                "code": pa.array([row[3] for row in exts], pa.string()),
            }
        )
        _write_calls(store, batch, ext_table)


_CATEGORY_SQL = "['" + "', '".join(name for name, _, _ in CATEGORIES) + "'][d.category + 1]"


def _write_calls(store: Store, batch: pa.Table, exts: pa.Table) -> None:
    """Expand drawn calls into segments with their numbers and names, in SQL."""
    con = store.con
    con.register("drawn_calls", batch)
    con.register("drawn_extensions", exts)
    try:
        con.execute(
            f"""
            INSERT INTO connect.calls
            WITH d AS (
                SELECT d.*, e.extension, e.name AS ext_name,
                       CASE WHEN d.blank_code THEN NULL ELSE e.code END AS code,
                       o.extension AS other_ext, o.name AS other_name,
                       {_CATEGORY_SQL} AS category_name,
                       CASE d.category
                           WHEN 0 THEN '0163296' || lpad((d.digits % 10000)::VARCHAR, 4, '0')
                           WHEN 1 THEN '0207946' || lpad((d.digits % 10000)::VARCHAR, 4, '0')
                           WHEN 2 THEN '07700900' || lpad((d.digits % 1000)::VARCHAR, 3, '0')
                           ELSE '0033' || lpad(d.digits::VARCHAR, 9, '1')
                       END AS external
                FROM drawn_calls d
                JOIN drawn_extensions e ON e.idx = d.ext
                JOIN drawn_extensions o ON o.idx = d.other
            ),
            segs AS (
                SELECT d.*, s.segment
                FROM d, (SELECT unnest([1, 2]) AS segment) s
                WHERE s.segment = 1 OR d.transferred
            )
            SELECT site_id, call_id, segment::SMALLINT,
                   (CASE WHEN transferred THEN 2 ELSE 1 END)::SMALLINT,
                   make_timestamp(started * 1000000),
                   CASE WHEN segment = 1 THEN ring ELSE 0 END,
                   CASE WHEN segment = 1 THEN billable ELSE second END,
                   CASE WHEN segment = 1 THEN extension ELSE '9501' END,
                   CASE WHEN segment = 1 THEN ext_name ELSE 'VM Channel 1' END,
                   CASE WHEN segment = 1 THEN code END,
                   CASE kind WHEN 1 THEN external ELSE extension END,
                   CASE kind WHEN 0 THEN external WHEN 1 THEN extension ELSE other_ext END,
                   CASE kind WHEN 0 THEN 'O' ELSE 'I' END,
                   kind = 2,
                   CASE WHEN answered THEN 'ANSWERED' ELSE 'NO ANSWER' END,
                   CASE kind WHEN 0 THEN category_name WHEN 1 THEN 'Incoming'
                        ELSE 'Internal' END,
                   CASE WHEN segment = 1 THEN cost ELSE 0 END,
                   'GBP',
                   CASE WHEN kind = 2 THEN 'E' || other_ext
                        ELSE 'T900' || (1 + call_id % 2)::VARCHAR END,
                   CASE WHEN kind = 2 THEN other_name
                        ELSE 'Line 1.' || (1 + call_id % 2)::VARCHAR END
            FROM segs
            ORDER BY site_id, call_id, segment
            """
        ).fetchall()
    finally:
        con.unregister("drawn_calls")
        con.unregister("drawn_extensions")
