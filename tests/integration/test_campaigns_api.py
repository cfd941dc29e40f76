"""The staff campaign API and CLI: commands as status codes and exit codes, on SQLite.

The rules themselves are tested on the in-memory store (tests/service/test_campaigns.py);
the catalogue's reading of the log on both stores in test_asks_api.py.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from patronage.api.app import create_app
from patronage.application.campaigns import CampaignSettings
from patronage.bootstrap import Patronage, bootstrap
from patronage.cli.main import cli
from patronage.config import Settings
from patronage.domain.campaign import Targeting
from tests.support.campaigns import variant

pytestmark = pytest.mark.parametrize("store", ["sqlite"])

STAFF = {"Authorization": "Bearer staff-key-for-tests"}
CAMPAIGN = {
    "code": "spring-drive",
    "name": "Spring drive",
    "priority": 10,
    "targeting": {"include_tags": ["politics"], "holdback_bp": 500},
    "goal": {"amount": "25000.00", "currency": "USD"},
    "variants": [
        {
            "name": "control",
            "heading": "Keep this reporting free",
            "paragraphs": ["We rely on readers."],
            "cta": {"text": "Support us"},
            "amounts": [
                {"currency": "USD", "one_time": [1000, 2500], "monthly": [500, 1000],
                 "default_one_time": 2500, "default_monthly": 1000}
            ],
        }
    ],
}  # fmt: skip


def test_staff_manage_a_campaign_and_see_who_changed_it(patronage: Patronage) -> None:
    client = TestClient(create_app(patronage))
    assert client.post("/staff/campaigns", json=CAMPAIGN).status_code == 401
    created = client.post("/staff/campaigns", json=CAMPAIGN, headers=STAFF)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    assert created.json()["goal"] == "25000.00 USD"
    again = client.post("/staff/campaigns", json=CAMPAIGN, headers=STAFF)
    assert again.status_code == 422 and "already exists" in again.json()["detail"]

    assert (
        client.post("/staff/campaigns/spring-drive/start", headers=STAFF).json()["status"] == "live"
    )
    edited = {**CAMPAIGN["variants"][0], "heading": "New heading"}  # type: ignore[index]
    response = client.put(
        "/staff/campaigns/spring-drive/variants/control", json=edited, headers=STAFF
    )
    assert response.json()["variants"][0]["heading"] == "New heading"
    assert client.post("/staff/campaigns/spring-drive/pause", headers=STAFF).status_code == 200
    assert client.post("/staff/campaigns/spring-drive/pause", headers=STAFF).status_code == 422
    assert client.post("/staff/campaigns/nope/start", headers=STAFF).status_code == 404
    documented = client.get("/openapi.json").json()["paths"]["/staff/campaigns/{code}/pause"]
    assert "422" in documented["post"]["responses"]
    assert "409" not in documented["post"]["responses"], "refusals are 422, as answered"

    history = client.get("/staff/campaigns/spring-drive/history", headers=STAFF).json()
    assert [h["change"] for h in history] == [
        "Created", "VariantAdded", "Started", "CopyEdited", "Paused"
    ]  # fmt: skip
    assert {h["by"] for h in history} == {"bootstrap-key-1"}
    assert [c["code"] for c in client.get("/staff/campaigns", headers=STAFF).json()] == [
        "spring-drive"
    ]


def test_bad_campaign_settings_are_422_with_a_reason(patronage: Patronage) -> None:
    client = TestClient(create_app(patronage))
    bad = {**CAMPAIGN, "targeting": {"holdback_bp": 20000}}
    response = client.post("/staff/campaigns", json=bad, headers=STAFF)
    assert response.status_code == 422
    assert "holdback" in response.json()["detail"]
    assert client.get("/staff/campaigns", headers=STAFF).json() == []


def test_cli_creates_starts_and_shows_history(settings: Settings, tmp_path: Path) -> None:
    env = {
        "PATRONAGE_DATA_DIR": str(settings.data_dir),
        "PATRONAGE_DATABASE_URL": settings.database_url.get_secret_value()
        if settings.database_url
        else "",
        "PATRONAGE_DATABASE_SCHEMA": settings.database_schema,
    }
    env = {k: v for k, v in env.items() if v}
    file = tmp_path / "campaign.json"
    file.write_text(json.dumps(CAMPAIGN))
    runner = CliRunner()
    created = runner.invoke(cli, ["campaigns", "create", "--file", str(file)], env=env)
    assert created.exit_code == 0, created.output
    started = runner.invoke(cli, ["campaigns", "start", "spring-drive"], env=env)
    assert "live" in started.output
    listed = runner.invoke(cli, ["campaigns", "list"], env=env)
    assert "spring-drive" in listed.output
    shown = runner.invoke(cli, ["campaigns", "history", "spring-drive"], env=env)
    assert "Started" in shown.output and "cli:" in shown.output
    missing = runner.invoke(cli, ["campaigns", "end", "nope"], env=env)
    assert missing.exit_code == 1
    patronage = bootstrap(settings)
    try:
        spec = patronage.campaigns.catalogue.get("spring-drive")
        assert spec is not None and spec.status.value == "live"
    finally:
        patronage.close()


def test_concurrent_edits_from_two_processes_both_land(patronage: Patronage) -> None:
    patronage.campaigns.create(
        CampaignSettings("spring", "Spring", 1, Targeting()), [variant("control")], by="test"
    )
    other = bootstrap(patronage.settings)
    try:
        # Each unit of work retries on the other's save, on top of what it saved.
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = [
                pool.submit(service.add_variant, "spring", variant(name), by=name)
                for service, name in ((patronage.campaigns, "urgent"), (other.campaigns, "calm"))
            ]
            for future in done:
                future.result()
    finally:
        other.close()
    patronage.campaigns.catalogue.refresh()
    spec = patronage.campaigns.catalogue.get("spring")
    assert spec is not None
    assert sorted(v.name for v in spec.variants) == ["calm", "control", "urgent"]
