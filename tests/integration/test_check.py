"""`patronage check` catches each misconfiguration with a clear message and exit code 1
(2 when the settings cannot be read), and passes a good one. A real database and a real
SMTP server (aiosmtpd on loopback); each case changes one thing of a good configuration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patronage.cli.mail_catcher import CaughtMail, mail_catcher
from patronage.cli.main import cli
from tests.support.servers import free_port
from tests.support.stores import POSTGRES_URL, postgres_schema

GOOD = {
    "PATRONAGE_STRIPE_SECRET_KEY": "sk_test_51Hx0aBcDeFgHiJkLmN",
    "PATRONAGE_STRIPE_PUBLISHABLE_KEY": "pk_test_51Hx0aBcDeFgHiJkLmN",
    "PATRONAGE_STRIPE_WEBHOOK_SECRETS": "whsec_0123456789abcdefABCDEF",
    "PATRONAGE_STAFF_API_KEYS": "staff-key-long-enough-1234",
    "PATRONAGE_SUPPORTER_TOKEN_SECRET": "a-supporter-token-secret-of-some-length",
    "PATRONAGE_ORG_NAME": "The Springfield Ledger",
    "PATRONAGE_ORG_ADDRESS": "12 Elm Street, Springfield, IL 62701, USA",
    "PATRONAGE_ORG_TAX_ID": "12-3456789",
    "PATRONAGE_ORG_JURISDICTION": "US",
}

# (what is wrong, the settings that make it wrong, what check must say)
CASES = [
    ("no secret key", {"PATRONAGE_STRIPE_SECRET_KEY": ""}, "checkout cannot take money"),
    (
        "publishable key as secret key",
        {"PATRONAGE_STRIPE_SECRET_KEY": "pk_test_51Hx0aBcDeFgHiJkLmN"},
        "PATRONAGE_STRIPE_SECRET_KEY is not a secret key",
    ),
    (
        "webhook secret as secret key",
        {"PATRONAGE_STRIPE_SECRET_KEY": "whsec_0123456789abcdef"},
        "PATRONAGE_STRIPE_SECRET_KEY is not a secret key",
    ),
    (
        "secret key as publishable key",
        {"PATRONAGE_STRIPE_PUBLISHABLE_KEY": "sk_test_51Hx0aBcDeFgHiJkLmN"},
        "PATRONAGE_STRIPE_PUBLISHABLE_KEY is not a publishable key",
    ),
    (
        "live secret, test publishable",
        {"PATRONAGE_STRIPE_SECRET_KEY": "sk_live_51Hx0aBcDeFgHiJkLmN"},
        "the secret key is live mode but the publishable key is test mode",
    ),
    ("no webhook secret", {"PATRONAGE_STRIPE_WEBHOOK_SECRETS": ""}, "every webhook gets 503"),
    (
        "second webhook secret malformed",
        {"PATRONAGE_STRIPE_WEBHOOK_SECRETS": "whsec_0123456789abcdef,sk_test_oops12345"},
        "webhook secret 2 is not an endpoint secret",
    ),
    ("no staff key", {"PATRONAGE_STAFF_API_KEYS": ""}, "nobody can use the console"),
    ("short staff key", {"PATRONAGE_STAFF_API_KEYS": "letmein"}, "shorter than 16 characters"),
    (
        "no supporter token secret",
        {"PATRONAGE_SUPPORTER_TOKEN_SECRET": ""},
        "PATRONAGE_SUPPORTER_TOKEN_SECRET is not set",
    ),
    (
        "no organisation name",
        {"PATRONAGE_ORG_NAME": " "},
        "US receipts need PATRONAGE_ORG_NAME (name)",
    ),
    (
        "demo tax id",
        {"PATRONAGE_ORG_TAX_ID": "00-0000000"},
        "PATRONAGE_ORG_TAX_ID is still the demo's value",
    ),
    (
        "EIN for a Canadian charity",
        {
            "PATRONAGE_ORG_JURISDICTION": "CA",
            "PATRONAGE_ORG_PLACE_OF_ISSUE": "Toronto, ON",
            "PATRONAGE_ORG_SIGNATORY": "A. Treasurer, Treasurer",
        },
        "PATRONAGE_ORG_TAX_ID is not a CRA number like 123456789RR0001 (CA receipts)",
    ),
    (
        "malformed EIN",
        {"PATRONAGE_ORG_TAX_ID": "123456789"},
        "PATRONAGE_ORG_TAX_ID is not an EIN like 12-3456789",
    ),
    (
        "unreachable PostgreSQL",
        {"PATRONAGE_DATABASE_URL": "postgresql://postgres@127.0.0.1:{port}/test"},
        "PostgreSQL does not answer",
    ),
    (
        "Canadian receipts without place of issue",
        {
            "PATRONAGE_ORG_JURISDICTION": "CA",
            "PATRONAGE_ORG_TAX_ID": "123456789RR0001",
            "PATRONAGE_ORG_SIGNATORY": "A. Treasurer, Treasurer",
        },
        "CA receipts need PATRONAGE_ORG_PLACE_OF_ISSUE",
    ),
    (
        "SMTP server not answering",
        {
            "PATRONAGE_SMTP_HOST": "127.0.0.1",
            "PATRONAGE_SMTP_PORT": "{port}",
            "PATRONAGE_SMTP_SECURITY": "none",
            "PATRONAGE_SMTP_FROM": "r@ledger.example",
        },
        "refused or did not answer: ConnectionRefusedError",
    ),
    (
        "SMTP without TLS support asked for STARTTLS",
        {
            "PATRONAGE_SMTP_HOST": "127.0.0.1",
            "PATRONAGE_SMTP_PORT": "{catcher}",
            "PATRONAGE_SMTP_SECURITY": "starttls",
            "PATRONAGE_SMTP_FROM": "r@ledger.example",
        },
        "SMTPNotSupportedError",
    ),
    (
        "supporter page's public address in clear",
        {
            "PATRONAGE_PUBLIC_URL": "http://give.ledger.example",
            "PATRONAGE_SMTP_HOST": "127.0.0.1",
            "PATRONAGE_SMTP_PORT": "{catcher}",
            "PATRONAGE_SMTP_SECURITY": "none",
            "PATRONAGE_SMTP_FROM": "r@ledger.example",
        },
        "PATRONAGE_PUBLIC_URL http://give.ledger.example/ needs https",
    ),
    (
        "data directory not writable",
        {"PATRONAGE_DATA_DIR": "/proc/patronage-data"},
        "the data directory /proc/patronage-data is missing or not writable",
    ),
]


@pytest.fixture
def clean_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The good configuration on a SQLite directory, nothing inherited from the caller."""
    inherited = {k: v for k, v in os.environ.items() if k.startswith("PATRONAGE_")}
    for key in inherited:
        del os.environ[key]
    (tmp_path / "data").mkdir()
    try:
        yield GOOD | {"PATRONAGE_DATA_DIR": str(tmp_path / "data")}
    finally:
        os.environ.update(inherited)


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[CaughtMail]:
    """A real SMTP server (aiosmtpd) on loopback, without TLS."""
    with mail_catcher(tmp_path / "mail") as caught:
        yield caught


