"""`patronage campaigns ...`: manage the asks from the command line."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from patronage.application.campaigns import UnknownCampaignError
from patronage.bootstrap import Patronage
from patronage.cli.common import patronage_or_exit
from patronage.domain.campaign import CampaignRuleError, CampaignSpec
from patronage.domain.money import MoneyError

campaigns_cli = typer.Typer(help="Campaigns: the asks shown at the end of articles.")
CodeArg = Annotated[str, typer.Argument(help="The campaign's code")]


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _patronage() -> Patronage:
    return patronage_or_exit()


def _line(spec: CampaignSpec) -> str:
    variants = ", ".join(v.name for v in spec.variants) or "no variants"
    return f"{spec.code:<24} {spec.status.value:<7} priority {spec.priority:<4} {variants}"


def _fail(error: Exception) -> typer.Exit:
    typer.secho(str(error), err=True, fg=typer.colors.RED)
    return typer.Exit(1)


@campaigns_cli.command("list")
def list_campaigns() -> None:
    """Every campaign, highest priority first."""
    patronage = _patronage()
    try:
        for spec in patronage.campaigns.catalogue.specs():
            typer.echo(_line(spec))
    finally:
        patronage.close()


@campaigns_cli.command()
def create(
    file: Annotated[Path, typer.Option("--file", help="Campaign JSON (docs/asks.md)")],
) -> None:
    """Create a draft campaign with its variants from a JSON file."""
    # The API's model reads the file as POST /campaigns would; importing it brings FastAPI,
    # which no other command needs.
    from patronage.api.campaigns import NewCampaignIn

    try:
        body = NewCampaignIn.model_validate_json(file.read_bytes())
        settings = body.to_settings()
        variants = [v.to_domain() for v in body.variants]
    except (OSError, ValidationError, CampaignRuleError, MoneyError, KeyError, ValueError) as e:
        raise _fail(e) from None
    patronage = _patronage()
    try:
        patronage.campaigns.create(settings, variants, by=_by())
        typer.echo(f"created {body.code} (draft); start it with: patronage campaigns start")
    except CampaignRuleError as error:
        raise _fail(error) from None
    finally:
        patronage.close()


def _lifecycle(code: str, step: str) -> None:
    patronage = _patronage()
    try:
        command = getattr(patronage.campaigns, step)
        typer.echo(_line(command(code, by=_by())))
    except (UnknownCampaignError, CampaignRuleError) as error:
        raise _fail(error) from None
    finally:
        patronage.close()


@campaigns_cli.command()
def start(code: CodeArg) -> None:
    """Start (or resume) a campaign."""
    _lifecycle(code, "start")


@campaigns_cli.command()
def pause(code: CodeArg) -> None:
    """Pause a live campaign."""
    _lifecycle(code, "pause")


@campaigns_cli.command()
def end(code: CodeArg) -> None:
    """End a campaign for good."""
    _lifecycle(code, "end")


@campaigns_cli.command()
def history(code: CodeArg) -> None:
    """Every change to a campaign, who made it, and when."""
    patronage = _patronage()
    try:
        for entry in patronage.campaigns.history(code):
            typer.echo(
                f"{entry.version:>4} {entry.at:%Y-%m-%d %H:%M:%S} {entry.change:<15} {entry.by}"
            )
    except UnknownCampaignError as error:
        raise _fail(error) from None
    finally:
        patronage.close()
