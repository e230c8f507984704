"""Which topics are archived: every platform topic, every department's referral topic, nothing else."""

from __future__ import annotations

import re

from contracts.topics import ALL_TOPICS, REFERRAL_TOPIC_PARTITIONS, referral_topic
from infra.archive.catalog import partitions_for, platform_topic_pattern


def test_the_pattern_matches_every_platform_topic_and_referral_topic() -> None:
    pattern = re.compile(platform_topic_pattern())
    names = [t.name for t in ALL_TOPICS] + [referral_topic(code).name for code in ("water-bureau", "town_03", "x")]
    assert all(pattern.match(name) for name in names)


def test_the_pattern_matches_nothing_else() -> None:
    pattern = re.compile(platform_topic_pattern())
    name = ALL_TOPICS[0].name
    for other in (name + "x", "x" + name, "__consumer_offsets", "archive-bench.restore.v1", name.replace(".", "-")):
        assert not pattern.match(other), other


def test_restored_topics_get_the_larger_of_archived_and_contract_partitions() -> None:
    issues = max(ALL_TOPICS, key=lambda t: t.partitions)
    assert partitions_for(issues.name, 1) == issues.partitions
    assert partitions_for(issues.name, issues.partitions + 3) == issues.partitions + 3
    assert partitions_for(referral_topic("water-bureau").name, 1) == REFERRAL_TOPIC_PARTITIONS
    assert partitions_for("elsewhere.v1", 3) == 3