def _check(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check"], env=env)
    return result.exit_code, result.output


def test_a_good_configuration_passes(clean_env: dict[str, str]) -> None:
    code, output = _check(clean_env)
    assert code == 0, output
    assert "FAIL" not in output
    assert "ok    database: SQLite" in output
    assert "everything checked is fine" in output


@pytest.mark.postgres
def test_a_good_configuration_on_postgresql_passes(clean_env: dict[str, str]) -> None:
    with postgres_schema() as schema:
        env = clean_env | {
            "PATRONAGE_DATABASE_URL": POSTGRES_URL,
            "PATRONAGE_DATABASE_SCHEMA": schema,
        }
        code, output = _check(env)
    assert code == 0, output
    assert "ok    database: PostgreSQL answers" in output


@pytest.mark.parametrize(("case", "change", "said"), CASES, ids=[c[0] for c in CASES])
def test_each_misconfiguration_is_caught(
    clean_env: dict[str, str],
    catcher: CaughtMail,
    case: str,
    change: dict[str, str],
    said: str,
) -> None:
    env = clean_env | {
        k: v.format(port=free_port(), catcher=catcher.port) for k, v in change.items()
    }
    code, output = _check(env)
    assert code == 1, f"{case}: {output}"
    fails = [line for line in output.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1, f"{case}: only its own problem is reported: {output}"
    assert said in fails[0]


def test_a_reachable_smtp_server_passes(clean_env: dict[str, str], catcher: CaughtMail) -> None:
    env = clean_env | {
        "PATRONAGE_SMTP_HOST": catcher.host,
        "PATRONAGE_SMTP_PORT": str(catcher.port),
        "PATRONAGE_SMTP_SECURITY": "none",
        "PATRONAGE_SMTP_FROM": "Receipts <receipts@ledger.example>",
    }
    code, output = _check(env)
    assert code == 0, output
    assert f"ok    smtp: 127.0.0.1:{catcher.port} answers (none)" in output
    assert catcher.messages() == [], "a check sends nothing"


def test_settings_that_cannot_be_read_exit_2(clean_env: dict[str, str]) -> None:
    code, output = _check(clean_env | {"PATRONAGE_DATABASE_URL": "mysql://nope"})
    assert code == 2
    assert "PATRONAGE_DATABASE_URL" in output
    assert "must be a postgresql:// URL" in output
