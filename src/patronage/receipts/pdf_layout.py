"""The drawing of a receipt's PDF with fpdf2 (see receipts/pdf.py for what it guarantees).

Imported on the first render only: fpdf takes a fifth of a second to import, and most
processes (the CLI's commands, the view workers) never draw a receipt.
"""

from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime, time

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from patronage.domain.money import Money
from patronage.domain.receipt import Jurisdiction, ReceiptKind, TaxReceipt
from patronage.domain.values import PostalAddress
from patronage.receipts.pdf import Branding
from patronage.receipts.profiles import Profile, profile_for

_PAGE = {Jurisdiction.US: "Letter", Jurisdiction.CA: "Letter", Jurisdiction.UK: "A4"}
_INK = (20, 20, 20)
_MUTED = (90, 90, 90)
_RULE = (160, 160, 160)


def latin(text: str) -> str:
    """Text the built-in fonts can print: accents kept where Latin-1 has them."""
    if all(ord(c) < 256 for c in text):
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if ord(c) < 256 and not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", kept).encode("latin-1", "replace").decode("latin-1")


def address_lines(address: PostalAddress) -> list[str]:
    city = " ".join(p for p in (address.city, address.region, address.postal_code) if p)
    return [line for line in (address.line1, address.line2, city, address.country) if line]


def money(minor: int, currency: str) -> str:
    return str(Money(minor, currency))


class _Document(FPDF):
    def __init__(self, receipt: TaxReceipt, profile: Profile) -> None:
        super().__init__(format=_PAGE[Jurisdiction(receipt.organisation.jurisdiction)])
        self.receipt = receipt
        self.profile = profile
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=20)
        issued = datetime.combine(receipt.issued_on, time(12), tzinfo=UTC)
        self.set_creation_date(issued)
        self.set_producer("Patronage")
        self.set_creator("Patronage")
        self.set_title(latin(f"{profile.title(receipt.kind)} {receipt.number}"))
        self.set_author(latin(receipt.organisation.name))
        self.set_lang("en")

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.set_text_color(*_MUTED)
        self.cell(
            0, 5, latin(f"Receipt No. {self.receipt.number}  -  page {self.page_no()} of {{nb}}"),
            align="C",
        )  # fmt: skip


