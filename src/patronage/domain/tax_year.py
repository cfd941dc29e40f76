"""The tax year and local dates of the organisation, decided in its own time zone.

A gift made at 8 pm on 31 December in New York is 01:00 UTC on 1 January: it belongs to the
year that was ending where the organisation is, and its receipt prints the local date. Every
place that needs a tax year or a receipt date asks these functions, never `datetime.year`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo


def _local(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the ledger stores UTC
    return moment.astimezone(zone)


def tax_year_of(moment: datetime, zone: tzinfo) -> int:
    """The tax year (a calendar year in the organisation's zone) a moment belongs to."""
    return _local(moment, zone).year


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The date the organisation's calendar showed at `moment`: the date a receipt prints."""
    return _local(moment, zone).date()


def tax_year_bounds(year: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants where the tax year starts (inclusive) and ends (exclusive)."""
    start = datetime.combine(date(year, 1, 1), time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(date(year + 1, 1, 1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def tax_year_has_ended(year: int, now: datetime, zone: tzinfo) -> bool:
    """Whether the year is over where the organisation is (annual receipts wait for this)."""
    return _local(now, zone) >= tax_year_bounds(year, zone)[1]
