"""The quick route's answer (`answer_json`: an ask's framing, made once per copy, around
the reader's article id) is, byte for byte, the documented answer serialised, whatever
the settings that shape the framing and whatever the article id holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import AnyHttpUrl, SecretStr
from starlette.datastructures import Headers

from patronage.api.app import create_app
from patronage.api.asks import ANSWER, AskRequest, answer_json, answer_of
from patronage.bootstrap import Patronage, bootstrap
from patronage.config import Settings
from tests.integration.test_asks_api import start_campaign

ARTICLE_IDS = [
    "a-1",
    'quote " and back\\slash',
    "caf\u00e9 \u2014 \U0001f4f0",
    "</script>",
    '{"campaign":"spring","variant":"control","article_id":""}',  # the framing's own mark
]


@pytest.fixture(
    params=[
        {},
        {
            "stripe_publishable_key": "pk_test_123",
            "stripe_js_url": "http://127.0.0.1:8420/js.stripe.com/v3/",
        },
        {
            "stripe_publishable_key": "pk_test_123",
            "captcha_verify_url": AnyHttpUrl("https://captcha.example.org/verify"),
            "captcha_secret": SecretStr("captcha-secret-for-tests"),
        },
    ],
    ids=["no-stripe-key", "stripe-key", "stripe-key-and-captcha"],
)
def shaped(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Patronage]:
    app = bootstrap(settings.model_copy(update=request.param))
    yield app
    app.close()


def _body(article_id: str, **reader: Any) -> AskRequest:
    return AskRequest.model_validate(
        {
            "page": {"article_id": article_id, "section": "politics"},
            "reader": {"reader_id": f"reader-{article_id}", "country": "US", **reader},
        }
    )


def test_the_quick_answer_is_the_documented_answer_byte_for_byte(shaped: Patronage) -> None:
    start_campaign(shaped, include_sections=("politics",))
    state = create_app(shaped).state
    headers = Headers(raw=[])
    for article_id in ARTICLE_IDS:
        for n, body in enumerate(
            (
                _body(article_id),
                _body(article_id, weekly_counts=[{"week_start": "2026-11-16", "count": 40}]),
                _body(article_id, article_count_opt_out=True),
            )
        ):
            documented = answer_of(body, state, headers, None, False)
            assert n > 0 or documented.kind == "ask", "each article's first reader is asked"
            assert answer_json(body, state, headers) == ANSWER.dump_json(documented)


def test_a_page_without_an_ask_is_answered_as_documented(shaped: Patronage) -> None:
    state = create_app(shaped).state
    body = _body("a-1")
    documented = answer_of(body, state, Headers(raw=[]), None, False)
    assert documented.kind == "none"
    assert answer_json(body, state, Headers(raw=[])) == ANSWER.dump_json(documented)
