"""The gateway's server spans: one per request, named by its route, continuing the caller's trace, and
current while the handler runs, so what it publishes carries the request's trace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar import Litestar, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from common.telemetry import inject_headers
from gateway.spans import server_spans

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@post("/items/{number:int}", status_code=202)
async def publish(number: FromPath[int]) -> dict[str, str]:
    return inject_headers()  # what a record built here would carry


@get("/items/{number:int}")
async def missing(number: FromPath[int]) -> None:
    raise NotFoundException(f"no item {number}")


@get("/broken")
async def broken() -> None:
    raise RuntimeError("boom")


@get("/health")
async def health() -> str:
    return "ok"


@pytest.fixture
def traced() -> Iterator[tuple[TestClient[Litestar], InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = Litestar([publish, missing, broken, health], middleware=[server_spans(provider)])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, exporter


def _only(exporter: InMemorySpanExporter) -> ReadableSpan:
    (span,) = exporter.get_finished_spans()
    return span


def test_a_request_gets_a_server_span_named_by_its_route_and_current_in_the_handler(traced) -> None:
    client, exporter = traced
    answer = client.post("/items/7")
    span = _only(exporter)
    assert span.name == "POST /items/{number}" and span.kind == SpanKind.SERVER and span.parent is None
    assert dict(span.attributes or {}) == {
        "http.method": "POST",
        "http.route": "/items/{number}",
        "http.target": "/items/7",
        "http.status_code": 202,
    }
    context = span.get_span_context()
    assert answer.json()["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


def test_the_callers_w3c_trace_context_is_continued(traced) -> None:
    client, exporter = traced
    answer = client.post("/items/7", headers={"traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"})
    span = _only(exporter)
    assert format(span.get_span_context().trace_id, "032x") == CALLER_TRACE
    assert span.parent is not None and format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert answer.json()["traceparent"].split("-")[1] == CALLER_TRACE


def test_the_status_code_is_recorded_and_a_server_error_marks_the_span(traced) -> None:
    client, exporter = traced
    assert client.get("/items/7").status_code == 404
    assert client.get("/broken").status_code == 500
    missing_span, broken_span = exporter.get_finished_spans()
    assert missing_span.attributes["http.status_code"] == 404
    assert missing_span.status.status_code == StatusCode.UNSET
    assert broken_span.attributes["http.status_code"] == 500
    assert broken_span.status.status_code == StatusCode.ERROR


def test_health_checks_are_not_traced(traced) -> None:
    client, exporter = traced
    assert client.get("/health").status_code == 200
    assert exporter.get_finished_spans() == ()
