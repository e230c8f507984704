"""Composition root of the oversight service: `python -m services.oversight.main`."""

from common.service import run_service
from common.settings import load_settings
from services.oversight.messaging import wire
from services.oversight.settings import OversightSettings


def main() -> None:
    settings = load_settings(OversightSettings)
    run_service("oversight", settings, wire(settings))


if __name__ == "__main__":
    main()
