"""infra/: the image, the compose file and the Kubernetes manifests, checked by parsing (no
container engine runs here): required fields, probes on the right paths, and every command
and setting they use exists in the CLI and in Settings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from patronage.config import Settings
from tests.support.cli import parse_command_line

INFRA = Path(__file__).parents[2] / "infra"
SETTINGS = {f"PATRONAGE_{name.upper()}" for name in Settings.model_fields}


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _manifests() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in sorted((INFRA / "k8s").glob("*.yaml")):
        for doc in _documents(path):
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), path
            assert doc["metadata"].get("name"), path
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def _containers(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = _pod_spec(doc)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


# The image ----------------------------------------------------------------------------------


def _dockerfile() -> list[str]:
    """Instructions, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (INFRA / "Dockerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_image_is_multi_stage_slim_and_runs_the_cli_as_a_non_root_user() -> None:
    lines = _dockerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    assert all("slim" in stage for stage in stages)
    final = lines[lines.index(stages[-1]) :]
    assert any(line.startswith("COPY --from=build ") for line in final)
    assert not any("pip install" in line for line in final), "no build tools in the runtime"
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (entrypoint,) = [line for line in final if line.startswith("ENTRYPOINT ")]
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT ")) == ["patronage"]
    (cmd,) = [line for line in final if line.startswith("CMD ")]
    assert parse_command_line(json.loads(cmd.removeprefix("CMD "))) == ["serve"]
    env = " ".join(line for line in final if line.startswith("ENV "))
    assert set(re.findall(r"PATRONAGE_[A-Z_]+", env)) <= SETTINGS


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    ignore = (INFRA.parent / ".dockerignore").read_text().splitlines()
    assert "*" in ignore
    copied = {line.split()[1] for line in _dockerfile() if line.startswith("COPY ") and
              "--from" not in line}  # fmt: skip
    assert copied <= {"pyproject.toml", "src"}


# Compose ------------------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    (doc,) = _documents(INFRA / "compose.yaml")
    return doc


def test_compose_runs_two_api_replicas_workers_postgres_and_an_smtp_catcher() -> None:
    services = _compose()["services"]
    assert {"api", "workers", "postgres", "smtp", "setup"} <= services.keys()
    assert services["api"]["deploy"]["replicas"] == 2
    assert parse_command_line(services["api"]["command"]) == ["serve"]
    assert parse_command_line(services["workers"]["command"]) == ["projections", "run"]
    assert parse_command_line(services["setup"]["command"]) == ["setup"]
    for name in ("api", "workers"):
        assert services[name]["depends_on"]["setup"] == {
            "condition": "service_completed_successfully"
        }
    assert services["setup"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    smtp_port = services["api"]["environment"]["PATRONAGE_SMTP_PORT"]
    assert services["api"]["environment"]["PATRONAGE_SMTP_HOST"] == "smtp"
    assert smtp_port == "1025", "mailpit's SMTP port"


def test_compose_sets_only_settings_that_exist_and_never_creates_tables_in_the_app() -> None:
    services = _compose()["services"]
    for name in ("api", "workers", "setup"):
        env = services[name]["environment"]
        patronage = {key for key in env if key.startswith("PATRONAGE_")}
        assert patronage, name
        assert patronage <= SETTINGS, f"{name}: {patronage - SETTINGS}"
        assert env["PATRONAGE_CREATE_TABLES"] == "false"
        assert env["PATRONAGE_DATABASE_URL"].startswith("postgresql://")


# Kubernetes ---------------------------------------------------------------------------------


def test_the_api_deployment_has_probes_on_readyz_and_healthz_at_its_port() -> None:
    api = _manifests()[("Deployment", "patronage-api")]
    (container,) = _pod_spec(api)["containers"]
    args = container["args"]
    assert parse_command_line(args) == ["serve"]
    port = int(args[args.index("--port") + 1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == port
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert api["spec"]["replicas"] >= 2
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert api["spec"]["selector"]["matchLabels"].items() <= labels.items()
    service = _manifests()[("Service", "patronage-api")]
    assert service["spec"]["selector"].items() <= labels.items()


def test_the_autoscaler_scales_the_api_deployment() -> None:
    hpa = _manifests()[("HorizontalPodAutoscaler", "patronage-api")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "patronage-api",
    }
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


def test_the_setup_job_checks_then_creates_the_tables_before_the_app() -> None:
    job = _manifests()[("Job", "patronage-setup")]
    spec = _pod_spec(job)
    assert [parse_command_line(c["args"]) for c in spec["initContainers"]] == [["check"]]
    assert [parse_command_line(c["args"]) for c in spec["containers"]] == [["setup"]]
    assert spec["restartPolicy"] == "Never"
    assert "pre-install" in job["metadata"]["annotations"]["helm.sh/hook"]


def test_the_workers_run_every_view() -> None:
    workers = _manifests()[("Deployment", "patronage-workers")]
    (container,) = _pod_spec(workers)["containers"]
    assert parse_command_line(container["args"]) == ["projections", "run"]
    assert "readinessProbe" not in container, "workers serve no HTTP"


@pytest.mark.parametrize(
    "kind_name",
    [
        ("Deployment", "patronage-api"),
        ("Deployment", "patronage-workers"),
        ("Job", "patronage-setup"),
    ],
)
def test_every_pod_runs_as_non_root_with_settings_that_exist(kind_name: tuple[str, str]) -> None:
    manifests = _manifests()
    doc = manifests[kind_name]
    assert _pod_spec(doc)["securityContext"]["runAsNonRoot"] is True
    for container in _containers(doc):
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                data = manifests[("ConfigMap", source["configMapRef"]["name"])]["data"]
            else:
                data = manifests[("Secret", source["secretRef"]["name"])]["stringData"]
            assert set(data) <= SETTINGS, set(data) - SETTINGS
        names = {e["name"] for e in container.get("env", [])}
        assert names <= SETTINGS


def test_keys_live_in_a_secret_not_in_the_config_map() -> None:
    manifests = _manifests()
    secret = manifests[("Secret", "patronage-secrets")]["stringData"]
    config = manifests[("ConfigMap", "patronage-config")]["data"]
    secret_settings = {
        "PATRONAGE_DATABASE_URL",
        "PATRONAGE_STRIPE_SECRET_KEY",
        "PATRONAGE_STRIPE_WEBHOOK_SECRETS",
        "PATRONAGE_STAFF_API_KEYS",
        "PATRONAGE_SUPPORTER_TOKEN_SECRET",
        "PATRONAGE_SMTP_PASSWORD",
    }
    assert secret_settings <= secret.keys()
    secret_typed = {
        f"PATRONAGE_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }
    assert secret_settings <= secret_typed
    assert not secret_typed & config.keys(), "a secret setting in the ConfigMap"
