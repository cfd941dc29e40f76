"""Staff: issue, void, replace and resend tax receipts, download their PDFs, run year end.

Each route maps HTTP to one Receipting call. An action answers once the receipt register
has applied it (read-your-writes), so the person who acted sees it there straight away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar
from uuid import UUID

from fastapi import HTTPException, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from patronage.api.deps import PatronageDep, StaffDep, staff_router
from patronage.api.register import Receipt
from patronage.application.receipting import Issued, ReceiptNotFoundError, YearEndReport
from patronage.application.year_end import YearEndJob
from patronage.bootstrap import Patronage
from patronage.domain.money import MoneyError, normalise_currency
from patronage.receipts.pdf import render_receipt

router = staff_router(
    "/staff/receipts",
    "staff: receipts",
    not_found="no such gift, supporter, receipt or job",
    conflict="a receipt rule refused it (already receipted, void, held, ...)",
    service_unavailable="the receipt register is catching up with the ledger: try again",
)

ReceiptNumber = Annotated[str, Path(pattern=r"^[SA]\d{4}-\d{6,9}$", examples=["A2026-000042"])]
T = TypeVar("T")


class IssueSingleIn(BaseModel):
    gift_id: UUID


class IssueAnnualIn(BaseModel):
    supporter_id: UUID
    tax_year: int = Field(ge=1900, le=2999)
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, examples=["donor's name misspelt"])


class ReceiptActionOut(BaseModel):
    receipt_id: UUID
    number: str
    position: int = Field(description="the event log position of the action (for ?after=)")
    in_register: Receipt | None = Field(
        description="the register's entry; null if the view did not catch up in time"
    )


def _answer(patronage: Patronage, issued: Issued) -> ReceiptActionOut:
    """The receipt as the register shows it, once the register has applied the action."""
    registered = patronage.receipting.registered(issued)
    entry = registered.entry
    return ReceiptActionOut(
        receipt_id=registered.receipt_id,
        number=registered.number,
        position=registered.position,
        in_register=None if entry is None else Receipt.of(entry),
    )


def _found(call: Callable[[], T]) -> T:
    try:
        return call()
    except ReceiptNotFoundError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None


def _act(
    patronage: Patronage,
    staff: str,
    action: str,
    subject: str,
    call: Callable[[], T],
    details: dict[str, str] | None = None,
) -> T:
    """A receipt action, saved with its audit record; 404 (and no record) for an unknown
    gift or receipt."""
    with patronage.audit.action(staff, action, subject, details):
        return _found(call)


def _for_reason(
    patronage: Patronage,
    staff: str,
    action: str,
    number: str,
    reason: str,
    change: Callable[[str, str, str], Issued],
) -> ReceiptActionOut:
    """A change to receipt `number` for a reason staff give (kept in the audit record too)."""
    changed = _act(
        patronage, staff, action, number, lambda: change(number, reason, staff), {"reason": reason}
    )
    return _answer(patronage, changed)


@router.post("/single", status_code=status.HTTP_201_CREATED)
def issue_single(body: IssueSingleIn, staff: StaffDep, patronage: PatronageDep) -> ReceiptActionOut:
    """Issue a receipt for one gift, numbered next in its tax year's single series."""
    issued = _act(
        patronage, staff, "receipt.issued", f"gift {body.gift_id}",
        lambda: patronage.receipting.issue_single(body.gift_id),
    )  # fmt: skip
    return _answer(patronage, issued)


@router.post("/annual", status_code=status.HTTP_201_CREATED)
def issue_annual(body: IssueAnnualIn, staff: StaffDep, patronage: PatronageDep) -> ReceiptActionOut:
    """Issue one annual receipt for a supporter's gifts of a year in one currency that no
    valid receipt covers yet (gifts receipted singly are left out; disputed ones wait)."""
    try:
        currency = normalise_currency(body.currency)
    except MoneyError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=str(error)) from None
    try:
        issued = _act(
            patronage, staff, "receipt.issued", f"supporter {body.supporter_id}",
            lambda: patronage.receipting.issue_annual(body.supporter_id, body.tax_year, currency),
            {"tax_year": str(body.tax_year), "currency": currency},
        )  # fmt: skip
    except TimeoutError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the receipt register is catching up with the ledger",
            headers={"Retry-After": "5"},
        ) from None
    return _answer(patronage, issued)


