"""Send to Connect (seed 000): each Operate account with ``send_to_connect_requested`` and
no ``connect_client_id`` (``marts.connect_client_requests``) becomes a Connect client on
its location's Connect site: the account's name, its type (custom types become
Residential), start now, end a year later, billing reference = the Operate account id.
Then the account gets the client's id and the request is cleared, so it is never sent
twice. Users, services and rooms are left to people, as in Operate.

The billing reference is the deterministic key: before creating, and after any answer
that was lost, the client is looked up by it on the site and adopted when it exists
(an earlier run, or someone in Connect, made it), never created a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crosswalk.connect import Connect
from crosswalk.errors import data_failure
from crosswalk.http import DataError, OutcomeUnknown
from crosswalk.operate import Operate
from crosswalk.pipeline import Run
from crosswalk.pushlog import PushLog
from crosswalk.warehouse import rows

CODES = ("connect-site-missing", "connect-client-rejected")


@dataclass
class Sent:
    created: int = 0
    adopted: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} clients created, {self.adopted} found and linked, {self.failed} failed"
        )


def one_year_later(moment: datetime) -> datetime:
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + 1, day=28)


def requests_to_send(run: Run) -> list[dict]:
    with run.warehouse.connect(read_only=True) as con:
        return rows(con, "SELECT * FROM marts.connect_client_requests ORDER BY account_id")


def client_for(request: dict, now: datetime) -> dict:
    """The Connect client an account becomes."""
    return {
        "name": request["account_name"],
        "type": request["client_type"],
        "start_date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end_date": one_year_later(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "billing_reference": str(request["account_id"]),
        "site_id": request["connect_site_id"],
    }


def existing_client(connect: Connect, reference: str, site_id: int) -> dict | None:
    found = connect.clients(billing_reference=reference, site_id=site_id)
    return min(found, key=lambda c: c["id"]) if found else None


def send_account(run: Run, operate: Operate, connect: Connect, log: PushLog, request: dict):
    """One account to Connect; returns "created", "adopted" or "failed"."""
    account, site = request["account_id"], request["connect_site_id"]
    label = f'account {account} "{request["account_name"]}"'
    if site is None:
        run.failures.add(
            data_failure(
                "operate", "accounts", account, "connect-site-missing",
                f"{label} asks to be sent to Connect, but its location "
                f"{request['location_name'] or request['location_id']} has no Connect Site ID",
                "Set the location's Connect Site ID (and tick Connect Call Logger) in Operate, "
                "or clear the account's Send to Connect request.",
                label=label,
            )
        )  # fmt: skip
        return "failed"
    reference = str(account)
    key = f"connect-client billing_reference={reference} site={site}"
    client = existing_client(connect, reference, site)
    outcome = "adopted"
    if client is None:
        body = client_for(request, datetime.now(UTC).replace(microsecond=0))
        push = log.intend("connect", "create-client", key, body)
        try:
            client = connect.create_client(body)
            outcome = "created"
        except OutcomeUnknown:
            client = existing_client(connect, reference, site)
            if client is None:
                log.finish(push, "not-applied", None, "answer lost; no client found")
                raise
        except DataError as exc:
            client = existing_client(connect, reference, site) if exc.status == 409 else None
            if client is None:
                log.finish(push, "failed", None, str(exc))
                run.failures.add(
                    data_failure(
                        "connect", "clients", reference, "connect-client-rejected",
                        f"Connect refused {label} as a client: {exc.message}",
                        "Correct the account in Operate as the reason says (or the client in "
                        "Connect); the next run sends it again.",
                        label=label,
                    )
                )  # fmt: skip
                return "failed"
        log.finish(push, "done" if outcome == "created" else "adopted", client["id"])
    log.settle(key, "adopted", client["id"])
    push = log.intend("operate", "link-account", f"account {account}", {"client": client["id"]})
    operate.update_account(
        account, {"connect_client_id": str(client["id"]), "send_to_connect_requested": False}
    )
    log.finish(push, "done", account)
    return outcome


@task(cache_policy=NO_CACHE)
def send_accounts_to_connect(run: Run, operate: Operate, connect: Connect) -> Sent:
    """Every requested account to Connect, each linked back in Operate."""
    logger = get_run_logger()
    sent = Sent()
    requests = requests_to_send(run)
    with PushLog.open(run.warehouse, run.id, run.flow) as log:
        for request in requests:
            if run.plan:
                logger.info("plan: account %s -> Connect client %s", request["account_id"],
                            client_for(request, datetime.now(UTC)))  # fmt: skip
                continue
            outcome = send_account(run, operate, connect, log, request)
            setattr(sent, outcome, getattr(sent, outcome) + 1)
    run.failures.looked_at("operate", "accounts", ["connect-site-missing"])
    run.failures.looked_at("connect", "clients", ["connect-client-rejected"])
    logger.info("send to Connect: %s", sent)
    return sent
