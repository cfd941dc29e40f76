"""The webhook inbox: record each Stripe event once, then apply it to the ledger once.

`receive` is what the webhook endpoint calls, after verifying the signature: it records the
event (one save; a repeated delivery collides on the event id and records nothing) and then
applies it: translation to commands, the commands' effect and the inbox event's Applied mark
are saved in one transaction. An event whose counterpart is not in the ledger yet (a refund
before its payment) is parked under that counterpart's key and applied as soon as a command
provides the key. Transient failures (the database) propagate, so the endpoint answers
non-2xx and Stripe delivers again; the recorded event is then applied on that delivery.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import structlog
from anyio import to_thread
from eventsourcing.persistence import IntegrityError, PersistenceError
from eventsourcing.utils import get_topic

from patronage.application.batching import CommitBatcher
from patronage.application.giving import CounterpartMissingError, Giving
from patronage.application.identity import concerns_erased
from patronage.application.ledger import (
    EventsCommitter,
    Ledger,
    MissingReadError,
    PreloadedUnit,
    UnitOfWork,
    in_one_transaction,
    last_position,
    newest_first,
)
from patronage.application.sealing import payload_subject
from patronage.domain.commands import (
    GivingCommand,
    LinkInvoicePayment,
    RecordGift,
    RecordMembershipPayment,
    RecordRefund,
    RecordUnattributedPayment,
    SupporterDetails,
    UpdateCustomer,
    subscription_of,
    supporter_details_of,
    with_supporter_details,
)
from patronage.domain.errors import RefundExceedsPaymentError
from patronage.domain.gift import Gift, PaymentLink, gift_id_for, payment_link_id_for
from patronage.domain.inbox import (
    InboxEvent,
    InboxStatus,
    Waitlist,
    inbox_event_id_for,
    waitlist_id_for,
)
from patronage.domain.money import Money
from patronage.domain.records import from_attributes
from patronage.domain.supporter import is_email, supporter_id_for
from patronage.domain.unattributed import ReviewStatus, UnattributedPayment
from patronage.payments.lookups import LookupUnavailableError, StripeLookups
from patronage.payments.reduction import reduced_payload_json
from patronage.payments.translate import Ignore, UntranslatableEventError, translate

log = structlog.get_logger(__name__)

T = TypeVar("T")

# The event classes that @event("Received") and @event("Opened") made on the aggregates.
RECEIVED_TOPIC = get_topic(vars(InboxEvent)["Received"])
WAITLIST_TOPIC = get_topic(vars(Waitlist)["Opened"])
UNATTRIBUTED_TOPIC = get_topic(vars(UnattributedPayment)["Noted"])

# A command run on what was read before it (PreloadedUnit) reads more at most this many
# times: a returning supporter's claim names the supporter, read in a second round.
MAX_READ_ROUNDS = 3

# Parking re-checks the counterpart once after the park is saved, so that a counterpart
# committed concurrently is never missed; a chain of different missing keys is followed
# this many times before the event stays parked.
# Asking Stripe for what a payload lacks takes a round of its own.
MAX_PARKING_ROUNDS = 6


class InvalidStripeEventError(ValueError):
    """A verified body that is not a Stripe snapshot event (no id, type, time or object)."""


@dataclass(frozen=True)
class InboxOutcome:
    event_id: str
    event_type: str
    status: InboxStatus
    detail: str
    duplicate: bool
    position: int | None = None  # where its effect is in the log, when saved just now


@dataclass(frozen=True)
class InboxEventFacts:
    """What staff see of an inbox event, in the list and alone."""

    event_id: str
    event_type: str
    status: InboxStatus
    detail: str
    stripe_created: datetime
    recorded_at: datetime
    updated_at: datetime
    livemode: bool
    api_version: str
    source: str


Facts = TypeVar("Facts", bound=InboxEventFacts)


def _with_facts(shape: type[Facts], inbox_event: InboxEvent, **more: Any) -> Facts:
    """A record of a recorded event's InboxEventFacts, and `more`."""
    return from_attributes(
        shape,
        inbox_event,
        stripe_created=inbox_event.created,
        recorded_at=inbox_event.created_on,
        updated_at=inbox_event.modified_on,
        **more,
    )


