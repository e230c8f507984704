"""Sign-in, sessions and access for the gateway: passwords and sessions in Valkey, accounts and roles from
the registry (DESIGN.md section 4: the gateway owns sessions, the registry owns users and roles).

A request is authenticated by `Authorization: Bearer <token>` or by the `session` cookie (HttpOnly,
SameSite=Strict). Cross-site request forgery: a browser attaches the cookie on its own, so a
cookie-authenticated POST/PUT/PATCH/DELETE (or websocket) must also show it comes from our own pages, with
the header `X-Requested-With: fetch` (a cross-site form cannot set it, and a cross-site script cannot send
it without a CORS preflight we never grant) or an `Origin` naming this host. Without that proof the cookie
does not authenticate and a guarded route answers 403. Bearer clients are not affected: a browser never
adds that header by itself.

`python -m gateway.auth <login>` sets a password from the command line (the first admin's, say).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from litestar.response import Response

from common.registry.view import RegistryView
from contracts.registry import Handler, User
from contracts.vocabulary import USER_ROLES

PREFIX = "gw:auth:"
SESSION_COOKIE = "session"
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_SALT, SCRYPT_KEY = 2**14, 8, 1, 16, 32  # 16 MiB of memory per hash
SCRYPT_MAXMEM = 2**26
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRONG = "login or password is wrong"
NO_PROOF = "a request signed in by cookie must send X-Requested-With: fetch (or a same-origin Origin)"
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class LockedOut(Exception):
    """Too many failed sign-ins for a login: refused, even with the right password, for a while."""

    def __init__(self, seconds_left: int) -> None:
        super().__init__(f"locked out for {seconds_left} s")
        self.seconds_left = seconds_left


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"password: at most {MAX_PASSWORD} characters")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=SCRYPT_KEY, maxmem=SCRYPT_MAXMEM)


def hash_password(password: str) -> str:
    """`scrypt$n$r$p$salt$hash` (base64): the parameters travel with the hash, so they can be raised later."""
    salt = secrets.token_bytes(SCRYPT_SALT)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(key).decode()}"


def password_matches(password: str, stored: str | None) -> bool:
    """Without a stored hash it still does the work of one, so an unknown login answers as slowly."""
    try:
        scheme, n, r, p, salt, key = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = base64.b64decode(key)
        found = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        _scrypt(password, b"\0" * SCRYPT_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    return hmac.compare_digest(found, expected)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Credentials:
    """Passwords (`gw:auth:password:<login>`), failed sign-ins (`gw:auth:failures:<login>`) and sessions
    (`gw:auth:session:<sha256 of the token>`, so a copy of the store holds no usable token)."""

    def __init__(
        self,
        redis: Any,
        *,
        lockout_after: int = 5,
        lockout_s: int = 900,
        session_ttl_s: int = 8 * 3600,
        recheck_s: float = 2.0,
    ):
        self._redis = redis
        self.lockout_after, self.lockout_s, self.session_ttl_s = lockout_after, lockout_s, session_ttl_s
        # A session seen in the last `recheck_s` is not asked of Valkey again (nor its time to live renewed):
        # one round trip per session every two seconds, not one per request. Signing out here forgets it at
        # once; a sign-out through another gateway worker takes effect here within `recheck_s`.
        self._recheck_s = recheck_s
        self._seen: dict[str, tuple[str, float]] = {}

    async def stored(self, login: str) -> str | None:
        """The stored hash of a login's password, if it has one."""
        found = await self._redis.get(f"{PREFIX}password:{login}")
        return found.decode() if isinstance(found, bytes) else found

    async def set_password(self, login: str, password: str) -> None:
        check_password(password)
        stored = await asyncio.to_thread(hash_password, password)  # ~50 ms of CPU: keep the event loop free
        await self._redis.set(f"{PREFIX}password:{login}", stored)
        await self._redis.delete(f"{PREFIX}failures:{login}")

    async def verify(self, login: str, password: str) -> bool:
        """Raises LockedOut after `lockout_after` failures within `lockout_s` of each other. Unknown logins
        count failures too, so a lock-out does not tell which logins exist."""
        failures_key = f"{PREFIX}failures:{login}"
        if int(await self._redis.get(failures_key) or 0) >= self.lockout_after:
            raise LockedOut(max(int(await self._redis.ttl(failures_key)), 1))
        stored = await self._redis.get(f"{PREFIX}password:{login}")
        if await asyncio.to_thread(password_matches, password, _text(stored) if stored else None):
            await self._redis.delete(failures_key)
            return True
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(failures_key)
            pipe.expire(failures_key, self.lockout_s)
            await pipe.execute()
        return False

    def _session_key(self, token: str) -> str:
        return f"{PREFIX}session:{hashlib.sha256(token.encode()).hexdigest()}"

    async def open_session(self, login: str) -> str:
        token = secrets.token_urlsafe(32)
        await self._redis.set(self._session_key(token), login, ex=self.session_ttl_s)
        return token

    async def session(self, token: str) -> str | None:
        """The login signed in with this token, or None; use renews the session's time to live."""
        if not token or len(token) > 256:
            return None
        key, now = self._session_key(token), time.monotonic()
        if (seen := self._seen.get(key)) is not None and now - seen[1] < self._recheck_s:
            return seen[0]
        login = await self._redis.getex(key, ex=self.session_ttl_s)
        if login is None:
            self._seen.pop(key, None)
            return None
        if len(self._seen) > 10_000:
            self._seen.clear()
        self._seen[key] = (_text(login), now)
        return _text(login)

    async def close_session(self, token: str) -> None:
        key = self._session_key(token)
        self._seen.pop(key, None)
        await self._redis.delete(key)


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is signed in. Scope: a handler account its own handler; every other account its unit's subtree
    (an admin or oversight account scoped to the city sees everything)."""

    login: str
    name: str
    role: str
    unit_code: str | None
    handler_code: str | None
    deputy_code: str | None

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(
            login=user.code,
            name=user.name,
            role=user.role,
            unit_code=user.unit_code,
            handler_code=user.handler_code,
            deputy_code=user.deputy_code,
        )

    def sees_unit(self, view: RegistryView, unit_code: str) -> bool:
        if self.login == PLATFORM_ADMIN:
            return view.unit(unit_code) is not None  # the first administrator sees the whole registry
        if self.role == "handler" or self.unit_code is None:
            return False
        return view.in_subtree(unit_code, self.unit_code)

    def sees_handler(self, view: RegistryView, handler_code: str) -> bool:
        if self.role == "handler":
            return self.handler_code is not None and handler_code == self.handler_code
        handler = view.get(Handler, handler_code)
        return handler is not None and self.sees_unit(view, handler.unit_code)

    def sees_user(self, view: RegistryView, user: User) -> bool:
        """Whether the account falls inside this one's scope (whose password an admin may set)."""
        if user.handler_code is not None:
            return self.sees_handler(view, user.handler_code)
        return user.unit_code is not None and self.sees_unit(view, user.unit_code)


