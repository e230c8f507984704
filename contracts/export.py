"""Writes the JSON Schemas, AsyncAPI document and schema snapshots of every topic from the Structs here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import yaml

from contracts import topics
from contracts.base import SCHEMA_VERSION
from contracts.topics import ALL_TOPICS, HANDLER_REPLIES, Topic

ROOT = Path(__file__).resolve().parents[1]
DOCS_DIR = ROOT / "docs" / "contracts"
SNAPSHOT_DIR = ROOT / "tests" / "contract" / "snapshots"
REF = "#/components/schemas/{name}"
KAFKA_BINDING = {"bindingVersion": "0.5.0"}

_example = topics.referral_topic("handler_code")
REFERRALS = msgspec.structs.replace(
    _example,
    name=_example.name.replace("handler_code", "{handler_code}"),
    description="Referrals for one department or office: one topic per handler, named by its handler code.",
)
CONTRACT_TOPICS = (*ALL_TOPICS, REFERRALS)

RECORD_HEADERS = {
    "traceparent": "W3C trace context of the span that produced the record (present when traced).",
    "tracestate": "W3C tracestate, when there is one.",
    topics.HEADER_MESSAGE_TYPE: "The message's `type` tag, readable without decoding the value.",
    topics.HEADER_EVENT_ID: "The message's `event_id` (uuid); consumers drop a duplicate by it.",
    topics.HEADER_PRODUCER: "The client id of the process that published the record (`triage`, `gateway`, ...); "
    "a service passes over the issue events it published itself, having folded them in before publishing.",
}
DLQ_HEADERS = {
    topics.DLQ_REASON: "Why the record could not be decoded or processed.",
    topics.DLQ_TOPIC: "The topic it was read from.",
    topics.DLQ_PARTITION: "Its partition there.",
    topics.DLQ_OFFSET: "Its offset there.",
    topics.DLQ_GROUP: "The consumer group that gave up on it.",
    topics.DLQ_ATTEMPTS: "Handler attempts made (0: it could not be decoded).",
}
INFO = (
    "Every Kafka topic of the platform and the messages on it, generated from `contracts/` by "
    "`python -m contracts.export`. Values are JSON objects whose `type` field names the message. "
    "Operations are written from a client's side: `receive` is consuming a topic; department systems "
    f"`send` their replies on {HANDLER_REPLIES.name}. Ignore fields you do not know and skip "
    "messages whose `type` you do not know: fields are added over time, a breaking change is a new topic version."
)


def message_structs(topic: Topic) -> list[type[msgspec.Struct]]:
    """The Struct types a topic carries (none for a topic of raw bytes)."""
    info = mi.type_info(topic.messages)
    members = info.types if isinstance(info, mi.UnionType) else (info,)
    return [m.cls for m in members if isinstance(m, mi.StructType)]


def tag_of(cls: type[msgspec.Struct]) -> str:
    return cls.__struct_config__.tag


def channel_id(topic: Topic) -> str:
    return topic.name.replace("{", "").replace("}", "")


def topic_schema(topic: Topic) -> dict[str, Any]:
    """A standalone JSON Schema for one topic's values; `$ref`s point into its own `components`."""
    (root,), components = msgspec.json.schema_components([topic.messages], ref_template=REF)
    if not message_structs(topic):
        root = {"$comment": "Not JSON: the value is the original record's bytes, unchanged."}
    head = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": topic.name}
    extra = {"x-kafka-key": topic.key, "x-partitions": topic.partitions, "components": {"schemas": components}}
    return {**head, "description": topic.description, **root, **extra}


def _header_schemas() -> dict[str, Any]:
    record = {name: {"type": "string", "description": text} for name, text in RECORD_HEADERS.items()}
    record[topics.HEADER_EVENT_ID]["format"] = "uuid"
    dlq = {name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()}
    required = [topics.HEADER_MESSAGE_TYPE, topics.HEADER_EVENT_ID]
    return {
        "RecordHeaders": {"type": "object", "properties": record, "required": required},
        "DeadLetterHeaders": {
            "type": "object",
            "description": "The original record's headers (as far as it had them) plus the dlq.* headers.",
            "properties": {**record, **dlq},
            "required": list(dlq),
        },
    }


def _message(topic: Topic, name: str, payload: dict[str, Any], headers: str) -> dict[str, Any]:
    key = {"type": "string", "description": f"The message key: {topic.key}."}
    return {
        "name": name,
        "contentType": "application/json" if headers == "RecordHeaders" else "application/octet-stream",
        "payload": payload,
        "headers": {"$ref": REF.format(name=headers)},
        "bindings": {"kafka": {"key": key, **KAFKA_BINDING}},
    }


def _channel(topic: Topic, names: list[str]) -> dict[str, Any]:
    policy = "compact" if topic.compacted else "delete"
    kafka = {"partitions": topic.partitions, "topicConfiguration": {"cleanup.policy": [policy]}, **KAFKA_BINDING}
    channel = {
        "address": topic.name,
        "description": topic.description,
        "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in names},
        "bindings": {"kafka": kafka},
    }
    if topic is REFERRALS:
        text = f"The handler code of the department or office, matching {topics._HANDLER_CODE.pattern}"
        channel["parameters"] = {"handler_code": {"description": text}}
    return channel


