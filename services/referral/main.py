"""Composition root of the referral service: `python -m services.referral.main`.

It runs as its own process with health and graceful shutdown, but consumes nothing yet:
its state and handlers arrive with their issues (see README, "What works today")."""

from common.service import run_service
from common.settings import load_settings
from services.referral.settings import ReferralSettings


def main() -> None:
    settings = load_settings(ReferralSettings)
    run_service("referral", settings, lambda broker, redis, outbox: None)


if __name__ == "__main__":
    main()
