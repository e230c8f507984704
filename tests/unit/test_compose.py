"""Static checks of docker-compose.yml: the parts it runs, their settings names, images and commands."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from common.bus import MAX_RECORD_BYTES
from common.settings import BaseSettings, env_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
INFRASTRUCTURE = ("kafka", "valkey", "otel-collector", "jaeger")
SERVICE_NAMES = sorted(p.parent.name for p in (ROOT / "services").glob("*/main.py"))

# compose service name -> the settings Struct its process reads, by module path.
SETTINGS_CLASSES = {
    **{name: f"services.{name}.settings.{name.title()}Settings" for name in SERVICE_NAMES},
    "gateway": "gateway.settings.GatewaySettings",
    "gateway-projector": "gateway.settings.GatewaySettings",
    "topics": "common.settings.BaseSettings",
    "archiver": "infra.archive.service.ArchiveSettings",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def settings_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment whether compose lists it as a mapping or as KEY=VALUE lines."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(line.split("=", 1) if "=" in line else (line, "") for line in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def command_module(service: dict[str, Any]) -> str:
    """The module of a `python -m <module>` command."""
    command = service["command"]
    words = command.split() if isinstance(command, str) else command
    assert words[:2] == ["python", "-m"], f"not a `python -m` command: {command!r}"
    return words[2]


def built_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services.items() if "build" in svc}


def test_compose_file_parses_as_a_compose_spec_without_version_key(compose: dict[str, Any]) -> None:
    assert isinstance(compose.get("services"), dict) and compose["services"]
    assert "version" not in compose


def test_compose_runs_every_service_the_gateway_projector_and_infrastructure(services: dict) -> None:
    assert SERVICE_NAMES, "no services/<name>/main.py found"
    expected = {*SERVICE_NAMES, "gateway", "gateway-projector", "topics", *INFRASTRUCTURE}
    assert expected <= services.keys(), f"missing: {sorted(expected - services.keys())}"


def test_every_part_built_from_the_repo_has_a_settings_struct(services: dict) -> None:
    assert built_services(services).keys() <= SETTINGS_CLASSES.keys()


@pytest.mark.parametrize("name", sorted(SETTINGS_CLASSES))
def test_environment_uses_only_names_from_the_parts_settings_struct(services: dict, name: str) -> None:
    allowed = env_names(settings_class(SETTINGS_CLASSES[name]))
    unknown = environment(services[name]).keys() - allowed
    assert not unknown, f"{name} sets env names its settings Struct does not read: {sorted(unknown)}"


def test_every_referenced_dockerfile_exists(services: dict) -> None:
    for name, service in built_services(services).items():
        build = service["build"]
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        assert (context / dockerfile).is_file(), f"{name}: {context / dockerfile} does not exist"


def test_every_command_runs_a_module_that_exists_in_the_repo(services: dict) -> None:
    for name, service in built_services(services).items():
        relative = command_module(service).replace(".", "/")
        found = (ROOT / f"{relative}.py").is_file() or (ROOT / relative / "__main__.py").is_file()
        assert found, f"{name}: no module file for `{service['command']}`"


def test_kafka_runs_in_kraft_mode_without_zookeeper(services: dict) -> None:
    env = environment(services["kafka"])
    assert {"broker", "controller"} <= set(env["KAFKA_PROCESS_ROLES"].split(","))
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] and env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert not any("ZOOKEEPER" in key for key in env)
    assert not any("zookeeper" in name for name in services)


def test_long_running_parts_wait_for_healthy_kafka_valkey_and_the_topics_job(services: dict) -> None:
    for name, service in built_services(services).items():
        if name == "topics":
            continue
        depends = service["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy", name
        assert depends["valkey"]["condition"] == "service_healthy", name
        assert depends["topics"]["condition"] == "service_completed_successfully", name


def test_long_running_parts_can_scale_out(services: dict) -> None:
    for name, service in built_services(services).items():
        assert "container_name" not in service, f"{name} has a fixed container_name"
        if name != "topics":
            assert service["restart"] == "unless-stopped", name
            assert "healthcheck" in service, name


def test_valkey_keeps_an_append_only_file_and_requires_a_password(services: dict) -> None:
    command = " ".join(services["valkey"]["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert "--requirepass ${VALKEY_PASSWORD" in command
    assert services["valkey"]["volumes"]


def test_kafka_takes_the_largest_record_and_batch_the_parts_send(services: dict[str, dict[str, Any]]) -> None:
    """A roster import is one record of up to MAX_RECORD_BYTES; Kafka's default (~1 MB) would refuse it."""
    allowed = int(services["kafka"]["environment"]["KAFKA_MESSAGE_MAX_BYTES"])
    assert allowed >= MAX_RECORD_BYTES
    assert allowed >= BaseSettings().kafka_max_batch_bytes
