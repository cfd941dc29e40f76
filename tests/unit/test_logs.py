from __future__ import annotations

import json

import pytest
import structlog

from patronage.logs import configure_logging, mask_email


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
