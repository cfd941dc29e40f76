"""How Patronage's value types are written into stored events (JSON)."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from patronage.domain.money import Money
from patronage.domain.receipt import DonorDetails, OrganisationDetails, ReceiptedGift
from patronage.domain.values import Attribution, BillingPeriod, PostalAddress, Tribute


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _dict_value_transcoding(value_type: Any, type_name: str) -> Transcoding:
    """A transcoding for a value type with as_dict() and a from_dict() that undoes it."""

    class DictValueTranscoding(Transcoding):
        type = value_type
        name = type_name

        def encode(self, obj: Any) -> dict[str, Any]:
            encoded: dict[str, Any] = obj.as_dict()
            return encoded

        def decode(self, data: dict[str, Any]) -> Any:
            return value_type.from_dict(data)

    return DictValueTranscoding()


def register_patronage_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for value_type, name in (
        (Money, "money"),
        (DonorDetails, "donor_details"),
        (Attribution, "attribution"),
        (BillingPeriod, "billing_period"),
        (PostalAddress, "postal_address"),
        (Tribute, "tribute"),
        (ReceiptedGift, "receipted_gift"),
        (OrganisationDetails, "organisation_details"),
    ):
        transcoder.register(_dict_value_transcoding(value_type, name))
