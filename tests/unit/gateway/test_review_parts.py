"""A big review is published in parts the broker keeps small and triage takes in order."""

from __future__ import annotations

import msgspec

from contracts.commands import REVIEW_PART_BYTES, REVIEW_PART_SIZE, RecordReview, ReviewItem
from gateway.workflow_api import in_parts


def review(decisions: int) -> RecordReview:
    return RecordReview(
        review_id="RV-district-610902-2026-12-1",
        tier="district",
        unit="610902",
        month="2026-12",
        decisions=tuple(
            ReviewItem(issue_id=f"HB-202612-{n:06d}", decision="resolve", note="解决") for n in range(decisions)
        ),
    )


def test_a_review_of_1201_decisions_is_three_parts_in_order() -> None:
    whole = review(2 * REVIEW_PART_SIZE + 201)
    parts = in_parts(whole)
    assert [(p.part, len(p.decisions)) for p in parts] == [(1, 500), (2, 500), (3, 201)]
    assert [d for p in parts for d in p.decisions] == list(whole.decisions)
    assert {(p.review_id, p.tier, p.unit, p.month) for p in parts} == {
        (whole.review_id, "district", "610902", "2026-12")
    }


def test_each_part_has_an_id_of_its_own_and_the_same_one_again() -> None:
    whole = review(1001)
    ids = [p.event_id for p in in_parts(whole, size=100)]
    assert len(set(ids)) == 11 and whole.event_id not in ids
    assert [p.event_id for p in in_parts(whole, size=100)] == ids


def test_a_small_review_is_one_part() -> None:
    (only,) = in_parts(review(3))
    assert (only.part, len(only.decisions)) == (1, 3)


def test_long_notes_make_smaller_parts_that_stay_under_the_byte_budget() -> None:
    note = "经区人大常委会主任会议研究，责成区水利局限期解决" * 80  # 1,840 characters, ~5.5 KB
    whole = msgspec.structs.replace(
        review(0),
        decisions=tuple(ReviewItem(issue_id=f"HB-202612-{n:06d}", decision="resolve", note=note) for n in range(500)),
    )
    parts = in_parts(whole)
    assert len(parts) > 1 and [d for p in parts for d in p.decisions] == list(whole.decisions)
    assert all(len(msgspec.json.encode(p)) < REVIEW_PART_BYTES + 4096 for p in parts)
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