@dataclass(frozen=True)
class InboxEntry(InboxEventFacts):
    """One inbox event in the list."""

    position: int  # where it was recorded in the event log: newer is larger

    @classmethod
    def of(cls, position: int, inbox_event: InboxEvent) -> InboxEntry:
        return _with_facts(cls, inbox_event, position=position)


@dataclass(frozen=True)
class InboxPage:
    entries: list[InboxEntry]
    next_before: int | None  # pass as `before` for the next (older) page


@dataclass(frozen=True)
class WaitingKey:
    key: str
    event_ids: list[str]


@dataclass(frozen=True)
class ParkedEntry:
    """An event parked for a while: what it waits for and since when."""

    event_id: str
    event_type: str
    waiting_for: str
    stripe_created: datetime
    parked_since: datetime
    age_seconds: int

    @classmethod
    def of(cls, event_id: str, parked: InboxEvent, age: timedelta) -> ParkedEntry:
        return from_attributes(
            cls,
            parked,
            event_id=event_id,
            stripe_created=parked.created,
            parked_since=parked.modified_on,
            age_seconds=int(age.total_seconds()),
        )


@dataclass(frozen=True)
class UnbookedPayment:
    """Money without our metadata, waiting for staff."""

    payment_id: str
    amount: Money
    received_at: datetime
    email: str
    name: str
    stripe_customer_id: str
    source: str
    noted_at: datetime

    @classmethod
    def of(cls, noted: UnattributedPayment) -> UnbookedPayment:
        return from_attributes(cls, noted, noted_at=noted.created_on)


@dataclass(frozen=True)
class HistoryItem:
    event: str  # Received, Parked, Applied, ...
    at: datetime
    detail: str


@dataclass(frozen=True)
class InboxEventDetail(InboxEventFacts):
    """One inbox event with its history and the payload as Stripe sent it."""

    history: list[HistoryItem]
    payload: dict[str, Any]


def validate_event(event: object) -> Mapping[str, Any]:
    """The event if it looks like a Stripe snapshot event, else InvalidStripeEventError."""
    if not isinstance(event, Mapping):
        raise InvalidStripeEventError("the body is not a JSON object")
    event_id, event_type, created = event.get("id"), event.get("type"), event.get("created")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 255:
        raise InvalidStripeEventError("the event has no id")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidStripeEventError("the event has no type")
    if type(created) is not int or created <= 0:
        raise InvalidStripeEventError("the event has no creation time")
    data = event.get("data")
    if not isinstance(data, Mapping) or not isinstance(data.get("object"), Mapping):
        raise InvalidStripeEventError("the event carries no data.object (a thin event?)")
    return event


def provided_keys(command: GivingCommand, identity_key: bytes) -> list[str]:
    """What a command puts in the ledger that a parked event may be waiting for: the keys of
    CounterpartMissingError ("payment:<id>", "subscription:<id>", "customer:<id>",
    "supporter:<id>") and "refund-reversal:<id>". A link from a PaymentIntent to its invoice
    provides "payment:<PaymentIntent id>": what waits for it is tried again and, if the
    invoice is not booked yet, waits for that."""
    keys: list[str] = []
    if isinstance(command, RecordGift | LinkInvoicePayment | RecordUnattributedPayment):
        keys.append(f"payment:{command.payment_id}")
    elif isinstance(command, RecordMembershipPayment):
        keys += [f"payment:{command.payment_id}", f"payment:{command.invoice_id}"]
    elif isinstance(command, RecordRefund) and not command.succeeded:
        keys.append(f"refund-reversal:{command.payment_id}")
    if subscription := subscription_of(command):
        keys.append(f"subscription:{subscription}")
    supporter = supporter_details_of(command)
    if supporter is not None and not isinstance(command, UpdateCustomer):
        if supporter.stripe_customer_id:
            keys.append(f"customer:{supporter.stripe_customer_id}")
        if supporter.supporter_id is not None:
            keys.append(f"supporter:{supporter.supporter_id}")
        if is_email(supporter.email):
            keys.append(f"supporter:{supporter_id_for(identity_key, supporter.email)}")
    return list(dict.fromkeys(keys))


