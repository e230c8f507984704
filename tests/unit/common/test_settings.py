"""Settings from the environment: upper-case field names, values converted, a bad value named."""

from __future__ import annotations

import pytest

from common.settings import BaseSettings, env_names, load_settings
from services.intake.settings import IntakeSettings
from services.triage.settings import TriageSettings


def test_env_names_are_the_upper_case_field_names() -> None:
    settings = load_settings(BaseSettings, {"KAFKA_BOOTSTRAP": "x:1", "HEALTH_PORT": "5"})
    assert settings.kafka_bootstrap == "x:1"
    assert settings.health_port == 5
    assert isinstance(settings.health_port, int)


def test_lower_case_and_unrelated_variables_are_ignored() -> None:
    settings = load_settings(BaseSettings, {"health_port": "7", "PATH": "/usr/bin", "HOME": "/root"})
    assert settings == BaseSettings()


def test_booleans_and_service_fields_are_read_from_strings() -> None:
    settings = load_settings(IntakeSettings, {"KAFKA_IDEMPOTENCE": "true", "ISSUE_NUMBER_PREFIX": "HBQ"})
    assert settings.kafka_idempotence is True
    assert settings.issue_number_prefix == "HBQ"
    assert settings.consumer_group == "intake"


def test_bad_value_stops_the_process_naming_the_variable() -> None:
    with pytest.raises(SystemExit) as caught:
        load_settings(BaseSettings, {"HEALTH_PORT": "abc"})
    message = str(caught.value.code)
    assert "HEALTH_PORT" in message
    assert "BaseSettings" in message


def test_load_settings_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDLER_ATTEMPTS", "9")
    assert load_settings(BaseSettings).handler_attempts == 9


def test_env_names_list_every_variable_a_service_reads() -> None:
    assert "ISSUE_NUMBER_PREFIX" in env_names(IntakeSettings)
    assert {"KAFKA_BOOTSTRAP", "REDIS_URL", "HEALTH_PORT", "CONSUMER_GROUP"} <= env_names(IntakeSettings)
    assert "CATEGORY_RULES_FILE" in env_names(TriageSettings)
    assert "ISSUE_NUMBER_PREFIX" not in env_names(TriageSettings)
    assert all(name == name.upper() for name in env_names(BaseSettings))
