"""Sealing personal fields of stored events with their subject's data key.

The event store is append-only: an event once written is never changed. So the fields that
hold a person's details are encrypted, when an event is stored, with a key of their own (the
supporter's, or one per kept Stripe payload), and stored as `sealed:v1:<subject>:<base64>`.
Reading an event opens them again while the key exists. Once the key is deleted (erasure,
payload retention), the field reads back as its placeholder (an empty name, email or
address, an empty payload): everything else about the event, amounts and dates, is intact.

This is on top of, not instead of, the library's cipher (PATRONAGE_CIPHER_KEY), which
encrypts every event's whole state at rest.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.cryptography import AESCipher
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import Environment, get_topic

from patronage.application.keys import KeyStore
from patronage.domain.inbox import InboxEvent
from patronage.domain.receipt import DonorDetails, TaxReceipt
from patronage.domain.supporter import Supporter
from patronage.domain.values import PostalAddress

PREFIX = "sealed:v1:"

Subject = Callable[[Mapping[str, Any]], str]


def supporter_subject(supporter_id: UUID | str) -> str:
    return f"supporter:{supporter_id}"


def payload_subject(inbox_event_id: UUID | str) -> str:
    return f"payload:{inbox_event_id}"


def _originator_supporter(state: Mapping[str, Any]) -> str:
    return supporter_subject(state["originator_id"])


def _originator_payload(state: Mapping[str, Any]) -> str:
    return payload_subject(state["originator_id"])


def _donor_supporter(state: Mapping[str, Any]) -> str:
    return supporter_subject(state["donor"].supporter_id)


def _erased_donor(subject: str) -> DonorDetails:
    return DonorDetails(
        supporter_id=subject.split(":", 1)[1], name="", email="", address=PostalAddress()
    )


@dataclass(frozen=True)
class Sealed:
    """Which fields of one event class are personal, whose they are, and what they read
    back as once their key is gone."""

    fields: tuple[str, ...]
    subject: Subject
    erased: Mapping[str, Callable[[str], Any]]
    # The event that creates its subject (a supporter's registration, a received payload):
    # its key is made without looking for one first.
    first_of_subject: bool


def _event_topic(aggregate: type, name: str) -> str:
    return get_topic(vars(aggregate)[name])


_BLANK: dict[str, Callable[[str], Any]] = {
    "email": lambda _: "",
    "name": lambda _: "",
    "address": lambda _: PostalAddress(),
    "payload_json": lambda _: "{}",
    "donor": _erased_donor,
}


def _sealed(*fields: str, subject: Subject, first_of_subject: bool = False) -> Sealed:
    return Sealed(fields, subject, {f: _BLANK[f] for f in fields}, first_of_subject)


SEALED: dict[str, Sealed] = {
    _event_topic(Supporter, "Registered"): _sealed(
        "email", "name", subject=_originator_supporter, first_of_subject=True
    ),
    _event_topic(Supporter, "Renamed"): _sealed("name", subject=_originator_supporter),
    _event_topic(Supporter, "EmailChanged"): _sealed("email", subject=_originator_supporter),
    _event_topic(Supporter, "AddressChanged"): _sealed("address", subject=_originator_supporter),
    _event_topic(InboxEvent, "Received"): _sealed(
        "payload_json", subject=_originator_payload, first_of_subject=True
    ),
    _event_topic(TaxReceipt, "Issued"): _sealed("donor", subject=_donor_supporter),
}


class SealingMapper(Mapper[UUID]):
    """The library's mapper, sealing the personal fields listed in SEALED."""

    keys: KeyStore  # set by the Ledger once its recorder (and so its database) exists

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        return self._sealed(domain_event, self.keys.get_or_create)

    def to_stored_events_with_keys(
        self, domain_events: Sequence[DomainEventProtocol[UUID]]
    ) -> tuple[list[StoredEvent], dict[str, bytes]]:
        """The events sealed as `to_stored_event` does, except that the keys of the subjects
        they create are made here and returned, not stored: the caller stores them in the
        events' own transaction (Ledger.insert_with_keys), one commit for both."""
        made: dict[str, bytes] = {}

        def key_for(subject: str, *, new: bool) -> bytes:
            if subject in made:
                return made[subject]
            if new and (known := self.keys.cached(subject)) is None:
                made[subject] = known = self.keys.fresh()
                return known
            return self.keys.get_or_create(subject, new=new)

        return [self._sealed(e, key_for) for e in domain_events], made

    def _sealed(
        self, domain_event: DomainEventProtocol[UUID], key_for: Callable[..., bytes]
    ) -> StoredEvent:
        rule = SEALED.get(get_topic(type(domain_event)))
        if rule is None:
            return super().to_stored_event(domain_event)
        state = dict(vars(domain_event))
        subject = rule.subject(state)
        cipher = _cipher_for(key_for(subject, new=rule.first_of_subject))
        for name in rule.fields:
            plain = self.transcoder.encode({"v": state[name]})
            state[name] = PREFIX + subject + ":" + base64.b64encode(cipher.encrypt(plain)).decode()
        sealed_event = object.__new__(type(domain_event))
        object.__setattr__(sealed_event, "__dict__", state)
        return super().to_stored_event(sealed_event)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        (domain_event,) = self.to_domain_events([stored_event])
        return domain_event

    def to_domain_events(
        self, stored_events: Sequence[StoredEvent]
    ) -> list[DomainEventProtocol[UUID]]:
        """Many events, their subjects' keys read together first (one query, not one each)."""
        decoded = [super(SealingMapper, self).to_domain_event(s) for s in stored_events]
        fields = [
            (vars(domain_event), name, rule)
            for domain_event, stored in zip(decoded, stored_events, strict=True)
            if (rule := SEALED.get(stored.topic)) is not None
            for name in rule.fields
            if isinstance(vars(domain_event).get(name), str)
            and vars(domain_event)[name].startswith(PREFIX)
        ]
        self.keys.prefetch(_subject_of(state[name]) for state, name, _rule in fields)
        for state, name, rule in fields:
            state[name] = self._open(state[name], rule.erased[name])
        return decoded

    def _open(self, sealed: str, erased: Callable[[str], Any]) -> Any:
        subject, text = _subject_of(sealed), sealed.rpartition(":")[2]
        key = self.keys.get(subject)
        if key is None:
            return erased(subject)
        plain = _cipher_for(key).decrypt(base64.b64decode(text))
        return self.transcoder.decode(plain)["v"]


# Building a cipher parses its settings each time: year end seals and opens hundreds of
# thousands of fields. Reached only with a key the key store still returned, so a cached
# cipher never opens what an erasure closed.
@functools.lru_cache(maxsize=4096)
def _cipher_for(key: bytes) -> AESCipher:
    return AESCipher(Environment(env={"CIPHER_KEY": base64.b64encode(key).decode()}))


def _subject_of(sealed: str) -> str:
    """ "supporter:<uuid>" from "sealed:v1:supporter:<uuid>:<base64>"."""
    return sealed[len(PREFIX) :].rpartition(":")[0]
