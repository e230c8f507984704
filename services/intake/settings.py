"""Intake's settings, from the environment."""

from common.settings import BaseSettings


class IntakeSettings(BaseSettings, frozen=True, kw_only=True):
    issue_number_prefix: str = "HB"
    consumer_group: str = "intake"
    # A voter's submission waits on this reader, so it gathers for a short while only: the first after a
    # pause goes at once, and under load a batch holds a few, in fewer fetches and issue-event batches.
    intake_gather_ms: int = 20
