"""Committed schema snapshots: a removed, renamed, retyped or newly required field fails here.

Each file tests/contract/snapshots/<topic>.json holds, per message type tag, every field's wire name,
type and whether it is required (nested Structs under "structs"). Added optional fields pass.
After a deliberate change (say, a new topic version), regenerate the snapshots and commit them:

    python -m contracts.export --snapshot
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.export import CONTRACT_TOPICS, SNAPSHOT_DIR, snapshot
from contracts.topics import Topic

Fields = dict[str, dict[str, Any]]
REGENERATE = "if the change is deliberate, run `python -m contracts.export --snapshot` and commit"


def field_changes(owner: str, old: Fields, new: Fields) -> list[str]:
    problems = []
    for name, was in old.items():
        now = new.get(name)
        if now is None:
            problems.append(f"{owner}: field {name!r} was removed or renamed")
        elif now["type"] != was["type"]:
            problems.append(f"{owner}: field {name!r} was retyped from {was['type']} to {now['type']}")
        elif now["required"] and not was["required"]:
            problems.append(f"{owner}: field {name!r} became required")
    added = [name for name, now in new.items() if name not in old and now["required"]]
    return problems + [f"{owner}: new field {name!r} is required (give it a default)" for name in added]


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What makes `new` unreadable for a consumer or producer built against `old`."""
    problems = []
    for section in ("messages", "structs"):
        for owner, fields in old[section].items():
            if owner not in new[section]:
                problems.append(f"{owner}: was removed from {section}")
            else:
                problems.extend(field_changes(owner, fields, new[section][owner]))
    return problems


@pytest.mark.parametrize("topic", CONTRACT_TOPICS, ids=lambda topic: topic.name)
def test_topic_is_compatible_with_its_snapshot(topic: Topic) -> None:
    path = SNAPSHOT_DIR / f"{topic.name}.json"
    assert path.is_file(), f"no snapshot for {topic.name}: run `python -m contracts.export --snapshot`"
    problems = breaking_changes(json.loads(path.read_text(encoding="utf-8")), snapshot(topic))
    assert not problems, f"breaking change on {topic.name}:\n  " + "\n  ".join(problems) + f"\n{REGENERATE}"


def test_every_snapshot_belongs_to_a_topic() -> None:
    names = {f"{topic.name}.json" for topic in CONTRACT_TOPICS}
    removed = sorted(p.name for p in SNAPSHOT_DIR.glob("*.json") if p.name not in names)
    assert not removed, f"topics removed: {removed}; {REGENERATE}"


OLD = {
    "messages": {"a.thing_done.v1": {"x": {"type": "str", "required": True}, "y": {"type": "int", "required": False}}},
    "structs": {},
}


@pytest.mark.parametrize(
    ("new_fields", "expected"),
    [
        ({"y": {"type": "int", "required": False}}, "field 'x' was removed or renamed"),
        ({"x2": {"type": "str", "required": True}, "y": {"type": "int", "required": False}}, "field 'x'"),
        ({"x": {"type": "str | None", "required": True}, "y": {"type": "int", "required": False}}, "retyped"),
        ({"x": {"type": "str", "required": True}, "y": {"type": "int", "required": True}}, "'y' became required"),
        ({**OLD["messages"]["a.thing_done.v1"], "z": {"type": "str", "required": True}}, "new field 'z' is required"),
    ],
)
def test_the_check_catches_breaking_changes(new_fields: Fields, expected: str) -> None:
    problems = breaking_changes(OLD, {"messages": {"a.thing_done.v1": new_fields}, "structs": {}})
    assert any(expected in p for p in problems), problems


def test_the_check_lets_added_optional_fields_and_types_pass() -> None:
    fields = {**OLD["messages"]["a.thing_done.v1"], "z": {"type": "str | None", "required": False}}
    new = {"messages": {"a.thing_done.v1": fields, "a.other_thing.v1": {}}, "structs": {"Extra": {}}}
    assert breaking_changes(OLD, new) == []
