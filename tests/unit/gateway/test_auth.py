"""Sign-in, sessions and access: passwords, lock-out, expiry, sign-out, role guards, scopes and the CSRF rule,
against a small in-memory Valkey whose clock the tests move."""

from __future__ import annotations

import math
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.testing import TestClient, create_test_client

from common.registry.view import RegistryView
from contracts.registry import AdminUnit, Handler, User
from gateway import auth
from gateway.auth import AuthController, Credentials, LockedOut, Principal, requires

PASSWORD = "correct horse battery"
CITY, DISTRICT, OTHER_DISTRICT = "610900", "610902", "610903"
TOWN, OTHER_TOWN = "610902001", "610902002"
VILLAGE, NEIGHBOUR, FAR_VILLAGE = "610902001001", "610902001002", "610902002001"
VIEW = RegistryView(
    [
        AdminUnit(code=CITY, name="安康市", tier="city"),
        AdminUnit(code=DISTRICT, name="汉滨区", tier="district", parent_code=CITY),
        AdminUnit(code=OTHER_DISTRICT, name="汉阴县", tier="district", parent_code=CITY),
        AdminUnit(code=TOWN, name="关庙镇", tier="town", parent_code=DISTRICT),
        AdminUnit(code=OTHER_TOWN, name="张滩镇", tier="town", parent_code=DISTRICT),
        AdminUnit(code=VILLAGE, name="一村", tier="village", parent_code=TOWN),
        AdminUnit(code=NEIGHBOUR, name="二村", tier="village", parent_code=TOWN),
        AdminUnit(code=FAR_VILLAGE, name="三村", tier="village", parent_code=OTHER_TOWN),
        Handler(code="t-water", name="关庙镇水利站", kind="town_office", unit_code=TOWN),
        Handler(code="t2-water", name="张滩镇水利站", kind="town_office", unit_code=OTHER_TOWN),
        Handler(code="d-transport", name="区交通局", kind="district_department", unit_code=DISTRICT),
        User(code="admin", name="管理员", role="admin", unit_code=DISTRICT),
        User(code="admin-b", name="汉阴管理员", role="admin", unit_code=OTHER_DISTRICT),
        User(code="liaison", name="联络员", role="station_liaison", unit_code=VILLAGE),
        User(code="town", name="镇人大办", role="town_staff", unit_code=TOWN),
        User(code="handler", name="交通局", role="handler", handler_code="d-transport"),
        User(code="retired", name="已停用", role="town_staff", unit_code=TOWN, active=False),
    ]
)


