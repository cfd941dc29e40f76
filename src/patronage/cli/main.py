"""The `patronage` command line."""

from __future__ import annotations

from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError

from patronage.bootstrap import set_up_tables
from patronage.cli.campaigns import campaigns_cli
from patronage.cli.check import check
from patronage.cli.common import patronage_or_exit, settings_or_exit
from patronage.cli.demo import demo
from patronage.cli.inbox import inbox_cli
from patronage.cli.keys import keys_cli
from patronage.cli.projections import projections_cli
from patronage.cli.receipts import receipts_cli
from patronage.cli.staff import staff_cli
from patronage.cli.supporters import supporters_cli
from patronage.config import SettingsError

cli = typer.Typer(
    name="patronage",
    help="Patronage: donations and memberships for reader-funded newsrooms.",
    no_args_is_help=True,
    add_completion=False,
)


@cli.callback()
def patronage_commands() -> None:
    """Settings come from PATRONAGE_* environment variables or a .env file (docs/settings.md)."""


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the API on the configured store (SQLite in PATRONAGE_DATA_DIR by default)."""
    # The web stack is imported by the commands that serve it only: the others start sooner.
    from patronage.api.app import create_app
    from patronage.api.serving import serve
    from patronage.cli.demo import exit_cleanly_on_sigterm

    patronage = patronage_or_exit()
    exit_cleanly_on_sigterm()  # so close() flushes pending view counts on SIGTERM
    try:
        serve(create_app(patronage), host, port)
    finally:
        patronage.close()


@cli.command()
def setup() -> None:
    """Create the event store's and the views' tables if missing, then exit.

    Run it before the first start and after each upgrade, with PATRONAGE_CREATE_TABLES=false
    on the API and the workers so that they never take the locks creating tables needs."""
    settings = settings_or_exit()
    try:
        set_up_tables(settings)
    except SettingsError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    except PersistenceError as error:
        typer.secho(f"the database refused: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    store = "PostgreSQL" if settings.uses_postgres else f"SQLite in {settings.data_dir}"
    typer.echo(f"tables ready ({store})")


cli.add_typer(campaigns_cli, name="campaigns")
cli.add_typer(inbox_cli, name="inbox")
cli.add_typer(projections_cli, name="projections")
cli.add_typer(staff_cli, name="staff")
cli.add_typer(supporters_cli, name="supporters")
cli.add_typer(keys_cli, name="keys")
cli.add_typer(receipts_cli, name="receipts")
cli.command()(demo)
cli.command()(check)


def main() -> None:
    cli(prog_name="patronage")


if __name__ == "__main__":
    main()
