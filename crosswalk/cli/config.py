"""``crosswalk config check``: the configuration file and every secret it names."""

from __future__ import annotations

import typer

from crosswalk.cli import ConfigOption, _config_failed, _settings, console

app = typer.Typer(help="The configuration file.", no_args_is_help=True)


@app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the configuration and resolve every secret it names."""
    from crosswalk.config import ConfigError

    settings = _settings(config)
    names = [name for name, system in settings.systems if system]
    try:
        settings.resolve_secrets(names)
        settings.smtp_password()
    except ConfigError as exc:
        raise _config_failed(exc) from None
    console.print(
        f"{settings.source}: valid; systems: {', '.join(names)}; "
        f"warehouse: {settings.warehouse.path}",
        highlight=False,
    )
