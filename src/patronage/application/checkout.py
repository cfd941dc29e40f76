"""Checkout: from a donor's form to a payment at Stripe, once per checkout key.

The card path (docs/asks.md): `start` makes a customer and a SetupIntent that the page
confirms with the card in Stripe.js; `pay` charges the card it saved, once, or starts the
membership with it; `confirm` reads the outcome after the page's 3-D Secure step.

Each step that reaches Stripe does so after validation (the API's) and the rate limits
(only attempts that reach the payment provider count), in units of work around the call
to the payment gateway, which cannot join a database transaction:

1. record the attempt (our idempotency, durable before Stripe is called);
2. call Stripe, with idempotency keys derived from the attempt id;
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

from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.application.ports import PaymentGateway
from patronage.application.ratelimit import RateLimiter
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
    SavedCard,
)

log = structlog.get_logger(__name__)


AWAITING_CARD = "requires_payment_method"  # the SetupIntent waits for the page's card
DECLINED = "declined"


class RateLimitedError(Exception):
    def __init__(self, retry_after: float) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            "There have been too many payment attempts from this connection. "
            f"Please try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
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
class Client:
    """Who is asking, as the rate limits count them: the address and the page's reader id."""

    ip: str
    reader_id: str


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

    def admit(self, client: Client) -> None:
        """Count one attempt that reaches the payment provider; a refused one counts nowhere,
        so one browser's refusals leave the rest of its address's budget to others."""
        counted = [
            (limiter, key)
            for limiter, key in ((self.per_ip, client.ip), (self.per_reader, client.reader_id))
            if key
        ]
        waits = [w for limiter, key in counted if (w := limiter.wait(key)) is not None]
        if waits:
            raise RateLimitedError(max(waits))
        for limiter, key in counted:
            limiter.hit(key)


class Checkout:
    def __init__(
        self,
        ledger: Ledger,
        gateway: PaymentGateway | None,
        rules: AmountRules,
        limits: Limits,
        tokens: SupporterTokens,
        pay_with_test_card: bool = False,
    ) -> None:
        self.ledger = ledger
        self.gateway = gateway
        self.rules = rules
        self.limits = limits
        self.tokens = tokens
        # PATRONAGE_CHECKOUT_TEST_CARD: `start` pays at once with Stripe's test card, no page.
        self.pay_with_test_card = pay_with_test_card
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

    def start(self, request: CheckoutRequest, client: Client) -> CheckoutResult:
        """Open the attempt and a card setup for the page (or, with the test card, pay)."""
        gateway = self._gateway()
        fee = self.fee_for(request.amount, request.cover_fees)
        if self.ledger.get_or_none(checkout_id_for(request.key), CheckoutAttempt) is None:
            self.limits.admit(client)  # a new attempt will reach Stripe; a resend does not count
        attempt = in_one_transaction(self.ledger, lambda unit: self._open(unit, request, fee))
        if attempt.payment_intent_id or attempt.subscription_id:
            return self.confirm(attempt.id)  # a retry: the payment exists already
        if self.pay_with_test_card:
            return self._charge(gateway, attempt, request, None)
        setup = gateway.set_up_card(self._order(attempt, request))
        in_one_transaction(
            self.ledger,
            lambda unit: unit.get_typed(attempt.id, CheckoutAttempt).record_card_setup(
                setup.customer_id, setup.setup_intent_id
            ),
        )
        waiting = CreatedPayment(
            customer_id=setup.customer_id, client_secret=setup.client_secret, status=AWAITING_CARD
        )
        return self._result(attempt, waiting)

    def pay(
        self, request: CheckoutRequest, payment_method_id: str, client: Client
    ) -> CheckoutResult:
        """Charge the card the page saved with this checkout's SetupIntent, once (a resend
        finds the payment), or start the membership with it."""
        gateway = self._gateway()
        fee = self.fee_for(request.amount, request.cover_fees)
        attempt = self.ledger.get_or_none(checkout_id_for(request.key), CheckoutAttempt)
        if attempt is None or not attempt.setup_intent_id:
            raise LookupError("no card setup for this checkout: start it first")
        attempt.check_same(
            self.directory.id_for(request.email), request.frequency.value, request.amount, fee
        )
        if attempt.payment_intent_id or attempt.subscription_id:
            return self.confirm(attempt.id)
        self.limits.admit(client)  # every charge reaches Stripe: a run of them is card testing
        # Card-testing controls (per email and card, review holds) belong here, before Stripe.
        card = SavedCard(attempt.customer_id, payment_method_id)
        return self._charge(gateway, attempt, request, card)

    def confirm(self, checkout_id: UUID) -> CheckoutResult:
        """The checkout's payment as Stripe has it now, with a token once it succeeded.

        The page calls this after its 3-D Secure step (Stripe.js `confirmCardPayment`)."""
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

    def _charge(
        self,
        gateway: PaymentGateway,
        attempt: CheckoutAttempt,
        request: CheckoutRequest,
        card: SavedCard | None,
    ) -> CheckoutResult:
        order = self._order(attempt, request)
        try:
            if request.frequency == Frequency.MONTHLY:
                payment = gateway.monthly(order, card)
            else:
                payment = gateway.one_time(order, card)
        except PaymentRefusedError as refused:
            log.info("checkout_declined", checkout_id=str(attempt.id), code=refused.code)
            in_one_transaction(
                self.ledger,
                lambda unit: unit.get_typed(attempt.id, CheckoutAttempt).settle(DECLINED),
            )
            raise
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

    def _order(self, attempt: CheckoutAttempt, request: CheckoutRequest) -> PaymentOrder:
        return PaymentOrder(
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
