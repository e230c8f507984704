"""Oversight's settings, from the environment."""

from common.settings import BaseSettings


class OversightSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "oversight"
