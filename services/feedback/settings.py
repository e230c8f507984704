"""Feedback's settings, from the environment."""

from common.settings import BaseSettings


class FeedbackSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "feedback"  # issue events: fold every one, feed back completed issues
    ratings_group: str = "feedback-ratings"  # voters' ratings and closes of unreachable voters' issues
    unreachable_after_days: float = 7  # how long a voter is given to rate before the issue may be closed unrated
    events_fetch_max_wait_ms: int = 100  # feedback a tenth of a second later is fine: fewer fetches for the broker
