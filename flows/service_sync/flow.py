"""service-sync: PSA tickets with time -> ERP service calls (ID965, ID522).

Reads ConnectWise service boards and their statuses (whole), service and project tickets,
projects, their phases, invoices, time entries and members, and e-automate service calls
(with labor), technicians, contracts and items changed since each watermark (less the
configured overlap), every time entry id when its sweep is due (deleted entries leave no
other trace), validates and lands them, checks the board and status names in
``[flows.service_sync]`` against the PSA's and its codes and fixed-fee item against the
ERP's, and builds ``marts.service_call_sync``: per ticket, its call and the labor lines its
time entries ask for (``marts.project_invoice_sync`` per project invoice). The push makes
or updates each call that differs, checks the hours and fees it holds, and writes the call
number back to the ticket (``push.py``). Before that, with ``[flows.service_sync.to_psa]
call_types`` set, ERP calls of those types become PSA tickets and go on the sent hold
(``to_psa.py``, the incumbent's ID912): their time comes back through this same sync.

A re-run is safe: rows merge by primary key and a watermark advances in the same
transaction as the rows it covers; a call is found by its ``[CW #<ticket>]`` key before it
is made, a labor line by its ``[TE #<time entry>]`` key before it is added; an unchanged
ticket costs no call.
"""

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from crosswalk.config import ConfigError, load_settings
from crosswalk.connectwise import ConnectWise
from crosswalk.eautomate import EAutomate
from crosswalk.entities import Entity
from crosswalk.pipeline import (
    Run,
    build_models,
    flow_run_recorded,
    land_entities,
    note_rebuilt,
    one_run_per_warehouse,
    open_apis,
    report,
)
from flows.customer_sync.flow import MAPPING
from flows.customer_sync.sweep import due
from flows.service_sync.push import push_tickets
from flows.service_sync.to_psa import check_to_psa, push_calls_to_psa
from schemas import connectwise, eautomate

ENTITIES = (
    connectwise.boards,
    connectwise.board_statuses,
    connectwise.tickets,
    connectwise.time_entries,
    connectwise.time_entry_ids,  # the sweep, when due (flows.service_sync.sweep_hours)
    connectwise.members,
    connectwise.projects,
    connectwise.project_tickets,
    connectwise.invoices,
    connectwise.project_phases,  # after the projects, tickets and invoices that name them
    eautomate.calls,
    eautomate.technicians,
    eautomate.contracts,
    eautomate.items,
)
MODELS = (
    "+service_call_sync",
    "+call_ticket_sync",
    "+mapped_tickets",
    "+ticket_hours",
    "+service_sync_findings",
    "+project_invoice_sync",
    "+sync_health",
)
# Each code the configuration names, and the ERP code list it must be in.
CODED = {
    "call_type": "CallType",
    "call_types": "CallType",
    "bill_code": "BillCode",
    "bill_code_agreement": "BillCode",
    "bill_codes": "BillCode",
    "activity_code": "ActivityCode",
    "activity_codes": "ActivityCode",
}


def entities_due(run: Run) -> list[Entity]:
    """The entities this run lands: every one, the time entry sweep only when it is due
    (``flows.service_sync.sweep_hours``)."""
    hours = run.settings.flows.service_sync.sweep_hours
    return due(run, ENTITIES, connectwise.time_entry_ids, hours)


@task(cache_policy=NO_CACHE)
def check_statuses(run: Run) -> None:
    """Every board and status in ``[flows.service_sync] statuses`` is one ConnectWise
    serves: a typo is a configuration failure naming the key and the value, not a filter
    that silently matches nothing."""
    wanted = run.settings.flows.service_sync.statuses
    if not wanted:
        return
    with run.warehouse.connect(read_only=True) as con:
        served: dict[str, list[str]] = {}
        for board, status in con.execute(
            "SELECT b.name, s.name FROM raw_connectwise.boards b "
            "LEFT JOIN raw_connectwise.board_statuses s ON s.board__id = b.id "
            "ORDER BY b.name, s.name"
        ).fetchall():
            served.setdefault(board, [])
            if status is not None:
                served[board].append(status)
    if not served:
        return  # nothing served to check against
    problems = []
    for board, names in wanted.items():
        if board not in served:
            problems.append(
                f"flows.service_sync.statuses: {board!r} is not a board ConnectWise serves "
                f"(it serves: {', '.join(served)})"
            )
            continue
        unknown = [name for name in names if name not in served[board]]
        if unknown:
            problems.append(
                f"flows.service_sync.statuses.{board}: "
                + ", ".join(repr(name) for name in unknown)
                + f" {'is not a status' if len(unknown) == 1 else 'are not statuses'} of that "
                f"board (it has: {', '.join(served[board])})"
            )
    if problems:
        raise ConfigError("; ".join(problems))


