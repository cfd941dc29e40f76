"""The supporter token: proof, signed by us, that this browser gave, with no personal data.

It holds an opaque reference (an HMAC of the supporter id, useless without our secret), the
kinds of support, and when it was issued and expires. `/asks` reads it without touching the
database: a valid token thanks the reader; a token past its expiry marks them as lapsed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from patronage.domain.campaign import Audience, Frequency

_VERSION = "v1"
_MAX_TOKEN_CHARS = 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class SupporterToken:
    """A token's claims once its signature is verified: the supporter's opaque reference,
    the kinds of support they give, and when it was issued and when it expires."""

    ref: str
    kinds: tuple[Frequency, ...]
    issued_at: datetime
    expires_at: datetime

    def audience(self, now: datetime) -> Audience:
        if now >= self.expires_at:
            return Audience.LAPSED
        if Frequency.MONTHLY in self.kinds:
            return Audience.CURRENT_MEMBERS
        return Audience.ONE_TIME_GIVERS


class SupporterTokens:
    """Issues and verifies tokens with one secret (PATRONAGE_SUPPORTER_TOKEN_SECRET)."""

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._key = secret.encode()
        self._lifetime = lifetime

    @property
    def enabled(self) -> bool:
        return bool(self._key)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, f"{_VERSION}.{body}".encode(), hashlib.sha256).digest())

    def reference(self, supporter_id: UUID) -> str:
        digest = hmac.new(self._key, b"ref:" + supporter_id.bytes, hashlib.sha256).digest()
        return _b64(digest[:12])

    def issue(self, supporter_id: UUID, kinds: tuple[Frequency, ...], now: datetime) -> str:
        if not self.enabled:
            raise RuntimeError("no supporter token secret configured")
        payload = {
            "ref": self.reference(supporter_id),
            "kinds": sorted(k.value for k in set(kinds)),
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{_VERSION}.{body}.{self._sign(body)}"

    def verify(self, token: str) -> SupporterToken | None:
        """The token's claims if we signed it, else None (expiry is judged by the caller)."""
        if not self.enabled or not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        version, _, rest = token.partition(".")
        body, _, signature = rest.partition(".")
        if version != _VERSION or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            claims = json.loads(_unb64(body))
            return SupporterToken(
                ref=str(claims["ref"]),
                kinds=tuple(Frequency(k) for k in claims["kinds"]),
                issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def audience(self, token: str, now: datetime) -> Audience:
        claims = self.verify(token)
        return Audience.NON_SUPPORTERS if claims is None else claims.audience(now)
