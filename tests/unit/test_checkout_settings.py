from __future__ import annotations

import pytest

from patronage.config import SettingsError, load_settings


def test_demo_mode_refuses_a_live_stripe_key() -> None:
    with pytest.raises(SettingsError, match="never with a live key"):
        load_settings(_env_file=None, demo_mode=True, stripe_secret_key="sk_live_abcdef123456")
    assert load_settings(_env_file=None, demo_mode=True, stripe_secret_key="sk_test_x").demo_mode


def test_checkout_limits_and_currencies_are_checked() -> None:
    with pytest.raises(SettingsError, match="MINIMUM is above"):
        load_settings(_env_file=None, checkout_minimum=50, checkout_maximum=10)
    with pytest.raises(SettingsError, match="unsupported currency"):
        load_settings(_env_file=None, checkout_currencies="USD,XYZ")
    assert load_settings(_env_file=None, checkout_currencies="usd, eur").checkout_currencies == [
        "USD",
        "EUR",
    ]


def test_per_currency_minimums_are_read_and_checked() -> None:
    settings = load_settings(_env_file=None, checkout_minimums="jpy=500, USD=5")
    assert settings.checkout_minimums == {"JPY": 500, "USD": 5}
    for wrong in ("JPY500", "XXX=5", "USD=0", "USD=20000"):
        with pytest.raises(SettingsError):
            load_settings(_env_file=None, checkout_minimums=wrong)


def test_the_servers_test_card_refuses_a_live_key_and_stripe_js_must_be_stripe_js() -> None:
    with pytest.raises(SettingsError, match="PATRONAGE_CHECKOUT_TEST_CARD"):
        load_settings(_env_file=None, checkout_test_card=True, stripe_secret_key="sk_live_abc123")
    demo_js = "http://127.0.0.1:8420/js.stripe.com/v3/"
    assert load_settings(_env_file=None, stripe_js_url=demo_js).stripe_js_url == demo_js
    with pytest.raises(SettingsError, match="PATRONAGE_STRIPE_JS_URL"):
        load_settings(_env_file=None, stripe_js_url="https://cdn.example/stripe.js")
