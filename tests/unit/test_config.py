from __future__ import annotations

from pathlib import Path

import pytest

from patronage.bootstrap import eventsourcing_env
from patronage.config import SettingsError, load_settings


def test_defaults_are_the_embedded_sqlite_store(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path / "d")
    env = eventsourcing_env(settings)
    assert env["PERSISTENCE_MODULE"] == "patronage.storage:KeyedSQLiteFactory"
    assert env["SQLITE_DBNAME"] == str(tmp_path / "d" / "ledger.sqlite3")
    assert (tmp_path / "d").is_dir()


def test_a_postgres_url_becomes_the_library_settings(tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None,
        database_url="postgresql://app:s%40cret@db.internal:6543/patronage",
        database_schema="newsroom",
    )
    env = eventsourcing_env(settings)
    assert env["PERSISTENCE_MODULE"] == "patronage.storage:FailFastFactory"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "db.internal",
        "6543",
        "patronage",
    )
    assert env["POSTGRES_PASSWORD"] == "s@cret"
    assert env["POSTGRES_SCHEMA"] == "newsroom"
    assert int(env["POSTGRES_LOCK_TIMEOUT"]) > 0, "never wait forever for the table lock"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"database_url": "mysql://x/y"}, "PATRONAGE_DATABASE_URL"),
        ({"default_currency": "XYZ"}, "PATRONAGE_DEFAULT_CURRENCY"),
        ({"log_level": "LOUD"}, "PATRONAGE_LOG_LEVEL"),
        ({"org_jurisdiction": "FR"}, "PATRONAGE_ORG_JURISDICTION"),
        ({"stripe_api_base": "not a url"}, "PATRONAGE_STRIPE_API_BASE"),
    ],
)
def test_invalid_settings_name_the_setting(overrides: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(_env_file=None, **overrides)


def test_lists_come_comma_separated_and_stay_secret() -> None:
    settings = load_settings(_env_file=None, stripe_webhook_secrets="whsec_a, whsec_b")
    assert [s.get_secret_value() for s in settings.stripe_webhook_secrets] == ["whsec_a", "whsec_b"]
    assert "whsec_a" not in repr(settings)


def test_environment_variables_are_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRONAGE_ORG_NAME", "The Springfield Shopper")
    monkeypatch.setenv("PATRONAGE_STAFF_API_KEYS", "k1,k2")
    settings = load_settings(_env_file=None)
    assert settings.org_name == "The Springfield Shopper"
    assert len(settings.staff_api_keys) == 2
