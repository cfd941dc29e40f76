"""Production shape on PostgreSQL with real processes: `patronage setup`, two API processes
and the view workers. Signed webhooks go to both APIs (each event to both, as Stripe's
retries may); the views end right, and /readyz and /metrics of each API report them. One
Stripe event is followed through the JSON logs to the views' position."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from patronage.config import load_settings
from tests.support import http
from tests.support import stripe_events as se
from tests.support.polling import eventually, exited
from tests.support.processes import command, patronage_process, process_env
from tests.support.servers import free_port, wait_until_ready
from tests.support.stores import store_settings

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
DONORS = 8
AMOUNT = 2000


def _payments() -> Iterator[tuple[dict[str, object], dict[str, object]]]:
    for n in range(DONORS):
        email = f"donor{n}@example.org"
        metadata = se.our_metadata(email, campaign="spring")
        pi = f"pi_ops_e2e_{n}"
        yield (
            se.event(
                "checkout.session.completed",
                se.checkout_session(f"cs_ops_{n}", AMOUNT, email, metadata, payment_intent=pi),
                created=se.T0 + 2,
                event_id=f"evt_ops_session_{n}",
            ),
            se.event(
                "payment_intent.succeeded",
                se.payment_intent(pi, AMOUNT, metadata),
                event_id=f"evt_ops_intent_{n}",
            ),
        )


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _sum(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
         **labels: str) -> float:  # fmt: skip
    return sum(
        value
        for (sample, sample_labels), value in samples.items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )


def test_two_apis_and_the_workers_on_postgresql_agree_and_report_it(tmp_path: Path) -> None:
    with store_settings("postgres", tmp_path) as overrides:
        settings = load_settings(_env_file=None, **overrides)
        env = process_env(settings) | {
            "PATRONAGE_STRIPE_WEBHOOK_SECRETS": se.PRIMARY_SECRET,
            "PATRONAGE_CREATE_TABLES": "false",
            "PATRONAGE_LOG_LEVEL": "INFO",
        }
        setup = subprocess.run(command("setup"), env=env, capture_output=True, text=True,
                               timeout=120)  # fmt: skip
        assert setup.returncode == 0, setup.stderr

        ports = [free_port(), free_port()]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        logs = [tmp_path / f"api{i}.log" for i in range(2)]
        # The second API is given no log format: it must choose JSON, its output is a file.
        envs = [env, {k: v for k, v in env.items() if k != "PATRONAGE_LOG_FORMAT"}]
        with ExitStack() as stack:
            workers = stack.enter_context(
                patronage_process(["projections", "run"], env, tmp_path / "workers.log")
            )
            apis = [
                stack.enter_context(patronage_process(["serve", "--port", str(port)], api_env, log))
                for port, api_env, log in zip(ports, envs, logs, strict=True)
            ]
            for url, api in zip(urls, apis, strict=True):
                wait_until_ready(f"{url}/healthz", api)
            clients = [stack.enter_context(http.client(base_url=url, timeout=30)) for url in urls]

            for n, (session, intent) in enumerate(_payments()):
                first, second = (clients[0], clients[1]) if n % 2 else (clients[1], clients[0])
                for evt in (session, intent):
                    for client in (first, second):  # every event reaches both APIs
                        response = se.deliver(client, evt, headers={"x-request-id": f"r{n}"})  # type: ignore[arg-type]
                        assert response.status_code == 200, response.text

            last: list[object] = []

            def all_ready() -> bool:
                answers = [client.get("/readyz") for client in clients]
                last[:] = [(a.status_code, a.json()) for a in answers]
                return all(
                    a.status_code == 200
                    and all(view["lag"] == 0 for view in a.json()["views"].values())
                    for a in answers
                )

            try:
                eventually(
                    all_ready,
                    "both APIs ready with the views caught up",
                    timeout=240,  # a deadline on a shared machine, not a speed goal
                    abort=exited(workers),
                )
            except AssertionError as error:
                raise AssertionError(f"{error}; last /readyz answers: {last}") from None

            supporters = clients[0].get("/staff/supporters", headers=STAFF).json()
            assert supporters["total"] == DONORS
            campaigns = clients[1].get("/staff/totals/campaigns", headers=STAFF).json()
            spring = [row for row in campaigns if row["campaign"] == "spring"]
            assert sum(row["gifts"] for row in spring) == DONORS

            scraped = [_samples(c.get("/metrics", headers=STAFF).text) for c in clients]
            for samples in scraped:
                for view in ("supporters", "totals", "register", "ticker"):
                    lag = ("patronage_projection_lag_events", (("view", view),))
                    assert samples[lag] == 0
                gifts = (
                    "patronage_campaign_gifts",
                    (("campaign", "spring"), ("currency", "USD")),
                )
                assert samples[gifts] == DONORS
                assert _sum(samples, "patronage_webhook_events_total") > 0, "both got events"
            events = "patronage_webhook_events_total"
            duplicates = sum(_sum(s, events, result="duplicate") for s in scraped)
            firsts = sum(_sum(s, events) for s in scraped) - duplicates
            assert (firsts, duplicates) == (2 * DONORS, 2 * DONORS)
            assert sum(_sum(s, events, result="failed") for s in scraped) == 0

            # Follow one Stripe event: its lines in whichever API took it first carry its
            # id and the request id, and the views' positions have passed its effect.
            lines = [
                json.loads(line)
                for log in logs
                for line in log.read_text().splitlines()
                if line.strip()
            ]
            assert all("\x1b[" not in log.read_text() for log in logs)
            # A request's one line is the request log's, with its id: uvicorn's access line
            # (the client's address, the raw query, no id) is off.
            assert [line for line in lines if line["event"] == "request_handled"]
            assert not [line for line in lines if line.get("logger") == "uvicorn.access"]
            followed = [
                line for line in lines if line.get("stripe_event_id") == "evt_ops_session_3"
            ]
            handled = [line for line in followed if line["event"] == "stripe_webhook_handled"]
            assert {line["result"] for line in handled} == {"applied", "duplicate"}
            assert {line["request_id"] for line in followed} == {"r3"}
            assert {"stripe_event_received", "request_handled"} <= {x["event"] for x in followed}
            effect = min(line["ledger_position"] for line in handled)
            positions = {
                labels: value
                for (name, labels), value in scraped[0].items()
                if name == "patronage_projection_position"
            }
            assert positions and all(value >= effect for value in positions.values())
