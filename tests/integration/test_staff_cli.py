"""`patronage staff ...` as an operator runs it: accounts and tokens, each audited."""

from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path

from patronage.bootstrap import bootstrap
from patronage.config import load_settings
from patronage.domain.staff import Role
from tests.support.processes import inherited_env

PATRONAGE = str(Path(sys.executable).parent / "patronage")


def run(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = inherited_env()
    env["PATRONAGE_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [PATRONAGE, "staff", *args], input=stdin, capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip


def test_add_staff_create_and_revoke_a_token(tmp_path: Path) -> None:
    added = run(
        tmp_path, "add", "--email", "Fin@News.Example", "--role", "finance", "--password-stdin",
        stdin="a long enough password\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added fin@news.example as finance" in added.stdout
    again = run(
        tmp_path, "add", "--email", "fin@news.example", "--role", "admin", "--password-stdin",
        stdin="a long enough password\n",
    )  # fmt: skip
    assert again.returncode == 1 and "already has a staff account" in again.stderr
    short = run(
        tmp_path, "add", "--email", "ed@news.example", "--role", "editor", "--password-stdin",
        stdin="short\n",
    )  # fmt: skip
    assert short.returncode == 1 and "12 characters" in short.stderr
    bad_role = run(tmp_path, "add", "--email", "x@news.example", "--role", "owner")
    assert bad_role.returncode == 2

    created = run(tmp_path, "token", "create", "--label", "nightly", "--role", "finance")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("pat_")
    token_id = secret.split("_")[1]
    listed = run(tmp_path, "token", "list")
    assert token_id in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    assert run(tmp_path, "token", "revoke", token_id).returncode == 0

    patronage = bootstrap(load_settings(_env_file=None, data_dir=tmp_path))
    try:
        member = patronage.staff.authenticate("fin@news.example", "a long enough password")
        assert member is not None and member.role == Role.FINANCE
        assert patronage.api_tokens.verify(secret) is None, "revoked"
        actions = [e.action for e in patronage.audit.entries().entries]
        assert actions == ["token.revoked", "token.created", "staff.added"]
        assert {e.actor for e in patronage.audit.entries().entries} == {f"cli:{getpass.getuser()}"}
    finally:
        patronage.close()
