"""`patronage receipts ...`: year end, and one receipt at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from patronage.application.receipting import ReceiptNotFoundError
from patronage.bootstrap import Patronage, projections_running
from patronage.cli.common import patronage_or_exit
from patronage.domain.errors import DomainError
from patronage.receipts.pdf import render_receipt

receipts_cli = typer.Typer(help="Issue, show, void, replace and resend tax receipts.",
                           no_args_is_help=True)  # fmt: skip
T = TypeVar("T")
Number = Annotated[str, typer.Argument(help="a receipt number, e.g. A2026-000042")]
Reason = Annotated[str, typer.Option("--reason", help="why (kept in the register)")]
By = Annotated[str, typer.Option("--by", help="who is acting (kept in the register)")]


@contextmanager
def _patronage() -> Iterator[Patronage]:
    """The wired parts, with the views kept current on SQLite (workers do it on PostgreSQL)."""
    patronage = patronage_or_exit()
    try:
        with projections_running(patronage):
            yield patronage
    finally:
        patronage.close()


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except (DomainError, ReceiptNotFoundError, TimeoutError) as error:
        typer.secho(str(error).strip("'\""), err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None


@receipts_cli.command("issue-annual")
def issue_annual(
    year: Annotated[int, typer.Option("--year", help="the tax year that has ended")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, issue nothing")] = False,
) -> None:
    """Year end: annual receipts for every supporter with gifts of YEAR left to receipt.
    Idempotent: a second run issues nothing new. Emails follow through the outbox."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with _patronage() as patronage, Progress(*columns) as bar:
        task = bar.add_task(f"annual receipts {year}", total=None)
        report = _run(
            lambda: patronage.receipting.run_year_end(
                year, dry_run=dry_run, progress=lambda d, t: bar.update(task, completed=d, total=t)
            )
        )
    verb = "would issue" if dry_run else "issued"
    summary = f"{report.groups} supporter/currency groups; {verb} {report.issued} receipts"
    if report.issued and not dry_run:
        summary += f" ({report.first_number} to {report.last_number})"
    typer.echo(summary)
    if report.missing_details:
        typer.echo(
            f"{len(report.missing_details)} supporters lack details their receipt requires"
            " (GET /staff/receipts/missing-details): " + ", ".join(report.missing_details[:20])
        )


@receipts_cli.command()
def show(number: Number) -> None:
    """One receipt: donor, lines, totals, status and email."""
    with _patronage() as patronage:
        receipt = _run(lambda: patronage.receipting.receipt(number))
    table = Table("date", "amount", "advantage", title=f"{receipt.number} ({receipt.kind})")
    for line in receipt.gifts:
        table.add_row(line.received_on, str(line.amount_minor), str(line.benefit_minor))
    console = Console()
    console.print(table)
    console.print(
        f"donor: {receipt.donor.name}; tax year {receipt.tax_year}; issued {receipt.issued_on};"
        f" total {receipt.total}; eligible {receipt.eligible_amount}"
    )
    facts = [f"status: {receipt.status.value} {receipt.void_reason}".strip()]
    if receipt.replaces_number:
        facts.append(f"replaces {receipt.replaces_number}")
    if receipt.replaced_by_number:
        facts.append(f"replaced by {receipt.replaced_by_number}")
    facts.append(f"emails sent: {len(receipt.emailed_to)}")
    if receipt.last_email_error:
        facts.append(f"last email error: {receipt.last_email_error}")
    console.print("; ".join(facts))


@receipts_cli.command()
def pdf(
    number: Number,
    out: Annotated[Path | None, typer.Option("--out", help="file (default receipt-N.pdf)")] = None,
) -> None:
    """Write the receipt's PDF."""
    with _patronage() as patronage:
        receipt = _run(lambda: patronage.receipting.receipt(number))
        path = out or Path(f"receipt-{number}.pdf")
        path.write_bytes(render_receipt(receipt, patronage.branding))
    typer.echo(f"wrote {path}")


@receipts_cli.command()
def void(number: Number, reason: Reason, by: By = "cli") -> None:
    """Void a receipt (kept in the register, never emailed again; its gifts are freed)."""
    with _patronage() as patronage:
        _run(lambda: patronage.receipting.void(number, reason, by))
    typer.echo(f"voided {number}")


@receipts_cli.command()
def replace(number: Number, reason: Reason, by: By = "cli") -> None:
    """Void a receipt and issue its corrected replacement, which names the original."""
    with _patronage() as patronage:
        issued = _run(lambda: patronage.receipting.replace(number, reason, by))
    typer.echo(f"voided {number}" if issued.number == number
               else f"{number} replaced by {issued.number}")  # fmt: skip


@receipts_cli.command()
def resend(number: Number, by: By = "cli") -> None:
    """Email the receipt again (the service's outbox sends it)."""
    with _patronage() as patronage:
        _run(lambda: patronage.receipting.resend(number, by))
    typer.echo(f"{number} will be emailed again")
