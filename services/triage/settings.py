"""Triage's settings, from the environment."""

from common.settings import BaseSettings


class TriageSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "triage"
    category_rules_file: str = ""  # empty: the rules shipped beside the domain
