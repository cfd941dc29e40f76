"""A member's own changes to their membership: amount, pause, resume, cancel, card.

Each is checked against the ledger (the membership must be this supporter's, and in a state
the change makes sense for), then sent to Stripe, and nothing more: the ledger records the
change when Stripe's webhook reports it, so it never says something Stripe does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from patronage.application.clock import Clock, utc_now
from patronage.application.identity import SupporterDirectory
from patronage.application.ledger import Ledger, UnitOfWork
from patronage.application.ports import MembershipGateway
from patronage.domain.errors import DomainError, MembershipEndedError
from patronage.domain.membership import Membership, MembershipStatus
from patronage.domain.money import Money

MAX_PAUSE_MONTHS = 3
# A month of pause, as Stripe counts it in seconds from now.
_MONTH = timedelta(days=30)


class NotYourMembershipError(LookupError):
    """No such membership, or it is someone else's: the same answer for both."""


@dataclass(eq=False)
class MembershipChanges:
    ledger: Ledger
    gateway: MembershipGateway | None
    clock: Clock = utc_now

    def owned(self, supporter_id: UUID, membership_id: UUID) -> Membership:
        """The membership, if it belongs to this supporter (or to a record merged into
        them); NotYourMembershipError otherwise."""
        unit = UnitOfWork(self.ledger)
        membership = unit.get_or_none(membership_id, Membership)
        if membership is not None:
            owner = SupporterDirectory(self.ledger).find(unit, membership.supporter_id, "")
            if owner is not None and owner.id == supporter_id:
                return membership
        raise NotYourMembershipError("no such membership for this supporter")

    def _live(
        self, supporter_id: UUID, membership_id: UUID
    ) -> tuple[Membership, MembershipGateway]:
        membership = self.owned(supporter_id, membership_id)
        if membership.is_cancelled:
            raise MembershipEndedError("this membership has ended")
        if self.gateway is None:
            raise DomainError("memberships cannot be changed here: no Stripe key is configured")
        return membership, self.gateway

    def change_amount(self, supporter_id: UUID, membership_id: UUID, amount: Money) -> None:
        membership, gateway = self._live(supporter_id, membership_id)
        if amount.currency != membership.monthly_amount.currency:
            raise DomainError(f"the amount must be in {membership.monthly_amount.currency}")
        if amount == membership.monthly_amount:
            raise DomainError(f"the membership is {amount} already")
        gateway.change_amount(membership.subscription_id, amount)

    def pause(self, supporter_id: UUID, membership_id: UUID, months: int) -> datetime:
        """Pause for 1 to 3 months; returns when collection resumes."""
        if not 1 <= months <= MAX_PAUSE_MONTHS:
            raise DomainError(f"a pause lasts 1 to {MAX_PAUSE_MONTHS} months")
        membership, gateway = self._live(supporter_id, membership_id)
        if membership.status != MembershipStatus.ACTIVE:
            raise DomainError("only an active membership can be paused")
        resumes_at = self.clock() + months * _MONTH
        gateway.pause(membership.subscription_id, resumes_at)
        return resumes_at

    def resume(self, supporter_id: UUID, membership_id: UUID) -> None:
        """End a pause, or keep a membership whose cancellation was scheduled."""
        membership, gateway = self._live(supporter_id, membership_id)
        if membership.status not in (
            MembershipStatus.PAUSED,
            MembershipStatus.CANCELLATION_SCHEDULED,
        ):
            raise DomainError("the membership is neither paused nor ending")
        gateway.resume(membership.subscription_id)

    def cancel_at_period_end(self, supporter_id: UUID, membership_id: UUID) -> None:
        membership, gateway = self._live(supporter_id, membership_id)
        if membership.status == MembershipStatus.CANCELLATION_SCHEDULED:
            raise DomainError("the membership already ends at the end of this period")
        gateway.cancel_at_period_end(membership.subscription_id)

    def linked(self, membership_id: UUID) -> Membership:
        """The membership a cancellation link names (the link, signed by us, is the
        authority); NotYourMembershipError if there is none."""
        membership = self.ledger.get_or_none(membership_id, Membership)
        if membership is None:
            raise NotYourMembershipError("no such membership")
        return membership

    def cancel_now(self, membership_id: UUID) -> Membership:
        """The one-click cancellation from an email: the link itself is the authority (it
        names exactly this membership, signed by us). Stops every future payment."""
        membership = self.linked(membership_id)
        if membership.is_cancelled:
            return membership
        if self.gateway is None:
            raise DomainError("memberships cannot be changed here: no Stripe key is configured")
        self.gateway.cancel_now(membership.subscription_id)
        return membership

    def card_page(self, supporter_id: UUID, membership_id: UUID, return_url: str) -> str:
        membership, gateway = self._live(supporter_id, membership_id)
        return gateway.card_page(membership.subscription_id, return_url)
