"""`make run`: start the platform on the embedded default, load demo data, stop everything on Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

from infra.runtime.demo import load_demo, load_demo_registry, set_demo_passwords
from infra.runtime.platform import APPLICATION_PARTS, Platform, PlatformError, Ports
from infra.runtime.supervisor import Compaction, Supervisor, compaction_schedule

STATUS_EVERY_S = 10.0


def _stop_on_sigterm(*_: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one (a service manager and `timeout`, say) must
    raise KeyboardInterrupt  # not break off the orderly stop the first began


def _say(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    var_dir = Path(os.environ.get("PLATFORM_VAR_DIR", "var"))
    try:
        compact_at, compact_after = compaction_schedule(dict(os.environ))
        wanted = os.environ.get("PLATFORM_PARTS", ",".join(APPLICATION_PARTS))
        parts = tuple(p.strip() for p in wanted.split(",") if p.strip() and p.strip() != "none")
        platform = Platform(var_dir, Ports.from_env(), say=_say, parts=parts)
        platform.start()
    except PlatformError as exc:
        _say(f"cannot start: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("stopped while starting")
        return 130
    try:
        if "gateway" in parts and os.environ.get("PLATFORM_DEMO", "1") != "0":
            changed = sum(load_demo_registry(platform.gateway_url, admin_password=platform.admin_password).values())
            _say(f"demo district: {changed} registry entities created or changed (none when already loaded)")
            logins = set_demo_passwords(
                platform.gateway_url, platform.admin_password, var_dir / "gateway" / "demo-logins"
            )
            _say(f"demo logins, one per role, with their passwords: {logins} (readable by you only)")
            accepted = load_demo(platform.gateway_url, platform.admin_password)
            _say(f"demo data: {accepted} intakes accepted (each stored once)")
        if "gateway" in parts:
            print(f"  web interface    {platform.gateway_url}/   (voters: {platform.gateway_url}/ui/voter.html)")
            print(f"  gateway API      {platform.gateway_url}/api/v1   (OpenAPI: {platform.gateway_url}/schema)")
        _say(f"up: {', '.join(('valkey', 'broker', *parts))}")
        print(f"  KAFKA_BOOTSTRAP={platform.kafka_bootstrap}")
        print(f"  administrator    platform-admin, password in {platform.var_dir / 'gateway' / 'admin-password'}")
        password_file = platform.var_dir / "valkey" / "password"  # not printed: terminals get logged
        print(f'  REDIS_URL="redis://:$(cat {password_file})@127.0.0.1:{platform.ports.redis}/0"')
        print(f"  logs             {var_dir}/logs/   traces: {platform.traces_file}")
        print("  Ctrl-C stops everything.", flush=True)
        supervisor, last, next_status = Supervisor(platform), "", 0.0
        compaction = Compaction(platform, compact_at, compact_after, datetime.now())
        while True:
            time.sleep(1.0)
            supervisor.check()
            compaction.check(datetime.now())
            if time.monotonic() >= next_status:
                line = "  ".join(f"{name}:{state}" for name, state in platform.status().items())
                if line != last:
                    _say(f"status {line}")
                    last = line
                next_status = time.monotonic() + STATUS_EVERY_S
    except KeyboardInterrupt:
        _say("stopping…")
    finally:
        platform.stop()
        _say("stopped; nothing left running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
