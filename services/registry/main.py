"""Composition root of the registry service: `python -m services.registry.main`."""

from common.service import run_service
from common.settings import load_settings
from services.registry.messaging import wire
from services.registry.settings import RegistrySettings


def main() -> None:
    settings = load_settings(RegistrySettings)
    run_service("registry", settings, wire(settings))


if __name__ == "__main__":
    main()
