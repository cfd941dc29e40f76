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