@task(cache_policy=NO_CACHE)
def check_codes(run: Run) -> None:
    """Every call type, bill code and activity code in ``[flows.service_sync]`` is one
    e-automate serves, and its ``fixed_fee_item`` a non-inventory item it has: a typo is a
    configuration failure naming the key and the value, not a call refused ticket by
    ticket."""
    config = run.settings.flows.service_sync
    with run.warehouse.connect(read_only=True) as con:
        if not con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'raw_eautomate' AND table_name = 'code_lists'"
        ).fetchone()[0]:
            return  # not landed yet (customer-sync lands the code lists)
        problems = []
        for key, list_type in CODED.items():
            value = getattr(config, key)
            named = value.items() if isinstance(value, dict) else [(None, value)]
            served = [c for (c,) in con.execute(
                "SELECT code FROM raw_eautomate.code_lists WHERE list_type = ? ORDER BY code",
                [list_type]).fetchall()]  # fmt: skip
            if not served:
                continue
            for name, code in named:
                if code not in served:
                    where = f"{key}.{name}" if name is not None else key
                    problems.append(
                        f"flows.service_sync.{where}: {code!r} is not a {list_type} e-automate "
                        f"serves (it serves: {', '.join(served)})"
                    )
        item = config.fixed_fee_item
        found = con.execute(
            "SELECT item_kind FROM raw_eautomate.items WHERE upper(item) = upper(?)", [item]
        ).fetchone()
        if found is None and con.execute("SELECT count(*) FROM raw_eautomate.items").fetchone()[0]:
            problems.append(
                f"flows.service_sync.fixed_fee_item: {item!r} is not an item e-automate has "
                "(fixed-fee project invoices are billed with it: add it as a non-inventory "
                "part, or name the one you use)"
            )
        elif found is not None and found[0] != "nonstock":
            problems.append(
                f"flows.service_sync.fixed_fee_item: {item!r} is a {found[0]} item in "
                "e-automate; a fixed fee is billed with a non-inventory (nonstock) part"
            )
        if problems:
            raise ConfigError("; ".join(problems))


@flow(name="service-sync")
@one_run_per_warehouse
def service_sync(config: str | None = None, plan: bool = False, full_refresh: bool = False) -> Run:
    """Extract tickets, time and calls, land them, check the configured codes, build the
    plan, push calls and links, report."""
    settings = load_settings(config)
    # The customer mapping, which customer-sync lands, decides every ticket's customer:
    # before any customer-sync, every ticket waits for its mapping.
    with flow_run_recorded(
        "service-sync", settings, ENTITIES, plan, full_refresh, reads=MAPPING
    ) as run:
        land_entities(run, entities_due(run))
        check_statuses(run)
        check_codes(run)
        check_to_psa(run)
        run.models = build_models(run, MODELS)
        note_rebuilt(
            run,
            "PSA tickets linked to ERP service calls (the call's [CW #ticket] key)",
            "SELECT count(*) FROM marts.mapped_tickets WHERE call_number IS NOT NULL",
        )
        if settings.flows.service_sync.push:
            apis = open_apis(run, {"connectwise": ConnectWise, "eautomate": EAutomate})
            if apis["connectwise"] is not None and apis["eautomate"] is not None:
                if settings.flows.service_sync.to_psa.call_types:
                    push_calls_to_psa(run, apis["connectwise"], apis["eautomate"])
                push_tickets(run, apis["connectwise"], apis["eautomate"])
    report(run)
    return run
