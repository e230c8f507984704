"""The public voter channel's pure parts: tracking codes, the rate limit per client address, and the
hotline's phone-number keys. The whole channel on the real platform is in tests/integration/test_access.py."""

from __future__ import annotations

from types import SimpleNamespace

from litestar import Litestar, Router
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient

from common.registry.view import RegistryView
from gateway.callers import digits
from gateway.public_api import PublicController, public_rate_limit
from gateway.security import clients_behind
from gateway.tracking import ALPHABET, CODE_LENGTH, new_tracking_code, normalize_code, shown
from services.registry.demo import demo_district


def test_a_tracking_code_is_twelve_unambiguous_characters_read_in_three_groups() -> None:
    codes = {new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000  # 60 random bits: no repeats in a few thousand
    for code in codes:
        assert len(code) == CODE_LENGTH and set(code) <= set(ALPHABET)
        assert not set(code) & set("ILOU")
    assert shown("D158MX2GYV86") == "D158-MX2G-YV86"


def test_what_a_voter_types_is_read_back_whatever_the_case_spacing_or_lookalike_letters() -> None:
    assert normalize_code("d158-mx2g-yv86") == "D158MX2GYV86"
    assert normalize_code(" D158 MX2G YV86 ") == "D158MX2GYV86"
    assert normalize_code("DI58-MX2G-YV8b") == "D158MX2GYV8B"  # I read as 1
    assert normalize_code("O0L1") == "0011"


def test_the_public_api_answers_429_past_its_rate_per_client_address() -> None:
    limit = public_rate_limit(3)
    app = Litestar(
        route_handlers=[Router(path="/", route_handlers=[PublicController], middleware=[limit.middleware])],
        stores={"rate_limit": MemoryStore()},
    )
    app.state.update(registry=SimpleNamespace(view=RegistryView(demo_district("small"))))
    with TestClient(app) as client:
        answers = [client.get("/api/v1/public/stations") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["ratelimit-reset"]) > 0  # seconds until the window opens again
    assert {"code": "610902", "name": answers[0].json()[0]["name"]}.items() <= answers[0].json()[0].items()


def test_a_phone_number_is_keyed_by_its_digits_as_dialled() -> None:
    assert digits("+86 138-1234-1234") == digits("13812341234") == digits("0086 13812341234") == "13812341234"
    assert digits("0915-3212345") == "09153212345"


def _limited_app(trusted_proxies: str) -> Litestar:
    app = Litestar(
        route_handlers=[
            Router(path="/", route_handlers=[PublicController], middleware=[public_rate_limit(2).middleware])
        ],
        middleware=clients_behind(trusted_proxies),
        stores={"rate_limit": MemoryStore()},
    )
    app.state.update(registry=SimpleNamespace(view=RegistryView(demo_district("small"))))
    return app


def test_behind_a_trusted_proxy_each_voter_has_a_limit_of_their_own() -> None:
    with TestClient(_limited_app("10.0.0.0/8, testclient")) as client:  # the test client's peer is "testclient"

        def from_voter(address: str) -> int:
            # what a proxy sends: the voter's address, then its own hops
            return client.get(
                "/api/v1/public/stations", headers={"X-Forwarded-For": f"{address}, 10.1.2.3"}
            ).status_code

        assert [from_voter("203.0.113.7") for _ in range(3)] == [200, 200, 429]
        assert from_voter("198.51.100.9") == 200  # another voter behind the same proxy


def test_without_trusted_proxies_a_forwarded_address_does_not_dodge_the_limit() -> None:
    assert clients_behind(" , ") == []
    with TestClient(_limited_app("")) as client:
        answers = [
            client.get("/api/v1/public/stations", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(3)
        ]
    assert answers == [200, 200, 429]
