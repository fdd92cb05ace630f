"""The seeded dealer world: one coherent IT and office-equipment dealer, written to one DuckDB
file that every emulated system serves from.

    generate(Path("dealer.duckdb"), seed=1, scale="small")
    python -m emulators.world --path dealer.duckdb --seed 1 --scale small

Same seed and scale, same world: every part draws from its own ``random.Random(f"{seed}:{part}")``
stream, every date derives from ``ANCHOR`` (2026-01-01T00:00:00Z; records spread over the three
years before it, nothing is updated after it), nothing reads the clock or iterates a set.

Storage contract
----------------
Schema ``connectwise``: one table per entity (``companies, sites, contacts, agreements, additions,
invoices, tickets, time_entries, project_tickets, projects, project_phases, sales_orders,
products, members``, and the setup tables ``agreement_types, billing_statuses, boards,
board_statuses, board_types, priorities``), each ``(id BIGINT, parent_id BIGINT,
last_updated TIMESTAMP, doc VARCHAR)``, rows in id order.
``doc`` is the record as the API serves it: compact JSON, camelCase, no nulls, ``_info`` =
``{lastUpdated, updatedBy, dateEntered, enteredBy}`` as strings, ``last_updated`` =
``_info.lastUpdated`` (UTC). ``parent_id`` is set for children only: a site's company, an
addition's agreement, a board status's or type's board, a phase's project. Service and
project tickets share one id sequence. ``audit_trail(type, record_id, entered_at, doc)``
holds a few entries per company, agreement and (a share of) tickets; ``refs(kind, id, name,
identifier, doc)`` the catalogs records point at, ``doc`` being the reference as embedded plus
the catalog's own fields (a status's ``board`` and ``closedStatus``, an item's price, a phase's
``projectId``).

Schema ``world``, the truth the other emulators and the tests rely on: ``meta`` (seed, scale,
anchor, generator), ``customers`` (ERP parents and locations, with the PSA company or site each
truly is and what the incumbent wrote into ``ZCJ_CW_CompanyID`` / ``ZCJ_CW_SiteAddressRecID``),
``technicians`` (ERP technicians and the member each truly is), ``agreement_types`` and
``contract_templates`` (``**CW <type>`` contracts on the dealer's own customer, plus ``**CW
Default`` and a misnamed one, both serving no type by name), ``synced_tickets`` (tickets the
incumbent synced for the after-sync cases: the company the ticket had then and the call's
status at the anchor, null when by date), ``items`` (ERP
items and the catalog item each mirrors), ``codes`` (ERP code lists and the PSA reference each
maps to) and ``cases``.

Schema ``eautomate``: the ERP records as the e-automate emulator serves them, rendered from that
truth by ``erp.py`` (its docstring is the storage contract).

DuckDB names a database after its file, so the file must not be called ``world.duckdb`` or
``connectwise.duckdb`` (``world.customers`` would be ambiguous); ``generate`` refuses those names.

Where the keys live: a member's ERP technician number is in ``employeeIdentifer`` (the API's own
spelling); an agreement invoice's billing period is in ``reference`` (``YYYY-MM-DD - YYYY-MM-DD``);
an agreement's ERP contract number, when the incumbent or a user wrote it, in the custom field
``ZCJ_ContractNumber`` (every agreement lists the field); the ERP contract's agreement in its
property ``ZCJ_CW_AgreementID``; a location's site is named after the location (names kept within
the site's 50 characters).

Cases
-----
One ``world.cases`` row per record carrying the case. Exact cases are quotas:
``max(minimum, round(share * population))``; the others are drawn per record.

=================================== ======== ===== === ===================================
case                                entity   share min population / rule
=================================== ======== ===== === ===================================
dealer_own_customer                 customer exact   1 the dealer itself, never synced
customer_without_company            customer  5%     3 parents but the dealer (P)
customer_sync_off                   customer  3%     3 P; ZCJ_SyncToCW = No, every other one
                                                       keeps an old PSA company
customer_on_hold                    customer  4%     2 P; code CH
customer_inactive                   customer  4%     2 P; company status Inactive
customer_property_missing           customer  8%     3 parents with a live company (L)
customer_property_wrong_company     customer  2%     2 L; another live company's id
customer_property_unknown_company   customer  1%     2 L; an id no company has
customer_property_deleted_company   customer 50%     2 merged parents; the deleted company
location_own_number                 customer 15%     3 all locations
location_without_site               customer  8%     3 locations of linked parents
site_property_missing               customer  6%     3 locations with a site (S)
site_property_wrong                 customer  2%     2 S; another company's site
company_key_in_identifier           company   rest   3 the number is the Company ID
company_key_in_account_number       company  15%     3 parents with a company, special names
                                                       aside (N); plus every merge survivor
                                                       and 4 special names
company_key_in_neither              company   8%     3 N; plus 3 special names (the 11 cycle
                                                       identifier, account, neither)
company_identifier_wrong_customer   company   2%     2 N; holds a company-less customer's no.
company_merged_deleted              company   3%     3 N; deletedFlag, lastUpdated < merge
company_merge_survivor              company   3%     3 one per merged company
company_duplicate_name              company   2%     4 N; in pairs
company_special_name                company  fixed  11 names.SPECIAL_NAMES
company_prospect / company_vendor   company  fixed     Scale.prospects / Scale.vendors
company_stale_address               company   5%     3 live client companies (C)
company_phone_format                company  10%     3 C
company_custom_fields               company  30%     3 C; Text, Checkbox, Number (integer)
company_without_contacts            company   5%     2 C
contact_inactive                    contact   5%     2 all contacts
member_with_technician              member    rest   3 technicians (T)
member_without_technician           member   12%     2 T
member_unknown_technician           member    5%     2 T
member_api                          member   fixed   2 licenseClass A, one without lastName
member_inactive                     member    8%     2 T
technician_without_member           techn.   fixed     Scale.erp_only_technicians
agreement_type_without_template     agreem.  ~17%    3 by type weights (drawn)
agreement_cancelled                 agreem.   6%     3 all agreements
agreement_expired                   agreem.   6%     3 all agreements
agreement_without_invoice           agreem.  >=4%    2 quota started in the last 25 days,
                                                       plus any other not billed yet
agreement_company_without_customer  agreem.   1%     2 all agreements (on prospects)
agreement_bill_to_other_company     agreem.   4%     2 agreements on clients (payer: a
                                                       mapped company; invoices follow)
agreement_contract_number_right     agreem.  10%     2 live, invoiced, customer syncs (Z):
                                                       ZCJ_ContractNumber CW-<id>-01
agreement_contract_wrong_revision   agreem.   1%     2 Z; CW-<id>-02, the ERP has -01 only
agreement_contract_other_customer   agreem.   1%     2 Z; another customer's CW-<id>-01
addition_zero_billed                addition  5%     3 all additions
addition_cancelled                  addition  5%     2 all additions
addition_less_included              addition  5%     3 all additions; billed = quantity -
                                                       lessIncluded, extPrice of the billed
invoice_down_payment                invoice   drawn  2 one per started fixed-fee project
ticket_without_time                 ticket   ~30%    3 drawn (80% on Alerts)
ticket_closed_without_time          ticket   ~28%    3 drawn
ticket_company_without_customer     ticket    3%     3 drawn
ticket_on_agreement                 ticket   ~40%    3 drawn (70% of tickets of a company
                                                       with an agreement in force)
ticket_unmapped_technician          ticket   ~25%    3 drawn (follows the member cases)
time_entry_overlap                  time      2%     2 drawn per ticket with time
ticket_synced_by_incumbent          ticket   ~35%    2 the incumbent's call exists: 35% of
                                                       closed tickets with time of syncing
                                                       customers, mapped technicians (drawn),
                                                       plus every world.synced_tickets row
time_entry_after_call               time      1%     2 of a pool (Q) of closed tickets the
                                                       incumbent could sync (service.py),
                                                       closed in the last 120 days; booked
                                                       after the call, still OKToInvoice
time_entry_after_invoiced_call      time      1%     2 Q closed 60+ days ago; booked after
                                                       the call was invoiced
ticket_moved_after_sync             ticket   0.5%    2 Q without agreement or PSA invoice;
                                                       the call has the old customer
call_for_psa                        call    0.5%     3 of tickets: open DISPATCH/METER call
                                                       of a plainly mapped customer (ID912)
call_for_psa_unmapped               call     fixed   2 the same, customer without company
project_ticket_without_time         proj.tk. 20%     2 drawn
project_fixed_fee                   project  25%     2 all projects
project_billed_by_phase             project  50%     1 of the fixed-fee projects and of the
                                                       others, each; Progress invoices per
                                                       done phase (applyToType ProjectPhase)
project_billed_on_completion        project   rest   2 one invoice on the project once closed
product_cancelled                   product   4%     2 product lines but the two orders below
product_dropship                    product   8%     2 product lines but the two orders below
product_item_without_erp_item       product  drawn  1 lines of the catalog items the ERP lacks
                                                       (USW-24P, FG-60F, PATCH-24: sales-order
                                                       sync)
sales_order_customer_on_hold        order    fixed  1 the newest order, Ordered, of a
                                                       customer on hold
sales_order_item_without_template   order    fixed  1 one more order (drawn from nothing),
                                                       Ordered, of a plainly mapped customer:
                                                       one line of PATCH-24, whose type
                                                       (Cabling) has no item template
sales_order_company_unmapped        order    fixed  1 one more order (drawn from nothing),
                                                       Ordered, of a prospect: no ERP customer,
                                                       so it waits until the company is mapped
sales_order_synced_by_incumbent     order     ~70%   2 the incumbent's ERP order exists, its
                                                       Description opens [CW SO #<id>]
catalog_item_without_erp_item       refs     fixed   4 catalog.ITEMS_NOT_IN_ERP
contract_template                   contract fixed     one per type with a template
contract_template_default           contract fixed   1 **CW Default
contract_template_misnamed          contract fixed   1 catalog.MISNAMED_TEMPLATES
item_template                       item     fixed     the **CWBase item of each template
item_fixed_fee                      item     fixed   1 CW-FIXEDFEE, nonstock (fixed fees)
item_template_sales                 item     fixed   4 **CWItem <product type>, inactive, with
                                                       an inventory or expense and a sales code
item_template_without_codes         item     fixed   1 **CWItem Security: no codes
item_error                          item     fixed   1 **CWError, the sales-order error item
contract_linked_to_agreement        contract  rest   3 the incumbent's contracts (I):
                                                       ZCJ_CW_AgreementID set
contract_without_agreement_property contract  5%     2 I; no ZCJ_CW_AgreementID
contract_from_default_template      contract ~15%    2 I of a type without a template
                                                       (drawn)
contract_terminated_agreement_live  contract  3%     2 I of Active agreements, none named
                                                       by a ZCJ_ContractNumber
contract_active_agreement_ended     contract 20%     2 I of Cancelled/Expired agreements
contract_invoiced_before_sync       contract  5%     2 I of live monthly agreements last
                                                       invoiced in December (M)
contract_billed_ahead               contract 10%     2 M; billed for January
account_code_missing                account   3%     2 accounts at call-logger locations (A)
account_code_special                account   1%     2 A; the logger's code has - / & or .
account_send_to_connect             account   8%     3 accounts at Connect locations
account_client_unlinked             account  fixed   1 the first of those: client exists
account_send_without_site           account  fixed   1 accounts at a location without Connect
account_custom_type                 account  ~15%    2 drawn
=================================== ======== ===== === ===================================

Workspace operator
------------------
Schemas ``operate`` and ``connect`` (``workspace.py``): one of the dealer's customers runs
serviced offices billed through essensys Operate, with telephony in essensys Connect.
Columnar tables, one per API collection (``operate.locations, accounts, applications,
account_codes, product_groups, products, device_import_maps, batch_sheets,
batch_sheet_lines``; ``connect.sites, clients``), plus ``connect.extensions`` (each site's
phone extensions and the account code its call logger puts on their calls) and
``connect.calls`` (one row per call segment, the source of every call-log export).
``world.call_loggers`` says which call-log format each call-logger location records in.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from . import agreements, catalog, erp, orders, parties, people, service, workspace
from .cases import CASES, Case, quota
from .catalog import World
from .common import ANCHOR, stream
from .invoices import Invoices
from .scales import SCALES, Scale
from .store import ENTITY_TABLES, Store

GENERATOR = "crosswalk-world 5"

__all__ = [
    "ANCHOR",
    "CASES",
    "ENTITY_TABLES",
    "GENERATOR",
    "SCALES",
    "Case",
    "Scale",
    "WorldSummary",
    "generate",
    "quota",
]


@dataclass(frozen=True)
class WorldSummary:
    path: Path
    seed: int
    scale: str
    counts: dict[str, int]  # rows per table, "schema.table"
    seconds: float

    def __str__(self) -> str:
        width = max(len(name) for name in self.counts)
        lines = [f"{name:<{width}} {count:>12,}" for name, count in self.counts.items()]
        lines.append(f"world {self.scale} seed {self.seed} -> {self.path} in {self.seconds:.1f} s")
        return "\n".join(lines)


def generate(path: Path, *, seed: int = 1, scale: str = "small") -> WorldSummary:
    """Write the world for ``seed`` at ``scale`` to a new DuckDB file at ``path``."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if Path(path).stem in ("world", "connectwise", "eautomate"):
        # DuckDB names the database after the file: world.customers would then be ambiguous.
        raise ValueError(f"{Path(path).name}: a world file must not be named after its schemas")
    size = SCALES[scale]
    began = time.perf_counter()
    world = World()
    store = Store(Path(path))
    try:
        staff = people.build(stream(seed, "members"), size, world, store)
        everyone = parties.build(seed, size, world, staff, store)
        invoices = Invoices(world, store)
        agreements.build(
            stream(seed, "agreements"),
            stream(seed, "agreement_links"),
            size,
            world,
            staff,
            everyone,
            invoices,
            store,
        )
        service.build(seed, size, world, staff, everyone, invoices, store)
        orders.build(stream(seed, "sales_orders"), size, world, staff, everyone, invoices, store)
        catalog.write(store, world, everyone.dealer.number, staff.admins[0].identifier)
        erp.build(seed, size, store)
        workspace.build(seed, scale, store)
        store.table(
            "world.meta",
            [
                ("seed", str(seed)),
                ("scale", scale),
                ("anchor", ANCHOR.strftime("%Y-%m-%dT%H:%M:%SZ")),
                ("generator", GENERATOR),
            ],
            pa.schema([("key", pa.string()), ("value", pa.string())]),
        )
        counts = store.counts()
    finally:
        store.close()
    return WorldSummary(Path(path), seed, scale, counts, time.perf_counter() - began)
