"""The `patronage` command line."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings, SettingsError, load_settings
from patronage.logs import configure_logging

cli = typer.Typer(
    name="patronage",
    help="Patronage: donations and memberships for reader-funded newsrooms.",
    no_args_is_help=True,
    add_completion=False,
)


def settings_or_exit() -> Settings:
    """Settings, or a clear one-line error and exit code 2."""
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    configure_logging(json_lines=settings.log_format == "json", level=settings.log_level)
    return settings


def patronage_or_exit() -> Patronage:
    try:
        return bootstrap(settings_or_exit())
    except SettingsError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the API on the configured store (SQLite in PATRONAGE_DATA_DIR by default)."""
    from patronage.api.app import create_app

    patronage = patronage_or_exit()
    try:
        uvicorn.run(create_app(patronage), host=host, port=port, log_config=None)
    finally:
        patronage.close()


def _add_command_groups() -> None:
    from patronage.cli_projections import projections

    cli.add_typer(projections, name="projections")


_add_command_groups()


def main() -> None:
    cli(prog_name="patronage")


if __name__ == "__main__":
    main()
