"""Issues a tier's monthly review left undecided are supervision items until a review decides them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from common.registry.view import RegistryView
from contracts.issues import IssueCarriedOver, IssueReceived, IssueResolved, IssueTriaged
from services.oversight.ledger import Ledger
from services.registry.demo import demo_district

AT = datetime(2026, 11, 20, tzinfo=UTC)
N = "HB-202611-000077"
TOWN = "610902001"


def test_a_carried_over_issue_is_listed_until_a_review_decides_it() -> None:
    view = RegistryView(demo_district("small"))
    ledger = Ledger()
    for event in (
        IssueReceived(
            occurred_at=AT,
            issue_id=N,
            submission_id=uuid.uuid4(),
            channel="visit",
            station_code=TOWN,
            kind="problem",
            text="集市占道",
        ),
        IssueTriaged(occurred_at=AT, issue_id=N, category="other", responsible_tier="town", responsible_unit=TOWN),
        IssueCarriedOver(occurred_at=AT, issue_id=N, tier="town", unit=TOWN, month="2026-11"),
    ):
        ledger.apply(event)
    (item,) = ledger.unreviewed(view)
    assert (item.issue_id, item.tier, item.unit, item.month, item.town) == (N, "town", TOWN, "2026-11", TOWN)
    assert item.unit_name == view.unit(TOWN).name  # type: ignore[union-attr]
    ledger.apply(IssueResolved(occurred_at=AT, issue_id=N, tier="town", unit=TOWN, resolution="已协调"))
    assert ledger.unreviewed(view) == []
