"""Staff review of gifts the card-testing guard held: list them, release one (it may then be
receipted), or reject one (refunded at Stripe as fraudulent, never receipted).

Each decision is a `Gift` event saved with the staff action's audit record (the caller runs
it inside `Audit.action`); the refund's money comes back through Stripe's webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.utils import get_topic

from patronage.application.ledger import Ledger, UnitOfWork, in_one_transaction
from patronage.application.ports import PaymentGateway
from patronage.domain.gift import Gift, ReviewState
from patronage.domain.money import Money
from patronage.domain.records import from_attributes

HELD_TOPIC = get_topic(Gift.HeldForReview)  # type: ignore[attr-defined]


class ReviewUnavailableError(Exception):
    """A rejection needs Stripe (to refund), and no Stripe key is configured."""


@dataclass(frozen=True)
class HeldGift:
    gift_id: UUID
    payment_id: str
    supporter_id: UUID
    amount: Money
    received_at: datetime
    kind: str
    campaign: str
    reason: str

    @classmethod
    def of(cls, gift: Gift) -> HeldGift:
        return from_attributes(
            cls,
            gift,
            gift_id=gift.id,
            kind=str(gift.kind),
            campaign=gift.attribution.campaign,
            reason=gift.review_reason,
        )


class GiftReviews:
    def __init__(self, ledger: Ledger, gateway: PaymentGateway | None) -> None:
        self.ledger = ledger
        self.gateway = gateway

    def held(self) -> list[HeldGift]:
        """Gifts waiting for a decision, oldest hold first."""
        found: list[HeldGift] = []
        position = 0
        while batch := self.ledger.recorder.select_notifications(
            position, 500, topics=[HELD_TOPIC], inclusive_of_start=False
        ):
            ids = [UUID(str(n.originator_id)) for n in batch]
            gifts = self.ledger.get_many(ids, Gift)
            for gift in (gifts[i] for i in ids):  # in the order they were held
                if gift.review == ReviewState.HELD:
                    found.append(HeldGift.of(gift))
            position = batch[-1].id
        return found

    def release(self, gift_id: UUID, by: str) -> None:
        """The gift is genuine: it may be receipted from now on."""
        in_one_transaction(
            self.ledger, lambda unit: unit.get_typed(gift_id, Gift).release_from_review(by)
        )

    def reject(self, gift_id: UUID, by: str, reason: str) -> str:
        """The gift is fraudulent: never receipted, and its payment refunded at Stripe.
        Returns the refund's id. Rejecting again asks Stripe again (the same refund), so a
        refund that failed on the way may be completed by repeating the rejection."""

        def reject(unit: UnitOfWork) -> tuple[PaymentGateway, str]:
            gift = unit.get_typed(gift_id, Gift)  # an unknown gift first: 404 before 503
            if self.gateway is None:
                raise ReviewUnavailableError("refunds need Stripe (PATRONAGE_STRIPE_SECRET_KEY)")
            gift.reject_in_review(by, reason)
            return self.gateway, gift.payment_id

        gateway, payment_id = in_one_transaction(self.ledger, reject)
        return gateway.refund_fraudulent(payment_id)
