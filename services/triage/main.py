"""Composition root of the triage service: `python -m services.triage.main`."""

from common.service import run_service
from common.settings import load_settings
from services.triage.messaging import wire
from services.triage.settings import TriageSettings


def main() -> None:
    settings = load_settings(TriageSettings)
    run_service("triage", settings, wire(settings))


if __name__ == "__main__":
    main()
