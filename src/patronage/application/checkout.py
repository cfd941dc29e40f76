"""Checkout: from a donor's form to a payment at Stripe, once per checkout key.

The card path (docs/asks.md): `start` makes a customer and a SetupIntent that the page
confirms with the card in Stripe.js; `pay` charges the card it saved, once, or starts the
membership with it; `confirm` reads the outcome after the page's 3-D Secure step.

Each step that reaches Stripe does so after validation (at the edge), in units of work
around the call to the payment gateway, which cannot join a database transaction:

1. record the attempt (our idempotency, durable before Stripe is called);
2. ask the card-testing guard (application/card_testing.py) when a new attempt begins, then
   call Stripe, with idempotency keys derived from the attempt id; a payment the guard
   holds carries the reason in its metadata, and its gift waits for staff review;
3. record what Stripe made on the attempt.

The guard decides once per card tried: when `start` opens a card setup (each new card is a
new checkout key, since a declined attempt takes no second charge), or when the test card
pays at once. Its verdict travels on the attempt to the charge; the charge's decline, or the
payment it made, is reported back to it.

Nothing here changes a supporter: anyone may type anyone's email, so the name and email go
into the payment's metadata and take effect when Stripe confirms the payment (its webhook);
an existing supporter's Stripe customer is never reused for a new checkout.

A crash between 2 and 3 leaves an attempt without its payment: the retry with the same key
asks Stripe again with the same idempotency keys, gets the same payment, and records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    SavedCard,
)

log = structlog.get_logger(__name__)


AWAITING_CARD = "requires_payment_method"  # the SetupIntent waits for the page's card
DECLINED = "declined"


class CheckoutRefusedError(Exception):
    """The card-testing guard refused the attempt: `retry_after` seconds to wait when it
    was for volume, 0 when a check (the CAPTCHA) failed. The message is for the reader; the
    guard's reasons (which source) go to the log only."""

    def __init__(self, decision: Decision) -> None:
        if decision.retry_after > 0:
            minutes = max(1, round(decision.retry_after / 60))
            what = (
                "declined payments"
                if "declined" in " ".join(decision.reasons)
                else "payment attempts"
            )
            message = (
                f"There have been too many {what} from here. "
                f"Please try again in {minutes} minute{'s' if minutes > 1 else ''}."
            )
        else:
            message = "The CAPTCHA check did not pass. Please complete it and try again."
        super().__init__(message)
        self.retry_after = decision.retry_after


class CheckoutClosedError(Exception):
    """This checkout's card was declined: another card starts a new checkout."""


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


@dataclass(eq=False)
class Checkout:
    ledger: Ledger
    gateway: PaymentGateway | None
    rules: AmountRules
    guard: CheckoutGuard
    tokens: SupporterTokens
    # PATRONAGE_CHECKOUT_TEST_CARD: `start` pays at once with Stripe's test card, no page.
    pay_with_test_card: bool = False
    # Names the supporter a payment is for (found, or the id they will be registered
    # with) without registering anyone: that waits for Stripe's confirmation.
    directory: SupporterDirectory = field(init=False)

    def __post_init__(self) -> None:
        self.directory = SupporterDirectory(self.ledger)

    def fee_for(self, amount: Money, cover_fees: bool) -> Money:
        return self.rules.cover_fee(amount) if cover_fees else Money.zero(amount.currency)

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise PaymentsUnavailableError(
                "payments are not configured (PATRONAGE_STRIPE_SECRET_KEY)"
            )
        return self.gateway

    def start(self, request: CheckoutRequest) -> CheckoutResult:
        """Open the attempt and a card setup for the page (or, with the test card, pay)."""
        gateway = self._gateway()
        fee = self.fee_for(request.amount, request.cover_fees)
        attempt = in_one_transaction(self.ledger, lambda unit: self._open(unit, request, fee))
        if attempt.payment_intent_id or attempt.subscription_id:
            return self.confirm(attempt.id)  # a retry: the payment exists already
        # A new attempt (a resend of its key is not): the guard counts it and decides.
        review = attempt.review if attempt.setup_intent_id else self._screen(request, attempt)
        if self.pay_with_test_card:
            guarded = request.payment_attempt(attempt.total)
            return self._charge(gateway, attempt, request, None, review, guarded)
        setup = gateway.set_up_card(self._order(attempt, request, review))
        in_one_transaction(
            self.ledger,
            lambda unit: unit.get_typed(attempt.id, CheckoutAttempt).record_card_setup(
                setup.customer_id, setup.setup_intent_id, review
            ),
        )
        waiting = CreatedPayment(
            customer_id=setup.customer_id, client_secret=setup.client_secret, status=AWAITING_CARD
        )
        return self._result(attempt, waiting)

    def pay(self, request: CheckoutRequest, payment_method_id: str) -> CheckoutResult:
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
        if attempt.outcome == DECLINED:
            # One charge per card setup, which the guard counted: a next card starts again.
            raise CheckoutClosedError("this card was declined: start again with another card")
        card = SavedCard(attempt.customer_id, payment_method_id)
        guarded = replace(
            request.payment_attempt(attempt.total), card_fingerprint=gateway.card_fingerprint(card)
        )
        decision = self.guard.assess_card(guarded)  # now that Stripe has named the card
        if decision.verdict == Verdict.REFUSE:
            raise CheckoutRefusedError(decision)
        reasons = [*filter(None, attempt.review.split("; ")), *decision.reasons]
        review = "; ".join(dict.fromkeys(reasons))
        return self._charge(gateway, attempt, request, card, review, guarded)

    def _screen(self, request: CheckoutRequest, attempt: CheckoutAttempt) -> str:
        """The card-testing guard's decision on a new attempt: refused, or the reason its
        gift is held for review (empty: allowed)."""
        decision = self.guard.assess(request.payment_attempt(attempt.total))
        if decision.verdict == Verdict.REFUSE:
            raise CheckoutRefusedError(decision)
        return "; ".join(decision.reasons) if decision.verdict == Verdict.HOLD else ""

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
        review: str,
        guarded: PaymentAttempt,
    ) -> CheckoutResult:
        """The one point where a checkout's money is asked of the provider; the guard learns
        what the provider did."""
        order = self._order(attempt, request, review)
        try:
            if request.frequency == Frequency.MONTHLY:
                payment = gateway.monthly(order, card)
            else:
                payment = gateway.one_time(order, card)
        except PaymentRefusedError as refused:
            log.info("checkout_declined", checkout_id=str(attempt.id), code=refused.code)
            self.guard.note_declined(guarded)
            in_one_transaction(
                self.ledger,
                lambda unit: unit.get_typed(attempt.id, CheckoutAttempt).settle(DECLINED),
            )
            raise
        self.guard.note_payment(payment.payment_intent_id or payment.subscription_id, guarded)
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

    def _order(
        self, attempt: CheckoutAttempt, request: CheckoutRequest, review: str
    ) -> PaymentOrder:
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
                review=review,
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
