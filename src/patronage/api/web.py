"""The embed script, and a sample article page that shows the ask at its end."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

router = APIRouter(tags=["web"])
_templates = Environment(
    loader=PackageLoader("patronage", "web/templates"), autoescape=select_autoescape()
)
_EMBED = files("patronage").joinpath("web/static/patronage-embed.js")

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
def demo_article(request: Request) -> HTMLResponse:
    base = str(request.base_url).rstrip("/")
    page = _templates.get_template("article.html").render(
        **ARTICLE, country="US", api_base=base, embed_url=f"{base}/static/patronage-embed.js"
    )
    return HTMLResponse(page)


@router.get("/staff", include_in_schema=False)
def staff_console() -> RedirectResponse:
    """The old console's address: the console is at /console now."""
    return RedirectResponse("/console", status_code=301)
