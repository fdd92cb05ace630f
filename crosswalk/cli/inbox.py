"""``crosswalk inbox``: serve the operators' inbox (crosswalk.inbox) until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from crosswalk.cli import ConfigOption, _config_failed, _settings, console

HOST, PORT = "127.0.0.1", 8765


def inbox(
    config: ConfigOption = None,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on; off loopback only with "
            "inbox.users or inbox.proxy_user_header set."
        ),
    ] = HOST,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = PORT,
    hash_password: Annotated[
        bool, typer.Option("--hash-password", help="Print a password hash for inbox.users.")
    ] = False,
) -> None:
    """Serve the operators' inbox: what waits for a person, and every decision, on a web page."""
    if hash_password:
        from crosswalk.inbox.auth import hash_password as make_hash

        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
        console.print(make_hash(password), highlight=False, markup=False)
        return
    from crosswalk.config import ConfigError
    from crosswalk.inbox import make_server

    settings = _settings(config)
    try:
        server = make_server(settings, host, port)
    except ConfigError as exc:
        raise _config_failed(exc) from None
    except OSError as exc:
        console.print(f"[red]cannot listen on {host}:{port}:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    shown = f"[{host}]" if ":" in host else host
    console.print(f"the inbox is at http://{shown}:{server.server_port}/ (Ctrl-C stops it)",
                  highlight=False, markup=False)  # fmt: skip
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
