"""The card-testing guard's decisions, on a clock the test moves (no sleeping)."""

from __future__ import annotations

from typing import Any

from patronage.application.card_testing import (
    CheckoutGuard,
    GuardPolicy,
    PaymentAttempt,
    Source,
    Verdict,
)
from patronage.domain.money import Money
from patronage.payments.declines import Decline, decline_of

WINDOW, BLOCK = 600.0, 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock, captcha: Any = None, **changes: Any) -> CheckoutGuard:
    limits = {Source.ADDRESS: 10, Source.READER: 10, Source.EMAIL: 10, Source.CARD: 10}
    fields: dict[str, Any] = {
        "attempts": limits | changes.pop("attempts", {}),
        "window_seconds": WINDOW,
        "declines_to_block": 3,
        "block_seconds": BLOCK,
        "hold_after_declines": 2,
        "hold_after_cards": 3,
    }
    return CheckoutGuard(GuardPolicy(**(fields | changes)), captcha, clock=clock)


def attempt(**changes: Any) -> PaymentAttempt:
    fields: dict[str, Any] = {
        "amount": Money(500, "USD"),
        "ip": "203.0.113.9",
        "reader_id": "reader-1",
        "email": "Ada@Example.org",
    }
    return PaymentAttempt(**(fields | changes))


def test_each_source_is_limited_on_its_own_and_the_window_slides() -> None:
    clock = Clock()
    checks = guard(clock, attempts={Source.EMAIL: 2})
    assert checks.assess(attempt(reader_id="r1")).verdict == Verdict.ALLOW
    assert checks.assess(attempt(reader_id="r2", email="ADA@example.org ")).verdict == "allow"
    refused = checks.assess(attempt(reader_id="r3"))  # the same email, however it is typed
    assert refused.verdict == Verdict.REFUSE and refused.reasons == (
        "too many attempts from this email",
    )
    assert 0 < refused.retry_after <= WINDOW
    assert checks.assess(attempt(email="grace@example.org")).verdict == Verdict.ALLOW
    clock.now += WINDOW
    assert checks.assess(attempt(reader_id="r4")).verdict == Verdict.ALLOW


def test_a_card_seen_too_often_is_refused_from_any_address() -> None:
    checks = guard(Clock(), attempts={Source.CARD: 1})
    assert checks.assess(attempt(card_fingerprint="fp-1")).verdict == Verdict.ALLOW
    other_place = attempt(card_fingerprint="fp-1", ip="198.51.100.1", reader_id="x", email="")
    assert checks.assess(other_place).reasons == ("too many attempts from this card",)


def test_declines_first_hold_then_block_the_source_for_a_while() -> None:
    clock = Clock()
    checks = guard(clock)
    tried = attempt()
    checks.note_declined(tried)
    assert checks.assess(tried).verdict == Verdict.ALLOW  # one decline: a typo'd card, maybe
    checks.note_declined(tried)
    held = checks.assess(tried)
    assert held.verdict == Verdict.HOLD
    assert "2 declined payment(s) from this address recently" in held.reasons
    assert all("203.0.113.9" not in r and "Ada" not in r for r in held.reasons), "no values"
    checks.note_declined(tried)
    blocked = checks.assess(attempt(reader_id="fresh-reader", email="new@example.org"))
    assert blocked.verdict == Verdict.REFUSE  # the address is blocked, whatever else changes
    assert blocked.reasons == ("too many declined payments from here",)
    assert BLOCK - 1 < blocked.retry_after <= BLOCK
    clock.now += BLOCK
    assert checks.assess(attempt(reader_id="fresh-reader", email="new@example.org")).verdict == (
        Verdict.ALLOW
    )


def test_a_webhook_decline_counts_against_where_the_payment_came_from() -> None:
    checks = guard(Clock(), hold_after_declines=1)
    tried = attempt()
    checks.note_payment("pi_1", tried)
    checks.note_provider_decline(Decline("pi_1", card_fingerprint="fp-9"))
    assert checks.assess(attempt(email="else@example.org")).verdict == Verdict.HOLD  # address
    # A decline for a payment this process never made still counts by what it names.
    checks.note_provider_decline(Decline("pi_unknown", email="mallory@example.org"))
    assert checks.assess(attempt(ip="", reader_id="", email="Mallory@example.org")).verdict == (
        Verdict.HOLD
    )


def test_many_cards_from_one_reader_hold_its_next_gift() -> None:
    checks = guard(Clock(), hold_after_declines=0)
    for n in range(2):
        assert checks.assess(attempt(card_fingerprint=f"fp-{n}")).verdict == Verdict.ALLOW
    held = checks.assess(attempt(card_fingerprint="fp-2"))
    assert held.verdict == Verdict.HOLD and "3 different cards from this reader" in held.reasons


class Captcha:
    def __init__(self, answer: bool | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def verify(self, token: str, remote_ip: str) -> bool | None:
        self.asked.append((token, remote_ip))
        return self.answer


def test_the_captcha_hook_refuses_a_failed_check_and_holds_when_it_cannot_ask() -> None:
    failed = Captcha(answer=False)
    refused = guard(Clock(), failed).assess(attempt(captcha_token="tok"))
    assert refused.verdict == Verdict.REFUSE and refused.retry_after == 0
    assert failed.asked == [("tok", "203.0.113.9")]
    unavailable = guard(Clock(), Captcha(answer=None)).assess(attempt(captcha_token="tok"))
    assert unavailable.verdict == Verdict.HOLD
    assert guard(Clock(), Captcha(answer=True)).assess(attempt()).verdict == Verdict.ALLOW
    assert guard(Clock()).assess(attempt()).verdict == Verdict.ALLOW  # the no-op default


def test_a_payment_failed_event_reads_as_a_decline_with_the_card_fingerprint() -> None:
    event = {
        "type": "payment_intent.payment_failed",
        "data": {
            "object": {
                "id": "pi_9",
                "object": "payment_intent",
                "receipt_email": "payer@example.org",
                "metadata": {"patronage_reader_id": "reader-3"},
                "last_payment_error": {
                    "code": "card_declined",
                    "payment_method": {"id": "pm_1", "card": {"fingerprint": "Xt5EWLLDS7FJjR1c"}},
                },
            }
        },
    }
    assert decline_of(event) == Decline("pi_9", "Xt5EWLLDS7FJjR1c", "payer@example.org", "reader-3")
    assert decline_of({**event, "type": "payment_intent.succeeded"}) is None


def test_the_card_named_before_the_charge_is_checked_on_its_own() -> None:
    checks = guard(Clock(), attempts={Source.CARD: 1})
    assert checks.assess_card(attempt()).verdict == Verdict.ALLOW  # no fingerprint yet
    first = checks.assess_card(attempt(card_fingerprint="fp-1"))
    assert first.verdict == Verdict.ALLOW
    again = checks.assess_card(attempt(card_fingerprint="fp-1", ip="198.51.100.1"))
    assert again.reasons == ("too many attempts with this card",)
    for _ in range(3):
        checks.note_declined(attempt(card_fingerprint="fp-2", ip="", reader_id="", email=""))
    blocked = checks.assess_card(attempt(card_fingerprint="fp-2"))
    assert blocked.reasons == ("too many declined payments with this card",)
