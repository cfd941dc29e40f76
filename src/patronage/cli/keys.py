"""`patronage keys ...`: change the key every stored event is encrypted with."""

from __future__ import annotations

import typer

from patronage.cli.common import patronage_or_exit
from patronage.config import SettingsError, load_settings

keys_cli = typer.Typer(help="Encryption keys (docs/personal-data.md).", no_args_is_help=True)


@keys_cli.command("rotate-cipher")
def rotate_cipher() -> None:
    """Re-encrypt every stored event and data key under a new PATRONAGE_CIPHER_KEY, read
    from standard input. Stop every other Patronage process first; start them again with
    the new key afterwards."""
    new_key = typer.prompt("new cipher key (base64)", hide_input=True).strip()
    try:
        load_settings(cipher_key=new_key)  # the same checks as at start-up
    except SettingsError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None
    patronage = patronage_or_exit()
    try:
        rows = patronage.ledger.rotate_cipher_key(new_key)
    finally:
        patronage.close()
    typer.echo(f"{rows} stored events re-encrypted: start Patronage with the new key")
