"""The currency a reader is asked in, from their country."""

from __future__ import annotations

_EURO_AREA = {
    "AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PT", "SI", "SK",
}  # fmt: skip
_NATIONAL = {"US": "USD", "GB": "GBP", "CA": "CAD", "AU": "AUD", "NZ": "NZD", "CH": "CHF",
             "SE": "SEK", "NO": "NOK", "DK": "DKK", "JP": "JPY"}  # fmt: skip


def currency_for(country: str, default: str) -> str:
    code = country.strip().upper()
    if code in _EURO_AREA:
        return "EUR"
    return _NATIONAL.get(code, default)
