"""Intake's settings, from the environment."""

from common.settings import BaseSettings


class IntakeSettings(BaseSettings, frozen=True, kw_only=True):
    issue_number_prefix: str = "HB"
    consumer_group: str = "intake"
