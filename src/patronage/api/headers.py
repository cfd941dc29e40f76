"""Security headers on every answer: pages may not be framed (the staff console takes
credentials), nothing is sniffed into another type, no address leaks in a Referer, and a
page runs only the scripts it was served with."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# JSON answers: nothing may load from them or frame them.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
STRIPE_JS = "https://js.stripe.com/v3/"


def page_policy(stripe_js_url: str = STRIPE_JS) -> str:
    """Server-rendered pages: own scripts only, and Stripe.js from where the settings say
    (the embed loads it to take a card: Stripe's own, or localstripe's stand-in in the demo,
    which also calls its own origin); the templates' inline <style> blocks are allowed,
    inline scripts are not."""
    parts = urlsplit(stripe_js_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    api = "https://api.stripe.com" if origin == "https://js.stripe.com" else origin
    return (
        f"default-src 'self'; script-src 'self' {origin}; "
        f"frame-src {origin} https://hooks.stripe.com; "
        f"connect-src 'self' {api}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


PAGE_POLICY = page_policy()  # pages that never load Stripe.js from elsewhere (the supporter's)


# FastAPI's /docs and /redoc pages load their assets from a CDN with an inline start-up
# script; they hold no data and no credentials, and may still not be framed.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    "https://cdn.redoc.ly; worker-src blob:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})


Header = tuple[bytes, bytes]


def _headers(policy: str) -> tuple[Header, ...]:
    return (
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
    )


# Every JSON answer's: the quick route for asks (api/ask_route.py), outside this middleware,
# adds these itself.
API_HEADERS = _headers(API_POLICY)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, stripe_js_url: str = STRIPE_JS) -> None:
        self.app = app
        # Encoded once: they go on every answer.
        self.page_headers = _headers(page_policy(stripe_js_url))
        self.api_headers = API_HEADERS
        self.docs_headers = _headers(DOCS_POLICY)

    def headers_for(self, path: str, content_type: bytes) -> tuple[Header, ...]:
        if path in DOCS_PATHS:
            return self.docs_headers
        return self.page_headers if content_type.startswith(b"text/html") else self.api_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A route's own value of one of them stays (the supporter's pages set theirs).
                headers = message["headers"] = list(message.get("headers", ()))
                names = {name.lower() for name, _ in headers}
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                headers.extend(
                    h for h in self.headers_for(scope["path"], content_type) if h[0] not in names
                )
            await send(message)

        await self.app(scope, receive, with_headers)
