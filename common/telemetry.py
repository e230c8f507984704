"""OpenTelemetry set-up: spans to a local JSON-lines file by default, or to an OTLP endpoint."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable

import msgspec
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from common.settings import BaseSettings

log = logging.getLogger(__name__)


class JsonLinesSpanProcessor(SpanProcessor):
    """Each finished span as one JSON line, appended to a file that every part shares.

    A line is encoded as its span ends (~9 µs, on the thread that ended it) and a daemon thread appends what
    has gathered every `every_s`, in one write (O_APPEND: whole lines from each process). OpenTelemetry's
    BatchSpanProcessor with an exporter cost ~25 µs a span here, and drops spans once its queue of 2,048 is
    full, which a 10,000-decision review can reach; this keeps up to `most` lines between two writes."""

    def __init__(self, path: str, every_s: float = 1.0, most: int = 200_000) -> None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self._path, self._every_s, self._most = path, every_s, most
        self._lines: list[bytes] = []
        self._dropped = 0
        self._gathering, self._writing = threading.Lock(), threading.Lock()
        self._done = threading.Event()
        self._writer = threading.Thread(target=self._run, name="span-lines", daemon=True)
        self._writer.start()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        line = _encode(_span_record(span)) + b"\n"
        with self._gathering:
            if len(self._lines) < self._most:
                self._lines.append(line)
            else:
                self._dropped += 1

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self._write()
        return True

    def shutdown(self) -> None:
        self._done.set()
        self._writer.join(timeout=5)
        self._write()

    def _run(self) -> None:
        while not self._done.wait(self._every_s):
            self._write()

    def _write(self) -> None:
        with self._writing:  # one writer at a time, so the lines keep their order
            with self._gathering:
                lines, self._lines, dropped, self._dropped = self._lines, [], self._dropped, 0
            if lines:
                with open(self._path, "ab") as out:
                    out.write(b"".join(lines))
        if dropped:
            log.warning("spans dropped: more ended between two writes than are kept", extra={"dropped": dropped})


_encode = msgspec.json.Encoder().encode


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
        # written every OTEL_BSP_SCHEDULE_DELAY ms, the variable OpenTelemetry's batch processor reads
        every_s = float(os.environ.get("OTEL_BSP_SCHEDULE_DELAY", "1000")) / 1000
        provider.add_span_processor(JsonLinesSpanProcessor(settings.otel_file, every_s=every_s))
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
