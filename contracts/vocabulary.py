"""The value sets of DESIGN.md section 2. On the bus they travel as plain strings (a set may
grow, and an old consumer must not reject a value it does not know); owners check them."""

from typing import Final

TIERS: Final = ("city", "district", "town", "village")  # ordered from the top
CHANNELS: Final = ("reception", "visit", "hotline", "online", "window", "program")
ISSUE_KINDS: Final = ("problem", "opinion", "suggestion")
SATISFACTION: Final = ("satisfied", "basically_satisfied", "dissatisfied")
UNABLE_REASONS: Final = ("no_funds", "no_project", "outside_remit", "needs_higher_tier", "policy_limit", "other")
REVIEW_DECISIONS: Final = ("resolve", "assign", "escalate", "merge")
CATEGORIES: Final = (
    "serious_illness_aid",
    "medical_insurance",
    "water_supply",
    "roads_and_landslides",
    "sanitation",
    "neighbour_disputes",
    "hardship",
    "industry_loans",
    "schooling",
    "employment",
    "other",
)
STATION_KINDS: Final = ("deputies_home", "town_center", "village_station", "workroom")
CONGRESS_LEVELS: Final = ("province", "city", "district", "town")
GRID_ROLES: Final = ("grid_leader", "grid_member")
HANDLER_KINDS: Final = ("district_department", "town_office", "city_department")
USER_ROLES: Final = (
    "station_liaison",
    "station_head",
    "town_staff",
    "district_staff",
    "handler",
    "deputy",
    "leader",
    "oversight",
    "admin",
)
