"""Which topics the archive keeps and how many partitions each gets on restore, derived from contracts/topics.py."""

from __future__ import annotations

import re

from contracts.topics import ALL_TOPICS, REFERRAL_TOPIC_PARTITIONS, referral_topic

_PLACEHOLDER = "handlercode"


def _referral_pattern() -> str:
    """`referrals.<code>.v<n>`, built from the contract's own naming so a renamed prefix follows."""
    prefix, suffix = referral_topic(_PLACEHOLDER).name.split(_PLACEHOLDER)
    version = re.escape(suffix.rstrip("0123456789")) + r"\d+"
    return re.escape(prefix) + r".+" + version


def platform_topic_pattern() -> str:
    """A regex matching every platform topic name and nothing else (anchored both ends)."""
    names = "|".join(re.escape(topic.name) for topic in ALL_TOPICS)
    return rf"^(?:{names}|{_referral_pattern()})$"


def partitions_for(topic: str, archived_partitions: int) -> int:
    """Partition count to create a topic with: the archive's, or the contract's when that is larger."""
    known = {t.name: t.partitions for t in ALL_TOPICS}.get(topic)
    if known is None and re.fullmatch(_referral_pattern(), topic):
        known = REFERRAL_TOPIC_PARTITIONS
    return max(archived_partitions, known or 0)
