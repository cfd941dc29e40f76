from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.memory import Services, in_memory


@pytest.fixture
def services() -> Iterator[Services]:
    with in_memory() as running:
        yield running
