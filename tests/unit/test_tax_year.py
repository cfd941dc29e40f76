"""The tax year and receipt dates follow the organisation's clock, not UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from patronage.domain.tax_year import (
    local_date,
    tax_year_bounds,
    tax_year_has_ended,
    tax_year_of,
)

NEW_YORK = ZoneInfo("America/New_York")


def test_new_years_eve_in_new_york_belongs_to_the_ending_year() -> None:
    eight_pm = datetime(2026, 12, 31, 20, 0, tzinfo=NEW_YORK)
    in_utc = eight_pm.astimezone(UTC)
    assert in_utc.year == 2027, "UTC has moved on already"
    assert tax_year_of(in_utc, NEW_YORK) == 2026
    assert local_date(in_utc, NEW_YORK) == date(2026, 12, 31)


def test_the_year_ends_at_local_midnight() -> None:
    start, end = tax_year_bounds(2026, NEW_YORK)
    assert start == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert end == datetime(2027, 1, 1, 5, tzinfo=UTC)
    assert not tax_year_has_ended(2026, datetime(2027, 1, 1, 4, 59, tzinfo=UTC), NEW_YORK)
    assert tax_year_has_ended(2026, datetime(2027, 1, 1, 5, 0, tzinfo=UTC), NEW_YORK)


def test_a_gift_at_local_midnight_opens_the_new_year() -> None:
    midnight = datetime(2027, 1, 1, 0, 0, tzinfo=NEW_YORK).astimezone(UTC)
    assert tax_year_of(midnight, NEW_YORK) == 2027
    assert tax_year_of(midnight, ZoneInfo("Pacific/Auckland")) == 2027
    assert tax_year_of(midnight, ZoneInfo("Pacific/Honolulu")) == 2026
