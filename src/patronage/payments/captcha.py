"""The CAPTCHA hook's adapter: a provider's `siteverify` endpoint.

Cloudflare Turnstile (https://challenges.cloudflare.com/turnstile/v0/siteverify), hCaptcha
(https://api.hcaptcha.com/siteverify) and reCAPTCHA share one protocol: POST the form fields
`secret`, `response` (the token the widget gave the page) and `remoteip`; the answer is JSON
with `success` true or false.
"""

from __future__ import annotations

from functools import cached_property

import httpx
import structlog

log = structlog.get_logger(__name__)


class SiteVerifyCaptcha:
    """Implements application.ports.CaptchaVerifier against a siteverify endpoint."""

    def __init__(self, url: str, secret: str, timeout_seconds: float = 5.0) -> None:
        self._url = url
        self._secret = secret
        self._timeout = timeout_seconds

    @cached_property
    def _client(self) -> httpx.Client:
        """One client for every check: making one loads the CA bundle (tens of milliseconds
        of CPU), and its connections to the provider are kept for the next checkout."""
        return httpx.Client(timeout=self._timeout)

    def verify(self, token: str, remote_ip: str) -> bool | None:
        if not token:
            return False
        form = {"secret": self._secret, "response": token}
        if remote_ip:
            form["remoteip"] = remote_ip
        try:
            answer = self._client.post(self._url, data=form)
            answer.raise_for_status()
            success = answer.json().get("success")
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            log.warning("captcha_provider_unavailable", error=type(error).__name__)
            return None
        return success is True