def _token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str | None, bool]:
    """(token, whether it came from the cookie)."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    return connection.cookies.get(SESSION_COOKIE) or None, True


def _from_our_pages(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    if connection.headers.get("x-requested-with", "").lower() == "fetch":
        return True
    origin = connection.headers.get("origin")
    return bool(origin) and urlsplit(origin).netloc == connection.headers.get("host")


def _cookie_without_proof(connection: ASGIConnection[Any, Any, Any, Any], by_cookie: bool) -> bool:
    changes = connection.scope["type"] == "websocket" or connection.scope.get("method") in UNSAFE_METHODS
    return by_cookie and changes and not _from_our_pages(connection)


async def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The signed-in account, or None: no token, an expired or unknown one, a user the registry no longer
    has or has deactivated, or a cookie on a changing request without the CSRF proof."""
    token, by_cookie = _token_of(connection)
    if token is None or _cookie_without_proof(connection, by_cookie):
        return None
    login = await connection.app.state.credentials.session(token)
    if login == PLATFORM_ADMIN:
        return ROOT
    user = connection.app.state.registry.view.user(login) if login else None
    return Principal.of(user) if user is not None and user.active else None


# The platform's first administrator: not in the registry (which starts empty), its password set at
# the gateway's start from ADMIN_PASSWORD_FILE; it can load the registry and set everyone's password.
PLATFORM_ADMIN = "platform-admin"
ROOT = Principal(
    login=PLATFORM_ADMIN, name="平台管理员", role="admin", unit_code=None, handler_code=None, deputy_code=None
)