def _text(pdf: FPDF, text: str, *, size: float = 10, style: str = "", height: float = 5) -> None:
    pdf.set_font("Helvetica", style=style, size=size)
    pdf.multi_cell(0, height, latin(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _header(pdf: _Document, receipt: TaxReceipt, branding: Branding) -> None:
    org = receipt.organisation
    top = pdf.get_y()
    if branding.logo:
        pdf.image(io.BytesIO(branding.logo), x=pdf.l_margin, y=top, h=16)
        pdf.set_y(top + 19)
    pdf.set_text_color(*_INK)
    _text(pdf, org.name, size=14, style="B", height=6)
    pdf.set_text_color(*_MUTED)
    _text(pdf, org.address, size=9, height=4.5)
    _text(pdf, f"{pdf.profile.tax_id_label}: {org.tax_id}", size=9, height=4.5)
    pdf.set_text_color(*_INK)
    pdf.ln(5)
    _text(pdf, pdf.profile.title(receipt.kind), size=15, style="B", height=7)
    pdf.ln(1)
    facts = [
        ("Receipt No.", receipt.number),
        ("Date issued", receipt.issued_on.isoformat()),
        ("Tax year", str(receipt.tax_year)),
    ]
    if org.issued_at_place:
        facts.append(("Place of issue", org.issued_at_place))
    if receipt.replaces_number:
        facts.append(("Replaces receipt No.", receipt.replaces_number))
    for label, value in facts:
        pdf.set_font("Helvetica", style="B", size=10)
        pdf.cell(45, 5.5, latin(label))
        pdf.set_font("Helvetica", size=10)
        pdf.cell(0, 5.5, latin(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _donor(pdf: FPDF, receipt: TaxReceipt) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.cell(0, 5.5, "Received from", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for line in [receipt.donor.name, *address_lines(receipt.donor.address)]:
        _text(pdf, line, height=5)


def _lines(pdf: FPDF, receipt: TaxReceipt) -> None:
    pdf.ln(5)
    currency = receipt.currency
    widths = (50, 40, 42, 42)
    heads = ("Date of gift", "Amount", "Advantage", "Eligible amount")
    pdf.set_font("Helvetica", style="B", size=10)
    pdf.set_fill_color(235, 235, 235)
    for width, head in zip(widths, heads, strict=True):
        pdf.cell(width, 7, head, border="B", fill=True, align="L" if width == 50 else "R")
    pdf.ln()
    pdf.set_font("Helvetica", size=10)
    for line in receipt.gifts:
        cells = (
            line.received_on,
            money(line.amount_minor, currency),
            money(line.benefit_minor, currency),
            money(line.amount_minor - line.benefit_minor, currency),
        )
        for width, value in zip(widths, cells, strict=True):
            pdf.cell(width, 5.5, value, align="L" if width == 50 else "R")
        pdf.ln()
    pdf.set_draw_color(*_RULE)
    pdf.set_font("Helvetica", style="B", size=10)
    gifts = "1 gift" if len(receipt.gifts) == 1 else f"{len(receipt.gifts)} gifts"
    totals = (
        f"Total ({gifts})",
        str(receipt.total),
        str(receipt.benefits),
        str(receipt.eligible_amount),
    )
    for width, value in zip(widths, totals, strict=True):
        pdf.cell(width, 7, value, border="T", align="L" if width == 50 else "R")
    pdf.ln(9)
    pdf.set_font("Helvetica", size=10)
    summary = [
        f"Total amount received: {receipt.total}",
        f"Value of advantage (goods or services received in return): {receipt.benefits}",
        f"Eligible amount of gift for tax purposes: {receipt.eligible_amount}",
    ]
    if receipt.kind == ReceiptKind.ANNUAL:
        summary.insert(0, f"Gifts received from 1 January to 31 December {receipt.tax_year}.")
    for sentence in summary:
        _text(pdf, sentence, height=5.5)


# Room the statements and the signature need: they stay together on one page.
_CLOSING_MM = 62


def _statements_and_signature(pdf: _Document, receipt: TaxReceipt, branding: Branding) -> None:
    if pdf.get_y() + _CLOSING_MM > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    for statement in receipt.statement.splitlines():
        _text(pdf, statement, size=10, height=5)
        pdf.ln(1)
    pdf.ln(4)
    if branding.signature:
        pdf.image(io.BytesIO(branding.signature), x=pdf.l_margin, h=14)
    pdf.set_draw_color(*_INK)
    y = pdf.get_y()
    pdf.line(pdf.l_margin, y, pdf.l_margin + 70, y)
    pdf.ln(1)
    signer = receipt.organisation.signatory or receipt.organisation.name
    _text(pdf, f"Authorised signature: {signer}", size=9, height=4.5)


def _void_mark(pdf: _Document, receipt: TaxReceipt) -> None:
    """A voided receipt's copy says so across the page, with the reason."""
    if not receipt.is_void:
        return
    pdf.set_text_color(200, 30, 30)
    pdf.set_font("Helvetica", style="B", size=44)
    with pdf.rotation(30, x=pdf.w / 2, y=pdf.h / 2):
        pdf.text(pdf.w / 2 - 45, pdf.h / 2, pdf.profile.void_mark)
    pdf.set_xy(pdf.l_margin, pdf.h - 32)
    note = f"{pdf.profile.void_mark}: {receipt.void_reason}"
    if receipt.replaced_by_number:
        note += f" (replaced by receipt No. {receipt.replaced_by_number})"
    _text(pdf, note, size=9, style="B", height=4.5)
    pdf.set_text_color(*_INK)


def draw(receipt: TaxReceipt, branding: Branding) -> bytes:
    pdf = _Document(receipt, profile_for(receipt.organisation.jurisdiction))
    pdf.add_page()
    _header(pdf, receipt, branding)
    _donor(pdf, receipt)
    _lines(pdf, receipt)
    _statements_and_signature(pdf, receipt, branding)
    _void_mark(pdf, receipt)
    return bytes(pdf.output())
