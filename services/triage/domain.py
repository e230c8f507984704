"""Pure triage rules: which category an issue falls in and which tier answers for it first."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import msgspec

from common.registry.view import RegistryView
from contracts.base import derive_event_id
from contracts.issues import IssueReceived, IssueTriaged

FALLBACK_CATEGORY = "other"
RULES_FILE = Path(__file__).with_name("categories.toml")


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


def triage(received: IssueReceived, rules: CategoryRules, registry: RegistryView, now: datetime) -> Triage:
    """The tier answering first is the tier of the unit whose station received the issue (a workroom's
    district or town). Raises ValueError for a station the registry does not know."""
    tier, unit = registry.tier_of_station(received.station_code)
    return Triage(
        issue_id=received.issue_id,
        category=rules.categorize(received.text),
        responsible_tier=tier,
        responsible_unit=unit,
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
        origin_trace=received.trace,
        category=decided.category,
        responsible_tier=decided.responsible_tier,
        responsible_unit=decided.responsible_unit,
    )
