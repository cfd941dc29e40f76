"""Checkout: from a donor's form to a payment at Stripe, once per checkout key.

Order of work: rate limits, strict validation, record the attempt
(our idempotency, durable before Stripe is called), create the payment with keys derived from
the attempt id, record what Stripe made. A retry with the same key resumes the same attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import structlog

from patronage.application.ledger import Ledger, retrying
from patronage.application.ratelimit import RateLimiter
from patronage.asks.token import SupporterTokens
from patronage.domain.campaign import Frequency
from patronage.domain.checkout import CheckoutAttempt, checkout_id_for
from patronage.domain.money import Money
from patronage.domain.supporter import supporter_id_for
from patronage.domain.values import Attribution, Tribute
from patronage.payments.amounts import AmountRules
from patronage.payments.metadata import checkout_metadata
from patronage.payments.stripe.gateway import (
    SUCCEEDED,
    CreatedPayment,
    PaymentGateway,
    PaymentOrder,
)

log = structlog.get_logger(__name__)


class RateLimitedError(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many attempts; please wait a few minutes")
        self.retry_after = retry_after


class PaymentsUnavailableError(Exception):
    """No Stripe secret key is configured."""


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    key: str  # the page's id for this press of "give": a retry sends the same one
    frequency: Frequency
    amount: Money
    cover_fees: bool
    email: str
    name: str
    attribution: Attribution
    tribute: Tribute | None = None


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    checkout_id: UUID
    frequency: Frequency
    amount: Money
    fee: Money
    payment: CreatedPayment
    supporter_token: str = ""

    @property
    def total(self) -> Money:
        return self.amount + self.fee


@dataclass(frozen=True, slots=True)
class Limits:
    per_ip: RateLimiter
    per_reader: RateLimiter

    def admit(self, ip: str, reader_id: str) -> None:
        for limiter, key in ((self.per_ip, ip), (self.per_reader, reader_id)):
            if key:
                wait = limiter.hit(key)
                if wait is not None:
                    raise RateLimitedError(wait)


class Checkout:
    def __init__(
        self,
        ledger: Ledger,
        gateway: PaymentGateway | None,
        rules: AmountRules,
        limits: Limits,
        tokens: SupporterTokens,
    ) -> None:
        self.ledger = ledger
        self.gateway = gateway
        self.rules = rules
        self.limits = limits
        self.tokens = tokens

    def fee_for(self, amount: Money, cover_fees: bool) -> Money:
        return self.rules.cover_fee(amount) if cover_fees else Money.zero(amount.currency)

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise PaymentsUnavailableError(
                "payments are not configured (PATRONAGE_STRIPE_SECRET_KEY)"
            )
        return self.gateway

    def start(self, request: CheckoutRequest) -> CheckoutResult:
        """Open the attempt and create its payment. Nothing here changes a supporter: anyone
        may type anyone's email, so the name and email travel in the payment's metadata and
        take effect when Stripe confirms the payment (its webhook)."""
        gateway = self._gateway()
        supporter_id = supporter_id_for(request.email)
        fee = self.fee_for(request.amount, request.cover_fees)
        attempt = self._open(request, supporter_id, fee)
        if attempt.payment_intent_id or attempt.subscription_id:
            return self.confirm(attempt.id)  # a retry: the payment exists already
        return self._result(attempt, self._create(gateway, attempt, request))

    def confirm(self, checkout_id: UUID) -> CheckoutResult:
        """The checkout's payment as Stripe has it now, with a token once it succeeded.

        The page calls this after Stripe's Payment Element confirmed the payment."""
        gateway = self._gateway()
        attempt = self.ledger.get_or_none(checkout_id, CheckoutAttempt)
        if attempt is None or not (attempt.payment_intent_id or attempt.subscription_id):
            raise LookupError(f"no checkout {checkout_id} with a payment")
        payment = gateway.current(attempt.payment_intent_id, attempt.subscription_id)
        if payment.status == SUCCEEDED and attempt.outcome != SUCCEEDED:

            def settle() -> None:
                fresh = self.ledger.get_typed(checkout_id, CheckoutAttempt)
                fresh.settle(SUCCEEDED)
                self.ledger.save(fresh)

            retrying(settle)
        return self._result(attempt, payment)

    def _open(self, request: CheckoutRequest, supporter_id: UUID, fee: Money) -> CheckoutAttempt:
        def command() -> CheckoutAttempt:
            attempt = self.ledger.get_or_none(checkout_id_for(request.key), CheckoutAttempt)
            if attempt is not None:
                attempt.check_same(supporter_id, request.frequency.value, request.amount, fee)
                return attempt
            attempt = CheckoutAttempt(
                request.key,
                supporter_id,
                request.frequency.value,
                request.amount,
                fee,
                request.attribution,
                request.tribute,
            )
            self.ledger.save(attempt)
            return attempt

        return retrying(command)

    def _create(
        self, gateway: PaymentGateway, attempt: CheckoutAttempt, request: CheckoutRequest
    ) -> CreatedPayment:
        order = PaymentOrder(
            checkout_id=attempt.id,
            email=request.email,
            name=request.name,
            total=attempt.total,
            metadata=checkout_metadata(
                attempt.supporter_id,
                attempt.frequency,
                attempt.attribution,
                fee_covered_minor=attempt.fee.minor,
                tribute=attempt.tribute,
                donor_email=request.email,
                donor_name=request.name,
            ),
        )
        if request.frequency == Frequency.MONTHLY:
            payment = gateway.monthly(order)
        else:
            payment = gateway.one_time(order)

        def record() -> None:
            fresh = self.ledger.get_typed(attempt.id, CheckoutAttempt)
            fresh.record_payment(
                payment.payment_intent_id, payment.subscription_id, payment.customer_id
            )
            if payment.status == SUCCEEDED:
                fresh.settle(SUCCEEDED)
            self.ledger.save(fresh)

        retrying(record)
        log.info(
            "checkout_payment_created",
            checkout_id=str(attempt.id),
            frequency=attempt.frequency,
            total=str(attempt.total),
            campaign=attempt.attribution.campaign,
            variant=attempt.attribution.variant,
            status=payment.status,
        )
        return payment

    def _result(self, attempt: CheckoutAttempt, payment: CreatedPayment) -> CheckoutResult:
        token = ""
        if payment.status == SUCCEEDED and self.tokens.enabled:
            token = self.tokens.issue(
                attempt.supporter_id, (Frequency(attempt.frequency),), datetime.now(UTC)
            )
        return CheckoutResult(
            checkout_id=attempt.id,
            frequency=Frequency(attempt.frequency),
            amount=attempt.amount,
            fee=attempt.fee,
            payment=payment,
            supporter_token=token,
        )
