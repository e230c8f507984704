"""Pure triage rules: which category an issue falls in and which tier answers for it first."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import msgspec

from contracts.base import derive_event_id
from contracts.issues import IssueReceived, IssueTriaged

FALLBACK_CATEGORY = "other"
RULES_FILE = Path(__file__).with_name("categories.toml")

# Admin-unit codes follow the national statistical division codes: 4 digits a city, 6 a district
# (Hanbin is 610902), 9 a town, 12 a village. A station's code is the code of the unit it serves.
_TIER_BY_CODE_LENGTH = {4: "city", 6: "district", 9: "town", 12: "village"}


class CategoryRule(msgspec.Struct, frozen=True):
    category: str
    phrases: tuple[str, ...]


class CategoryRules(msgspec.Struct, frozen=True):
    rule: tuple[CategoryRule, ...]

    @classmethod
    def load(cls, path: Path = RULES_FILE) -> CategoryRules:
        return msgspec.convert(tomllib.loads(path.read_text("utf-8")), cls)

    def categorize(self, text: str) -> str:
        for rule in self.rule:
            if any(phrase in text for phrase in rule.phrases):
                return rule.category
        return FALLBACK_CATEGORY


class Triage(msgspec.Struct, frozen=True, kw_only=True):
    """What triage decided about an issue, kept as its state."""

    issue_id: str
    category: str
    responsible_tier: str
    responsible_unit: str
    received_event_id: str
    decided_at: datetime


def tier_of_unit(code: str) -> str:
    try:
        return _TIER_BY_CODE_LENGTH[len(code)]
    except KeyError:
        raise ValueError(f"station_code {code!r} is not a 4-, 6-, 9- or 12-digit admin-unit code") from None


def triage(received: IssueReceived, rules: CategoryRules, now: datetime) -> Triage:
    return Triage(
        issue_id=received.issue_id,
        category=rules.categorize(received.text),
        responsible_tier=tier_of_unit(received.station_code),
        responsible_unit=received.station_code,
        received_event_id=str(received.event_id),
        decided_at=now,
    )


def triaged_event(received: IssueReceived, decided: Triage) -> IssueTriaged:
    return IssueTriaged(
        event_id=derive_event_id(received.event_id, "triaged"),
        occurred_at=decided.decided_at,  # the stored decision's time: a redelivery emits the same bytes
        correlation_id=received.correlation_id,
        causation_id=received.event_id,
        issue_id=decided.issue_id,
        category=decided.category,
        responsible_tier=decided.responsible_tier,
        responsible_unit=decided.responsible_unit,
    )
