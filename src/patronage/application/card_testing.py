"""The card-testing guard: one decision for each payment about to reach the provider.

Card testers push many small payments with stolen card numbers through a donation form to
learn which cards work. What gives them away is volume from one source: attempts, declines
and different cards from one address, one reader id, one email or one card. The guard
counts, per source, the attempts that reach the provider and the declines it reports (a
reader's typos are refused before they get here and never count), and answers:

- allow;
- hold: the payment goes ahead, and its gift is held from receipting until staff release it
  (the source looks suspicious, but a refusal would turn away a real donor);
- refuse: too many attempts, or declines, from the source (with how long to wait), or the
  CAPTCHA check failed.

The counts live in this process's memory (see ratelimit.py); reasons name the kind of
source, never its value, since they travel to Stripe and to staff.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

import structlog

from patronage.application.ports import CaptchaVerifier
from patronage.application.ratelimit import WindowCounter
from patronage.domain.money import Money
from patronage.payments.declines import Decline

log = structlog.get_logger(__name__)

V = TypeVar("V")
_MAX_REMEMBERED = 100_000  # payments whose sources are kept for later declines, cards per source


class Source(StrEnum):
    ADDRESS = "address"  # the client's IP address
    READER = "reader"  # the page's reader id
    EMAIL = "email"
    CARD = "card"  # the card's fingerprint at the provider


@dataclass(frozen=True, slots=True)
class PaymentAttempt:
    """One payment about to be asked of the provider, and where it comes from."""

    amount: Money
    ip: str = ""
    reader_id: str = ""
    email: str = ""
    card_fingerprint: str = ""  # when the provider has told us the card already
    captcha_token: str = ""

    def sources(self) -> list[tuple[Source, str]]:
        return sources_of(self.ip, self.reader_id, self.email, self.card_fingerprint)


def sources_of(ip: str, reader_id: str, email: str, card: str) -> list[tuple[Source, str]]:
    found = (
        (Source.ADDRESS, ip),
        (Source.READER, reader_id),
        (Source.EMAIL, email.strip().lower()),
        (Source.CARD, card),
    )
    return [(source, value) for source, value in found if value]


class Verdict(StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reasons: tuple[str, ...] = ()
    retry_after: float = 0.0  # when refused for volume: seconds until the source may try again


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    attempts: Mapping[Source, int]  # attempts allowed per source within the window
    window_seconds: float
    declines_to_block: int  # declines from one source within the window that block it
    block_seconds: float
    hold_after_declines: int  # 0: never hold for declines
    hold_after_cards: int  # different cards from one address, reader or email; 0: never


class NoCaptcha:
    """The default CAPTCHA hook: every attempt passes."""

    def verify(self, token: str, remote_ip: str) -> bool | None:
        return True


def _key(source: Source, value: str) -> str:
    return f"{source}:{value}"


class CheckoutGuard:
    def __init__(
        self,
        policy: GuardPolicy,
        captcha: CaptchaVerifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.captcha: CaptchaVerifier = captcha or NoCaptcha()
        self._clock = clock
        self._attempts = WindowCounter(policy.window_seconds, clock)
        self._declines = WindowCounter(policy.window_seconds, clock)
        self._lock = threading.Lock()
        self._blocked_until: OrderedDict[str, float] = OrderedDict()
        self._cards: OrderedDict[str, set[str]] = OrderedDict()
        self._payments: OrderedDict[str, tuple[tuple[Source, str], ...]] = OrderedDict()

    # Deciding ------------------------------------------------------------------------------

    def assess(self, attempt: PaymentAttempt) -> Decision:
        """Count this attempt against its sources and decide whether it may go ahead."""
        sources = attempt.sources()
        blocked = self._blocked_for(sources)
        if blocked > 0:
            return self._refused("too many declined payments from here", blocked)
        for source, value in sources:
            wait = self._attempts.add_within(_key(source, value), self.policy.attempts[source])
            if wait is not None:
                return self._refused(f"too many attempts from this {source}", wait)
        reasons: list[str] = []
        passed = self.captcha.verify(attempt.captcha_token, attempt.ip)
        if passed is False:
            return self._refused("the CAPTCHA check failed", 0.0)
        if passed is None:  # the provider is down: let the gift through, but held
            reasons.append("the CAPTCHA provider could not be asked")
        self._note_card(sources, attempt.card_fingerprint)
        reasons += self._suspicions(sources)
        if reasons:
            log.warning("checkout_held_for_review", reasons=reasons)
            return Decision(Verdict.HOLD, tuple(reasons))
        return Decision(Verdict.ALLOW)

    def assess_card(self, attempt: PaymentAttempt) -> Decision:
        """The card an attempt is about to charge, once the provider has named it (its
        fingerprint): counted and checked on its own, since the attempt's other sources were
        counted when it began. Hold reasons cover every source, the card included."""
        if not attempt.card_fingerprint:
            return Decision(Verdict.ALLOW)
        card: list[tuple[Source, str]] = [(Source.CARD, attempt.card_fingerprint)]
        if (blocked := self._blocked_for(card)) > 0:
            return self._refused("too many declined payments with this card", blocked)
        key = _key(Source.CARD, attempt.card_fingerprint)
        wait = self._attempts.add_within(key, self.policy.attempts[Source.CARD])
        if wait is not None:
            return self._refused("too many attempts with this card", wait)
        self._note_card(attempt.sources(), attempt.card_fingerprint)
        reasons = self._suspicions(attempt.sources())
        if reasons:
            log.warning("checkout_held_for_review", reasons=reasons)
            return Decision(Verdict.HOLD, tuple(reasons))
        return Decision(Verdict.ALLOW)

    def _refused(self, reason: str, retry_after: float) -> Decision:
        log.warning("checkout_refused_by_guard", reason=reason, retry_after=int(retry_after))
        return Decision(Verdict.REFUSE, (reason,), retry_after)

    def _blocked_for(self, sources: list[tuple[Source, str]]) -> float:
        now = self._clock()
        with self._lock:
            until = [self._blocked_until.get(_key(s, v), 0.0) for s, v in sources]
        return max([u - now for u in until], default=0.0)

    def _suspicions(self, sources: list[tuple[Source, str]]) -> list[str]:
        policy, found = self.policy, []
        for source, value in sources:
            key = _key(source, value)
            declines = self._declines.count(key)
            if policy.hold_after_declines and declines >= policy.hold_after_declines:
                found.append(f"{declines} declined payment(s) from this {source} recently")
            with self._lock:  # kept for addresses, readers and emails, not for cards
                cards = len(self._cards.get(key, ()))
            if policy.hold_after_cards and cards >= policy.hold_after_cards:
                found.append(f"{cards} different cards from this {source}")
        return found

    # Learning ------------------------------------------------------------------------------

    def note_payment(self, payment_id: str, attempt: PaymentAttempt) -> None:
        """Remember where a payment came from, for its decline reported later by webhook."""
        if payment_id:
            with self._lock:
                _bounded_put(self._payments, payment_id, tuple(attempt.sources()))

    def note_declined(self, attempt: PaymentAttempt) -> None:
        """The provider declined this attempt's card as it was asked."""
        self._decline(attempt.sources())

    def note_provider_decline(self, decline: Decline) -> None:
        """A decline the provider reported (a webhook): counted against the payment's
        remembered sources and whatever the report itself names."""
        with self._lock:
            remembered = self._payments.get(decline.payment_id, ())
        named = sources_of("", decline.reader_id, decline.email, decline.card_fingerprint)
        sources = list(dict.fromkeys((*remembered, *named)))
        self._note_card(sources, decline.card_fingerprint)
        self._decline(sources)

    def _note_card(self, sources: list[tuple[Source, str]], fingerprint: str) -> None:
        if not fingerprint:
            return
        with self._lock:
            for source, value in sources:
                if source != Source.CARD:
                    key = _key(source, value)
                    cards = self._cards.get(key) or set()
                    if len(cards) < 1000:
                        cards.add(fingerprint)
                    _bounded_put(self._cards, key, cards)

    def _decline(self, sources: list[tuple[Source, str]]) -> None:
        policy = self.policy
        for source, value in sources:
            key = _key(source, value)
            if self._declines.add(key) >= policy.declines_to_block:
                with self._lock:
                    _bounded_put(self._blocked_until, key, self._clock() + policy.block_seconds)
                log.warning("checkout_source_blocked", source=str(source))


def _bounded_put(mapping: OrderedDict[str, V], key: str, value: V) -> None:
    mapping[key] = value
    mapping.move_to_end(key)
    if len(mapping) > _MAX_REMEMBERED:
        mapping.popitem(last=False)
