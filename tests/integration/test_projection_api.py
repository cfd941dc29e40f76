"""The staff read endpoints and the public ticker, on both stores, over the real app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from patronage.api.app import create_app
from patronage.application.giving import RecordGift, RecordRefund, SupporterDetails
from patronage.bootstrap import Patronage
from patronage.domain.gift import gift_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from tests.support.projections import catch_up_all
from tests.support.stripe_events import supporter_id_for

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
MARCH = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def _gift(
    patronage: Patronage,
    payment: str,
    email: str,
    minor: int,
    currency: str = "USD",
    campaign: str = "spring",
    article: str = "story-1",
    customer: str = "",
) -> None:
    patronage.giving.record_gift(
        RecordGift(
            payment,
            SupporterDetails(
                email=email,
                name=email.split("@")[0].title(),
                stripe_customer_id=customer,
                supporter_id=supporter_id_for(email),
            ),
            Money(minor, currency),
            MARCH,
            Attribution(article_id=article, campaign=campaign, variant="b"),
        )
    )


@pytest.fixture
def client(patronage: Patronage) -> Iterator[TestClient]:
    _gift(patronage, "pi_1", "ann@example.org", 2500, customer="cus_ann")
    _gift(patronage, "pi_2", "bob@example.org", 1000, campaign="fall", article="story-2")
    _gift(patronage, "pi_3", "ann@example.org", 4000, currency="EUR")
    patronage.giving.record_refund(RecordRefund("pi_1", "re_1", Money(500, "USD"), MARCH))
    patronage.receipting.issue_single(gift_id_for("pi_2"))
    catch_up_all(patronage)
    with TestClient(create_app(patronage)) as test_client:
        yield test_client


STAFF_PATHS = [
    "/staff/supporters",
    f"/staff/supporters/{supporter_id_for('ann@example.org')}",
    "/staff/totals",
    "/staff/totals/articles",
    "/staff/totals/campaigns",
    "/staff/totals/members",
    "/staff/receipts",
    "/staff/receipts/unreceipted?tax_year=2026",
]


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_staff_views_need_a_staff_key(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 401
    wrong = client.get(path, headers={"Authorization": "Bearer not-a-key"})
    assert wrong.status_code == 401
    assert client.get(path, headers=STAFF).status_code == 200


def test_supporter_list_masks_emails_searches_sorts_and_pages(client: TestClient) -> None:
    body = client.get("/staff/supporters", headers=STAFF, params={"sort": "email"}).json()
    assert body["total"] == 2
    assert [s["email"] for s in body["items"]] == ["a***@example.org", "b***@example.org"]
    ann = body["items"][0]
    assert ann["gift_count"] == 2
    assert {t["currency"]: t["net"]["minor"] for t in ann["lifetime"]} == {"EUR": 4000, "USD": 2000}
    assert ann["lifetime"][1]["refunded"] == {"minor": 500, "currency": "USD", "text": "5.00"}

    by_customer = client.get("/staff/supporters", headers=STAFF, params={"q": "cus_ann"}).json()
    assert [s["name"] for s in by_customer["items"]] == ["Ann"]
    by_name = client.get("/staff/supporters", headers=STAFF, params={"q": "BO"}).json()
    assert [s["name"] for s in by_name["items"]] == ["Bob"]

    page = client.get(
        "/staff/supporters",
        headers=STAFF,
        params={"sort": "lifetime_net", "order": "desc", "limit": 1, "offset": 1},
    )
    assert page.json()["total"] == 2
    assert [s["name"] for s in page.json()["items"]] == ["Bob"]


def test_one_supporter_shows_the_full_email(client: TestClient) -> None:
    sid = supporter_id_for("bob@example.org")
    body = client.get(f"/staff/supporters/{sid}", headers=STAFF).json()
    assert body["email"] == "bob@example.org"
    assert body["receipts_issued"] == 1
    unknown = client.get(f"/staff/supporters/{supporter_id_for('x@y.org')}", headers=STAFF)
    assert unknown.status_code == 404


def test_totals_filter_by_dates_currency_campaign_and_article(client: TestClient) -> None:
    rows = client.get("/staff/totals", headers=STAFF, params={"period": "day"}).json()
    usd = next(r for r in rows if r["currency"] == "USD")
    assert (usd["period"], usd["gifts"], usd["gross"]["minor"], usd["net"]["minor"]) == (
        "2026-03-14",
        2,
        3500,
        3000,
    )
    eur = client.get("/staff/totals", headers=STAFF, params={"currency": "eur"}).json()
    assert [(r["period"], r["gross"]["text"]) for r in eur] == [("2026-03", "40.00")]
    fall = client.get("/staff/totals/campaigns", headers=STAFF, params={"campaign": "fall"})
    assert [(r["campaign"], r["variant"], r["gifts"]) for r in fall.json()] == [("fall", "b", 1)]
    story = client.get("/staff/totals/articles", headers=STAFF, params={"article": "story-2"})
    assert [r["gross"]["minor"] for r in story.json()] == [1000]
    later = client.get("/staff/totals", headers=STAFF, params={"since": "2026-03-15"})
    assert later.json() == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/staff/totals", {"since": "2026-04-01", "until": "2026-03-01"}),
        ("/staff/totals", {"currency": "XYZ"}),
        ("/staff/totals", {"period": "week"}),
        ("/staff/totals", {"since": "yesterday"}),
        ("/staff/totals/campaigns", {"campaign": "spaces are not codes"}),
        ("/staff/supporters", {"sort": "password"}),
        ("/staff/supporters", {"limit": 0}),
        ("/staff/supporters", {"after": -1}),
        ("/staff/supporters/not-a-uuid", {}),
        ("/staff/receipts", {"status": "lost"}),
        ("/staff/receipts/unreceipted", {}),
        ("/staff/receipts/unreceipted", {"tax_year": "twenty"}),
    ],
)
def test_bad_query_parameters_are_refused_with_a_reason(
    client: TestClient, path: str, params: dict[str, str]
) -> None:
    response = client.get(path, headers=STAFF, params=params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_receipt_register_and_unreceipted_gifts(client: TestClient) -> None:
    register = client.get("/staff/receipts", headers=STAFF, params={"tax_year": 2026}).json()
    assert [(r["number"], r["status"], r["amount"]["minor"]) for r in register["items"]] == [
        ("S2026-000001", "issued", 1000)
    ]
    waiting = client.get(
        "/staff/receipts/unreceipted", headers=STAFF, params={"tax_year": 2026}
    ).json()
    assert sorted((w["amount"]["currency"], w["gifts"], w["amount"]["minor"]) for w in waiting) == [
        ("EUR", 1, 4000),
        ("USD", 1, 2000),
    ]


def test_ticker_is_public_and_cacheable(client: TestClient) -> None:
    first = client.get("/ticker/spring")
    assert first.status_code == 200
    assert first.json() == {
        "campaign": "spring",
        "raised": [
            {"minor": 4000, "currency": "EUR", "text": "40.00"},
            {"minor": 2000, "currency": "USD", "text": "20.00"},
        ],
        "gifts": 2,
        "supporters": 1,
    }
    assert "max-age" in first.headers["cache-control"]
    again = client.get("/ticker/spring", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["etag"] == first.headers["etag"]
    other = client.get("/ticker/fall")
    assert other.headers["etag"] != first.headers["etag"]
    assert client.get("/ticker/not a code").status_code == 422


def test_openapi_schema_describes_the_read_endpoints(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/staff/supporters", "/staff/totals", "/staff/receipts", "/ticker/{campaign}"} <= set(
        paths
    )
    listing = paths["/staff/supporters"]["get"]["responses"]
    assert listing["200"]["content"]["application/json"]["schema"]["$ref"].endswith("SupporterList")
    assert {"401", "422", "503"} <= set(listing)
    assert "404" in paths["/staff/supporters/{supporter_id}"]["get"]["responses"]
    assert "304" in paths["/ticker/{campaign}"]["get"]["responses"]


def test_search_treats_like_wildcards_as_text(client: TestClient) -> None:
    for q in ("%", "_", "cus%ann", "cus_an_"):
        body = client.get("/staff/supporters", headers=STAFF, params={"q": q}).json()
        assert body["total"] == 0, q
