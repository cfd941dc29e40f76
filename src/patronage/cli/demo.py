"""`patronage demo`: everything a newcomer needs to give on a sample article, offline."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from patronage.bootstrap import Patronage, bootstrap
from patronage.cli.common import json_lines
from patronage.cli.demo_setup import (
    DEMO_CAMPAIGN,
    LOCALSTRIPE_KEY,
    demo_secrets,
    free_port,
    hold_port,
    load_demo_campaign,
    load_last_year,
    localstripe,
    register_webhook,
)
from patronage.config import SettingsError, load_settings
from patronage.domain.staff import Role
from patronage.logs import configure_logging


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so `finally` blocks stop localstripe and flush counts.

    uvicorn re-raises the signal it caught once it has shut down; with the default handler
    that kills the process before any cleanup runs.
    """

    def handler(_signum: int, _frame: object) -> None:
        raise SystemExit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)


DEMO_STAFF_EMAIL = "admin@demo.patronage.invalid"
DEMO_DATA = Path("data/demo")


def demo_staff(patronage: Patronage, password: str) -> str:
    """The demo's admin account (made on the first run, with the password kept in the data
    directory) and an API token for this run; returns the token."""
    if patronage.staff.by_email(DEMO_STAFF_EMAIL) is None:
        patronage.staff.add(DEMO_STAFF_EMAIL, Role.ADMIN, password, by="demo")
    return patronage.api_tokens.create("demo", Role.ADMIN, 1, by="demo").secret_text


def demo(
    port: Annotated[int, typer.Option(help="TCP port for the API (0: a free one)")] = 8000,
    data_dir: Annotated[
        Path,
        typer.Option(
            help="The demo's data: ledger, secrets, localstripe's state, caught email. Run"
            " again on it to carry on; delete it (or name another) to start afresh"
        ),
    ] = DEMO_DATA,
) -> None:
    """Run the demo: localstripe, SQLite, a sample campaign and article, on loopback only."""
    # The web stack is imported by the commands that serve it only: the others start sooner.
    from patronage.api.app import create_app
    from patronage.api.demo_mail import mail_directory
    from patronage.api.serving import serve
    from patronage.cli.mail_catcher import mail_catcher

    port = port or free_port()
    try:
        api_port = hold_port(port)
    except OSError as error:
        typer.secho(
            f"port {port} is not free ({error.strerror}): pass another --port",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(2) from None
    exit_cleanly_on_sigterm()
    directory = data_dir.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with (
        localstripe(directory / "localstripe.log", directory / "localstripe.pickle") as stripe_url,
        mail_catcher(mail_directory(directory)) as mail,
    ):
        base = f"http://127.0.0.1:{port}"
        kept = demo_secrets(directory)
        try:
            settings = load_settings(
                data_dir=directory, database_url=None, public_url=base, demo_mode=True,
                # Stripe is localstripe, with its stand-in for Stripe.js.
                stripe_secret_key=LOCALSTRIPE_KEY, stripe_api_base=stripe_url,
                stripe_publishable_key="pk_test_patronage_demo",
                stripe_js_url=f"{stripe_url}/js.stripe.com/v3/",
                # Kept in the data directory: a restart keeps sessions, links and the webhook.
                stripe_webhook_secrets=kept.webhook_secret,
                supporter_token_secret=kept.supporter_token_secret,
                console_secret=kept.console_secret,
                # Receipts go out at once, to the mail catcher.
                smtp_host=mail.host, smtp_port=mail.port, smtp_security="none",
                smtp_from="Patronage Demo Newsroom <receipts@demo-newsroom.example>",
                receipts_worker_seconds=1.0,
            )  # fmt: skip
        except SettingsError as error:
            typer.secho(str(error), err=True, fg=typer.colors.RED)
            raise typer.Exit(2) from None
        configure_logging(json_lines=json_lines(settings), level=settings.log_level)
        register_webhook(stripe_url, f"{base}/webhooks/stripe", kept.webhook_secret)
        patronage = bootstrap(settings)
        try:
            load_demo_campaign(patronage.campaigns)
            staff_token = demo_staff(patronage, kept.staff_password)
            last_year = load_last_year(patronage.giving, settings.zone, datetime.now(UTC))
            preview = f"{DEMO_CAMPAIGN}:article-count"
            typer.echo(
                "\nPatronage demo (offline: SQLite + localstripe on loopback)\n"
                f"  article with the ask: {base}/demo/article\n"
                f"  preview a variant:    {base}/demo/article?force={preview}\n"
                f"  staff console:        {base}/console\n"
                f"  a supporter's page:   {base}/my (sign in with a donor's email; the"
                " link arrives in caught email)\n"
                f"  staff email:          {DEMO_STAFF_EMAIL}\n"
                f"  staff password:       {kept.staff_password}\n"
                f"  year end:             patronage receipts issue-annual --year {last_year}"
                f" (with PATRONAGE_DATA_DIR={directory}),\n"
                f"                        or POST {base}/staff/receipts/year-end\n"
                f"  caught email:         {base}/demo/mail\n"
                f"  API docs:             {base}/docs\n"
                f"  staff API token:      {staff_token}\n"
                f"  localstripe:          {stripe_url} (webhooks to {base}/webhooks/stripe)\n"
                f"  data:                 {directory}\n"
            )
            app = create_app(patronage)
            api_port.close()  # the other servers have their ports: uvicorn binds this one now
            serve(app, "127.0.0.1", port)
        finally:
            patronage.close()
