"""Composition root of the referral service: `python -m services.referral.main`."""

from common.service import run_service
from common.settings import load_settings
from services.referral.messaging import wire
from services.referral.settings import ReferralSettings


def main() -> None:
    settings = load_settings(ReferralSettings)
    run_service("referral", settings, wire(settings))


if __name__ == "__main__":
    main()
