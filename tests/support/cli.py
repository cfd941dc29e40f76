"""Parse a `patronage ...` command line against the real CLI, without running it: the infra
files and the runbook stay true to the commands and options that exist."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import typer

from patronage.cli.main import cli


def parse_command_line(args: Sequence[str]) -> list[str]:
    """The names of the commands `args` selects (e.g. ["projections", "run"]); raises the
    CLI's UsageError for an unknown command, option or bad value. (Typer carries its own
    click, hence duck typing: a group is what resolves subcommands.)"""
    command: Any = typer.main.get_command(cli)
    context = command.make_context("patronage", list(args))
    chosen: list[str] = []
    while hasattr(command, "resolve_command"):
        remaining = [*context._protected_args, *context.args]
        if not remaining:
            break
        name, sub, rest = command.resolve_command(context, remaining)
        assert name is not None and sub is not None
        chosen.append(name)
        context = sub.make_context(name, rest, parent=context)
        command = sub
    return chosen


def parse_shell_line(line: str) -> list[str]:
    """`patronage a b --c d` as a shell would split it, then parsed as above."""
    words = shlex.split(line)
    assert words[0] == "patronage", line
    return parse_command_line(words[1:])
