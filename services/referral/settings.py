"""Referral's settings, from the environment."""

from common.settings import BaseSettings


class ReferralSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "referral"
