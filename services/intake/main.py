"""Composition root of the intake service: `python -m services.intake.main`."""

from common.service import run_service
from common.settings import load_settings
from services.intake.messaging import wire
from services.intake.settings import IntakeSettings


def main() -> None:
    settings = load_settings(IntakeSettings)
    run_service("intake", settings, wire(settings))


if __name__ == "__main__":
    main()
