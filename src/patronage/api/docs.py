"""/docs (Swagger UI) and /redoc, served with their scripts from this process: the pages
work without internet. The assets come from the fastapi-offline package's copies."""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
# The pages may load only from here: ReDoc's footer would fetch its logo from its CDN.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self';"
    " object-src 'none'; frame-ancestors 'none'"
)


def _offline(page: Callable[..., HTMLResponse], **assets: Any) -> HTMLResponse:
    """One of FastAPI's pages for this API's schema, with its assets served from here."""
    response = page(openapi_url="/openapi.json", title="Patronage API", **assets)
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


ASSETS = "/docs/assets"
_FILES = files("fastapi_offline").joinpath("static")
_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return _offline(
        get_swagger_ui_html,
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return _offline(
        get_redoc_html,
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS + "/{name}")
def asset(name: Annotated[str, Path(max_length=40)]) -> Response:
    if name not in _TYPES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no asset {name}")
    return Response(
        _FILES.joinpath(name).read_bytes(),
        media_type=_TYPES[name],
        headers={"Cache-Control": "public, max-age=86400"},
    )
