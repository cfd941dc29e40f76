"""View counts of the asks: asks served per campaign, variant and UTC day.

Not money and not an event: the ask service counts in memory and adds its counts to this
table in batches (application/impressions.py). It lives in the views' database, beside
them, but is no projection: nothing rebuilds it, and a rebuild of a view leaves it alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date

from patronage.projections.store import ViewSchema, ViewStore

SCHEMA = ViewSchema(
    name="impressions",
    tables={
        "daily": """CREATE TABLE IF NOT EXISTS {daily} (
            campaign TEXT NOT NULL, day TEXT NOT NULL, variant TEXT NOT NULL,
            views BIGINT NOT NULL, PRIMARY KEY (campaign, day, variant))""",
    },
)


class ImpressionTable:
    def __init__(self, store: ViewStore) -> None:
        self._store = store

    def add(self, counts: Mapping[tuple[date, str, str], int]) -> None:
        """Add views per (day, campaign, variant), all in one transaction. Rows are written
        in key order, so two processes flushing at once cannot deadlock on them."""
        with self._store.write() as tx:
            for (day, campaign, variant), views in sorted(counts.items()):
                tx.run(
                    "INSERT INTO {daily} AS cur (campaign, day, variant, views)"
                    " VALUES (:campaign, :day, :variant, :views)"
                    " ON CONFLICT (campaign, day, variant)"
                    " DO UPDATE SET views = cur.views + excluded.views",
                    campaign=campaign,
                    day=day.isoformat(),
                    variant=variant,
                    views=views,
                )

    def views(self, campaign: str, since: date) -> Counter[str]:
        """Views per variant of `campaign` from `since` on."""
        with self._store.read() as tx:
            rows = tx.all(
                "SELECT variant, SUM(views) AS views FROM {daily}"
                " WHERE campaign = :campaign AND day >= :since GROUP BY variant",
                campaign=campaign,
                since=since.isoformat(),
            )
        return Counter({r["variant"]: int(r["views"]) for r in rows})
