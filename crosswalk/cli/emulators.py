"""``crosswalk emulators serve``: the emulated systems, until interrupted.

The emulators are imported only inside the command: they are test and demo machinery,
and the rest of the command line must not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crosswalk.cli import console, freeze_kept
from crosswalk.demo import CREDENTIALS

app = typer.Typer(help="The emulated systems.", no_args_is_help=True)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command("serve")
def emulators_serve(
    data: Annotated[Path, typer.Option(help="State folder.")] = Path("data/emulators"),
    seed: Annotated[int, typer.Option(help="World seed.")] = 1,
    scale: Annotated[str, typer.Option(help="small, medium or large.")] = "small",
    port_base: Annotated[
        int,
        typer.Option(
            help="ConnectWise port; e-automate +1, Operate +2, Connect +3 "
            "(0: free ports, printed and written to the configuration)."
        ),
    ] = 8700,
    faults: Annotated[
        str,
        typer.Option(
            help="Fault rates, e.g. throttle=0.2,error=0.05,slow=0.01,drop=0.01,lost=0.01."
        ),
    ] = "",
    tls: Annotated[
        bool, typer.Option("--tls", help="Serve https with a self-signed certificate.")
    ] = False,
) -> None:
    """Serve the emulated systems on 127.0.0.1 until interrupted (Ctrl-C or SIGTERM)."""
    import signal
    import threading

    from emulators import serve
    from emulators.framework import parse_faults
    from emulators.world import SCALES

    if scale not in SCALES:
        console.print(f"[red]unknown scale {scale!r}[/red]; choose one of: {', '.join(SCALES)}")
        raise typer.Exit(2)
    try:
        rates = parse_faults(faults)
        console.print(f"preparing the {scale} world (seed {seed}) in {data} ...")
        running = serve.start(
            data, seed=seed, scale=scale, port_base=port_base, faults=rates, tls=tls
        )
        freeze_kept()  # the world served, out of the garbage collector's passes
    except (ValueError, OSError) as exc:
        console.print(f"[red]cannot serve:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    with running:
        # The ports answer already: from here on SIGTERM stops the servers cleanly.
        signal.signal(signal.SIGTERM, _interrupted)
        try:
            for name, server in running.servers.items():
                console.print(f"{name:12} {server.url}", highlight=False)
            console.print(f"\nconfig: {running.config}", highlight=False)
            console.print("set the credentials it names first:", highlight=False)
            for key, value in CREDENTIALS.items():
                console.print(f"  export {key}={value}", highlight=False, markup=False)
            if running.ca_bundle:
                console.print(f"  export REQUESTS_CA_BUNDLE={running.ca_bundle}", highlight=False)
            console.print(
                f"then: crosswalk run all --config {running.config}\n"
                f"logs: {running.data / 'logs'}; stop with Ctrl-C",
                highlight=False,
            )
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopped; state kept in " + str(running.data), highlight=False)