def _completed_from(found: SupporterDetails, details: SupporterDetails) -> SupporterDetails:
    """Details without an email, filled in from the retrieved customer they name."""
    if "@" in details.email or details.stripe_customer_id != found.stripe_customer_id:
        return details
    return replace(
        details,
        email=found.email,
        name=details.name or found.name,
        address=found.address if details.address.is_empty() else details.address,
        supporter_id=details.supporter_id or found.supporter_id,
    )


def _waiting_key(error: Exception, commands: list[GivingCommand]) -> str | None:
    """The key an event must wait for, when `error` means "not yet" rather than "never"."""
    if isinstance(error, CounterpartMissingError):
        return error.key
    if isinstance(error, RefundExceedsPaymentError):
        # Stripe never refunds more than was paid: another refund's failure is on its way.
        payment = next((c.payment_id for c in commands if isinstance(c, RecordRefund)), None)
        return f"refund-reversal:{payment}" if payment else None
    return None


class Inbox:
    def __init__(
        self,
        ledger: Ledger,
        giving: Giving,
        lookups: StripeLookups | None = None,
        commits: CommitBatcher | None = None,
    ) -> None:
        self.ledger = ledger
        self.giving = giving
        self.lookups = lookups  # None: no Stripe key configured, so parked events only wait
        # Concurrent deliveries' saves share a transaction (application/batching.py).
        self._commits = commits
        self._commit: EventsCommitter = (
            commits.commit
            if commits is not None
            else lambda events: last_position(ledger.save(*events))
        )

    def _in_one_transaction(self, work: Callable[[UnitOfWork], T]) -> T:
        return in_one_transaction(self.ledger, work, self._commit)

    # Recording -----------------------------------------------------------------------------

    def receive(
        self, payload_json: str, event: Mapping[str, Any], source: str = "webhook"
    ) -> InboxOutcome:
        """Record a verified event and apply it; safe to call again with the same event."""
        # A new InboxEvent each time: a failed save has taken the events out of the last.
        received = partial(self._received, payload_json, event, source)
        applied = received()
        try:
            position = self._record_and_apply(applied)
        except PersistenceError:
            self._keep(received)
            raise
        return self._outcome(received, applied, position, source)

    async def receive_batched(
        self, payload_json: str, event: Mapping[str, Any], source: str = "webhook"
    ) -> InboxOutcome:
        """`receive`, for an event loop: the common case's reads and save are batched with
        other deliveries' by the committer (application/batching.py), and anything else
        runs the step-by-step way in a worker thread."""
        if self._commits is None:
            return await to_thread.run_sync(self.receive, payload_json, event, source)
        received = partial(self._received, payload_json, event, source)
        applied = received()
        try:
            position = await self._record_and_apply_batched(applied, self._commits)
        except PersistenceError:
            await to_thread.run_sync(self._keep, received)
            raise
        if position is None:
            return await to_thread.run_sync(self._outcome, received, applied, None, source)
        return self._outcome(received, applied, position, source)

    def _keep(self, received: Callable[[], InboxEvent]) -> None:
        """After a failed save: keep the event if the store lets us now, as recording it
        first would have: it is applied on the next delivery, or by the sweep."""
        self._record(received())

    def _outcome(
        self,
        received: Callable[[], InboxEvent],
        applied: InboxEvent,
        position: int | None,
        source: str,
    ) -> InboxOutcome:
        """What became of the event: applied at `position` in one save, or else recorded
        and applied step by step now."""
        if position is not None:
            inbox_event, is_new = applied, True
        else:
            is_new = self._record(received())
            inbox_event = self.process(applied.event_id)
        outcome = InboxOutcome(
            event_id=inbox_event.event_id,
            event_type=inbox_event.event_type,
            status=inbox_event.status,
            detail=inbox_event.detail,
            duplicate=not is_new,
            position=position,
        )
        log.info(
            "stripe_event_received",
            event_id=outcome.event_id,
            event_type=outcome.event_type,
            status=str(outcome.status),
            detail=outcome.detail,
            duplicate=outcome.duplicate,
            source=source,
        )
        return outcome

    def record(self, payload_json: str, event: Mapping[str, Any], source: str = "webhook") -> bool:
        """Keep the event in the inbox; False when it was there already."""
        return self._record(self._received(payload_json, event, source))

    @staticmethod
    def _received(payload_json: str, event: Mapping[str, Any], source: str) -> InboxEvent:
        validate_event(event)
        api_version = event.get("api_version")
        return InboxEvent(
            event_id=event["id"],
            event_type=event["type"],
            api_version=api_version if isinstance(api_version, str) else "",
            livemode=event.get("livemode") is True,
            created=datetime.fromtimestamp(event["created"], UTC),
            payload_json=payload_json,
            source=source,
        )

    def _record(self, inbox_event: InboxEvent) -> bool:
        if self.ledger.exists(inbox_event.id):
            return False  # a redelivery: found by a read, without taking the write lock
        try:
            self._commit(inbox_event.collect_events())
        except IntegrityError:
            if self.ledger.exists(inbox_event.id):
                return False
            raise
        return True

    def _record_and_apply(self, received: InboxEvent) -> int | None:
        """The common case in one save: a new event whose effect applies at once, recorded
        with that effect, after one query for what it reads. Returns the log position of the
        save, or None, having saved nothing, when the event needs the step-by-step way: a
        redelivery, a concurrent save, an event that is ignored, fails, waits for its
        counterpart, needs Stripe asked, or concerns an erased person."""
        translation = self._at_once(received)
        if translation is None:
            return None
        unit = UnitOfWork(self.ledger)
        unit.prefetch(self._reads(received, translation))
        events = self._applied_events(unit, received, translation)
        if events is None:
            return None
        try:
            position = self._commit(events)
        except IntegrityError:
            return None
        self._release(self._provided(translation), set())
        return position

    async def _record_and_apply_batched(
        self, received: InboxEvent, commits: CommitBatcher
    ) -> int | None:
        """`_record_and_apply` with its reads and save awaited: what it reads is read
        before it runs (again, with what it missed, should it read more), and the
        waitlists of what it provides are looked at in its save's own transaction."""
        translation = self._at_once(received)
        if translation is None:
            return None
        ids = self._reads(received, translation)
        for _ in range(MAX_READ_ROUNDS):
            unit = PreloadedUnit(self.ledger, ids, await commits.read(ids))
            try:
                events = self._applied_events(unit, received, translation)
                break
            except MissingReadError as missing:
                ids = [*ids, *missing.ids]
        else:
            return None
        if events is None:
            return None
        provided = self._provided(translation)
        try:
            saved = await commits.save(events, [waitlist_id_for(k) for k in provided])
        except IntegrityError:
            return None
        if provided and saved.present != frozenset():
            await to_thread.run_sync(self._release, provided, set())
        return saved.position

    @staticmethod
    def _at_once(received: InboxEvent) -> list[GivingCommand] | None:
        """The event's commands, when it may apply in one save with its recording."""
        try:
            translation = translate(received.payload)
        except ValueError:  # untranslatable: recorded, then marked failed
            return None
        if isinstance(translation, Ignore) or any(
            isinstance(command, RecordUnattributedPayment) for command in translation
        ):
            return None
        return translation

    def _reads(self, received: InboxEvent, translation: list[GivingCommand]) -> list[UUID]:
        needed = [i for command in translation for i in self.giving.ids_to_read(command)]
        return [received.id, *needed]

    def _provided(self, translation: list[GivingCommand]) -> list[str]:
        secret = self.ledger.identity_key
        return [key for command in translation for key in provided_keys(command, secret)]

    def _applied_events(
        self, unit: UnitOfWork, received: InboxEvent, translation: list[GivingCommand]
    ) -> list[Any] | None:
        """The new events of the event's recording and effect, applied in `unit`; None
        when it needs the step-by-step way."""
        if unit.exists(received.id):
            return None
        unit.add(received)
        try:
            outcomes = [self.giving.apply(unit, command) for command in translation]
        except (PersistenceError, MissingReadError):
            raise
        except Exception:  # parking or failing is recorded step by step
            return None
        if concerns_erased(unit):
            return None
        received.mark_applied("; ".join(outcomes))
        return unit.collect_events()

    # Applying ------------------------------------------------------------------------------

    def get(self, event_id: str) -> InboxEvent | None:
        return self.ledger.get_or_none(inbox_event_id_for(event_id), InboxEvent)

    def process(self, event_id: str, *, force: bool = False) -> InboxEvent:
        """Apply a recorded event unless it was dealt with already (`force` applies it again,
        through the current translation; the commands are idempotent). Parked events whose
        counterpart this provides are applied right after."""
        inbox_event, provided = self._process_one(event_id, force)
        self._release(provided, {event_id})
        return inbox_event

    def _release(self, provided: list[str], done: set[str]) -> None:
        """Apply the events parked under the `provided` keys, and in turn those parked under
        what they provide (`done`: the events applied already)."""
        pending = deque(self._parked_under(provided))
        while pending:
            current = pending.popleft()
            if current in done:
                continue
            done.add(current)
            released, more = self._process_one(current, False)
            if released.status == InboxStatus.PARKED:
                # Parked anew under another key (a refund waiting for another's failure):
                # an event later in this same round may provide it.
                done.discard(current)
            pending.extend(self._parked_under(more))

    def _parked_under(self, keys: list[str]) -> list[str]:
        # Every waitlist of the keys in one query (most keys have none).
        waitlists = self.ledger.get_many([waitlist_id_for(k) for k in keys], Waitlist)
        return [parked for waitlist in waitlists.values() for parked in waitlist.event_ids]

    @staticmethod
    def _due(inbox_event: InboxEvent, force: bool) -> bool:
        if inbox_event.status == InboxStatus.SKIPPED:
            return False  # an admin's decision: not a redelivery, the sweep or a replay undoes it
        return force or inbox_event.status in (InboxStatus.RECEIVED, InboxStatus.PARKED)

    def _process_one(self, event_id: str, force: bool) -> tuple[InboxEvent, list[str]]:
        inbox_event = self.ledger.get_typed(inbox_event_id_for(event_id), InboxEvent)
        if not self._due(inbox_event, force):
            # Applied before: a redelivery still releases what waits on it, since the
            # release that followed its first application may have failed.
            return inbox_event, self._provided_by(inbox_event)
        try:
            translation = translate(inbox_event.payload)
        except (UntranslatableEventError, ValueError) as error:
            problem = f"untranslatable: {error}"
            return self._mark(event_id, force, partial(InboxEvent.fail, error=problem)), []
        if isinstance(translation, Ignore):
            ignored = partial(InboxEvent.ignore, reason=translation.reason)
            return self._mark(event_id, force, ignored), []
        translation = [self._invoice_checked(command) for command in translation]
        parked_under: str | None = None
        asked: set[str] = set()
        for _ in range(MAX_PARKING_ROUNDS):
            try:
                applied = self._apply(event_id, translation, force)
            except PersistenceError:
                raise  # transient: the caller answers non-2xx and Stripe delivers again
            except Exception as error:
                key = _waiting_key(error, translation)
                if key is None:
                    log.warning("stripe_event_failed", event_id=event_id, error=repr(error))
                    problem = f"{type(error).__name__}: {error}"
                    return self._mark(event_id, force, partial(InboxEvent.fail, error=problem)), []
                if key not in asked:
                    asked.add(key)
                    completed = self._ask_stripe(key, translation)
                    if completed is not None:
                        translation = completed
                        continue
                if key == parked_under:
                    # Checked again after parking: still missing, so it waits.
                    return self.ledger.get_typed(inbox_event_id_for(event_id), InboxEvent), []
                parked_under = key
                self._park(event_id, key)
                continue
            secret = self.ledger.identity_key
            return applied, [key for c in translation for key in provided_keys(c, secret)]
        return self.ledger.get_typed(inbox_event_id_for(event_id), InboxEvent), []

    def _provided_by(self, inbox_event: InboxEvent) -> list[str]:
        if inbox_event.status != InboxStatus.APPLIED:
            return []
        try:
            translation = translate(inbox_event.payload)
        except ValueError:
            return []
        if isinstance(translation, Ignore):
            return []
        secret = self.ledger.identity_key
        return [key for c in translation for key in provided_keys(c, secret)]

    def _ask_stripe(self, key: str, commands: list[GivingCommand]) -> list[GivingCommand] | None:
        """The commands completed with what Stripe knows about the missing `key`, or None
        when Stripe cannot tell (or is not configured, or is unreachable: then it waits)."""
        if self.lookups is None:
            return None
        kind, _, value = key.partition(":")
        try:
            if kind in ("subscription", "customer"):
                return self._with_customers(self.lookups, commands)
            if kind == "payment" and not value.startswith("in_"):
                # Since basil a PaymentIntent names no invoice; a renewal's refund or
                # dispute finds its gift through the invoice Stripe says it paid.
                invoice_id = self.lookups.invoice_paid_by(value)
                if invoice_id:
                    return [LinkInvoicePayment(invoice_id=invoice_id, payment_id=value), *commands]
        except LookupUnavailableError as error:
            log.warning("stripe_lookup_unavailable", waiting_for=key, error=str(error))
        return None

    def _invoice_checked(self, command: GivingCommand) -> GivingCommand:
        """Money without our metadata, once Stripe says whether an invoice owns it: a link to
        that invoice (booked from the invoice), or the payment marked as no invoice's."""
        if not isinstance(command, RecordUnattributedPayment) or command.no_invoice:
            return command
        if self.lookups is None:
            return command
        try:
            invoice_id = self.lookups.invoice_paid_by(command.payment_id)
        except LookupUnavailableError as error:
            log.warning("stripe_lookup_unavailable", payment=command.payment_id, error=str(error))
            return command  # staff will see it
        if invoice_id:
            return LinkInvoicePayment(invoice_id=invoice_id, payment_id=command.payment_id)
        return replace(command, no_invoice=True)

    @staticmethod
    def _with_customers(
        lookups: StripeLookups, commands: list[GivingCommand]
    ) -> list[GivingCommand] | None:
        nameless = {
            details.stripe_customer_id
            for command in commands
            if (details := supporter_details_of(command)) is not None
            and details.stripe_customer_id
            and "@" not in details.email
        }
        completed = list(commands)
        for customer_id in sorted(nameless):
            found = lookups.customer(customer_id)
            if found is not None and "@" in found.email:
                fill = partial(_completed_from, found)
                completed = [with_supporter_details(command, fill) for command in completed]
        return completed if completed != commands else None

    def _apply(self, event_id: str, commands: list[GivingCommand], force: bool) -> InboxEvent:
        def work(unit: UnitOfWork) -> InboxEvent:
            inbox_event = unit.get_typed(inbox_event_id_for(event_id), InboxEvent)
            if not self._due(inbox_event, force):
                return inbox_event  # a concurrent delivery applied it first
            outcomes = [self.giving.apply(unit, command) for command in commands]
            self._leave_waitlist(unit, inbox_event)
            inbox_event.mark_applied("; ".join(outcomes))
            if concerns_erased(unit):
                # The money is booked; the person asked to be forgotten: keep no more of
                # them than the books need (docs/personal-data.md).
                inbox_event.reduce_payload(reduced_payload_json(inbox_event.payload))
            return inbox_event

        applied = self._in_one_transaction(work)
        if applied.payload_reduced:
            self.ledger.keys.delete(payload_subject(applied.id))
        return applied

    def _park(self, event_id: str, key: str) -> None:
        def work(unit: UnitOfWork) -> bool:
            inbox_event = unit.get_typed(inbox_event_id_for(event_id), InboxEvent)
            if inbox_event.waiting_for == key:
                return False
            self._leave_waitlist(unit, inbox_event)
            waitlist = unit.get_or_none(waitlist_id_for(key), Waitlist)
            if waitlist is None:
                waitlist = Waitlist(key=key)
                unit.add(waitlist)
            waitlist.add(event_id)
            inbox_event.park(key)
            return True

        if self._in_one_transaction(work):
            log.info("stripe_event_parked", event_id=event_id, waiting_for=key)

    def _mark(self, event_id: str, force: bool, change: Callable[[InboxEvent], None]) -> InboxEvent:
        def work(unit: UnitOfWork) -> InboxEvent:
            inbox_event = unit.get_typed(inbox_event_id_for(event_id), InboxEvent)
            if self._due(inbox_event, force):
                self._leave_waitlist(unit, inbox_event)
                change(inbox_event)
            return inbox_event

        return self._in_one_transaction(work)

    @staticmethod
    def _leave_waitlist(unit: UnitOfWork, inbox_event: InboxEvent) -> None:
        if inbox_event.waiting_for:
            waitlist = unit.get_or_none(waitlist_id_for(inbox_event.waiting_for), Waitlist)
            if waitlist is not None:
                waitlist.remove(inbox_event.event_id)

    # Reading -------------------------------------------------------------------------------

    def _inbox_event_at(self, originator_id: Any) -> InboxEvent:
        return self.ledger.get_typed(UUID(str(originator_id)), InboxEvent)

    def event_ids(self, statuses: Iterable[InboxStatus] = ()) -> Iterator[str]:
        """Every recorded event id, oldest first, optionally only those in `statuses`."""
        wanted = set(statuses)
        for notification in self._notifications(RECEIVED_TOPIC):
            if wanted:
                inbox_event = self._inbox_event_at(notification.originator_id)
                if inbox_event.status in wanted:
                    yield inbox_event.event_id
            else:  # the Received event alone names it: no need to rebuild the aggregate
                yield self.ledger.mapper.to_domain_event(notification).event_id  # type: ignore[attr-defined]

    def entries(
        self,
        *,
        before: int | None = None,
        limit: int = 50,
        status: InboxStatus | None = None,
        event_type: str | None = None,
    ) -> InboxPage:
        """Inbox events, newest first, optionally filtered; page on with `next_before`."""
        found: list[InboxEntry] = []
        for notification in newest_first(self.ledger, RECEIVED_TOPIC, before):
            inbox_event = self._inbox_event_at(notification.originator_id)
            if status is not None and inbox_event.status != status:
                continue
            if event_type and inbox_event.event_type != event_type:
                continue
            found.append(InboxEntry.of(notification.id, inbox_event))
            if len(found) == limit:
                break
        next_before = found[-1].position if len(found) == limit and found[-1].position > 1 else None
        return InboxPage(entries=found, next_before=next_before)

    def waiting(self) -> list[WaitingKey]:
        """Every counterpart that parked events wait for, with their event ids."""
        result: list[WaitingKey] = []
        for notification in self._notifications(WAITLIST_TOPIC):
            waitlist = self.ledger.get_typed(UUID(str(notification.originator_id)), Waitlist)
            if waitlist.event_ids:
                result.append(WaitingKey(key=waitlist.key, event_ids=list(waitlist.event_ids)))
        return result

    def parked(self, older_than: timedelta = timedelta(0)) -> list[ParkedEntry]:
        """Events parked at least `older_than`, the longest waiting first."""
        now = datetime.now(UTC)
        found: list[ParkedEntry] = []
        for waiting in self.waiting():
            for event_id in waiting.event_ids:
                inbox_event = self.get(event_id)
                if inbox_event is None or inbox_event.status != InboxStatus.PARKED:
                    continue
                age = now - inbox_event.modified_on
                if age >= older_than:
                    found.append(ParkedEntry.of(event_id, inbox_event, age))
        return sorted(found, key=lambda entry: entry.parked_since)

    def unbooked(self) -> list[UnbookedPayment]:
        """Money without our metadata that waits for staff to book or dismiss it, oldest
        first (a payment that turned out to be an invoice's, or was booked since, is left out)."""
        found: list[UnbookedPayment] = []
        for notification in self._notifications(UNATTRIBUTED_TOPIC):
            noted = self.ledger.get_typed(
                UUID(str(notification.originator_id)), UnattributedPayment
            )
            if noted.status != ReviewStatus.PENDING or self._booked_elsewhere(noted.payment_id):
                continue
            found.append(UnbookedPayment.of(noted))
        return found

    def _booked_elsewhere(self, payment_id: str) -> bool:
        return (
            self.ledger.get_or_none(gift_id_for(payment_id), Gift) is not None
            or self.ledger.get_or_none(payment_link_id_for(payment_id), PaymentLink) is not None
        )

    def _notifications(self, topic: str) -> Iterator[Any]:
        position = 0
        while True:
            batch = self.ledger.recorder.select_notifications(
                position, 500, topics=[topic], inclusive_of_start=False
            )
            if not batch:
                return
            yield from batch
            position = batch[-1].id

    def retry_parked(self) -> int:
        """Try every parked event again (the sweep, and `patronage inbox retry-parked`): those
        whose counterpart is in the ledger now, or that Stripe can now complete, are applied.
        Returns how many were applied."""
        applied = 0
        for waiting in self.waiting():
            for event_id in waiting.event_ids:
                if self.process(event_id).status == InboxStatus.APPLIED:
                    applied += 1
        if applied:
            log.info("parked_events_released_by_sweep", applied=applied)
        return applied

    def detail(self, event_id: str) -> InboxEventDetail | None:
        inbox_event = self.get(event_id)
        if inbox_event is None:
            return None
        return _with_facts(InboxEventDetail, inbox_event, history=self._history(inbox_event))

    def replay(self, event_id: str) -> InboxEventDetail | None:
        """Apply a recorded event again through the current translation (idempotent)."""
        if self.get(event_id) is None:
            return None
        self.process(event_id, force=True)
        return self.detail(event_id)

    def skip(self, event_id: str, *, by: str, reason: str) -> InboxEventDetail | None:
        """Never apply a parked or failed event (InboxEventNotSkippableError otherwise); it
        leaves its waitlist, so the sweep and its counterpart's arrival pass it by."""

        def work(unit: UnitOfWork) -> None:
            inbox_event = unit.get_typed(inbox_event_id_for(event_id), InboxEvent)
            self._leave_waitlist(unit, inbox_event)
            inbox_event.skip(actor=by, reason=reason)

        if self.get(event_id) is None:
            return None
        self._in_one_transaction(work)
        log.info("stripe_event_skipped", event_id=event_id, by=by)
        return self.detail(event_id)

    def _history(self, inbox_event: InboxEvent) -> list[HistoryItem]:
        items = []
        for stored in self.ledger.events.get(inbox_event.id):
            detail = next(
                (
                    str(getattr(stored, name))
                    for name in ("outcome", "waiting_for", "reason", "error", "source")
                    if hasattr(stored, name)
                ),
                "",
            )
            at: datetime = getattr(stored, "timestamp")  # noqa: B009 (every event has one)
            items.append(HistoryItem(event=type(stored).__name__, at=at, detail=detail))
        return items


def payload_of(event: Mapping[str, Any]) -> str:
    """A JSON text for an event that did not come as a raw body (fetched from Stripe's API)."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True)
