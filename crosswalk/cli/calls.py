"""``crosswalk calls``: ERP service calls worked in the PSA (the service sync's to-PSA step,
the incumbent's ID912). A call is put on the sent hold code whether its ticket was made or
not; ``retry`` asks the next run to try a call that failed again, as taking it off hold in
e-automate does. It is a decision the run acts on (written through crosswalk.decisions), not
a write to e-automate: the call stays on hold until the run has made its ticket, so nobody
dispatches it in the ERP meanwhile, and the run that tries it clears the request.
"""

from __future__ import annotations

from typing import Annotated

import typer

from crosswalk import decisions
from crosswalk.cli import ConfigOption, _settings, console
from crosswalk.cli.decisions import _deciding, _mart

app = typer.Typer(
    help="ERP service calls sent to the PSA as tickets: try a failed one again.",
    no_args_is_help=True,
)
FLOW = "service-sync"


@app.command("retry")
def calls_retry(
    call: Annotated[str, typer.Argument(help="The ERP call number.")],
    config: ConfigOption = None,
    note: Annotated[str, typer.Option(help="Why, for the next person.")] = "",
) -> None:
    """Try a held call again on the next run: its ticket is made, or it is held again with
    the reason (and a FAIL line in the e-mail)."""
    settings = _settings(config)
    number = call.strip()
    # The call as last landed, the run's own writes included (the mart is built before them).
    found = _mart(
        settings,
        "SELECT c.hold_code, regexp_extract(c.description, '^\\s*\\[CW #(\\d+)\\]', 1), "
        "m.call_number IS NOT NULL FROM raw_eautomate.calls c LEFT JOIN "
        "marts.call_ticket_sync m ON m.call_number = c.call_number WHERE c.call_number = ?",
        [number],
        flow=FLOW,
    )
    if not found:
        console.print(f"no ERP call {number} in the last service-sync", highlight=False)
        raise typer.Exit(1)
    ((hold, ticket, selected),) = found
    if ticket:
        console.print(f"call {number} already has PSA ticket {ticket}: nothing to retry",
                      highlight=False)  # fmt: skip
        raise typer.Exit(1)
    if not selected:
        console.print(f"call {number} is not one for the PSA ([flows.service_sync.to_psa] "
                      "call_types, branches, open)", highlight=False)  # fmt: skip
        raise typer.Exit(1)
    sent = settings.flows.service_sync.to_psa.sent_hold_code
    if (hold or "").upper() != sent.upper():
        console.print(f"call {number} is not on the sent hold {sent} ({hold or 'no hold'}): "
                      "the next run tries it anyway", highlight=False)  # fmt: skip
        return
    with _deciding(settings) as con:
        decisions.retry_call(con, number, made_by="operator", note=note or None)
    console.print(f"call {number} is tried again by the next `crosswalk run service-sync`",
                  highlight=False)  # fmt: skip
