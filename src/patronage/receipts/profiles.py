"""What a receipt must say, per jurisdiction (docs/receipts.md gives each rule's source).

The domain decides which fields a jurisdiction requires; a profile holds the wording: the
document's title, how the tax number is labelled, and the statements printed on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from patronage.domain.money import Money
from patronage.domain.receipt import Jurisdiction, ReceiptKind

CRA_NAME_AND_ADDRESS = "Canada Revenue Agency: www.canada.ca/charities-giving"


@dataclass(frozen=True)
class Profile:
    jurisdiction: Jurisdiction
    single_title: str
    annual_title: str
    tax_id_label: str
    void_mark: str  # what a voided receipt's copy is stamped with

    def title(self, kind: ReceiptKind) -> str:
        return self.annual_title if kind == ReceiptKind.ANNUAL else self.single_title

    def statements(self, organisation: str, benefits: Money, replaces_number: str) -> list[str]:
        """The statements printed on the receipt, in order."""
        lines = _STATEMENTS[self.jurisdiction](organisation, benefits)
        if replaces_number:
            lines.append(
                f"This receipt cancels and replaces receipt No. {replaces_number}."
                if self.jurisdiction == Jurisdiction.CA
                else f"This receipt replaces receipt No. {replaces_number}, which is void."
            )
        return lines


def _us(organisation: str, benefits: Money) -> list[str]:
    if benefits.is_positive():
        goods = (
            f"In return for these contributions {organisation} provided goods or services with "
            f"a good-faith estimated fair market value of {benefits}. Only the amount above "
            "that value is deductible."
        )
    else:
        goods = (
            f"No goods or services were provided by {organisation} in return for these "
            "contributions."
        )
    return [goods, "Please keep this receipt for your tax records."]


def _ca(organisation: str, benefits: Money) -> list[str]:
    return [
        "Official receipt for income tax purposes.",
        "The eligible amount is the amount of the gift less the value of any advantage received.",
        CRA_NAME_AND_ADDRESS,
    ]


def _uk(organisation: str, benefits: Money) -> list[str]:
    return [
        f"Thank you for your gift to {organisation}. This acknowledgment is not a Gift Aid "
        "declaration; Gift Aid is claimed only under a declaration you have made."
    ]


_STATEMENTS = {Jurisdiction.US: _us, Jurisdiction.CA: _ca, Jurisdiction.UK: _uk}

PROFILES = {
    Jurisdiction.US: Profile(
        Jurisdiction.US, "Contribution receipt", "Annual statement of contributions", "EIN", "VOID"
    ),
    Jurisdiction.CA: Profile(
        Jurisdiction.CA,
        "Official donation receipt for income tax purposes",
        "Official donation receipt for income tax purposes (annual)",
        "Charity registration number",
        "CANCELLED",
    ),
    Jurisdiction.UK: Profile(
        Jurisdiction.UK,
        "Acknowledgment of your gift",
        "Acknowledgment of your gifts this year",
        "Registered charity number",
        "VOID",
    ),
}


def profile_for(jurisdiction: str) -> Profile:
    return PROFILES[Jurisdiction(jurisdiction)]
