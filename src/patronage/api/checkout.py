"""`POST /checkout` and friends: take a gift from the ask on the article page.

The card path (docs/asks.md): `POST /checkout` opens the attempt and a SetupIntent the page
confirms with Stripe.js; `POST /checkout/payments` charges the card it saved (or starts the
membership); `POST /checkout/confirmations` reads the outcome after 3-D Secure.

Refused input answers 422 with a code and a reader's message per field, before anything
is created at Stripe and without counting as an attempt; the card-testing guard
(application/card_testing.py) answers 429 when one address, reader, email or card made too
many payment attempts or declines, 403 when the CAPTCHA failed.
"""

from __future__ import annotations

from collections.abc import Callable
from email.utils import parseaddr
from typing import Annotated, Literal
from uuid import UUID

import structlog
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, EmailStr, Field

from patronage.api.amounts import MoneyOut
from patronage.api.deps import PatronageDep
from patronage.api.inputs import NoControlCharacters
from patronage.api.reader_errors import FieldProblems, ReaderFacingRoute, problem, refuse
from patronage.application.checkout import (
    CheckoutClosedError,
    CheckoutRefusedError,
    CheckoutRequest,
    CheckoutResult,
    PaymentsUnavailableError,
)
from patronage.config import Settings
from patronage.domain.campaign import Frequency
from patronage.domain.money import Money
from patronage.domain.values import Attribution, Tribute
from patronage.payments.amounts import AmountError
from patronage.payments.orders import PaymentProviderError, PaymentRefusedError

router = APIRouter(
    prefix="/checkout",
    tags=["checkout"],
    route_class=ReaderFacingRoute,
    responses={
        402: {"description": "the card was declined: the reader may try another"},
        403: {"description": "the CAPTCHA check failed"},
        404: {"description": "no such checkout"},
        409: {"description": "the same checkout key with other details, or a declined one"},
        422: {"model": FieldProblems, "description": "refused fields: a code and a message each"},
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
    amount: MoneyOut
    fee: MoneyOut
    total_with_fee: MoneyOut


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


class PaymentIn(CheckoutIn):
    """The same form again, with the card the page's SetupIntent saved."""

    payment_method: Annotated[
        str,
        Field(
            pattern=r"^pm_[A-Za-z0-9_]{1,120}$",
            description="setupIntent.payment_method from Stripe.js confirmCardSetup",
        ),
    ]


class CheckoutOut(BaseModel):
    checkout_id: UUID
    status: str = Field(
        description="'requires_payment_method': confirm `client_secret` (a SetupIntent) with "
        "confirmCardSetup, then POST /checkout/payments; 'requires_action': confirm it (a "
        "PaymentIntent) with confirmCardPayment, then POST /checkout/confirmations; "
        "'succeeded': paid"
    )
    frequency: Frequency
    amount: MoneyOut
    fee: MoneyOut
    total: MoneyOut
    client_secret: str = Field(description="For Stripe.js, as `status` says; empty once paid")
    publishable_key: str
    supporter_token: str = Field(description="Given once the payment succeeded")
    members_contact: str = Field(
        description="How a member changes or cancels (an email address or a URL); "
        "empty for a one-time gift"
    )

    @classmethod
    def of(cls, result: CheckoutResult, settings: Settings) -> CheckoutOut:
        paid = result.payment.status == "succeeded"
        monthly = result.frequency == Frequency.MONTHLY
        contact = settings.members_contact or _supporter_page(settings)
        return cls(
            checkout_id=result.checkout_id,
            status=result.payment.status,
            frequency=result.frequency,
            amount=MoneyOut.of(result.amount),
            fee=MoneyOut.of(result.fee),
            total=MoneyOut.of(result.total),
            client_secret="" if paid else result.payment.client_secret,
            publishable_key=settings.stripe_publishable_key,
            supporter_token=result.supporter_token,
            members_contact=contact if monthly else "",
        )


def _supporter_page(settings: Settings) -> str:
    """Where a member changes or cancels: the supporter page when it can sign them in by
    email, else the address receipts come from."""
    if settings.public_url is not None and settings.smtp_host:
        return f"{str(settings.public_url).rstrip('/')}/my"
    return parseaddr(settings.smtp_from)[1]


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
        log.info("checkout_amount_refused", field=error.field, kind=error.kind)
        # Limits are worth telling; a malformed amount gets the plain line.
        message = str(error) if error.kind.startswith("too_") else ""
        raise refuse(problem(error.field, error.kind, message)) from None


def _request(body: CheckoutIn, request: Request, patronage: PatronageDep) -> CheckoutRequest:
    amount = _amount(patronage, body.amount, body.currency)
    return CheckoutRequest(
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


def _answer(call: Callable[[], CheckoutResult], patronage: PatronageDep) -> CheckoutOut:
    """One checkout step, its failures as status codes with a message for the reader."""
    try:
        result = call()
    except PaymentsUnavailableError as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(error)) from None
    except CheckoutRefusedError as error:
        raise _refused(error) from None
    except CheckoutClosedError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(error)) from None
    except PaymentRefusedError as error:
        log.info("checkout_payment_refused", code=error.code)
        raise HTTPException(
            status.HTTP_402_PAYMENT_REQUIRED,
            detail=f"{error} Please check the details or try another card.",
        ) from None
    except LookupError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None
    except PaymentProviderError as error:
        # The attempt is recorded: the page retries with the same checkout key.
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, detail=str(error)) from None
    return CheckoutOut.of(result, patronage.settings)


@router.post("/quote")
def quote(body: QuoteIn, patronage: PatronageDep) -> QuoteOut:
    """The exact fee a donor may choose to cover, to show before they pay."""
    amount = _amount(patronage, body.amount, body.currency)
    fee = patronage.checkout.fee_for(amount, cover_fees=True)
    return QuoteOut(
        amount=MoneyOut.of(amount),
        fee=MoneyOut.of(fee),
        total_with_fee=MoneyOut.of(amount + fee),
    )


@router.post("")
def checkout(body: CheckoutIn, request: Request, patronage: PatronageDep) -> CheckoutOut:
    """Open the checkout and the SetupIntent the page confirms with the card."""
    given = _request(body, request, patronage)
    return _answer(lambda: patronage.checkout.start(given), patronage)


@router.post("/payments")
def payment(body: PaymentIn, request: Request, patronage: PatronageDep) -> CheckoutOut:
    """Charge the card the page saved (once), or start the membership with it."""
    given = _request(body, request, patronage)
    return _answer(lambda: patronage.checkout.pay(given, body.payment_method), patronage)


@router.post("/confirmations")
def confirmation(body: ConfirmationIn, patronage: PatronageDep) -> CheckoutOut:
    """After the page's 3-D Secure step: the payment's status, and the token once paid."""
    return _answer(lambda: patronage.checkout.confirm(body.checkout_id), patronage)
