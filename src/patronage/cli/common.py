"""What every `patronage` command needs: settings and the wired parts, or a clear error."""

from __future__ import annotations

import typer

from patronage.bootstrap import Patronage, bootstrap
from patronage.config import LogFormat, Settings, SettingsError, load_settings
from patronage.logs import configure_logging


def json_lines(settings: Settings) -> bool | None:
    """True or False when the format is chosen; None (auto) decides by the output."""
    return {LogFormat.JSON: True, LogFormat.CONSOLE: False}.get(settings.log_format)


def settings_or_exit() -> Settings:
    """Settings, or a clear one-line error and exit code 2."""
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    configure_logging(json_lines=json_lines(settings), level=settings.log_level)
    return settings


def patronage_or_exit() -> Patronage:
    try:
        return bootstrap(settings_or_exit())
    except SettingsError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
