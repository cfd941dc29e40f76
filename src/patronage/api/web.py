"""The embed script, and the old console address."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

router = APIRouter(tags=["web"])
_EMBED = files("patronage").joinpath("web/static/patronage-embed.js")


@router.get("/static/patronage-embed.js", include_in_schema=False)
def embed_script() -> Response:
    return Response(
        _EMBED.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/staff", include_in_schema=False)
def staff_console() -> RedirectResponse:
    """The old console's address: the console is at /console now."""
    return RedirectResponse("/console", status_code=301)
