"""How Patronage's value types are written into stored events (JSON)."""

from __future__ import annotations

from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from patronage.domain.money import Money
from patronage.domain.receipt import DonorDetails, OrganisationDetails, ReceiptedGift
from patronage.domain.values import Attribution, BillingPeriod, PostalAddress, Tribute


class MoneyAsDict(Transcoding):
    type = Money
    name = "money"

    def encode(self, obj: Money) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Money:
        return Money.from_dict(data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def _dict_value_transcoding(value_type: Any, type_name: str) -> Transcoding:
    """A transcoding for a frozen dataclass with as_dict()/from_dict()."""

    class DictValueTranscoding(Transcoding):
        type = value_type
        name = type_name

        def encode(self, obj: Any) -> dict[str, Any]:
            encoded: dict[str, Any] = obj.as_dict()
            return encoded

        def decode(self, data: dict[str, Any]) -> Any:
            return value_type.from_dict(data)

    return DictValueTranscoding()


class DonorDetailsAsDict(Transcoding):
    """Donor details nest an address, which the generic dict transcoding would flatten."""

    type = DonorDetails
    name = "donor_details"

    def encode(self, obj: DonorDetails) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> DonorDetails:
        return DonorDetails(
            supporter_id=data["supporter_id"],
            name=data["name"],
            email=data["email"],
            address=PostalAddress.from_dict(data["address"]),
        )


def register_patronage_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(MoneyAsDict())
    transcoder.register(DateAsISO())
    transcoder.register(DonorDetailsAsDict())
    for value_type, name in (
        (Attribution, "attribution"),
        (BillingPeriod, "billing_period"),
        (PostalAddress, "postal_address"),
        (Tribute, "tribute"),
        (ReceiptedGift, "receipted_gift"),
        (OrganisationDetails, "organisation_details"),
    ):
        transcoder.register(_dict_value_transcoding(value_type, name))
