"""Topic names, message tags and the fields every message carries; no topic name outside contracts/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import msgspec
import pytest

from contracts.export import CONTRACT_TOPICS, ROOT, message_structs, tag_of
from contracts.topics import ALL_TOPICS, Topic, referral_topic

TOPIC_NAME = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9][a-z0-9_-]*\.v[1-9]\d*$")
TAG = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.v[1-9]\d*$")
EVERY_MESSAGE = {"event_id", "occurred_at", "schema_version", "correlation_id", "causation_id", "trace"}
TOPICS = (*ALL_TOPICS, referral_topic("water-bureau"))
STRUCTS = [(topic, cls) for topic in CONTRACT_TOPICS for cls in message_structs(topic)]


def test_topic_names_are_unique_and_versioned() -> None:
    names = [topic.name for topic in TOPICS]
    assert len(names) == len(set(names))
    assert [n for n in names if not TOPIC_NAME.match(n)] == []
    assert not any(topic.name.startswith("referrals.") for topic in ALL_TOPICS), "clashes with referral topics"


@pytest.mark.parametrize("topic", TOPICS, ids=lambda topic: topic.name)
def test_topic_has_partitions_and_a_key(topic: Topic) -> None:
    assert topic.partitions > 0
    assert topic.key and topic.description


def test_message_tags_are_unique_and_well_formed() -> None:
    tags = [tag_of(cls) for _, cls in STRUCTS]
    assert len(tags) == len(set(tags)), "a tag appears twice"
    assert [t for t in tags if not TAG.match(t or "")] == []


@pytest.mark.parametrize(("topic", "cls"), STRUCTS, ids=[tag_of(cls) for _, cls in STRUCTS])
def test_message_carries_the_common_fields(topic: Topic, cls: type[msgspec.Struct]) -> None:
    fields = set(cls.__struct_fields__)
    assert EVERY_MESSAGE <= fields, f"{cls.__name__} lacks {EVERY_MESSAGE - fields}"
    assert cls.__struct_config__.tag_field == "type"
    if topic.key == "issue_id":
        assert "issue_id" in fields, f"{cls.__name__} is on an issue topic without issue_id"


@pytest.mark.parametrize("code", ["", "Water", "water bureau", "-water", "a" * 64, "x.v2", "../x", "水务"])
def test_referral_topic_rejects_bad_handler_codes(code: str) -> None:
    with pytest.raises(ValueError, match="handler_code"):
        referral_topic(code)


def test_referral_topic_accepts_a_good_code() -> None:
    assert referral_topic("water-bureau_2").name == "referrals.water-bureau_2.v1"


def literals(path: Path) -> set[str]:
    """Every string constant in a module, including the literal parts of f-strings."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_no_topic_name_is_written_outside_contracts() -> None:
    names = {topic.name for topic in ALL_TOPICS}
    files = [p for part in ("services", "gateway", "common", "infra") for p in sorted((ROOT / part).rglob("*.py"))]
    assert files, "no sources found"
    found = [
        f"{path.relative_to(ROOT)}: {text!r}"
        for path in files
        for text in literals(path)
        if text in names or text.startswith("referrals.")
    ]
    assert not found, "topic names written out instead of the constants in contracts/topics.py:\n" + "\n".join(found)
