"""Staff reads authenticate before the read-your-writes wait (issue 15, defect 6): an
anonymous `?after=` gets 401 at once, neither a held thread nor a 503 revealing lag.

On PostgreSQL, where no worker runs in these tests, the views stay behind the gift
recorded here: exactly when the wait would hold a thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.api.read_models import MAX_POSITION
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.domain.money import Money
from patronage.domain.values import Attribution

pytestmark = pytest.mark.parametrize(
    "store", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

STAFF_READS_WITH_AFTER = [
    "/staff/supporters",
    "/staff/totals",
    "/staff/totals/members",
    "/staff/receipts",
]


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    patronage.giving.record_gift(
        RecordGift(
            "pi_behind",
            SupporterDetails(email="ada@example.org", name="Ada"),
            Money(2500, "USD"),
            datetime(2026, 3, 14, tzinfo=UTC),
            Attribution(),
        )
    )
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


@pytest.mark.parametrize("path", STAFF_READS_WITH_AFTER)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
def test_anonymous_after_is_refused_before_any_wait(
    client: TestClient, path: str, headers: dict[str, str]
) -> None:
    response = client.get(path, params={"after": MAX_POSITION}, headers=headers)
    assert response.status_code == 401
    assert "caught up" not in response.text and "view" not in response.text


@pytest.mark.parametrize("path", STAFF_READS_WITH_AFTER)
def test_staff_with_a_position_far_ahead_still_get_the_503(
    client: TestClient, patronage: Patronage, path: str
) -> None:
    patronage.settings.read_your_writes_timeout_seconds = 0.05
    response = client.get(
        path,
        params={"after": MAX_POSITION},
        headers={"Authorization": "Bearer staff-key-for-tests"},
    )
    assert response.status_code == 503
    assert "not caught up" in response.json()["detail"]
