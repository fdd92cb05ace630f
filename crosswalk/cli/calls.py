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
    found = _mart(
        settings,
        "SELECT call_number, action, hold_code FROM marts.call_ticket_sync "
        "WHERE call_number = ?",
        [number],
        flow=FLOW,
    )
    if not found:
        keyed = _mart(
            settings,
            "SELECT ticket_id FROM staging.stg_eautomate__calls WHERE call_number = ?",
            [number],
            flow=FLOW,
        )
        if keyed and keyed[0][0] is not None:
            console.print(f"call {number} already has PSA ticket {keyed[0][0]}: nothing to retry",
                          highlight=False)  # fmt: skip
        else:
            console.print(f"no call {number} among the ERP calls for the PSA "
                          "([flows.service_sync.to_psa] call_types) in the last service-sync",
                          highlight=False)  # fmt: skip
        raise typer.Exit(1)
    ((number, action, hold),) = found
    if action != "held":
        console.print(f"call {number} is not on the sent hold ({hold or 'no hold'}): the next "
                      "run tries it anyway", highlight=False)  # fmt: skip
        return
    with _deciding(settings) as con:
        decisions.retry_call(con, number, made_by="operator", note=note or None)
    console.print(f"call {number} is tried again by the next `crosswalk run service-sync`",
                  highlight=False)  # fmt: skip
