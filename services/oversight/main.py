"""Composition root of the oversight service: `python -m services.oversight.main`.

It runs as its own process with health and graceful shutdown, but consumes nothing yet:
its state and handlers arrive with their issues (see README, "What works today")."""

from common.service import run_service
from common.settings import load_settings
from services.oversight.settings import OversightSettings


def main() -> None:
    settings = load_settings(OversightSettings)
    run_service("oversight", settings, lambda broker, redis, outbox: None)


if __name__ == "__main__":
    main()
