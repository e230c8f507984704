"""Registry's settings, from the environment."""

from common.settings import BaseSettings


class RegistrySettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "registry"  # registry commands
    usage_group: str = "registry-usage"  # issue events: which entities open issues point at
