"""Checkout: from a donor's form to a payment at Stripe, once per checkout key.

Order of work: strict validation (at the edge), then two units of work around one call to
the payment gateway, which cannot join a database transaction:

1. record the attempt (our idempotency, durable before Stripe is called);
2. ask the card-testing guard (application/card_testing.py), then create the payment, with
   idempotency keys derived from the attempt id; a payment the guard holds carries the
   reason in its metadata, and its gift waits for staff review;
3. record what Stripe made on the attempt.

Nothing here changes a supporter: anyone may type anyone's email, so the name and email go
into the payment's metadata and take effect when Stripe confirms the payment (its webhook);
an existing supporter's Stripe customer is never reused for a new checkout.

A crash between 2 and 3 leaves an attempt without its payment: the retry with the same key
asks Stripe again with the same idempotency keys, gets the same payment, and records it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import structlog

from patronage.application.card_testing import CheckoutGuard, Decision, PaymentAttempt, Verdict
from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.application.ports import PaymentGateway
from patronage.asks.token import SupporterTokens
from patronage.domain.campaign import Frequency
from patronage.domain.checkout import CheckoutAttempt, checkout_id_for
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute
from patronage.payments.amounts import AmountRules
from patronage.payments.metadata import checkout_metadata
from patronage.payments.orders import (
    SUCCEEDED,
    CreatedPayment,
    PaymentOrder,
    PaymentRefusedError,
)

log = structlog.get_logger(__name__)


class CheckoutRefusedError(Exception):
    """The card-testing guard refused the attempt: `retry_after` seconds to wait when it
    was for volume, 0 when a check (the CAPTCHA) failed."""

    def __init__(self, decision: Decision) -> None:
        reason = "; ".join(decision.reasons)
        if decision.retry_after > 0:
            reason += "; please wait a few minutes"
        super().__init__(reason)
        self.retry_after = decision.retry_after


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
    ip: str = ""  # the client's address, for the card-testing guard
    captcha_token: str = ""

    def payment_attempt(self, total: Money) -> PaymentAttempt:
        return PaymentAttempt(
            amount=total,
            ip=self.ip,
            reader_id=self.attribution.reader_id,
            email=self.email,
            captcha_token=self.captcha_token,
        )


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


class Checkout:
    def __init__(
        self,
        ledger: Ledger,
        gateway: PaymentGateway | None,
        rules: AmountRules,
        guard: CheckoutGuard,
        tokens: SupporterTokens,
    ) -> None:
        self.ledger = ledger
        self.gateway = gateway
        self.rules = rules
        self.guard = guard
        self.tokens = tokens
        # Names the supporter a payment is for (found, or the id they will be registered
        # with) without registering anyone: that waits for Stripe's confirmation.
        self.directory = SupporterDirectory(ledger)

    def fee_for(self, amount: Money, cover_fees: bool) -> Money:
        return self.rules.cover_fee(amount) if cover_fees else Money.zero(amount.currency)

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise PaymentsUnavailableError(
                "payments are not configured (PATRONAGE_STRIPE_SECRET_KEY)"
            )
        return self.gateway

    def start(self, request: CheckoutRequest) -> CheckoutResult:
        gateway = self._gateway()
        fee = self.fee_for(request.amount, request.cover_fees)
        attempt = in_one_transaction(self.ledger, lambda unit: self._open(unit, request, fee))
        if attempt.payment_intent_id or attempt.subscription_id:
            return self.confirm(attempt.id)  # a retry: the payment exists already
        payment = self._guarded_create(gateway, attempt, request)
        in_one_transaction(self.ledger, lambda unit: self._record(unit, attempt.id, payment))
        log.info(
            "checkout_payment_created",
            checkout_id=str(attempt.id),
            frequency=attempt.frequency,
            total=str(attempt.total),
            campaign=attempt.attribution.campaign,
            variant=attempt.attribution.variant,
            status=payment.status,
        )
        return self._result(attempt, payment)

    def confirm(self, checkout_id: UUID) -> CheckoutResult:
        """The checkout's payment as Stripe has it now, with a token once it succeeded.

        The page calls this after Stripe's Payment Element confirmed the payment."""
        gateway = self._gateway()
        attempt = self.ledger.get_or_none(checkout_id, CheckoutAttempt)
        if attempt is None or not (attempt.payment_intent_id or attempt.subscription_id):
            raise LookupError(f"no checkout {checkout_id} with a payment")
        payment = gateway.current(attempt.payment_intent_id, attempt.subscription_id)
        if payment.status == SUCCEEDED and attempt.outcome != SUCCEEDED:
            in_one_transaction(
                self.ledger,
                lambda unit: unit.get_typed(checkout_id, CheckoutAttempt).settle(SUCCEEDED),
            )
        return self._result(attempt, payment)

    def _open(self, unit: UnitOfWork, request: CheckoutRequest, fee: Money) -> CheckoutAttempt:
        """This key's attempt, new or (on a retry) as first made."""
        supporter_id = self.directory.id_for(request.email)
        attempt = unit.get_or_none(checkout_id_for(request.key), CheckoutAttempt)
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
        unit.add(attempt)
        return attempt

    def _guarded_create(
        self, gateway: PaymentGateway, attempt: CheckoutAttempt, request: CheckoutRequest
    ) -> CreatedPayment:
        """The one point where a checkout reaches the provider: the guard decides first, and
        learns what the provider did."""
        guarded = request.payment_attempt(attempt.total)
        decision = self.guard.assess(guarded)
        if decision.verdict == Verdict.REFUSE:
            raise CheckoutRefusedError(decision)
        review = "; ".join(decision.reasons) if decision.verdict == Verdict.HOLD else ""
        try:
            payment = self._create(gateway, attempt, request, review)
        except PaymentRefusedError:
            self.guard.note_declined(guarded)
            raise
        self.guard.note_payment(payment.payment_intent_id or payment.subscription_id, guarded)
        return payment

    def _create(
        self,
        gateway: PaymentGateway,
        attempt: CheckoutAttempt,
        request: CheckoutRequest,
        review: str,
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
                review=review,
            ),
        )
        if request.frequency == Frequency.MONTHLY:
            return gateway.monthly(order)
        return gateway.one_time(order)

    def _record(self, unit: UnitOfWork, checkout_id: UUID, payment: CreatedPayment) -> None:
        """What Stripe made, on the attempt (its customer reaches the supporter with the
        confirmed payment's webhook)."""
        attempt = unit.get_typed(checkout_id, CheckoutAttempt)
        attempt.record_payment(
            payment.payment_intent_id, payment.subscription_id, payment.customer_id
        )
        if payment.status == SUCCEEDED:
            attempt.settle(SUCCEEDED)

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