def _operation(action: str, topic: Topic, names: list[str], summary: str) -> dict[str, Any]:
    cid = channel_id(topic)
    refs = [{"$ref": f"#/channels/{cid}/messages/{n}"} for n in names]
    return {"action": action, "channel": {"$ref": f"#/channels/{cid}"}, "summary": summary, "messages": refs}


def names_of(topic: Topic) -> list[str]:
    """The AsyncAPI message names of a topic: its type tags, or one name for a topic of raw bytes."""
    return [tag_of(cls) for cls in message_structs(topic)] or [f"{channel_id(topic)}.record"]


def _messages(payloads: dict[type, Any]) -> dict[str, Any]:
    messages = {}
    for topic in CONTRACT_TOPICS:
        for cls in message_structs(topic):
            messages[tag_of(cls)] = _message(topic, tag_of(cls), payloads[cls], "RecordHeaders")
        if not message_structs(topic):
            raw = {"type": "string", "format": "binary", "description": "The original record's value."}
            messages[names_of(topic)[0]] = _message(topic, names_of(topic)[0], raw, "DeadLetterHeaders")
    return messages


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: one channel per topic, one message per type tag."""
    structs = [cls for topic in CONTRACT_TOPICS for cls in message_structs(topic)]
    roots, schemas = msgspec.json.schema_components(structs, ref_template=REF)
    channels = {channel_id(t): _channel(t, names_of(t)) for t in CONTRACT_TOPICS}
    operations = {
        f"receive.{channel_id(t)}": _operation("receive", t, names_of(t), f"Consume {t.name}.") for t in CONTRACT_TOPICS
    }
    reply = "A department's or office's system replies to a referral it received."
    send = _operation("send", HANDLER_REPLIES, names_of(HANDLER_REPLIES), reply)
    operations[f"send.{channel_id(HANDLER_REPLIES)}"] = send
    info = {"title": "Deputies platform: messages on Kafka", "version": f"{SCHEMA_VERSION}.0.0", "description": INFO}
    messages = _messages(dict(zip(structs, roots, strict=True)))
    components = {"messages": messages, "schemas": {**schemas, **_header_schemas()}}
    doc = {"asyncapi": "3.0.0", "info": info, "defaultContentType": "application/json"}
    return {**doc, "channels": channels, "operations": operations, "components": components}


def snapshot(topic: Topic) -> dict[str, Any]:
    """Per message type tag, each field's wire name, type and whether it is required; nested Structs likewise."""
    nested: dict[str, dict[str, Any]] = {}
    messages = {tag_of(cls): _fields(mi.type_info(cls).fields, nested) for cls in message_structs(topic)}
    return {"topic": topic.name, "messages": messages, "structs": nested}


def _fields(fields: tuple[mi.Field, ...], nested: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {f.encode_name: {"type": _describe(f.type, nested), "required": f.required} for f in fields}


def _describe(t: mi.Type, nested: dict[str, dict[str, Any]]) -> str:
    if isinstance(t, mi.UnionType):
        return " | ".join(_describe(member, nested) for member in t.types)
    if isinstance(t, mi.NoneType):
        return "None"
    if isinstance(t, mi.StructType):
        if t.cls.__name__ not in nested:
            nested[t.cls.__name__] = {}  # guards against recursive Structs
            nested[t.cls.__name__] = _fields(t.fields, nested)
        return t.cls.__name__
    args = [(k, getattr(t, k)) for k in t.__struct_fields__ if getattr(t, k) is not None]
    text = [f"{k}={_describe(v, nested) if isinstance(v, mi.Type) else repr(v)}" for k, v in args]
    name = type(t).__name__.removesuffix("Type").lower()
    return f"{name}({', '.join(text)})" if text else name


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_docs() -> dict[str, str]:
    """File name -> content of everything generated into the docs directory."""
    files = {f"{topic.name}.schema.json": _json(topic_schema(topic)) for topic in CONTRACT_TOPICS}
    files["asyncapi.yaml"] = yaml.safe_dump(asyncapi(), sort_keys=True, allow_unicode=True, width=120)
    return files


def render_snapshots() -> dict[str, str]:
    return {f"{topic.name}.json": _json(snapshot(topic)) for topic in CONTRACT_TOPICS}


def write(out: Path, files: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_text(content, encoding="utf-8", newline="\n")


def stale(out: Path, files: dict[str, str]) -> list[str]:
    """Files that differ from what would be generated, are missing, or are left over from a removed topic."""
    differ = [n for n, c in files.items() if not (out / n).is_file() or (out / n).read_text(encoding="utf-8") != c]
    extra = [p.name for p in out.glob("*.schema.json") if p.name not in files]
    return sorted(differ + extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.export", description=__doc__)
    parser.add_argument("--out", type=Path, help=f"output directory (default {DOCS_DIR}, or {SNAPSHOT_DIR})")
    parser.add_argument("--check", action="store_true", help="exit 1 if the files on disk are not up to date")
    parser.add_argument("--snapshot", action="store_true", help="rewrite the schema snapshots (a deliberate act)")
    args = parser.parse_args(argv)
    files = render_snapshots() if args.snapshot else render_docs()
    out = args.out or (SNAPSHOT_DIR if args.snapshot else DOCS_DIR)
    if args.check:
        if problems := stale(out, files):
            fix = "python -m contracts.export" + (" --snapshot" if args.snapshot else "")
            print(f"out of date in {out}: {', '.join(problems)}; run {fix}", file=sys.stderr)
            return 1
        return 0
    write(out, files)
    print(f"wrote {len(files)} files to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