class FakeValkey:
    """The few Valkey commands Credentials uses; keys expire on `now`, which the tests move."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.expires: dict[str, float] = {}
        self.now = 0.0

    def _live(self, key: str) -> bool:
        if self.expires.get(key, math.inf) <= self.now:
            self.data.pop(key, None)
            self.expires.pop(key, None)
        return key in self.data

    async def get(self, key: str) -> bytes | None:
        return self.data[key] if self._live(key) else None

    async def set(self, key: str, value: str | int, ex: int | None = None) -> bool:
        self.data[key] = str(value).encode()
        self.expires.pop(key, None)
        if ex is not None:
            self.expires[key] = self.now + ex
        return True

    async def getex(self, key: str, ex: int) -> bytes | None:
        await self.expire(key, ex)
        return await self.get(key)

    async def incr(self, key: str) -> int:
        value = int(await self.get(key) or 0) + 1
        self.data[key] = str(value).encode()
        return value

    async def expire(self, key: str, seconds: int) -> bool:
        if self._live(key):
            self.expires[key] = self.now + seconds
        return key in self.data

    async def ttl(self, key: str) -> int:
        if not self._live(key):
            return -2
        return math.ceil(self.expires[key] - self.now) if key in self.expires else -1

    async def delete(self, *keys: str) -> int:
        return sum(self.data.pop(k, None) is not None for k in keys)

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, valkey: FakeValkey) -> None:
        self._valkey, self._queued = valkey, []

    async def __aenter__(self) -> FakePipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    def __getattr__(self, command: str) -> Any:
        return lambda *args, **kwargs: self._queued.append(getattr(self._valkey, command)(*args, **kwargs))

    async def execute(self) -> list[Any]:
        return [await queued for queued in self._queued]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real cost (2**14) is checked once below; the rest of the tests hash at 2**10 to stay fast."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2**10)


@pytest.fixture
def valkey() -> FakeValkey:
    return FakeValkey()


@pytest.fixture
def credentials(valkey: FakeValkey) -> Credentials:
    return Credentials(valkey, lockout_after=5, lockout_s=60, session_ttl_s=120, recheck_s=0)  # Valkey's clock only


@get("/admin-only", guards=[requires("admin")])
async def admin_only(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {"login": request.state.principal.login}


@post("/notes", guards=[requires()], status_code=200)
async def write_note() -> dict[str, str]:
    return {"status": "written"}


@pytest.fixture
def client(credentials: Credentials) -> Iterator[TestClient[Any]]:
    state = State({"credentials": credentials, "registry": SimpleNamespace(view=VIEW)})
    with create_test_client([AuthController, admin_only, write_note], state=state) as client:
        yield client


@pytest.fixture
async def passwords(credentials: Credentials) -> None:
    for login in ("admin", "admin-b", "liaison", "town", "handler", "retired"):
        await credentials.set_password(login, PASSWORD)


def sign_in(client: TestClient[Any], login: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/sign-in", json={"login": login, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_password_is_stored_as_memory_hard_scrypt_and_never_in_plain(
    monkeypatch: pytest.MonkeyPatch, credentials: Credentials, valkey: FakeValkey
) -> None:
    monkeypatch.setattr(auth, "SCRYPT_N", 2**14)
    await credentials.set_password("liaison", PASSWORD)
    await credentials.set_password("town", PASSWORD)

    stored = valkey.data["gw:auth:password:liaison"].decode()
    scheme, n, r, p, salt, key = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(auth.base64.b64decode(salt)) == 16 and len(auth.base64.b64decode(key)) == 32
    assert PASSWORD not in stored and PASSWORD.encode() not in b"".join(valkey.data.values())
    assert stored != valkey.data["gw:auth:password:town"].decode()  # a fresh salt each time
    assert await credentials.verify("liaison", PASSWORD)
    assert not await credentials.verify("liaison", PASSWORD + "!")


async def test_a_password_shorter_than_ten_characters_is_refused_naming_password(credentials: Credentials) -> None:
    with pytest.raises(ValueError, match="password"):
        await credentials.set_password("liaison", "123456789")


@pytest.mark.usefixtures("passwords")
def test_a_wrong_password_and_an_unknown_login_get_the_same_401(client: TestClient[Any]) -> None:
    wrong, unknown = sign_in(client, "liaison", "not the password"), sign_in(client, "nobody", "not the password")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"status_code": 401, "detail": "login or password is wrong"}


@pytest.mark.usefixtures("passwords")
def test_an_inactive_account_cannot_sign_in_even_with_its_password(client: TestClient[Any]) -> None:
    assert sign_in(client, "retired").json()["detail"] == "login or password is wrong"


@pytest.mark.usefixtures("passwords")
def test_five_failures_lock_the_login_even_for_the_right_password_until_the_window_passes(
    client: TestClient[Any], valkey: FakeValkey
) -> None:
    for _ in range(5):
        assert sign_in(client, "liaison", "not the password").status_code == 401
    valkey.now += 20

    locked = sign_in(client, "liaison")
    assert locked.status_code == 423
    assert locked.headers["Retry-After"] == "40"

    valkey.now += 41
    assert sign_in(client, "liaison").status_code == 200


async def test_unknown_logins_lock_out_alike(credentials: Credentials) -> None:
    for _ in range(5):
        assert not await credentials.verify("nobody", "not the password")
    with pytest.raises(LockedOut) as locked:
        await credentials.verify("nobody", "not the password")
    assert locked.value.seconds_left == 60


@pytest.mark.usefixtures("passwords")
def test_a_right_password_clears_earlier_failures(client: TestClient[Any]) -> None:
    for _ in range(4):
        sign_in(client, "liaison", "not the password")
    assert sign_in(client, "liaison").status_code == 200
    for _ in range(4):
        sign_in(client, "liaison", "not the password")
    assert sign_in(client, "liaison").status_code == 200


@pytest.mark.usefixtures("passwords")
def test_sign_in_answers_the_account_and_sets_a_strict_http_only_cookie(client: TestClient[Any]) -> None:
    answer = sign_in(client, "town")

    assert answer.status_code == 200
    body = answer.json()
    assert {k: v for k, v in body.items() if k != "token"} == {
        "login": "town",
        "name": "镇人大办",
        "role": "town_staff",
        "unit_code": TOWN,
        "handler_code": None,
        "expires_in": 120,
    }
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"session={body['token']};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Secure" not in cookie


@pytest.mark.usefixtures("passwords")
def test_the_cookie_is_secure_over_https(credentials: Credentials) -> None:
    state = State({"credentials": credentials, "registry": SimpleNamespace(view=VIEW)})
    with create_test_client([AuthController], state=state, base_url="https://testserver.local") as client:
        assert "Secure" in sign_in(client, "town").headers["set-cookie"]


def test_a_bad_body_is_a_400_naming_the_field(client: TestClient[Any]) -> None:
    answer = client.post("/api/v1/auth/sign-in", json={"login": "town"})

    assert answer.status_code == 400
    assert "password" in answer.text


async def test_a_session_slides_with_use_and_ends_after_its_ttl_unused(
    credentials: Credentials, valkey: FakeValkey
) -> None:
    token = await credentials.open_session("town")
    assert token not in str(valkey.data)  # kept only as its hash

    valkey.now += 100
    assert await credentials.session(token) == "town"  # used: another 120 s
    valkey.now += 100
    assert await credentials.session(token) == "town"
    valkey.now += 121
    assert await credentials.session(token) is None
    assert await credentials.session("made-up") is None


@pytest.mark.usefixtures("passwords")
def test_an_expired_session_is_refused(client: TestClient[Any], valkey: FakeValkey) -> None:
    token = sign_in(client, "admin").json()["token"]
    client.cookies.clear()
    valkey.now += 121

    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.usefixtures("passwords")
def test_sign_out_ends_the_session_and_clears_the_cookie(client: TestClient[Any]) -> None:
    token = sign_in(client, "admin").json()["token"]
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", headers=bearer(token)).json()["login"] == "admin"

    out = client.post("/api/v1/auth/sign-out", headers=bearer(token))

    assert out.status_code == 204
    assert out.headers["set-cookie"].startswith('session="";') or out.headers["set-cookie"].startswith("session=;")
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.usefixtures("passwords")
def test_a_deactivated_account_loses_its_session(client: TestClient[Any], credentials: Credentials) -> None:
    token = sign_in(client, "town").json()["token"]
    client.cookies.clear()
    view = RegistryView([*VIEW.all(AdminUnit), User(code="town", name="镇人大办", role="town_staff", active=False)])
    client.app.state.registry = SimpleNamespace(view=view)

    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.usefixtures("passwords")
def test_the_guard_wants_a_session_and_the_role(client: TestClient[Any]) -> None:
    town = sign_in(client, "town").json()["token"]
    admin = sign_in(client, "admin").json()["token"]
    client.cookies.clear()

    assert client.get("/admin-only").status_code == 401
    assert client.get("/admin-only").headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/admin-only", headers=bearer("made-up")).status_code == 401
    assert client.get("/admin-only", headers=bearer(town)).status_code == 403
    assert client.get("/admin-only", headers=bearer(admin)).json() == {"login": "admin"}


def test_a_guard_for_a_role_that_does_not_exist_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="roles"):
        requires("superuser")


@pytest.mark.usefixtures("passwords")
def test_me_is_the_signed_in_principal(client: TestClient[Any]) -> None:
    sign_in(client, "handler")

    assert client.get("/api/v1/auth/me").json() == {
        "login": "handler",
        "name": "交通局",
        "role": "handler",
        "unit_code": None,
        "handler_code": "d-transport",
        "deputy_code": None,
    }


def principal(login: str) -> Principal:
    user = VIEW.user(login)
    assert user is not None
    return Principal.of(user)


def test_a_village_account_sees_its_village_and_not_the_neighbour_or_its_town() -> None:
    liaison = principal("liaison")

    assert liaison.sees_unit(VIEW, VILLAGE)
    assert not liaison.sees_unit(VIEW, NEIGHBOUR)
    assert not liaison.sees_unit(VIEW, TOWN)
    assert not liaison.sees_handler(VIEW, "t-water")


def test_a_town_account_sees_its_villages_and_its_offices_only() -> None:
    town = principal("town")

    assert all(town.sees_unit(VIEW, code) for code in (TOWN, VILLAGE, NEIGHBOUR))
    assert not any(town.sees_unit(VIEW, code) for code in (FAR_VILLAGE, OTHER_TOWN, DISTRICT, "no-such-unit"))
    assert town.sees_handler(VIEW, "t-water")
    assert not town.sees_handler(VIEW, "t2-water") and not town.sees_handler(VIEW, "d-transport")


def test_a_handler_account_sees_only_its_own_handler_and_no_units() -> None:
    handler = principal("handler")

    assert handler.sees_handler(VIEW, "d-transport")
    assert not handler.sees_handler(VIEW, "t-water")
    assert not any(handler.sees_unit(VIEW, code) for code in (CITY, DISTRICT, TOWN, VILLAGE))


def test_a_district_admin_sees_its_district_and_not_the_next() -> None:
    admin = principal("admin")

    assert all(admin.sees_unit(VIEW, code) for code in (DISTRICT, TOWN, FAR_VILLAGE))
    assert not admin.sees_unit(VIEW, OTHER_DISTRICT) and not admin.sees_unit(VIEW, CITY)
    assert admin.sees_handler(VIEW, "d-transport") and admin.sees_handler(VIEW, "t2-water")


def test_a_city_scoped_account_sees_everything() -> None:
    city = Principal(login="c", name="市", role="oversight", unit_code=CITY, handler_code=None, deputy_code=None)

    assert all(city.sees_unit(VIEW, u.code) for u in VIEW.all(AdminUnit))


@pytest.mark.usefixtures("passwords")
def test_a_cookie_post_needs_the_fetch_header_or_our_origin_and_bearer_does_not(client: TestClient[Any]) -> None:
    token = sign_in(client, "town").json()["token"]  # the client now carries the cookie

    refused = client.post("/notes")
    assert refused.status_code == 403 and "X-Requested-With" in refused.json()["detail"]
    assert client.post("/notes", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/notes", headers={"X-Requested-With": "fetch"}).status_code == 200
    assert client.post("/notes", headers={"Origin": "http://testserver.local"}).status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 200  # reading needs no proof
    assert client.post("/api/v1/auth/sign-out").status_code == 403

    client.cookies.clear()
    assert client.post("/notes", headers=bearer(token)).status_code == 200


@pytest.mark.usefixtures("passwords")
def test_an_admin_sets_a_password_in_its_scope(client: TestClient[Any]) -> None:
    admin = sign_in(client, "admin").json()["token"]
    client.cookies.clear()
    new = {"password": "a new long password"}

    assert client.put("/api/v1/auth/passwords/liaison", json=new, headers=bearer(admin)).status_code == 204
    assert sign_in(client, "liaison", new["password"]).status_code == 200
    assert client.put("/api/v1/auth/passwords/nobody", json=new, headers=bearer(admin)).status_code == 404
    short = client.put("/api/v1/auth/passwords/liaison", json={"password": "short"}, headers=bearer(admin))
    assert short.status_code == 400 and "password" in short.text


@pytest.mark.usefixtures("passwords")
def test_only_an_admin_sets_passwords_and_not_outside_its_district(client: TestClient[Any]) -> None:
    town = sign_in(client, "town").json()["token"]
    other_admin = sign_in(client, "admin-b").json()["token"]
    client.cookies.clear()
    new = {"password": "a new long password"}

    assert client.put("/api/v1/auth/passwords/liaison", json=new, headers=bearer(town)).status_code == 403
    outside = client.put("/api/v1/auth/passwords/liaison", json=new, headers=bearer(other_admin))
    assert outside.status_code == 404  # the same answer as for a login that does not exist


async def test_a_session_is_asked_of_valkey_once_per_recheck_and_a_sign_out_here_counts_at_once(
    valkey: FakeValkey,
) -> None:
    worker, other_worker = (Credentials(valkey, session_ttl_s=120, recheck_s=60) for _ in range(2))
    token = await worker.open_session("town")
    asked = []
    getex = valkey.getex

    async def counting_getex(key: str, ex: int) -> bytes | None:
        asked.append(key)
        return await getex(key, ex)

    valkey.getex = counting_getex  # type: ignore[method-assign]
    assert [await worker.session(token) for _ in range(5)] == ["town"] * 5
    assert len(asked) == 1  # one round trip for five requests
    assert await other_worker.session(token) == "town"
    await worker.close_session(token)
    assert await worker.session(token) is None  # signed out here: refused at once
    assert await other_worker.session(token) == "town"  # another worker: until its recheck (60 s here, 2 s by default)
