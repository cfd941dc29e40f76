from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings, load_settings
from tests.support.stores import STORES, store_settings

# Test connections to PostgreSQL (and the processes tests start, which inherit this) commit
# without waiting for the WAL to reach the disk: on the shared test disk that wait was most
# of a PostgreSQL test's time. Commits stay atomic, ordered and visible as before; only a
# power cut could lose the last ones, and no test cuts the power.
os.environ.setdefault("PGOPTIONS", "-c synchronous_commit=off")
# Staff passwords hashed at argon2's lowest cost here and in the processes tests start: no
# test checks the cost, and at the production cost hashing was a fifth of the suite's CPU.
# tests/unit/test_staff_password_cost.py checks the production defaults.
os.environ.setdefault("PATRONAGE_STAFF_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("PATRONAGE_STAFF_PASSWORD_HASH_MEMORY_KIB", "64")

# Under CI the property tests draw the same examples every run, so a landing never turns on a
# new random draw; run locally, they keep exploring (and a failure they find is kept in
# .hypothesis/ and replayed first).
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(store: str, tmp_path: Path) -> Iterator[Settings]:
    with store_settings(store, tmp_path) as overrides:
        yield load_settings(
            _env_file=None,
            stripe_webhook_secrets="whsec_test_primary,whsec_test_rotated",
            staff_api_keys="staff-key-for-tests",
            supporter_token_secret="supporter-token-secret-for-tests",
            **overrides,
        )


@pytest.fixture
def patronage(settings: Settings) -> Iterator[Patronage]:
    app = bootstrap(settings)
    yield app
    app.close()
