"""Settings come from environment variables, one msgspec Struct per part, the same names in every setup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class BaseSettings(msgspec.Struct, frozen=True, kw_only=True, rename="upper"):
    """What every service and the gateway need. Field `kafka_bootstrap` is read from `KAFKA_BOOTSTRAP`."""

    kafka_bootstrap: str = "127.0.0.1:9092"
    # Tansu cannot give out producer ids: idempotence is on for Apache Kafka only (COMPONENTS.md).
    kafka_idempotence: bool = False
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_fetch_max_wait_ms: int = 20
    # For topics that carry a few records a minute (outcomes, replies, ratings) and the registry's cache in
    # oversight. A consumer with nothing to read asks again after each wait: at 20 ms each costs the broker
    # and itself ~2 % of a core doing nothing (README "Benchmark").
    kafka_fetch_max_wait_quiet_ms: int = 100
    # A consumer at the short wait takes the quiet one after this long without a record, and the short one
    # again when records come (`common.fetch_pace`); 0 keeps the short wait always.
    kafka_quiet_after_s: float = 5.0
    kafka_max_records: int = 500
    # A consumer off the paths people wait on (read models, ledgers, usage counts, feedback) takes a batch at
    # most this often while records keep coming, and lets them gather in between: each batch costs a fetch,
    # Valkey round trips and a produce request whatever it holds, and at 200 intakes/s these consumers took
    # batches of one or two records. The first record after a pause is taken at once. (Kafka's consumers
    # get this from `fetch.min.bytes`; Tansu re-reads the partition while it holds such a fetch.)
    kafka_gather_ms: int = 100
    # How much the producer gathers per partition into one batch (aiokafka's default is 16 KB). A burst (a
    # review's 10,000 events) then goes out in a few large requests instead of ~50 sequential small ones,
    # and the embedded broker holds fewer batches, each of which its fetches walk (README "Benchmark").
    # A lone record still goes out at once, alone: the producer never waits to fill a batch.
    kafka_max_batch_bytes: int = 1024 * 1024
    redis_url: str = "redis://127.0.0.1:6379/0"
    health_host: str = "127.0.0.1"
    health_port: int = 0
    otel_exporter: str = "file"  # file / otlp / none
    otel_exporter_otlp_endpoint: str = "http://127.0.0.1:4318"
    otel_file: str = "var/traces/spans.jsonl"
    log_level: str = "INFO"
    instance_id: str = ""
    handler_attempts: int = 3
    handler_backoff_ms: int = 100
    processed_ttl_s: int = 90 * 24 * 3600
    # Keep what was published until the event archive holds it (off where no archiver runs).
    outbox_enabled: bool = True
    outbox_republish_after_s: float = 10.0
    outbox_sweep_every_s: float = 2.0


def load_settings(kind: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build `kind` from the environment; a bad value is an error naming the variable."""
    env = dict(os.environ if environ is None else environ)
    try:
        return msgspec.convert(env, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise SystemExit(f"bad configuration for {kind.__name__}: {exc}") from None


def env_names(kind: type[msgspec.Struct]) -> set[str]:
    """The environment variable names a settings Struct reads."""
    return {f.encode_name for f in msgspec.structs.fields(kind)}
