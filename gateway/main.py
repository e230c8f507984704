"""Serves the gateway with granian: `python -m gateway.main`."""

from granian import Granian
from granian.constants import Interfaces, Loops

from common.settings import load_settings
from gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings)
    Granian(
        "gateway.app:create_app",
        factory=True,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        address=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
