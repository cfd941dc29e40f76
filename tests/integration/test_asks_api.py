from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient
from pydantic import AnyHttpUrl, SecretStr

from patronage.api.app import create_app
from patronage.application.allocation import BanditScores
from patronage.application.campaigns import CampaignCatalogue, CampaignSettings
from patronage.application.giving import RecordGift, SupporterDetails
from patronage.application.interval import Interval
from patronage.application.raised import RaisedCache
from patronage.asks.selection import PageContext, ReaderContext, VariantScore
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from patronage.domain.campaign import Frequency, Targeting
from patronage.domain.money import Money
from patronage.domain.values import Attribution
from patronage.projections import impressions
from patronage.projections.recorders import datastore_of, open_store
from tests.support.campaigns import variant
from tests.support.projections import catch_up_all

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
PAGE = {"article_id": "a-1", "section": "politics", "tags": ["elections"]}


def ask_body(**reader: Any) -> dict[str, Any]:
    return {"page": PAGE, "reader": {"reader_id": "reader-1", "country": "US", **reader}}


def start_campaign(patronage: Patronage, code: str = "spring", **targeting: Any) -> None:
    patronage.campaigns.create(
        CampaignSettings(code, code.title(), 1, Targeting(**targeting), Money(1_000_000, "USD")),
        [
            variant("control", heading="You've read %%ARTICLE_COUNT%% articles"),
            variant("urgent"),
        ],
        by="test",
    )
    patronage.campaigns.start(code, by="test")


