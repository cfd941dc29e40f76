"""`patronage inbox ...`: re-apply recorded Stripe events, fetch the ones Stripe missed."""

from __future__ import annotations

from collections import Counter
from itertools import islice
from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from patronage.application.inbox import InvalidStripeEventError, payload_of
from patronage.cli.common import patronage_or_exit
from patronage.domain.inbox import InboxStatus
from patronage.payments.stripe.events import StripeListRefusedError

inbox_cli = typer.Typer(
    help="The webhook inbox: re-apply recorded Stripe events, fetch the ones Stripe missed.",
    no_args_is_help=True,
)


def _summary(title: str, statuses: Counter[str]) -> None:
    table = Table()
    table.add_column("status")
    table.add_column("events", justify="right")
    for status, count in sorted(statuses.items()):
        table.add_row(status, str(count))
    console = Console()
    console.print(title)
    console.print(table)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=False,
        console=Console(stderr=True),
    )


@inbox_cli.command("replay")
def inbox_replay(
    event_ids: Annotated[
        list[str] | None, typer.Argument(help="Stripe event ids (evt_...) to apply again")
    ] = None,
    all_events: Annotated[
        bool, typer.Option("--all", help="Every recorded event, oldest first")
    ] = False,
    status: Annotated[
        list[InboxStatus] | None,
        typer.Option(help="With --all: only events in this state (repeatable)"),
    ] = None,
) -> None:
    """Apply recorded events again through the current translation.

    Idempotent: money that is in the ledger already is not booked twice.
    """
    if bool(event_ids) == all_events:
        typer.secho("name event ids, or pass --all (not both)", err=True, fg=typer.colors.RED)
        raise typer.Exit(2)
    patronage = patronage_or_exit()
    try:
        if all_events:
            ids = list(patronage.inbox.event_ids(status or ()))
        else:
            ids = list(event_ids or [])
            unknown = [e for e in ids if patronage.inbox.get(e) is None]
            if unknown:
                listed = ", ".join(unknown)
                typer.secho(f"not in the inbox: {listed}", err=True, fg=typer.colors.RED)
                raise typer.Exit(2)
        results: Counter[str] = Counter()
        with _progress() as progress:
            task = progress.add_task("re-applying", total=len(ids))
            for event_id in ids:
                results[str(patronage.inbox.process(event_id, force=True).status)] += 1
                progress.advance(task)
        _summary(f"{len(ids)} inbox events re-applied", results)
    except PersistenceError as error:
        typer.secho(f"the ledger failed: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    finally:
        patronage.close()


@inbox_cli.command("retry-parked")
def inbox_retry_parked() -> None:
    """Try every parked event again: those whose counterpart is in the ledger now (or that
    Stripe can now complete) are applied. The service does this every
    PATRONAGE_PARKED_SWEEP_SECONDS."""
    patronage = patronage_or_exit()
    try:
        applied = patronage.inbox.retry_parked()
        still = sum(len(waiting.event_ids) for waiting in patronage.inbox.waiting())
    except PersistenceError as error:
        typer.secho(f"the ledger failed: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    finally:
        patronage.close()
    Console().print(f"{applied} parked events applied; {still} still wait")


@inbox_cli.command("fetch-missed")
def inbox_fetch_missed(
    include_delivered: Annotated[
        bool,
        typer.Option(help="Every event Stripe still lists (30 days), not only failed deliveries"),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events")] = 10_000,
) -> None:
    """Record and apply the events Stripe failed to deliver.

    Lists Stripe's events with delivery_success=false (the last 30 days) using the configured
    secret key; events already in the inbox change nothing.
    """
    patronage = patronage_or_exit()
    if patronage.stripe_events is None:
        patronage.close()
        typer.secho(
            "no Stripe secret key is configured: set PATRONAGE_STRIPE_SECRET_KEY to fetch events",
            err=True,
            fg=typer.colors.RED,
        )
        raise typer.Exit(2)
    results: Counter[str] = Counter()
    try:
        events = patronage.stripe_events.recent(undelivered_only=not include_delivered)
        with _progress() as progress:
            task = progress.add_task("fetching events", total=None)
            for event in islice(events, limit):
                try:
                    outcome = patronage.inbox.receive(payload_of(event), event, source="fetched")
                except InvalidStripeEventError as error:
                    results["not an event"] += 1
                    typer.secho(f"skipped {event.get('id')}: {error}", err=True)
                    continue
                results["already recorded" if outcome.duplicate else str(outcome.status)] += 1
                progress.advance(task)
    except StripeListRefusedError as error:
        typer.secho(f"Stripe refused: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    except PersistenceError as error:
        typer.secho(f"the ledger failed: {error}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    finally:
        patronage.close()
    _summary(f"{sum(results.values())} events fetched from Stripe", results)
