"""Composition root of the registry service: `python -m services.registry.main`.

It runs as its own process with health and graceful shutdown, but consumes nothing yet:
its state and handlers arrive with their issues (see README, "What works today")."""

from common.service import run_service
from common.settings import load_settings
from services.registry.settings import RegistrySettings


def main() -> None:
    settings = load_settings(RegistrySettings)
    run_service("registry", settings, lambda broker, redis, outbox: None)


if __name__ == "__main__":
    main()
