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
    missing = []
    for resolve in (lambda: settings.resolve_secrets(names), settings.smtp_password):
        try:
            resolve()
        except ConfigError as exc:
            missing.append(str(exc))
    if missing:
        raise _config_failed(ConfigError("\n".join(missing))) from None
    files = settings.read_from_files()
    systems = [f"{name} (read from files in {files[name]}, not its API)" if name in files else name
               for name in names]  # fmt: skip
    console.print(
        f"{settings.source}: valid; systems: {', '.join(systems)}; "
        f"warehouse: {settings.warehouse.path}",
        highlight=False,
    )