def test_a_reader_is_asked_with_copy_choices_and_tracking(patronage: Patronage) -> None:
    start_campaign(patronage, control_bp=10_000)
    client = TestClient(create_app(patronage))
    week = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    answer = client.post("/asks", json=ask_body(weekly_counts=[{"week_start": week, "count": 7}]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["kind"] == "ask"
    assert body["tracking"] == {"campaign": "spring", "variant": "control", "article_id": "a-1"}
    assert body["ask"]["heading"] == "You've read 7 articles"
    assert body["ask"]["article_count"] == 7
    choices = body["ask"]["choices"]
    assert choices["currency"] == "USD"
    assert [a["text"] for a in choices["monthly"]] == ["5.00", "10.00", "20.00"]
    assert choices["default_frequency"] == "monthly"
    assert choices["minimum"]["text"] == "2.00"
    assert (choices["fee_rate_bp"], choices["fee_fixed_minor"]) == (220, 30)
    assert body["reason"] is None and body["rejections"] is None
    assert body["ask"]["ticker"] is None  # nothing given yet: no "$0.00 of $10,000.00"
    assert body["preview"] is False and body["stripe"] is None  # no publishable key here
    assert body["captcha_required"] is False  # no PATRONAGE_CAPTCHA_VERIFY_URL

    # Below the variant's threshold (5) the count is not an argument: the copy naming it
    # gives way to the call to action.
    few = client.post("/asks", json=ask_body(weekly_counts=[{"week_start": week, "count": 1}]))
    assert few.json()["ask"]["heading"] == "Give now"
    assert few.json()["ask"]["article_count"] is None


def test_the_ticker_shows_once_its_share_of_the_goal_is_raised(settings: Settings) -> None:
    """30.00 of 10,000.00 raised is 30 basis points of the goal."""
    for threshold, shown in ((20, True), (1000, False)):
        patronage = bootstrap(settings.model_copy(update={"ticker_from_bp": threshold}))
        try:
            if threshold == 20:
                start_campaign(patronage)
                give_to(patronage, "control", [("pi_t", Money(3000, "USD"))])
            client = TestClient(create_app(patronage))
            ticker = client.post("/asks", json=ask_body()).json()["ask"]["ticker"]
            assert (ticker is not None) is shown
            if shown:
                assert ticker["raised"]["text"] == "30.00"
        finally:
            patronage.close()


def test_a_forced_preview_says_so_and_the_ask_names_stripe_js_and_the_captcha(
    settings: Settings,
) -> None:
    configured = settings.model_copy(
        update={
            "stripe_publishable_key": "pk_test_x",
            "stripe_js_url": "http://127.0.0.1:9/js.stripe.com/v3/",
            "captcha_verify_url": AnyHttpUrl("http://127.0.0.1:9/siteverify"),
            "captcha_secret": SecretStr("s"),
        }
    )
    patronage = bootstrap(configured)
    try:
        start_campaign(patronage)
        client = TestClient(create_app(patronage))
        body = client.post("/asks?force=spring:urgent", json=ask_body()).json()
        assert body["preview"] is True
        assert body["stripe"] == {
            "publishable_key": "pk_test_x",
            "js_url": "http://127.0.0.1:9/js.stripe.com/v3/",
        }
        assert body["captcha_required"] is True  # the page must send a captcha_token
        page_policy = client.get("/static/patronage-embed.js")  # not a page: no Stripe origin
        assert "127.0.0.1:9" not in page_policy.headers["content-security-policy"]
    finally:
        patronage.close()


def test_debug_says_why_nothing_was_shown(patronage: Patronage) -> None:
    start_campaign(patronage, countries=("GB",))
    client = TestClient(create_app(patronage))
    plain = client.post("/asks", json=ask_body()).json()
    assert plain == {
        "kind": "none",
        "ask": None,
        "tracking": None,
        "preview": False,
        "stripe": None,
        "captcha_required": False,
        "reason": None,
        "rejections": None,
    }
    debug = client.post("/asks?debug=true", json=ask_body()).json()
    assert debug["reason"] == "no_campaign"
    assert debug["rejections"] == [{"campaign": "spring", "reason": "country"}]


def test_a_token_holder_is_thanked_without_a_lookup(patronage: Patronage) -> None:
    start_campaign(patronage)
    client = TestClient(create_app(patronage))
    token = patronage.tokens.issue(uuid4(), (Frequency.MONTHLY,), datetime.now(UTC))
    assert client.post("/asks", json=ask_body(supporter_token=token)).json()["kind"] == "thanks"
    assert client.post("/asks", json=ask_body(supporter_token=token + "x")).json()["kind"] == "ask"


def test_an_editor_previews_a_paused_campaign_and_previews_are_not_views(
    patronage: Patronage,
) -> None:
    start_campaign(patronage)
    patronage.campaigns.pause("spring", by="test")
    client = TestClient(create_app(patronage))
    forced = client.post("/asks?force=spring:urgent", json=ask_body()).json()
    assert forced["kind"] == "ask" and forced["tracking"]["variant"] == "urgent"
    missing = client.post("/asks?force=spring:nope&debug=true", json=ask_body()).json()
    assert missing["kind"] == "none" and "no variant" in missing["reason"]
    performance = client.get("/staff/campaigns/spring/performance", headers=STAFF).json()
    assert {row["variant"]: row["views"] for row in performance} == {"control": 0, "urgent": 0}


def give_to(patronage: Patronage, variant: str, payments: list[tuple[str, Money]]) -> None:
    """Real gifts won by `variant` of the spring campaign, with the views caught up."""
    for payment_id, amount in payments:
        patronage.giving.record_gift(
            RecordGift(
                payment_id=payment_id,
                supporter=SupporterDetails(email=f"{payment_id}@example.org", name="Reader"),
                amount=amount,
                received_at=datetime.now(UTC),
                attribution=Attribution(article_id="a-1", campaign="spring", variant=variant),
            )
        )
    catch_up_all(patronage)


def test_views_are_counted_per_variant_with_conversion_and_revenue_per_thousand(
    patronage: Patronage,
) -> None:
    start_campaign(patronage)
    give_to(patronage, "control", [("pi_a", Money(1000, "USD")), ("pi_b", Money(2000, "USD"))])
    client = TestClient(create_app(patronage))
    served: dict[str, int] = {}
    for i in range(40):
        body = client.post("/asks", json=ask_body(reader_id=f"reader-{i}")).json()
        served[body["tracking"]["variant"]] = served.get(body["tracking"]["variant"], 0) + 1
    assert body["ask"]["ticker"] is None, "30.00 of 10,000.00 is below the default 10%"
    rows = {
        r["variant"]: r
        for r in client.get("/staff/campaigns/spring/performance", headers=STAFF).json()
    }
    assert {name: row["views"] for name, row in rows.items()} == served
    control = rows["control"]
    assert control["gifts"] == 2
    assert control["conversion_basis_points"] == 2 * 10_000 // served["control"]
    assert control["revenue_per_thousand_views"] == [
        str(Money(3000 * 1000 // served["control"], "USD"))
    ]
    # The counts survive the process: they were flushed to the ledger.
    patronage.impressions.flush()
    again = bootstrap(patronage.settings)
    try:
        since = datetime.now(UTC).date()
        assert dict(again.impressions.views("spring", since)) == served
    finally:
        again.close()


def test_campaigns_changed_by_another_process_appear_after_the_check_interval(
    patronage: Patronage, settings: Settings
) -> None:
    now = [0.0]
    catalogue = CampaignCatalogue(patronage.ledger, Interval(5.0, lambda: now[0]))
    assert catalogue.specs() == ()
    other = bootstrap(settings)
    try:
        start_campaign(other)
    finally:
        other.close()
    now[0] = 4.0
    assert catalogue.specs() == ()  # answered from memory, no store query
    now[0] = 5.0
    assert [s.code for s in catalogue.specs()] == ["spring"]


def test_the_fee_quote_is_exact_and_bad_amounts_are_422(patronage: Patronage) -> None:
    client = TestClient(create_app(patronage))
    quote = client.post("/checkout/quote", json={"amount": "10", "currency": "usd"})
    assert quote.json()["fee"] == {"minor": 54, "currency": "USD", "text": "0.54"}
    assert quote.json()["total_with_fee"]["text"] == "10.54"
    bad = client.post("/checkout/quote", json={"amount": "10.5.0", "currency": "USD"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["code"] == "amount_invalid"


def test_checkout_without_stripe_configured_is_503_not_a_crash(patronage: Patronage) -> None:
    client = TestClient(create_app(patronage))
    body = {
        "checkout_key": "k" * 20,
        "frequency": "one_time",
        "amount": "10",
        "currency": "USD",
        "email": "a@example.org",
        "name": "A",
    }
    answer = client.post("/checkout", json=body)
    assert answer.status_code == 503 and "STRIPE_SECRET_KEY" in answer.json()["detail"]


def test_the_country_can_come_from_a_cdn_header(patronage: Patronage) -> None:
    start_campaign(patronage, countries=("GB",))
    patronage.settings = patronage.settings.model_copy(
        update={"asks_country_header": "CF-IPCountry"}
    )
    client = TestClient(create_app(patronage))
    body = ask_body(country="")
    assert client.post("/asks", json=body).json()["kind"] == "none"
    assert client.post("/asks", json=body, headers={"CF-IPCountry": "gb"}).json()["kind"] == "ask"


def test_the_reader_is_compared_with_a_country_code_and_times_in_utc(
    patronage: Patronage,
) -> None:
    start_campaign(patronage, countries=("GB",), max_asks=1, per_days=1)
    now = patronage.asks.now()
    page = PageContext("a-1", section="politics")
    seen = (now - timedelta(hours=1)).replace(tzinfo=None)  # a page that gave no zone
    lower = ReaderContext("reader-1", country="gb")
    assert patronage.asks.answer(page, lower).kind == "ask"
    capped = patronage.asks.answer(page, replace(lower, asks_seen=(seen,)), explain=True)
    assert capped.kind == "none"
    assert [r.reason for r in capped.rejections] == ["frequency_cap"]
    # A reader given as the filters compare them is taken as given.
    given = ReaderContext("reader-1", country="GB", asks_seen=(seen.replace(tzinfo=UTC),))
    assert patronage.asks._reader(given, "", now) is given
    assert patronage.asks._reader(lower, "", now) == replace(lower, country="GB")


def test_bandit_scores_are_sampled_hourly_from_views_and_gift_totals(
    patronage: Patronage,
) -> None:
    start_campaign(patronage, allocation="epsilon_greedy", min_views=1)
    for name, n in (("control", 4), ("urgent", 2)):
        for _ in range(n):
            patronage.impressions.record("spring", name)
    now = [0.0]
    bandit = BanditScores(patronage.impressions, "USD", Interval(3600, lambda: now[0]))
    specs = patronage.campaigns.catalogue.specs()
    give_to(patronage, "urgent", [("pi_u", Money(2500, "USD")), ("pi_e", Money(900, "EUR"))])
    gifts = patronage.campaign_results
    assert bandit.scores(specs, gifts) == {
        "spring": {"control": VariantScore(4, 0), "urgent": VariantScore(2, 2500)}
    }
    patronage.impressions.record("spring", "control")
    now[0] = 3599.0
    assert bandit.scores(specs, gifts)["spring"]["control"].views == 4  # the hour's sample
    now[0] = 3600.0
    assert bandit.scores(specs, gifts)["spring"]["control"].views == 5


def test_the_newsrooms_own_site_may_call_asks_cross_origin(patronage: Patronage) -> None:
    patronage.settings = patronage.settings.model_copy(
        update={"embed_origins": ["https://news.example"]}
    )
    client = TestClient(create_app(patronage))
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-patronage-reader",
    }
    allowed = client.options("/checkout", headers={"Origin": "https://news.example", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://news.example"
    other = client.options("/checkout", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers


def test_the_ticker_in_an_ask_is_read_from_memory_and_refreshed_periodically(
    patronage: Patronage,
) -> None:
    now = [0.0]
    cache = RaisedCache(patronage.campaign_results, Interval(15, lambda: now[0]))
    give_to(patronage, "control", [("pi_1", Money(1000, "USD"))])
    assert cache.raised("spring", "USD") == Money(1000, "USD")
    give_to(patronage, "control", [("pi_2", Money(500, "USD"))])
    now[0] = 14.0
    assert cache.raised("spring", "USD") == Money(1000, "USD")  # from memory
    now[0] = 15.0
    assert cache.raised("spring", "USD") == Money(1500, "USD")


def test_a_failing_view_count_never_fails_an_ask_and_its_counts_wait(settings: Settings) -> None:
    patronage = bootstrap(settings.model_copy(update={"impression_flush_seconds": 0.0}))
    try:
        start_campaign(patronage, control_bp=10_000)
        store = open_store(
            impressions.SCHEMA,
            postgres=settings.uses_postgres,
            datastore=datastore_of(patronage.ledger),
        )
        with store.write() as tx:  # the counter table is gone: every flush fails
            tx.run("DROP TABLE {daily}")
        client = TestClient(create_app(patronage))
        for _ in range(3):
            answer = client.post("/asks", json=ask_body())
            assert answer.status_code == 200 and answer.json()["kind"] == "ask"
        with store.write() as tx:
            tx.run(impressions.SCHEMA.tables["daily"])
        patronage.impressions.flush()
        stored = impressions.ImpressionTable(store).views("spring", datetime.now(UTC).date())
        assert stored == {"control": 3}
    finally:
        patronage.close()


def test_view_counts_stay_out_of_the_ledger(patronage: Patronage) -> None:
    start_campaign(patronage)
    head = patronage.ledger.head()
    client = TestClient(create_app(patronage))
    for i in range(5):
        client.post("/asks", json=ask_body(reader_id=f"r{i}"))
    patronage.impressions.flush()
    assert sum(patronage.impressions.views("spring", datetime.now(UTC).date()).values()) == 5
    assert patronage.ledger.head() == head
