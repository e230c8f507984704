"""The value sets of DESIGN.md section 2. On the bus they travel as plain strings (a set may
grow, and an old consumer must not reject a value it does not know); owners check them."""

from typing import Final

TIERS: Final = ("city", "district", "town", "village")  # ordered from the top
CHANNELS: Final = ("reception", "visit", "hotline", "online", "window", "program")
ISSUE_KINDS: Final = ("problem", "opinion", "suggestion")
SATISFACTION: Final = ("satisfied", "basically_satisfied", "dissatisfied")
UNABLE_REASONS: Final = ("no_funds", "no_project", "outside_remit", "needs_higher_tier", "policy_limit", "other")
REVIEW_DECISIONS: Final = ("resolve", "assign", "escalate", "merge")
