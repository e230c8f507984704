"""Composition root of the feedback service: `python -m services.feedback.main`.

It runs as its own process with health and graceful shutdown, but consumes nothing yet:
its state and handlers arrive with their issues (see README, "What works today")."""

from common.service import run_service
from common.settings import load_settings
from services.feedback.settings import FeedbackSettings


def main() -> None:
    settings = load_settings(FeedbackSettings)
    run_service("feedback", settings, lambda broker, redis, outbox: None)


if __name__ == "__main__":
    main()
