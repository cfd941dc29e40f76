"""`patronage projections ...`: run, inspect and rebuild the views."""

from __future__ import annotations

import signal
import subprocess
import sys
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
from patronage.projections.catalog import PROJECTIONS, UnknownViewError, projection_class
from patronage.projections.polling import PENDING_CAP

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
    _run_workers(views)


def _run_workers(views: list[str]) -> None:
    """One child process per view; SIGTERM or Ctrl-C stops them all."""
    children = [
        subprocess.Popen([sys.executable, "-m", "patronage", "projections", "run", name])  # noqa: S603
        for name in views
    ]

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = [child.wait() for child in children]
    if any(codes):
        raise typer.Exit(1)


@projections_cli.command()
def status() -> None:
    """Each view's position, the head of the event log, and the view's pending events."""
    patronage = patronage_or_exit()
    try:
        head = patronage.ledger.head()
        table = Table("view", "position", "head", "lag (pending events)")
        for name, store in patronage.views.stores.items():
            lag = patronage.views.lag(name)
            shown = f"{lag}+" if lag >= PENDING_CAP else str(lag)
            table.add_row(name, str(store.position(patronage.ledger.name)), str(head), shown)
        Console().print(table)
    finally:
        patronage.close()


@projections_cli.command()
def rebuild(names: Names = None) -> None:
    """Rebuild views from the first event, aside, then swap them in (the API keeps serving)."""
    views = _names(names)
    settings = settings_or_exit()
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
