"""The metadata our checkout puts on every PaymentIntent, Subscription and Checkout Session.

With it, every later Stripe event names its supporter and the ask that won the gift,
whatever order the events arrive in. Keys are prefixed so they never collide with a
newsroom's own metadata. Stripe metadata values are strings of at most 500 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from patronage.domain.text import refuse_control_characters
from patronage.domain.values import Attribution, Tribute

SUPPORTER_ID = "patronage_supporter_id"
GIFT_KIND = "patronage_gift_kind"  # "one_time" | "monthly"
ARTICLE_ID = "patronage_article_id"
CAMPAIGN = "patronage_campaign"
VARIANT = "patronage_variant"
READER_ID = "patronage_reader_id"
FEE_COVERED_MINOR = "patronage_fee_covered_minor"
BENEFIT_VALUE_MINOR = "patronage_benefit_value_minor"
TRIBUTE_KIND = "patronage_tribute_kind"
TRIBUTE_NAME = "patronage_tribute_name"
# What the donor typed into the checkout form: applied to the supporter only when Stripe
# confirms the payment (a checkout that is never paid changes no one).
DONOR_EMAIL = "patronage_donor_email"
DONOR_NAME = "patronage_donor_name"
# Why the card-testing guard held this payment's gift for staff review (empty: not held).
REVIEW = "patronage_review"


def checkout_metadata(
    supporter_id: UUID,
    gift_kind: str,
    attribution: Attribution,
    fee_covered_minor: int = 0,
    benefit_value_minor: int = 0,
    tribute: Tribute | None = None,
    donor_email: str = "",
    donor_name: str = "",
    review: str = "",
) -> dict[str, str]:
    metadata = {
        SUPPORTER_ID: str(supporter_id),
        GIFT_KIND: gift_kind,
        ARTICLE_ID: attribution.article_id[:500],
        CAMPAIGN: attribution.campaign[:500],
        VARIANT: attribution.variant[:500],
        READER_ID: attribution.reader_id[:500],
        FEE_COVERED_MINOR: str(fee_covered_minor),
        BENEFIT_VALUE_MINOR: str(benefit_value_minor),
    }
    if donor_email:
        metadata[DONOR_EMAIL] = donor_email[:500]
    if donor_name:
        metadata[DONOR_NAME] = donor_name[:500]
    if tribute is not None:
        metadata[TRIBUTE_KIND] = tribute.kind
        metadata[TRIBUTE_NAME] = tribute.name[:500]
    if review:
        metadata[REVIEW] = review[:500]
    return metadata


def read_review(metadata: Mapping[str, object]) -> str:
    """Why our checkout held the payment's gift for review, or an empty string."""
    value = metadata.get(REVIEW)
    return refuse_control_characters(value).strip() if isinstance(value, str) else ""


def read_attribution(metadata: Mapping[str, object]) -> Attribution:
    def text(key: str) -> str:
        value = metadata.get(key)
        return refuse_control_characters(value) if isinstance(value, str) else ""

    return Attribution(
        article_id=text(ARTICLE_ID),
        campaign=text(CAMPAIGN),
        variant=text(VARIANT),
        reader_id=text(READER_ID),
    )


def read_donor(metadata: Mapping[str, object]) -> tuple[str, str]:
    """The email and name the donor gave our checkout, or empty strings."""
    email, name = metadata.get(DONOR_EMAIL), metadata.get(DONOR_NAME)
    return (
        refuse_control_characters(email).strip() if isinstance(email, str) else "",
        refuse_control_characters(name).strip() if isinstance(name, str) else "",
    )


def read_supporter_id(metadata: Mapping[str, object]) -> UUID | None:
    value = metadata.get(SUPPORTER_ID)
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


def read_minor(metadata: Mapping[str, object], key: str) -> int:
    """A non-negative integer of minor units from metadata; anything else counts as 0."""
    value = metadata.get(key)
    if isinstance(value, str) and value.isdigit() and len(value) <= 15:
        return int(value)
    return 0


def read_tribute(metadata: Mapping[str, object]) -> Tribute | None:
    kind, name = metadata.get(TRIBUTE_KIND), metadata.get(TRIBUTE_NAME)
    if kind in ("honour", "memory") and isinstance(name, str) and name:
        return Tribute(kind=str(kind), name=refuse_control_characters(name))
    return None
