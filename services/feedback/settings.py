"""Feedback's settings, from the environment."""

from common.settings import BaseSettings


class FeedbackSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "feedback"
