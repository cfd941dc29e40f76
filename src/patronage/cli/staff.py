"""`patronage staff ...`: staff accounts and API tokens (docs/staff.md).

Every change is recorded in the audit trail as `cli:<os user>`.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from patronage.bootstrap import Patronage
from patronage.cli.common import patronage_or_exit
from patronage.domain.errors import DomainError
from patronage.domain.staff import Role, staff_id_for

T = TypeVar("T")
staff_cli = typer.Typer(help="Staff accounts and API tokens for scripts.")
token_cli = typer.Typer(help="API tokens: bearer tokens for scripts calling the staff API.")
staff_cli.add_typer(token_cli, name="token")

EmailOpt = Annotated[str, typer.Option("--email", help="The person's email address")]
RoleOpt = Annotated[Role, typer.Option("--role", help="finance, editor or admin")]


def _by() -> str:
    return f"cli:{getpass.getuser()}"


def _run(action: str, subject: str, command: Callable[[Patronage], T]) -> T:
    """Run a staff command as an audited action; a refused one exits 1 with its reason."""
    patronage = patronage_or_exit()
    try:
        with patronage.audit.action(_by(), action, subject):
            return command(patronage)
    except DomainError as error:
        typer.secho(str(error), err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from None
    finally:
        patronage.close()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@staff_cli.command()
def add(
    email: EmailOpt,
    role: RoleOpt,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Add a staff member with a role and a console password (asked for, never an argument)."""
    password = _password(password_stdin)
    member = _run(
        "staff.added",
        email,
        lambda p: p.staff.add(email, role, password, by=_by()),
    )
    typer.echo(f"added {member.email} as {member.role.value}")


@staff_cli.command("list")
def list_staff() -> None:
    """Every staff member, their role and whether they may sign in."""
    patronage = patronage_or_exit()
    try:
        for member in patronage.staff.members():
            state = "active" if member.active else "disabled"
            typer.echo(f"{member.email:<40} {member.role.value:<8} {state}")
    finally:
        patronage.close()


@staff_cli.command()
def role(email: EmailOpt, role: RoleOpt) -> None:
    """Change a staff member's role."""
    _run(
        "staff.role_changed", email, lambda p: p.staff.change_role(staff_id_for(email), role, _by())
    )
    typer.echo(f"{email} is now {role.value}")


@staff_cli.command()
def disable(email: EmailOpt) -> None:
    """Stop a staff member signing in; their open sessions end at once."""
    _run("staff.disabled", email, lambda p: p.staff.disable(staff_id_for(email), _by()))
    typer.echo(f"{email} is disabled")


@token_cli.command("create")
def create_token(
    label: Annotated[str, typer.Option("--label", help="What uses it, e.g. 'nightly export'")],
    role: RoleOpt,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Lifetime")] = 90,
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    issued = _run("token.created", label, lambda p: p.api_tokens.create(label, role, days, _by()))
    expires = f"{issued.token.expires_at:%Y-%m-%d}"
    typer.echo(f"token {issued.token.token_id} ({role.value}, expires {expires})")
    typer.echo("copy it now, it is not shown again:")
    typer.echo(issued.secret_text)


@token_cli.command("list")
def list_tokens() -> None:
    """Every API token: id, label, role, expiry and whether it was revoked."""
    patronage = patronage_or_exit()
    try:
        for token in patronage.api_tokens.tokens():
            state = f"revoked by {token.revoked_by}" if token.revoked else "active"
            typer.echo(
                f"{token.token_id}  {token.label:<30} {token.role.value:<8}"
                f" expires {token.expires_at:%Y-%m-%d}  {state}"
            )
    finally:
        patronage.close()


@token_cli.command("revoke")
def revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id")]) -> None:
    """Revoke an API token: it stops working at once."""
    _run("token.revoked", token_id, lambda p: p.api_tokens.revoke(token_id, _by()))
    typer.echo(f"revoked {token_id}")
