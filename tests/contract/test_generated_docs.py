"""The committed docs/contracts/ are what `python -m contracts.export` generates today."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from contracts.export import CONTRACT_TOPICS, ROOT, asyncapi, channel_id


def test_committed_docs_are_up_to_date() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "contracts.export", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr


def test_asyncapi_references_resolve() -> None:
    doc = asyncapi()
    assert json.loads(json.dumps(doc)) == yaml.safe_load(yaml.safe_dump(doc))
    refs = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            refs += [node["$ref"]] if "$ref" in node else []
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    for ref in refs:
        target = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]  # a KeyError names the dangling reference
    assert {channel_id(topic) for topic in CONTRACT_TOPICS} == set(doc["channels"])
