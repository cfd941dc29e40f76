"""Demo only (PATRONAGE_DEMO_MODE): the mail the demo's local SMTP catcher received.

The catcher (cli/mail_catcher.py) writes each message into the demo's data directory;
this page lists them, so a newcomer can read a receipt email and open its PDF.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from patronage.api.deps import PatronageDep

router = APIRouter(tags=["demo"], include_in_schema=False)
_templates = Environment(
    loader=PackageLoader("patronage", "web/templates"), autoescape=select_autoescape()
)
MAIL_DIRECTORY = "demo-mail"


def mail_directory(data_dir: Path) -> Path:
    return data_dir / MAIL_DIRECTORY


def read_message(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _summary(path: Path) -> dict[str, Any]:
    message = read_message(path)
    body = message.get_body(preferencelist=("plain",))
    attachments = [
        {"index": n, "filename": a.get_filename() or f"part-{n}", "size": len(a.get_content())}
        for n, a in enumerate(message.iter_attachments())
    ]
    return {
        "id": path.stem,
        "subject": message["Subject"],
        "sender": message["From"],
        "to": message["To"],
        "date": message["Date"],
        "message_id": message["Message-ID"],
        "body": body.get_content() if body is not None else "",
        "attachments": attachments,
    }


@router.get("/demo/mail", response_class=HTMLResponse)
def caught_mail(patronage: PatronageDep) -> HTMLResponse:
    directory = mail_directory(patronage.settings.data_dir)
    paths = sorted(directory.glob("*.eml"), reverse=True) if directory.is_dir() else []
    return HTMLResponse(
        _templates.get_template("demo_mail.html").render(messages=[_summary(p) for p in paths])
    )


@router.get("/demo/mail/{message}/{index}")
def caught_attachment(
    message: Annotated[str, PathParam(pattern=r"^\d{6}$")],
    index: Annotated[int, PathParam(ge=0, le=20)],
    patronage: PatronageDep,
) -> Response:
    path = mail_directory(patronage.settings.data_dir) / f"{message}.eml"
    parts = list(read_message(path).iter_attachments()) if path.is_file() else []
    if index >= len(parts):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such attachment")
    part = parts[index]
    return Response(
        part.get_content(),
        media_type=part.get_content_type(),
        headers={"Content-Disposition": f'inline; filename="{part.get_filename()}"'},
    )
