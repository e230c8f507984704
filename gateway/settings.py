"""The gateway's settings, from the environment (shared by the HTTP server and its read-model projector)."""

from common.settings import BaseSettings


class GatewaySettings(BaseSettings, frozen=True, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_workers: int = 1
    projector_group: str = "gateway-projector"
    idempotency_ttl_s: int = 7 * 24 * 3600
    publish_timeout_s: float = 10.0
    clock_adjustable: bool = False  # tests and demos may move the platform clock forward
    unreachable_after_days: float = 7  # the same setting as feedback's: when an unrated issue may be closed
    oversight_url: str = "http://127.0.0.1:18087"  # the oversight service's query endpoint (its health port)
    auth_lockout_after: int = 5  # failed sign-ins before a login is locked
    auth_lockout_s: int = 900  # how long the lock lasts, counted from the last failure
    session_ttl_s: int = 8 * 3600  # a session ends after this long unused
    admin_password_file: str = ""  # the first administrator's (platform-admin) password, set at start
    pii_key_file: str = ""  # the key under which personal data is hashed (the hotline's caller index)
    # retired personal-data keys (files, comma-separated) after a rotation: what they sealed still opens,
    # and callers filed under them are still found; nothing new is sealed or filed under them
    pii_old_key_files: str = ""
    public_requests_per_minute: int = 60  # per client address, on the public voter API (the rest needs an account)
    # reverse proxies in front of the gateway whose X-Forwarded-For names the client (addresses or networks,
    # comma-separated, e.g. "10.0.0.0/8"); empty: the header is not believed
    trusted_proxies: str = ""
    registry_wait_s: float = 10.0  # how long a registry change waits for its outcome before answering 202
