"""Referral's settings, from the environment."""

from common.settings import BaseSettings


class ReferralSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "referral"  # issue events: our copy of each issue, and assignments to refer
    replies_group: str = "referral-replies"  # handlers' replies
    topic_replication_factor: int = 1  # for the handlers' referral topics it creates