async def ensure_platform_admin(credentials: Credentials, password_file: str) -> None:
    """Make the first administrator's stored password the one in the file (set once per data directory)."""
    if not password_file:
        return
    password = (await asyncio.to_thread(Path(password_file).read_text, "utf-8")).strip()
    stored = await credentials.stored(PLATFORM_ADMIN)
    if not await asyncio.to_thread(password_matches, password, stored):
        await credentials.set_password(PLATFORM_ADMIN, password)


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def requires(*roles: str) -> Guard:
    """A guard: 401 without a valid session, 403 for a role not in `roles` (none given: any signed-in
    account) or a cookie request without the CSRF proof. Handlers find the account on `request.state.principal`."""
    unknown = sorted(set(roles) - set(USER_ROLES))
    if unknown:
        raise ValueError(f"roles: {unknown} are not user roles ({', '.join(USER_ROLES)})")

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await principal_of(connection)
        if principal is None:
            token, by_cookie = _token_of(connection)
            if token is not None and _cookie_without_proof(connection, by_cookie):
                raise PermissionDeniedException(NO_PROOF)
            raise NotAuthorizedException("sign in first", headers={"WWW-Authenticate": "Bearer"})
        if roles and principal.role not in roles:
            raise PermissionDeniedException(f"this needs the role {' or '.join(roles)}")
        connection.state.principal = principal

    return guard


class SignIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    login: Code
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD)]


class SignedIn(msgspec.Struct, kw_only=True):
    token: str
    login: str
    name: str
    role: str
    unit_code: str | None
    handler_code: str | None
    expires_in: int  # seconds without use before the session ends


class NewPassword(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    password: Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]


def _https(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/sign-in", status_code=200, operation_id="signIn", summary="Sign in with login and password")
    async def sign_in(
        self, request: Request[Any, Any, Any], data: JSONBody[SignIn], state: State
    ) -> Response[SignedIn]:
        credentials: Credentials = state.credentials
        user: User | None = state.registry.view.user(data.login)
        try:
            right = await credentials.verify(data.login, data.password)
        except LockedOut as locked:
            wait = str(locked.seconds_left)
            raise HTTPException(
                status_code=423,
                detail=f"too many failed sign-ins; try again in {wait} s",
                headers={"Retry-After": wait},
            ) from None
        account = ROOT if data.login == PLATFORM_ADMIN else (Principal.of(user) if user and user.active else None)
        if not right or account is None:
            raise NotAuthorizedException(WRONG)
        token = await credentials.open_session(account.login)
        signed_in = SignedIn(
            token=token,
            login=account.login,
            name=account.name,
            role=account.role,
            unit_code=account.unit_code,
            handler_code=account.handler_code,
            expires_in=credentials.session_ttl_s,
        )
        response = Response(signed_in)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=_https(request))
        return response

    @post("/sign-out", status_code=204, operation_id="signOut", summary="End this session")
    async def sign_out(self, request: Request[Any, Any, Any], state: State) -> Response[None]:
        token, by_cookie = _token_of(request)
        if token is not None and _cookie_without_proof(request, by_cookie):
            raise PermissionDeniedException(NO_PROOF)
        if token is not None:
            await state.credentials.close_session(token)
        response = Response(None, status_code=204)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @get("/me", operation_id="me", summary="Who is signed in", guards=[requires()])
    async def me(self, request: Request[Any, Any, Any]) -> Principal:
        principal: Principal = request.state.principal
        return principal

    @put(
        "/passwords/{login:str}",
        status_code=204,
        operation_id="setPassword",
        summary="Set an account's password (admin, within the admin's scope)",
        guards=[requires("admin")],
    )
    async def set_password(
        self, login: FromPath[str], data: JSONBody[NewPassword], request: Request[Any, Any, Any], state: State
    ) -> None:
        view: RegistryView = state.registry.view
        user = view.user(login)
        if user is None or not request.state.principal.sees_user(view, user):
            raise NotFoundException(f"no user {login}")
        try:
            await state.credentials.set_password(login, data.password)
        except ValueError as exc:
            raise ClientException(
                status_code=400, detail=str(exc), extra=[{"key": "password", "message": str(exc), "source": "body"}]
            ) from None


async def _set_password_from_cli(login: str, password: str) -> None:
    from common.redis import make_redis
    from common.settings import load_settings
    from gateway.settings import GatewaySettings

    redis = make_redis(load_settings(GatewaySettings).redis_url)
    try:
        await Credentials(redis).set_password(login, password)
    finally:
        await redis.aclose()


def main(argv: list[str] | None = None) -> None:
    """`python -m gateway.auth <login>`: the password is read from stdin when piped, else asked for."""
    import getpass

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m gateway.auth <login>  (password on stdin or at the prompt)")
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("password: ")
    try:
        asyncio.run(_set_password_from_cli(args[0], password))
    except ValueError as exc:
        sys.exit(str(exc))
    print(f"password set for {args[0]}")


if __name__ == "__main__":
    main()
