"""Pages of the demo only (`patronage demo`): mounted when PATRONAGE_DEMO_MODE is on, so a
plain `serve` answers 404 under /demo."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

router = APIRouter(prefix="/demo", tags=["demo"], include_in_schema=False)
_templates = Environment(
    loader=PackageLoader("patronage", "web/templates"), autoescape=select_autoescape()
)

ARTICLE = {
    "article_id": "2026-water-rates-analysis",
    "title": "Who pays for Springfield's new water pipes?",
    "section": "politics",
    "tags": ["local-government", "water", "budget", "elections"],
}


@router.get("/article", response_class=HTMLResponse)
def demo_article() -> HTMLResponse:
    """A sample news article with the ask at its end, as a newsroom's page would embed it."""
    # Same-origin paths: an address built from the Host header would let whoever sets the
    # header choose where the page loads its script from.
    page = _templates.get_template("article.html").render(
        **ARTICLE, country="US", embed_url="/static/patronage-embed.js"
    )
    return HTMLResponse(page)
