"""Signing in to the supporter page by a one-time link sent to the supporter's email.

Asking for a link answers the same whether or not the email is known, and the supporter is
looked up and emailed after the answer, so neither the page nor its timing says who gives.
Opening the link shows a button: mail scanners that fetch links do not use it up, and only
the POST signs in.
"""

from __future__ import annotations

import hashlib

import structlog
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from patronage.api.deps import PatronageDep
from patronage.api.my.pages import render
from patronage.api.my.session import CheckedForm, SignedIn, end_session, field, start_session
from patronage.application.ratelimit import RateLimiter
from patronage.bootstrap import Patronage
from patronage.domain.identity import normalise_email
from patronage.domain.signin import SignInLinkRefusedError
from patronage.logs import mask_email
from patronage.receipts.notices import sign_in_message

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/my", include_in_schema=False)


def _limited(request: Request, email: str) -> bool:
    """Count this request against its address and its email; True when either is over."""
    by_ip: RateLimiter = request.app.state.supporter_signin_by_ip
    by_email: RateLimiter = request.app.state.supporter_signin_by_email
    client = request.client.host if request.client else "unknown"
    email_key = hashlib.sha256(normalise_email(email).encode()).hexdigest()
    return by_ip.hit(client) is not None or by_email.hit(email_key) is not None


def _send_link(patronage: Patronage, email: str) -> None:
    """After the answer (so its time says nothing either): a link for the supporter the email
    finds, emailed to them; nothing for an unknown email. A failure is logged; they ask again."""
    settings = patronage.settings
    if patronage.mailer is None or settings.public_url is None:
        return
    try:
        grant = patronage.access.grant(email)
        if grant is None:
            return
        link = f"{str(settings.public_url).rstrip('/')}/my/sign-in/link?token={grant.secret}"
        message = sign_in_message(
            grant, link, settings.supporter_link_minutes, settings.org_name, settings.smtp_from
        )
        patronage.mailer.send(message)
        log.info("supporter_link_sent", to=mask_email(email))
    except Exception as error:  # the answer went out already: log, never raise
        log.warning("supporter_link_not_sent", to=mask_email(email), error=str(error))


def _available(patronage: Patronage) -> bool:
    return patronage.mailer is not None and patronage.settings.public_url is not None


@router.get("/sign-in")
def sign_in_page(request: Request, patronage: PatronageDep) -> Response:
    return render(request, "signin.html", available=_available(patronage))


@router.post("/sign-in")
async def ask_for_link(
    request: Request, patronage: PatronageDep, tasks: BackgroundTasks
) -> Response:
    form = await request.form()
    email = field(form, "email", 320)
    if "@" not in email:
        return render(
            request, "signin.html", status_code=422, available=_available(patronage),
            error="Please enter the email address you give with.", email=email,
        )  # fmt: skip
    if _limited(request, email):
        return render(
            request, "signin.html", status_code=429, available=_available(patronage),
            error="Too many sign-in links were asked for: please wait an hour and try again.",
        )  # fmt: skip
    if _available(patronage):
        tasks.add_task(_send_link, patronage, email)
    # The same page whatever happened: it never says whether the email gives.
    return render(request, "link_sent.html", minutes=patronage.settings.supporter_link_minutes)


@router.get("/sign-in/link")
def open_link(request: Request, token: str = "") -> Response:
    """A page with one button: fetching the link alone never uses it up. (The secret rides
    in the query and the form, never in a path that request logs record.)"""
    return render(request, "link.html", token=token[:100])


@router.post("/sign-in/link")
async def redeem_link(request: Request, patronage: PatronageDep) -> Response:
    token = field(await request.form(), "token", 100)
    try:
        supporter_id = await run_in_threadpool(patronage.access.redeem, token)
    except SignInLinkRefusedError as error:
        return render(
            request, "signin.html", status_code=410, available=_available(patronage),
            error=f"{str(error).capitalize()}: ask for a new one below.",
        )  # fmt: skip
    response = RedirectResponse("/my", status_code=303)
    start_session(request, response, supporter_id)
    return response


@router.post("/sign-out")
def sign_out(_supporter: SignedIn, _form: CheckedForm) -> Response:
    response = RedirectResponse("/my/sign-in", status_code=303)
    end_session(response)
    return response
