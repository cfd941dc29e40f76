from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from patronage.logs import (
    MAX_ITEMS,
    MAX_TEXT_CHARS,
    configure_logging,
    mask_email,
    scrub_sensitive,
    scrub_text,
)


def test_mask_email_keeps_first_letter_and_domain() -> None:
    assert mask_email("ada.lovelace@example.org") == "a***@example.org"
    assert mask_email("write to ada@example.org now") == "write to a***@example.org now"


def test_json_logs_never_carry_emails_secrets_or_card_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_lines=True)
    structlog.get_logger("t").info(
        "gift_recorded",
        email="ada.lovelace@example.org",
        note="key sk_test_51Habcdefghijkl used, card 4242 4242 4242 4242",
        client_secret="pi_123_secret_456",
        nested={"password": "hunter2", "who": "grace@example.org"},
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "gift_recorded"
    assert record["email"] == "a***@example.org"
    for leaked in (
        "ada.lovelace",
        "sk_test_51H",
        "4242 4242",
        "pi_123_secret",
        "hunter2",
        "grace@",
    ):
        assert leaked not in line


def test_scrubbing_cuts_each_value_before_any_pattern_runs() -> None:
    """Linear by construction: a pattern only ever sees MAX_TEXT_CHARS characters, so a
    120 KB value costs what a 500-character one does; what lies beyond is never logged."""
    huge = "a" * 120_000 + " ada@example.org"
    scrubbed = scrub_text(huge)
    assert len(scrubbed) <= MAX_TEXT_CHARS + 40
    assert scrubbed.endswith(f"...[{len(huge) - MAX_TEXT_CHARS} more chars]")
    assert "@" not in scrubbed
    # Masking still works within the bound, whatever runs of local-part characters precede.
    assert mask_email("x" * 300 + " grace@example.org") == "x" * 300 + " g***@example.org"


def test_nested_values_are_bounded_in_depth_and_items() -> None:
    deep: object = "bottom"
    for _ in range(50):
        deep = [deep]
    event = scrub_sensitive(None, "info", {"deep": deep, "many": list(range(10_000))})
    assert "[nested too deep]" in json.dumps(event["deep"])
    assert len(event["many"]) == MAX_ITEMS


def test_standard_library_records_and_tracebacks_are_one_scrubbed_json_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """uvicorn logs through the standard library: its tracebacks go through the scrubber."""
    configure_logging(json_lines=True)
    try:
        raise RuntimeError("card 4242 4242 4242 4242 of ada.lovelace@example.org")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "Exception in ASGI application"
    assert "RuntimeError" in record["exception"]
    assert "4242 4242" not in lines[0] and "ada.lovelace" not in lines[0]


def test_a_record_after_standard_output_was_replaced_goes_to_the_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A thread that outlives a test's captured output (a mail server's) still logs."""
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", first)
    configure_logging(json_lines=True)
    monkeypatch.setattr(sys, "stdout", second)
    first.close()
    logging.getLogger("mail.log").warning("%r EOF received", ("127.0.0.1", 25))
    assert json.loads(second.getvalue())["event"] == "('127.0.0.1', 25) EOF received"


def test_an_http_client_s_request_lines_with_their_queries_are_not_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_lines=True)
    logging.getLogger("httpx").info('HTTP Request: GET https://x.example/?q=lovelace "200 OK"')
    logging.getLogger("httpx").warning("giving up on x.example")
    assert capsys.readouterr().out.count("\n") == 1, "the warning only"


def test_logs_are_json_lines_without_colour_when_output_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging()  # the default: decide by the output (captured: not a terminal)
    structlog.get_logger("t").warning("disk_nearly_full", percent=91)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "\x1b[" not in line
    assert json.loads(line)["event"] == "disk_nearly_full"


def test_console_format_forced_into_a_file_has_no_colour_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_lines=False)
    structlog.get_logger("t").warning("disk_nearly_full", percent=91)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "disk_nearly_full" in line
    assert "\x1b[" not in line


def test_a_link_secret_in_a_query_is_dropped() -> None:
    """The access log shows paths with their query: sign-in and cancellation links' secrets."""
    line = '"GET /my/sign-in/link?token=Zx9-abc_DEF&next=1 HTTP/1.1" 200'
    assert scrub_text(line) == '"GET /my/sign-in/link?token=[secret]&next=1 HTTP/1.1" 200'
    assert scrub_text("/my/cancel?token=AAAA.BBBB") == "/my/cancel?token=[secret]"
