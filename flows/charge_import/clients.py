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
from crosswalk.errors import Failure, data_failure
from crosswalk.http import DataError, OutcomeUnknown
from crosswalk.operate import Operate
from crosswalk.pipeline import Run
from crosswalk.pushing import Pusher, Write
from crosswalk.warehouse import rows

ACCOUNT_CODES = ("connect-site-missing", "account-link-rejected")
CLIENT_CODES = ("connect-client-rejected",)


@dataclass
class Sent:
    created: int = 0
    adopted: int = 0
    failed: int = 0
    planned: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} clients created, {self.adopted} found and linked, {self.failed} "
            f"failed, {self.planned} planned"
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


def existing_client(connect: Connect, key: dict) -> int | None:
    found = connect.clients(billing_reference=key["billing_reference"], site_id=key["site"])
    return min((c["id"] for c in found), default=None)


def send_account(push: Pusher, operate: Operate, connect: Connect, request: dict) -> str:
    """One account to Connect; returns "created", "adopted" or "failed" ("planned" in a
    plan run)."""
    run = push.run
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
    key = {"billing_reference": str(account), "site": site}
    body = client_for(request, datetime.now(UTC).replace(microsecond=0))
    write = Write(
        "connect", "create-client",
        f"connect-client billing_reference={account} site={site}", label,
        {name: (None, value) for name, value in body.items()}, key=key,
    )  # fmt: skip

    def send() -> int:
        try:
            return connect.create_client(body)["id"]
        except DataError as exc:
            if exc.status == 409:  # Connect has a client with this reference: find it
                raise OutcomeUnknown("connect", exc.message, request=exc.request) from exc
            raise

    def refused(exc: DataError) -> Failure:
        return data_failure(
            "connect", "clients", str(account), "connect-client-rejected",
            f"Connect refused {label} as a client: {exc.message}",
            "Correct the account in Operate as the reason says (or the client in "
            "Connect); the next run sends it again.",
            label=label,
        )  # fmt: skip

    client = push.create(write, find=lambda: existing_client(connect, key), send=send,
                         refused=refused)  # fmt: skip
    if client is None:
        return "planned" if push.plan else "failed"
    changes = {"connect_client_id": str(client.key), "send_to_connect_requested": False}

    def link_refused(exc: DataError) -> Failure:
        return data_failure(
            "operate", "accounts", account, "account-link-rejected",
            f"Operate refused Connect client {client.key} on {label}: {exc.message}",
            "Correct the account in Operate as the reason says; the next run links it.",
            label=label,
        )  # fmt: skip

    linked = push.update(
        Write("operate", "link-account", f"account {account}", label,
              {"connect_client_id": (None, str(client.key)),
               "send_to_connect_requested": (True, False)}),
        lambda: operate.update_account(account, changes), refused=link_refused,
    )  # fmt: skip
    if linked.outcome == "failed":
        return "failed"
    return "created" if client.created else "adopted"


@task(cache_policy=NO_CACHE)
def send_accounts_to_connect(run: Run, operate: Operate, connect: Connect) -> Sent:
    """Every requested account to Connect, each linked back in Operate."""
    sent = Sent()
    requests = requests_to_send(run)
    with Pusher.open(run) as push:
        push.recover({"create-client": lambda key: existing_client(connect, key)},
                     updates=("link-account",))  # fmt: skip
        for request in requests:
            outcome = send_account(push, operate, connect, request)
            setattr(sent, outcome, getattr(sent, outcome) + 1)
    run.failures.looked_at("operate", "accounts", ACCOUNT_CODES)
    run.failures.looked_at("connect", "clients", CLIENT_CODES)
    get_run_logger().info("send to Connect: %s", sent)
    return sent
