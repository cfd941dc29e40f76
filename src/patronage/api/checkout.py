"""`POST /checkout` and friends: take a gift from the ask on the article page.

Refused input answers 422 with a reason before anything is created at Stripe; the
card-testing guard (application/card_testing.py) answers 429 when one address, reader,
email or card made too many payment attempts or declines, 403 when the CAPTCHA failed.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, EmailStr, Field

from patronage.api.amounts import AmountOut
from patronage.api.deps import PatronageDep
from patronage.api.inputs import NoControlCharacters
from patronage.application.checkout import (
    CheckoutRefusedError,
    CheckoutRequest,
    CheckoutResult,
    PaymentsUnavailableError,
)
from patronage.domain.campaign import Frequency
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute
from patronage.payments.amounts import AmountError
from patronage.payments.orders import PaymentProviderError, PaymentRefusedError

router = APIRouter(
    prefix="/checkout",
    tags=["checkout"],
    responses={
        402: {"description": "the card was declined"},
        403: {"description": "the CAPTCHA check failed"},
        404: {"description": "no such checkout"},
        409: {"description": "the same checkout key came back with different details"},
        429: {"description": "too many payment attempts or declines from here: try later"},
        502: {"description": "Stripe failed; the same checkout key may be retried"},
        503: {"description": "payments are not configured"},
    },
)
log = structlog.get_logger(__name__)

AmountText = Annotated[str, Field(max_length=32, examples=["25.00"])]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["USD"])]


class QuoteIn(BaseModel):
    amount: AmountText
    currency: Currency


class QuoteOut(BaseModel):
    amount: AmountOut
    fee: AmountOut
    total_with_fee: AmountOut


class TributeIn(BaseModel):
    kind: Literal["honour", "memory"]
    name: Annotated[str, Field(min_length=1, max_length=200), NoControlCharacters]


class TrackingIn(BaseModel):
    campaign: Annotated[str, Field(max_length=100), NoControlCharacters] = ""
    variant: Annotated[str, Field(max_length=100), NoControlCharacters] = ""
    article_id: Annotated[str, Field(max_length=200), NoControlCharacters] = ""


class CheckoutIn(BaseModel):
    checkout_key: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_-]{16,64}$",
            description="A random id the page makes per press of 'give'; a retry resends it",
        ),
    ]
    frequency: Frequency
    amount: AmountText
    currency: Currency
    cover_fees: bool = False
    email: EmailStr
    name: Annotated[str, Field(min_length=1, max_length=200), NoControlCharacters]
    tribute: TributeIn | None = None
    tracking: TrackingIn = TrackingIn()
    reader_id: Annotated[str, Field(max_length=64), NoControlCharacters] = ""
    captcha_token: Annotated[
        str,
        Field(max_length=4096, description="The CAPTCHA widget's token, when one is configured"),
        NoControlCharacters,
    ] = ""


class CheckoutOut(BaseModel):
    checkout_id: UUID
    status: str = Field(description="'succeeded', or what the page must still do")
    frequency: Frequency
    amount: AmountOut
    fee: AmountOut
    total: AmountOut
    client_secret: str = Field(description="For Stripe's Payment Element; empty once paid")
    publishable_key: str
    supporter_token: str = Field(description="Given once the payment succeeded")

    @classmethod
    def of(cls, result: CheckoutResult, publishable_key: str) -> CheckoutOut:
        paid = result.payment.status == "succeeded"
        return cls(
            checkout_id=result.checkout_id,
            status=result.payment.status,
            frequency=result.frequency,
            amount=AmountOut.of(result.amount),
            fee=AmountOut.of(result.fee),
            total=AmountOut.of(result.total),
            client_secret="" if paid else result.payment.client_secret,
            publishable_key=publishable_key,
            supporter_token=result.supporter_token,
        )


class ConfirmationIn(BaseModel):
    checkout_id: UUID


def _refused(error: CheckoutRefusedError) -> HTTPException:
    if error.retry_after > 0:
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=str(error),
            headers={"Retry-After": str(int(error.retry_after) + 1)},
        )
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=str(error))


def _amount(patronage: PatronageDep, text: str, currency: str) -> Money:
    try:
        return patronage.checkout.rules.parse(text, currency)
    except AmountError as error:
        log.info("checkout_amount_refused", reason=str(error))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None


@router.post("/quote")
def quote(body: QuoteIn, patronage: PatronageDep) -> QuoteOut:
    """The exact fee a donor may choose to cover, to show before they pay."""
    amount = _amount(patronage, body.amount, body.currency)
    fee = patronage.checkout.fee_for(amount, cover_fees=True)
    return QuoteOut(
        amount=AmountOut.of(amount),
        fee=AmountOut.of(fee),
        total_with_fee=AmountOut.of(amount + fee),
    )


@router.post("")
def checkout(body: CheckoutIn, request: Request, patronage: PatronageDep) -> CheckoutOut:
    amount = _amount(patronage, body.amount, body.currency)
    order = CheckoutRequest(
        key=body.checkout_key,
        frequency=body.frequency,
        amount=amount,
        cover_fees=body.cover_fees,
        email=str(body.email),
        name=body.name.strip(),
        attribution=Attribution(
            article_id=body.tracking.article_id,
            campaign=body.tracking.campaign,
            variant=body.tracking.variant,
            reader_id=body.reader_id,
        ),
        tribute=None if body.tribute is None else Tribute(body.tribute.kind, body.tribute.name),
        ip=request.client.host if request.client else "",
        captcha_token=body.captcha_token,
    )
    try:
        result = patronage.checkout.start(order)
    except PaymentsUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from None
    except CheckoutRefusedError as error:
        raise _refused(error) from None
    except PaymentRefusedError as error:
        log.info("checkout_payment_refused", reason=str(error))
        raise HTTPException(status.HTTP_402_PAYMENT_REQUIRED, detail=str(error)) from None
    except PaymentProviderError as error:
        # The attempt is recorded: the page retries with the same checkout key.
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(error)) from None
    return CheckoutOut.of(result, patronage.settings.stripe_publishable_key)


@router.post("/confirmations")
def confirmation(body: ConfirmationIn, patronage: PatronageDep) -> CheckoutOut:
    """After the page confirmed with Stripe: the payment's status, and the token once paid."""
    try:
        result = patronage.checkout.confirm(body.checkout_id)
    except PaymentsUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from None
    except LookupError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None
    except PaymentProviderError as error:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(error)) from None
    return CheckoutOut.of(result, patronage.settings.stripe_publishable_key)
