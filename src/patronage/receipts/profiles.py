"""What a receipt must say, per tax jurisdiction (see docs/receipts.md for the sources)."""

from __future__ import annotations

from patronage.domain.money import Money
from patronage.domain.receipt import Jurisdiction


def receipt_statement(jurisdiction: Jurisdiction, organisation: str, benefits: Money) -> str:
    """The legal statement printed on a receipt, given the value of any benefit received."""
    if jurisdiction == Jurisdiction.US:
        if benefits.is_positive():
            return (
                f"In return for this contribution {organisation} provided goods or services "
                f"with a good-faith estimated fair market value of {benefits}. Only the amount "
                "above that value is deductible."
            )
        return (
            f"No goods or services were provided by {organisation} in return for this contribution."
        )
    if jurisdiction == Jurisdiction.CA:
        return (
            "Official receipt for income tax purposes. Canada Revenue Agency: "
            "canada.ca/charities-giving. Eligible amount is the gift less the advantage shown."
        )
    return (
        f"Thank you for your gift to {organisation}. This acknowledgment is not a Gift Aid "
        "declaration; Gift Aid is claimed only under a declaration you have made."
    )
