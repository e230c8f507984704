"""JSON log lines: one object a line, carrying the issue and trace of the work in hand."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from common.logs import JsonFormatter, current_issue_id


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("triage"))
    logger = logging.getLogger("tests.unit.common.logs")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_record_inside_a_span_carries_issue_and_trace_ids(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    tracer = TracerProvider().get_tracer("tests")  # a real span, never exported: no processor is added
    token = current_issue_id.set("HB-202612-000001")
    try:
        with tracer.start_as_current_span("issue.events.v1 process") as span:
            logger.info("issue triaged")
    finally:
        current_issue_id.reset(token)
    (entry,) = lines(stream)
    context = span.get_span_context()
    assert entry["issue_id"] == "HB-202612-000001"
    assert re.fullmatch(r"[0-9a-f]{32}", entry["trace_id"])
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
    assert (entry["service"], entry["level"], entry["msg"]) == ("triage", "INFO", "issue triaged")
    assert entry["logger"] == "tests.unit.common.logs"


def test_record_outside_any_span_or_issue_has_no_such_ids(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.warning("idle")
    (entry,) = lines(stream)
    assert not {"issue_id", "trace_id", "span_id"} & entry.keys()


def test_extra_fields_appear_and_odd_values_become_strings(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("batch", extra={"group": "triage", "attempt": 2, "ratio": 0.5, "late": False, "ids": ("a", "b")})
    (entry,) = lines(stream)
    assert (entry["group"], entry["attempt"], entry["ratio"], entry["late"]) == ("triage", 2, 0.5, False)
    assert entry["ids"] == "('a', 'b')"


def test_each_record_is_one_json_object_on_one_line(logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = logged
    logger.info("first line\nsecond line")
    try:
        raise RuntimeError("broken\npipe")
    except RuntimeError:
        logger.exception("failed %s", "badly")
    entries = lines(stream)
    assert len(entries) == 2 == len(stream.getvalue().splitlines())
    assert entries[0]["msg"] == "first line\nsecond line"
    assert entries[1]["msg"] == "failed badly"
    assert entries[1]["level"] == "ERROR"
    assert "RuntimeError: broken" in entries[1]["exc"]
