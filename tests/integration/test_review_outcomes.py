"""What the projector keeps of a review's outcomes, in Valkey: a part's record, and the one-decision records
triage once published (still on the topics and in the archive), counted together."""

from __future__ import annotations

import redis.asyncio as aioredis

from contracts.commands import DecisionRefusal, ReviewDecisionApplied, ReviewDecisionRefused, ReviewPartDone
from gateway.worklists import ReviewOutcomes, ReviewRecord


async def test_a_parts_outcome_and_one_decision_outcomes_add_up_to_the_reviews_status(redis: aioredis.Redis) -> None:
    reviews = ReviewOutcomes(redis)
    await reviews.open(ReviewRecord(review_id="RV-1", tier="town", unit="610902001", month="2026-12", decisions=5))
    refusal = DecisionRefusal(issue_id="HB-202612-000003", decision="assign", field="handler_code", reason="无此单位")
    reviews.note(ReviewPartDone(review_id="RV-1", part=1, applied={"HB-202612-000001": "resolve"}, refused=(refusal,)))
    reviews.note(ReviewPartDone(review_id="RV-1", part=2, applied={"HB-202612-000002": "escalate"}))
    reviews.note(ReviewDecisionApplied(review_id="RV-1", issue_id="HB-202612-000004", decision="merge"))
    reviews.note(
        ReviewDecisionRefused(
            review_id="RV-1", issue_id="HB-202612-000005", decision="resolve", field="issue_id", reason="已办结"
        )
    )
    await reviews.flush()

    record, applied, refused, every = await reviews.get("RV-1", every=True)
    assert record is not None and (record.decisions, applied) == (5, 3)
    assert every == {"HB-202612-000001": "resolve", "HB-202612-000002": "escalate", "HB-202612-000004": "merge"}
    assert sorted((r.issue_id, r.field, r.reason) for r in refused) == [
        ("HB-202612-000003", "handler_code", "无此单位"),
        ("HB-202612-000005", "issue_id", "已办结"),
    ]
    assert await redis.ttl("gw:review:RV-1:refused") > 0
    await reviews.flush()  # nothing noted since: nothing written
    assert (await reviews.get("RV-1"))[1] == 3
