from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from patronage.asks.token import SupporterTokens
from patronage.domain.campaign import Audience, Frequency

NOW = datetime(2026, 3, 1, tzinfo=UTC)
TOKENS = SupporterTokens("secret-one", timedelta(days=365))


def test_a_token_thanks_its_holder_and_lapses_at_expiry() -> None:
    supporter = uuid4()
    member = TOKENS.issue(supporter, (Frequency.MONTHLY,), NOW)
    giver = TOKENS.issue(supporter, (Frequency.ONE_TIME,), NOW)
    assert TOKENS.audience(member, NOW + timedelta(days=1)) == Audience.CURRENT_MEMBERS
    assert TOKENS.audience(giver, NOW + timedelta(days=1)) == Audience.ONE_TIME_GIVERS
    assert TOKENS.audience(member, NOW + timedelta(days=366)) == Audience.LAPSED


def test_the_token_carries_no_personal_data() -> None:
    supporter = uuid4()
    token = TOKENS.issue(supporter, (Frequency.MONTHLY,), NOW)
    claims = TOKENS.verify(token)
    assert claims is not None
    assert str(supporter) not in token and supporter.hex not in token
    assert claims.ref == TOKENS.reference(supporter)
    assert claims.ref != SupporterTokens("other", timedelta(days=1)).reference(supporter)


def test_forged_tampered_or_foreign_tokens_are_ignored() -> None:
    token = TOKENS.issue(uuid4(), (Frequency.ONE_TIME,), NOW)
    version, body, signature = token.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    for bad in (
        f"{version}.{forged_body}.{signature}",
        SupporterTokens("another-secret", timedelta(days=365)).issue(uuid4(), (), NOW),
        "v1.e30.",
        "garbage",
        "",
        "v1." + "A" * 5000,
    ):
        assert TOKENS.verify(bad) is None
        assert TOKENS.audience(bad, NOW) == Audience.NON_SUPPORTERS
    assert SupporterTokens("", timedelta(days=1)).verify(token) is None
