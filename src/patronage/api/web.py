"""The embed script and the staff console page."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

router = APIRouter(tags=["web"])
_templates = Environment(
    loader=PackageLoader("patronage", "web/templates"), autoescape=select_autoescape()
)
_EMBED = files("patronage").joinpath("web/static/patronage-embed.js")
_STAFF_CONSOLE = files("patronage").joinpath("web/static/staff-console.js")


@router.get("/static/patronage-embed.js", include_in_schema=False)
def embed_script() -> Response:
    return Response(
        _EMBED.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/static/staff-console.js", include_in_schema=False)
def staff_console_script() -> Response:
    return Response(_STAFF_CONSOLE.read_text(encoding="utf-8"), media_type="text/javascript")


@router.get("/staff", response_class=HTMLResponse, include_in_schema=False)
def staff_console() -> HTMLResponse:
    """The staff console page; it holds no data, and reads the staff API with a key."""
    return HTMLResponse(_templates.get_template("staff.html").render())
