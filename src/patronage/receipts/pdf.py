"""A receipt as a PDF: one page an accountant accepts, the same bytes every time.

Everything printed comes from the receipt itself (its organisation, donor, lines, dates and
statements were fixed when it was issued), the document's dates are the issue date, and the
file id is a hash of the content: rendering a receipt twice gives identical bytes. The
built-in Helvetica keeps the renderer free of font files; text outside Latin-1 is spelt
with its closest Latin letters. The drawing itself is in receipts/pdf_layout.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from patronage.domain.receipt import TaxReceipt


@dataclass(frozen=True)
class Branding:
    """Optional images from the organisation's settings (PNG or JPEG bytes)."""

    logo: bytes | None = None
    signature: bytes | None = None


def render_receipt(receipt: TaxReceipt, branding: Branding = Branding()) -> bytes:
    """The receipt's PDF; the same receipt (and branding) always gives the same bytes."""
    # Imported here, not above: fpdf costs every process a fifth of a second at start-up.
    from patronage.receipts.pdf_layout import draw

    return draw(receipt, branding)
