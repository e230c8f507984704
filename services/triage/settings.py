"""Triage's settings, from the environment."""

from common.settings import BaseSettings


class TriageSettings(BaseSettings, frozen=True, kw_only=True):
    consumer_group: str = "triage"  # issue events
    reviews_group: str = "triage-reviews"  # review decisions
    category_rules_file: str = ""  # empty: the rules shipped beside the domain
    # Default referral deadline per tier, when a review sets none.
    review_deadline_days: str = "village:7,town:15,district:30,city:30"
    # What month end does to an issue its tier's review left undecided: escalate, or carry over.
    month_end_policy: str = "village:escalate,town:carry_over,district:carry_over,city:carry_over"
    month_end_check_s: float = 1.0
