"""The Jinja environment of one kind of HTML page (the staff console, the supporter pages):
its own templates, and the page skeleton they share as "shared/page.html"."""

from __future__ import annotations

from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader, select_autoescape


def page_templates(folder: str) -> Environment:
    """Templates from web/templates/`folder`, and web/templates/shared under "shared/"."""
    return Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("patronage", f"web/templates/{folder}"),
                PrefixLoader({"shared": PackageLoader("patronage", "web/templates/shared")}),
            ]
        ),
        autoescape=select_autoescape(default=True),
    )
