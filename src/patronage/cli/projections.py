"""`patronage projections ...`: run, inspect and rebuild the views."""

from __future__ import annotations

import getpass
import signal
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from patronage.bootstrap import rebuild_view, run_view_worker
from patronage.cli.common import patronage_or_exit, settings_or_exit
from patronage.cli.supervisor import supervise_workers
from patronage.collector import collect_less_often
from patronage.projections.catalog import PROJECTIONS, UnknownViewError, projection_class
from patronage.projections.faults import Fault

projections_cli = typer.Typer(help="Run, inspect and rebuild the views.", no_args_is_help=True)

Names = Annotated[list[str] | None, typer.Argument(help=f"views: {', '.join(PROJECTIONS)}")]


def _names(names: list[str] | None) -> list[str]:
    try:
        return [projection_class(n).name for n in names or PROJECTIONS]
    except UnknownViewError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from None


@projections_cli.command()
def run(names: Names = None) -> None:
    """Keep the views up to date: catch up, then follow new events until stopped.

    On PostgreSQL each view runs in its own worker process (LISTEN/NOTIFY); on SQLite one
    process polls the log (`patronage serve` already does this itself)."""
    views = _names(names)
    settings = settings_or_exit()
    if not settings.uses_postgres:
        patronage = patronage_or_exit()
        poller = patronage.views.poller(settings.projection_poll_seconds, views)
        signal.signal(signal.SIGTERM, lambda *_: poller.stop())
        poller.start()
        try:
            poller.join()
        finally:
            poller.stop()
            patronage.close()
        return
    if len(views) == 1:
        run_view_worker(settings, views[0])
        return
    supervise_workers(views)


@projections_cli.command()
def status() -> None:
    """Each view's position, the head of the event log, the view's pending events, and the
    event it is stuck on (with its error, attempts and next try), if any."""
    patronage = patronage_or_exit()
    try:
        table = Table("view", "position", "head", "lag (pending events)", "stuck on")
        for state in patronage.view_operations.states():
            shown = f"{state.pending}+" if state.pending_capped else str(state.pending)
            table.add_row(state.name, str(state.position), str(state.head), shown,
                          _stuck(state.fault))  # fmt: skip
        Console().print(table)
    finally:
        patronage.close()


def _stuck(fault: Fault | None) -> str:
    if fault is None:
        return "-"
    return (
        f"event {fault.notification_id} ({fault.topic.rsplit(':', 1)[-1]}): "
        f"{fault.error[:200]}; {fault.attempts} attempts, "
        f"next at {fault.next_attempt_at:%Y-%m-%d %H:%M:%S}Z"
    )


@projections_cli.command()
def skip(
    view: Annotated[str, typer.Argument(help=f"one of: {', '.join(PROJECTIONS)}")],
    event: Annotated[int, typer.Argument(help="the event id the view is stuck on (see status)")],
    reason: Annotated[str, typer.Option(help="why it can be skipped, for the trail")],
    by: Annotated[str, typer.Option(help="who decided (default: your login)")] = "",
) -> None:
    """Move a view past the one event it cannot apply, recording who and why in the ledger.
    The event stays; only this view ignores it. Refused unless it is the event the view
    waits for."""
    patronage = patronage_or_exit()
    try:
        trail = patronage.view_operations.skip(view, event, by or getpass.getuser(), reason)
    except (LookupError, ValueError) as error:  # unknown view, not stuck there, no reason
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    finally:
        patronage.close()
    typer.echo(
        f"{trail.view}: event {trail.notification_id} skipped by {trail.by} ({trail.reason})"
    )


@projections_cli.command()
def rebuild(names: Names = None) -> None:
    """Rebuild views from the first event, aside, then swap them in (the API keeps serving)."""
    views = _names(names)
    settings = settings_or_exit()
    collect_less_often()  # this process only catches views up
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns) as bar:
        for name in views:
            task = bar.add_task(f"rebuilding {name}", total=None)

            def started(head: int, task: TaskID = task) -> None:
                bar.update(task, total=head)

            def applied(notification_id: int, task: TaskID = task) -> None:
                bar.update(task, completed=notification_id)

            position = rebuild_view(settings, name, on_start=started, progress=applied)
            bar.update(task, completed=position, total=max(position, 1))
            bar.console.print(f"{name}: rebuilt and swapped in at position {position}")
