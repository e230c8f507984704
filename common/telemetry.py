"""OpenTelemetry set-up: spans to a local JSON-lines file by default, or to an OTLP endpoint."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence

import msgspec
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from common.settings import BaseSettings


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file; several processes may share it."""

    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self._path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = b"".join(msgspec.json.encode(_span_record(s)) + b"\n" for s in spans)
        with self._lock, open(self._path, "ab") as out:  # O_APPEND: whole lines from each process
            out.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def _span_record(span: ReadableSpan) -> dict[str, object]:
    ctx = span.get_span_context()
    return {
        "service": span.resource.attributes.get("service.name"),
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "links": [format(link.context.trace_id, "032x") for link in span.links],
    }


def setup_tracing(service: str, settings: BaseSettings) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if settings.otel_exporter == "file":
        provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(settings.otel_file)))
    elif settings.otel_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    elif settings.otel_exporter != "none":
        raise SystemExit(f"OTEL_EXPORTER must be file, otlp or none, not {settings.otel_exporter!r}")
    trace.set_tracer_provider(provider)
    return provider


def inject_headers() -> dict[str, str]:
    """The current span's W3C trace context as record headers."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Iterable[tuple[str, bytes]] | None):  # -> opentelemetry Context
    carrier = {k: v.decode("latin-1") for k, v in (headers or ()) if k in ("traceparent", "tracestate")}
    return propagate.extract(carrier)


def link_to(traceparent: str | None) -> list[trace.Link]:
    """A span link to the trace a W3C traceparent names (an issue's intake), or none if it is malformed."""
    parts = (traceparent or "").split("-")
    if len(parts) != 4:
        return []
    try:
        context = trace.SpanContext(
            trace_id=int(parts[1], 16), span_id=int(parts[2], 16), is_remote=True, trace_flags=trace.TraceFlags(0x01)
        )
    except ValueError:
        return []
    return [trace.Link(context, {"link.kind": "issue.origin"})] if context.is_valid else []