class YearEndIn(BaseModel):
    tax_year: int = Field(ge=1900, le=2999)
    dry_run: bool = False


class YearEndOut(BaseModel):
    job_id: str
    tax_year: int
    dry_run: bool
    state: Literal["running", "done", "failed"]
    done: int = Field(description="supporter and currency groups processed so far")
    total: int
    issued: int = Field(description="receipts issued (in a dry run: that would be)")
    missing_details: int = Field(description="supporters skipped until their details are complete")
    first_number: str
    last_number: str
    error: str

    @classmethod
    def of(cls, job: YearEndJob) -> YearEndOut:
        # The job's fields by their names, and its report's counts (none yet: an empty report).
        report = job.report or YearEndReport(job.tax_year, job.dry_run)
        return cls.model_validate(
            vars(job)
            | {
                "issued": report.issued,
                "missing_details": len(report.missing_details),
                "first_number": report.first_number,
                "last_number": report.last_number,
            }
        )


@router.post("/year-end", status_code=status.HTTP_202_ACCEPTED)
def start_year_end(body: YearEndIn, staff: StaffDep, patronage: PatronageDep) -> YearEndOut:
    """Start year end (annual receipts for every supporter) in the background; read its
    progress at /staff/receipts/year-end/{job_id}. A second run issues nothing new."""
    return YearEndOut.of(patronage.year_end.start(body.tax_year, body.dry_run, by=staff))


@router.get("/year-end/{job_id}")
def year_end_job(
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    _staff: StaffDep,
    patronage: PatronageDep,
) -> YearEndOut:
    """A year-end run's progress and result (kept by the process that runs it)."""
    job = patronage.year_end.get(job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no year-end job {job_id}")
    return YearEndOut.of(job)


@router.get(
    "/{number}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the receipt's PDF"}},
)
def receipt_pdf(
    number: ReceiptNumber,
    _staff: StaffDep,
    patronage: PatronageDep,
    download: Annotated[bool, Query(description="as an attachment rather than inline")] = False,
) -> Response:
    """The receipt's PDF, as the donor received it (a void one is marked so)."""
    receipt = _found(lambda: patronage.receipting.receipt(number))
    disposition = "attachment" if download else "inline"
    return Response(
        render_receipt(receipt, patronage.branding),
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="receipt-{number}.pdf"'},
    )


@router.post("/{number}/void")
def void_receipt(
    number: ReceiptNumber, body: ReasonIn, staff: StaffDep, patronage: PatronageDep
) -> ReceiptActionOut:
    """Void a receipt: it stays in the register, is never emailed again, and its gifts may
    be receipted again."""
    return _for_reason(
        patronage, staff, "receipt.voided", number, body.reason, patronage.receipting.void
    )


@router.post("/{number}/replace", status_code=status.HTTP_201_CREATED)
def replace_receipt(
    number: ReceiptNumber, body: ReasonIn, staff: StaffDep, patronage: PatronageDep
) -> ReceiptActionOut:
    """Void a receipt and issue its corrected replacement (what its gifts hold now, after
    refunds and lost disputes), which names the original's number. With nothing left to
    receipt the original is only voided, and the answer is the voided original."""
    return _for_reason(
        patronage, staff, "receipt.replaced", number, body.reason, patronage.receipting.replace
    )


@router.post("/{number}/resend", status_code=status.HTTP_202_ACCEPTED)
def resend_receipt(
    number: ReceiptNumber, staff: StaffDep, patronage: PatronageDep
) -> ReceiptActionOut:
    """Email the receipt again through the outbox; refused for a void receipt."""
    resent = _act(
        patronage,
        staff,
        "receipt.resent",
        number,
        lambda: patronage.receipting.resend(number, staff),
    )
    return _answer(patronage, resent)
