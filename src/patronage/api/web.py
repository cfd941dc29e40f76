"""The embed script, and a sample article page that shows the ask at its end."""

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

ARTICLE = {
    "article_id": "2026-water-rates-analysis",
    "title": "Who pays for Springfield's new water pipes?",
    "section": "politics",
    "tags": ["local-government", "water", "budget", "elections"],
}


@router.get("/static/patronage-embed.js", include_in_schema=False)
def embed_script() -> Response:
    return Response(
        _EMBED.read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get("/demo/article", response_class=HTMLResponse, include_in_schema=False)
def demo_article() -> HTMLResponse:
    # Same-origin paths: an address built from the Host header would let whoever sets the
    # header choose where the page loads its script from.
    page = _templates.get_template("article.html").render(
        **ARTICLE, country="US", embed_url="/static/patronage-embed.js"
    )
    return HTMLResponse(page)


@router.get("/static/staff-console.js", include_in_schema=False)
def staff_console_script() -> Response:
    return Response(_STAFF_CONSOLE.read_text(encoding="utf-8"), media_type="text/javascript")


@router.get("/staff", response_class=HTMLResponse, include_in_schema=False)
def staff_console() -> HTMLResponse:
    """The staff console page; it holds no data, and reads the staff API with a key."""
    return HTMLResponse(_templates.get_template("staff.html").render())
