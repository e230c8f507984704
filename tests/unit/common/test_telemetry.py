"""Spans to the local JSON-lines file: each finished span is one line with its trace, parent and links, written
by the processor's own thread (or at once on flush and shutdown), in order, and never more than it keeps."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from common.telemetry import JsonLinesSpanProcessor, link_to

ORIGIN = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def provider_writing(path: Path, **options: float) -> tuple[TracerProvider, JsonLinesSpanProcessor]:
    provider = TracerProvider(resource=Resource.create({"service.name": "triage"}))
    processor = JsonLinesSpanProcessor(str(path), **options)
    provider.add_span_processor(processor)
    return provider, processor


def lines(path: Path) -> list[dict]:
    return [msgspec.json.decode(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def test_each_span_is_one_line_with_its_trace_parent_attributes_and_links(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "spans.jsonl"
    provider, processor = provider_writing(path, every_s=60)
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("issue.events.v1 process", links=link_to(ORIGIN)) as outer:
        outer.set_attribute("issue.id", "HB-202611-000001")
        with tracer.start_as_current_span("inner"):
            pass
    assert lines(path) == []  # nothing written until the writer's turn or a flush
    assert processor.force_flush()
    inner, parent = lines(path)
    context = outer.get_span_context()
    assert (parent["service"], parent["name"], parent["kind"]) == ("triage", "issue.events.v1 process", "INTERNAL")
    assert parent["trace_id"] == f"{context.trace_id:032x}" and parent["span_id"] == f"{context.span_id:016x}"
    assert parent["attributes"] == {"issue.id": "HB-202611-000001"} and parent["links"] == [ORIGIN.split("-")[1]]
    assert inner["trace_id"] == parent["trace_id"] and inner["parent_span_id"] == parent["span_id"]
    assert parent["end_ns"] >= parent["start_ns"] > 0
    provider.shutdown()


def test_the_writer_appends_what_gathered_in_order_and_shutdown_writes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    provider, _ = provider_writing(path, every_s=0.05)
    tracer = provider.get_tracer("tests")
    for n in range(5):
        with tracer.start_as_current_span(f"first-{n}"):
            pass
    deadline = time.monotonic() + 5
    while len(lines(path)) < 5:
        assert time.monotonic() < deadline, "the writer thread never wrote"
        time.sleep(0.02)
    for n in range(3):
        with tracer.start_as_current_span(f"second-{n}"):
            pass
    provider.shutdown()
    assert [line["name"] for line in lines(path)] == [f"first-{n}" for n in range(5)] + [
        f"second-{n}" for n in range(3)
    ]


def test_past_what_it_keeps_between_two_writes_spans_are_dropped_and_counted(tmp_path: Path, caplog) -> None:
    path = tmp_path / "spans.jsonl"
    provider, processor = provider_writing(path, every_s=60, most=3)
    tracer = provider.get_tracer("tests")
    for n in range(5):
        with tracer.start_as_current_span(f"span-{n}"):
            pass
    processor.force_flush()
    assert [line["name"] for line in lines(path)] == ["span-0", "span-1", "span-2"]
    assert any(getattr(r, "dropped", None) == 2 for r in caplog.records)
    provider.shutdown()
