"""Production hashes staff passwords at argon2-cffi's cost whatever the tests lower it to."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher

from patronage.bootstrap import bootstrap
from patronage.config import load_settings


def test_the_default_cost_is_argon2s_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATRONAGE_STAFF_PASSWORD_HASH_TIME_COST")
    monkeypatch.delenv("PATRONAGE_STAFF_PASSWORD_HASH_MEMORY_KIB")
    patronage = bootstrap(load_settings(_env_file=None, data_dir=tmp_path / "d"))
    try:
        hasher, library = patronage.staff.hasher, PasswordHasher()
        assert (hasher.time_cost, hasher.memory_cost) == (library.time_cost, library.memory_cost)
        assert (hasher.time_cost, hasher.memory_cost) == (3, 65_536)
    finally:
        patronage.close()
