"""The `patronage` command line."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from patronage.cli.campaigns import campaigns_cli
from patronage.cli.common import patronage_or_exit
from patronage.cli.demo import demo
from patronage.cli.inbox import inbox_cli
from patronage.cli.projections import projections_cli
from patronage.cli.staff import staff_cli

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
    from patronage.api.app import create_app
    from patronage.cli.demo import exit_cleanly_on_sigterm

    patronage = patronage_or_exit()
    exit_cleanly_on_sigterm()  # so close() flushes pending view counts on SIGTERM
    try:
        uvicorn.run(create_app(patronage), host=host, port=port, log_config=None)
    finally:
        patronage.close()


cli.add_typer(campaigns_cli, name="campaigns")
cli.add_typer(inbox_cli, name="inbox")
cli.add_typer(projections_cli, name="projections")
cli.add_typer(staff_cli, name="staff")
cli.command()(demo)


def main() -> None:
    cli(prog_name="patronage")


if __name__ == "__main__":
    main()
