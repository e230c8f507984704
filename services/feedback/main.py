"""Composition root of the feedback service: `python -m services.feedback.main`."""

from common.service import run_service
from common.settings import load_settings
from services.feedback.messaging import wire
from services.feedback.settings import FeedbackSettings


def main() -> None:
    settings = load_settings(FeedbackSettings)
    run_service("feedback", settings, wire(settings))


if __name__ == "__main__":
    main()
