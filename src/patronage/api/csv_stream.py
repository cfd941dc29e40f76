"""CSV that opens cleanly in a spreadsheet: UTF-8 with a byte-order mark, one header row,
ISO dates, amounts as exact decimal text in major units, and text cells that a spreadsheet
would run as a formula (starting with =, +, -, @, tab or CR) prefixed with an apostrophe."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence

from patronage.domain.money import Money

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
ROWS_PER_CHUNK = 200


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet shows as text: a leading formula character is escaped
    (a plain negative number stays a number)."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def amount(minor: int, currency: str) -> str:
    """Minor units as major units, exactly: 1250 USD -> "12.50", 500 JPY -> "500"."""
    return Money(minor, currency).decimal_text()


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """The CSV file in chunks, encoded as it is written (streamed, never held whole)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(header)
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(cell) for cell in row])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
