"""`patronage supporters ...`: erase a person on request, merge two records of one person,
and reduce kept Stripe payloads past their retention (docs/personal-data.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import typer

from patronage.application.supporters import UnknownSupporterError
from patronage.cli.common import patronage_or_exit
from patronage.domain.errors import DomainError

supporters_cli = typer.Typer(
    help="Supporters' personal data: erase, merge, reduce kept Stripe payloads.",
    no_args_is_help=True,
)

# Who did it, in the trail: the operator at the command line (staff API calls name the key).
CLI_ACTOR = "cli"

Reason = Annotated[str, typer.Option(help="Why, for the trail")]


def _fail(message: str) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(1)


@supporters_cli.command("erase")
def erase(
    who: Annotated[str, typer.Argument(help="The supporter's id or any email they gave")],
    reason: Reason,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
) -> None:
    """Erase a person's name, email and address everywhere; their money stays. Final."""
    patronage = patronage_or_exit()
    try:
        supporter_id = patronage.supporters.resolve(who)
        if not yes:
            typer.confirm(f"Erase supporter {supporter_id}? This cannot be undone", abort=True)
        erasure = patronage.supporters.erase(supporter_id, CLI_ACTOR, reason)
    except UnknownSupporterError as error:
        raise _fail(str(error)) from None
    finally:
        patronage.close()
    ids = ", ".join(str(i) for i in erasure.supporter_ids)
    typer.echo(f"erased {ids}; {erasure.payloads_reduced} kept Stripe payloads reduced")


@supporters_cli.command("merge")
def merge(
    duplicate: Annotated[UUID, typer.Argument(help="The record that is merged away")],
    survivor: Annotated[UUID, typer.Argument(help="The record that stays")],
    reason: Reason,
) -> None:
    """Merge two records of one person: the duplicate's gifts and totals go to the survivor."""
    patronage = patronage_or_exit()
    try:
        patronage.supporters.merge(duplicate, survivor, CLI_ACTOR, reason)
    except (UnknownSupporterError, DomainError) as error:
        raise _fail(str(error)) from None
    finally:
        patronage.close()
    typer.echo(f"merged {duplicate} into {survivor}")


@supporters_cli.command("reduce-payloads")
def reduce_payloads() -> None:
    """Reduce the kept Stripe payloads older than PATRONAGE_STRIPE_PAYLOAD_RETENTION_DAYS to
    what the ledger needs (run it daily, e.g. from cron)."""
    patronage = patronage_or_exit()
    days = patronage.settings.stripe_payload_retention_days
    try:
        sweep = patronage.payloads.reduce_older_than(datetime.now(UTC) - timedelta(days=days))
    finally:
        patronage.close()
    typer.echo(f"{sweep.reduced} of {sweep.examined} applied or ignored payloads reduced")
