"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) over the intake path: civic-reporting apps list our
categories as services and submit to the station their API key belongs to.

A created request takes the intake path of `POST /api/v1/intakes` (`gateway.intakes.accept_intake`: once
per Idempotency-Key, kept in the outbox, then published) and answers a token (the submission id), which
`GET /tokens/{token}` turns into the issue number once the issue exists. Only requests created here are
listed, and never with the voter's name or phone.

Valkey keys (the gateway's `gw:` prefix): `gw:open311:key:<sha256 of the key>` → the key's station and
name (the key itself is never stored), `gw:open311:keys` (set of key ids), `gw:open311:request:<submission>`
→ what the client sent besides personal data, `gw:open311:requests` (sorted set: submission → unix time
created). A request's issue number, and the submission behind a number, come from the read model
(`IssueReadModel.numbers_for` / `submissions_for`); a number whose submission was not made here is not an
Open311 request and is answered as unknown."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
import uuid
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Final
from xml.etree import ElementTree as ET

import msgspec
from litestar import Controller, Request, Response, delete, get, post, route
from litestar.datastructures import CacheControlHeader, State
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.types import OperationIDCreator

from common.registry.view import RegistryView
from contracts.calendar import CHINA
from contracts.lifecycle import TERMINAL
from contracts.registry import Handler
from contracts.vocabulary import CATEGORIES
from gateway.auth import PLATFORM_ADMIN, requires
from gateway.intakes import accept_intake
from gateway.schemas import IntakeRequest, IssueView, VoterContactIn

BASE = "/open311/v2"
KEY_PREFIX, KEY_SET = "gw:open311:key:", "gw:open311:keys"
REQUEST_PREFIX, CREATED = "gw:open311:request:", "gw:open311:requests"
FORMATS: Final = ("json", "xml")
MAX_ROWS, WINDOW, PAGE, SCAN_LIMIT = 1000, timedelta(days=90), 500, 20_000
MAX_DESCRIPTION, MAX_ADDRESS, MAX_NAME = 4000, 200, 24  # a whole name: 50 at most
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")  # as gateway.schemas.Phone
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# LABELS["zh-CN"].category of gateway/web/assets/i18n.js
SERVICE_NAMES: Final = {
    "serious_illness_aid": "大病救助",
    "medical_insurance": "医疗保险",
    "water_supply": "饮水安全",
    "roads_and_landslides": "道路及滑坡",
    "sanitation": "环境卫生",
    "neighbour_disputes": "邻里纠纷",
    "hardship": "生活困难",
    "industry_loans": "产业贷款",
    "schooling": "上学就读",
    "employment": "务工就业",
    "other": "其他",
}
# The phrases triage files each category by (services/triage/categories.toml; a unit test keeps them equal).
KEYWORDS: Final = {
    "serious_illness_aid": ("大病", "医疗救助", "重病", "住院费"),
    "medical_insurance": ("医保", "医疗保险", "新农合", "报销"),
    "water_supply": ("水管", "自来水", "饮水", "吃水", "停水", "管道"),
    "roads_and_landslides": ("道路", "公路", "路面", "修路", "滑坡", "塌方", "桥梁", "便桥", "危桥"),
    "sanitation": ("垃圾", "污水", "厕所", "卫生"),
    "neighbour_disputes": ("纠纷", "邻里", "矛盾", "吵架"),
    "hardship": ("困难", "低保", "救助", "特困", "生活困难"),
    "industry_loans": ("贷款", "产业", "养殖", "种植", "合作社"),
    "schooling": ("上学", "学校", "入学", "教育", "校车"),
    "employment": ("就业", "找工作", "务工", "工资", "欠薪", "招聘"),
    "other": (),
}
GROUP = "问题"  # every request becomes an issue of kind "problem"
# Open311 has two statuses: an issue is closed once it cannot come back (销号 or merged into another).
# Before close-out a dissatisfied rating reopens it, so resolved, completed, fed back and rated stay open.
STATUS_NOTES: Final = {
    "received": "已受理，正在分类",
    "pending_review": "待研判：由所在层级的月度研判会决定解决、交办或上报",
    "resolved_on_spot": "已立即解决，待向选民反馈",
    "assigned": "已交办承办单位",
    "in_progress": "承办单位办理中",
    "completed": "已办结，待向选民反馈",
    "fed_back": "已反馈办理结果，待选民评价",
    "rated": "选民已评价，待销号",
    "closed": "已销号",
    "merged": "已与同类问题合并办理",
}
NOTICE = "月收集问题、月交办问题、月反馈办理结果"


class Open311Error(HTTPException):
    """An answer in Open311's error format: one entry per problem, each naming its field."""

    def __init__(self, status_code: int, *descriptions: str) -> None:
        super().__init__(status_code=status_code, detail="; ".join(descriptions))
        self.descriptions = descriptions


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    station_code: str
    name: str
    created_at: datetime


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What an Open311 client sent besides personal data, and how the intake text was built from it."""

    service_code: str
    station_code: str
    key_id: str
    requested_at: datetime
    address: str | None = None
    lat: float | None = None
    long: float | None = None
    extra_lines: int = 0  # lines appended to the description in the intake text


class NewRequest(msgspec.Struct, frozen=True, kw_only=True):
    service_code: str
    description: str
    address: str | None = None
    lat: float | None = None
    long: float | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


def hash_key(api_key: str) -> str:
    """The key's id and the only form in which it is stored."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def split_format(name: str) -> tuple[str, str]:
    """`HB-202611-000001.json` → (`HB-202611-000001`, `json`); 404 for a format we do not speak."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or not stem or fmt not in FORMATS:
        raise Open311Error(404, f"format: {name!r} does not end in .json or .xml")
    return stem, fmt


def status_of(state: str) -> str:
    return "closed" if state in TERMINAL else "open"


def iso(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def _service_description(code: str) -> str:
    examples = f"：{'、'.join(KEYWORDS[code])}等" if KEYWORDS[code] else ""
    return f"{SERVICE_NAMES[code]}方面的问题{examples}"


def services() -> list[dict[str, Any]]:
    return [
        {
            "service_code": code,
            "service_name": SERVICE_NAMES[code],
            "description": _service_description(code),
            "metadata": False,
            "type": "batch",  # a token first, the request id once the issue is numbered
            "keywords": ", ".join(KEYWORDS[code] or (SERVICE_NAMES[code],)),
            "group": GROUP,
        }
        for code in CATEGORIES
    ]


def error_rows(status: int, descriptions: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    return [{"code": status, "description": d} for d in descriptions]


def _text(value: Any) -> str:
    return NOT_XML.sub("\ufffd", "true" if value is True else "false" if value is False else str(value))


def to_xml(data: list[dict[str, Any]] | dict[str, Any], root: str, item: str | None = None) -> bytes:
    """Open311's XML: `<root><item>…</item>…</root>`, or the fields straight under `root` without `item`.
    Text goes through ElementTree, so user data is escaped, never spliced."""
    top = ET.Element(root)
    for entry in data if isinstance(data, list) else [data]:
        parent = ET.SubElement(top, item) if item else top
        for key, value in entry.items():
            child = ET.SubElement(parent, key)
            if isinstance(value, list):
                for element in value:
                    ET.SubElement(child, key.removesuffix("s")).text = _text(element)
            elif value is not None:
                child.text = _text(value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(top, encoding="utf-8", xml_declaration=False)


def render(
    data: list[dict[str, Any]] | dict[str, Any], fmt: str, root: str, item: str | None, status: int = 200
) -> Response[Any]:
    if fmt == "xml":
        return Response(to_xml(data, root, item), status_code=status, media_type="text/xml; charset=utf-8")
    return Response(data, status_code=status, media_type="application/json")


def open311_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Every error under /open311 in the spec's format, in the format the path asked for."""
    descriptions = getattr(exc, "descriptions", None) or [exc.detail]
    if isinstance(exc.extra, list):  # Litestar's own validation errors name their fields in `extra`
        descriptions = [f"{e.get('key')}: {e.get('message')}" for e in exc.extra if isinstance(e, dict)] or descriptions
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    return render(error_rows(exc.status_code, descriptions), fmt, "errors", "error", exc.status_code)


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _coordinate(raw: str | None, name: str, bound: float, problems: list[str]) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        problems.append(f"{name}: a number from -{bound:g} to {bound:g}")
        return None
    return value


def parse_request(form: Any) -> NewRequest:
    """The fields of a POST /requests we keep, checked; 400 naming every field that is wrong. `email`,
    `device_id`, `account_id`, `media_url` and `attribute[…]` are not kept."""
    problems: list[str] = []
    service_code, description = _field(form, "service_code"), _field(form, "description")
    if service_code is None:
        problems.append("service_code: required")
    elif service_code not in SERVICE_NAMES:
        problems.append(f"service_code: no service {service_code!r}")
    if description is None:
        problems.append("description: required")
    elif len(description) > MAX_DESCRIPTION:
        problems.append(f"description: at most {MAX_DESCRIPTION} characters")
    address = _field(form, "address_string")
    if address is not None and len(address) > MAX_ADDRESS:
        problems.append(f"address_string: at most {MAX_ADDRESS} characters")
    raw_lat, raw_long = _field(form, "lat"), _field(form, "long")
    lat, long = _coordinate(raw_lat, "lat", 90, problems), _coordinate(raw_long, "long", 180, problems)
    if (raw_lat is None) != (raw_long is None):
        problems.append("long: required with lat" if raw_long is None else "lat: required with long")
    names = {n: _field(form, n) for n in ("first_name", "last_name")}
    problems += [f"{n}: at most {MAX_NAME} characters" for n, v in names.items() if v and len(v) > MAX_NAME]
    phone = _field(form, "phone")
    if phone is not None and not PHONE.match(phone):
        problems.append("phone: digits, spaces and dashes, 5 to 20")
    if problems:
        raise Open311Error(400, *problems)
    return NewRequest(
        service_code=str(service_code), description=str(description), address=address, lat=lat, long=long,
        phone=phone, **names,
    )  # fmt: skip


def voter_of(new: NewRequest) -> VoterContactIn | None:
    """Chinese names read family name first (李 + 建国); Latin ones given name first."""
    first, last = new.first_name or "", new.last_name or ""
    latin = (first + last).isascii()
    name = (f"{first} {last}" if latin else f"{last}{first}").strip() or None
    return VoterContactIn(name=name, phone=new.phone) if name or new.phone else None


def intake_text(new: NewRequest) -> tuple[str, int]:
    """The description, then the place and the chosen service each on its own line (triage reads the
    text for its category: a category hint on SubmitIntake would be the proper way). Returns the text
    and how many lines were appended."""
    lines = [new.description]
    if new.address:
        lines.append(f"地址：{new.address}")
    if new.lat is not None and new.long is not None:
        lines.append(f"位置：{new.lat:.6f},{new.long:.6f}")
    if new.service_code != "other":
        lines.append(f"类别：{SERVICE_NAMES[new.service_code]}")
    return "\n".join(lines), len(lines) - 1


def description_of(text: str, extra_lines: int) -> str:
    return text.rsplit("\n", extra_lines)[0] if extra_lines else text


def agency_of(issue: IssueView, view: RegistryView) -> str | None:
    """The lead handler of its referral, or else the station (or unit) whose review holds it."""
    if issue.handler_code and (handler := view.get(Handler, issue.handler_code)):
        return handler.name
    unit_code = issue.unit or issue.responsible_unit
    if unit_code:
        stations = [s for s in view.stations_of(unit_code) if s.kind != "workroom"]
        if stations:
            return stations[0].name
        if unit := view.unit(unit_code):
            return unit.name
    station = view.station(issue.station_code)
    return station.name if station else None


def request_row(issue: IssueView, record: RequestRecord, view: RegistryView) -> dict[str, Any]:
    """One service request as Open311 shows it: the voter's name and phone never appear."""
    code = issue.category or record.service_code
    notes = STATUS_NOTES.get(issue.state, issue.state)
    merged = [h.details.get("into_issue_id") for h in issue.history if h.type == "triage.issue_merged.v1"]
    if issue.state == "merged" and merged and merged[-1]:
        notes += f"（{merged[-1]}）"
    updated = max([issue.received_at, *(h.occurred_at for h in issue.history)])
    expected = datetime.combine(issue.deadline, time(23, 59, 59), CHINA) if issue.deadline else None
    return {
        "service_request_id": issue.number,
        "status": status_of(issue.state),
        "status_notes": notes,
        "service_name": SERVICE_NAMES.get(code, code),
        "service_code": code,
        "description": description_of(issue.text, record.extra_lines),
        "agency_responsible": agency_of(issue, view),
        "service_notice": f"承办期限：{issue.deadline.isoformat()}" if issue.deadline else NOTICE,
        "requested_datetime": iso(record.requested_at),
        "updated_datetime": iso(updated),
        "expected_datetime": iso(expected) if expected else None,
        "address": record.address,
        "lat": record.lat,
        "long": record.long,
        "media_url": None,
    }


def parse_moment(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(400, f"{name}: ISO 8601, e.g. 2026-01-01T00:00:00+08:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def window(start_raw: str | None, end_raw: str | None, now: datetime) -> tuple[datetime, datetime]:
    """start_date/end_date: 90 days at most; the last 90 days when neither is given."""
    start = parse_moment(start_raw, "start_date") if start_raw else None
    end = parse_moment(end_raw, "end_date") if end_raw else None
    start, end = start or (end or now) - WINDOW, end or (start + WINDOW if start else now)
    if end < start:
        raise Open311Error(400, "end_date: before start_date")
    if end - start > WINDOW:
        raise Open311Error(400, f"end_date: at most {WINDOW.days} days after start_date")
    return start, end


def _values(request: Request[Any, Any, Any], name: str) -> list[str]:
    """A parameter given several times or comma-delimited, as the spec allows."""
    return [v.strip() for raw in request.query_params.getall(name, []) for v in raw.split(",") if v.strip()]


class Open311Store:
    """The Open311 keys and requests in Valkey (the module's docstring lists the keys)."""

    def __init__(self, redis: Any) -> None:
        self._redis = redis

    async def add_key(self, api_key: str, record: ApiKey) -> str:
        key_id = hash_key(api_key)
        await self._redis.set(KEY_PREFIX + key_id, msgspec.json.encode(record))
        await self._redis.sadd(KEY_SET, key_id)
        return key_id

    async def key(self, key_id: str) -> ApiKey | None:
        stored = await self._redis.get(KEY_PREFIX + key_id)
        return msgspec.json.decode(stored, type=ApiKey) if stored else None

    async def keys(self) -> list[tuple[str, ApiKey]]:
        ids = sorted(i.decode() if isinstance(i, bytes) else i for i in await self._redis.smembers(KEY_SET))
        found = await self._redis.mget([KEY_PREFIX + i for i in ids]) if ids else []
        return [(i, msgspec.json.decode(s, type=ApiKey)) for i, s in zip(ids, found, strict=True) if s]

    async def revoke(self, key_id: str) -> None:
        await self._redis.delete(KEY_PREFIX + key_id)
        await self._redis.srem(KEY_SET, key_id)

    async def note_request(self, submission_id: uuid.UUID, record: RequestRecord) -> None:
        """Kept once: a retry answered with an earlier submission finds its record already there."""
        await self._redis.set(f"{REQUEST_PREFIX}{submission_id}", msgspec.json.encode(record), nx=True)
        await self._redis.zadd(CREATED, {str(submission_id): record.requested_at.timestamp()}, nx=True)

    async def records(self, submission_ids: list[str]) -> list[RequestRecord | None]:
        found = await self._redis.mget([REQUEST_PREFIX + s for s in submission_ids]) if submission_ids else []
        return [msgspec.json.decode(s, type=RequestRecord) if s else None for s in found]

    async def created_here(self, submission_id: str) -> bool:
        return await self._redis.zscore(CREATED, submission_id) is not None

    async def created_between(self, start: datetime, end: datetime, offset: int, count: int) -> list[str]:
        """Newest first."""
        found = await self._redis.zrevrangebyscore(CREATED, end.timestamp(), start.timestamp(), offset, count)
        return [s.decode() if isinstance(s, bytes) else s for s in found]


def _idempotency_key(request: Request[Any, Any, Any], key_id: str) -> str | None:
    """Open311 has no idempotency: an optional `Idempotency-Key` header, scoped to the API key."""
    given = request.headers.get("idempotency-key")
    if given is None:
        return None
    if not 1 <= len(given) <= 128:
        raise Open311Error(400, "Idempotency-Key: 1 to 128 characters")
    return f"open311:{key_id[:16]}:{given}"


def _per_format(name: str) -> OperationIDCreator:
    """One operation id per path of a handler serving both `.json` and `.xml`."""

    def operation_id(_: Any, __: Any, components: list[Any]) -> str:
        return name + ("Xml" if str(components[-1]).endswith(".xml") else "Json")

    return operation_id


CREATE_FIELDS = (
    "Form-encoded, per GeoReport v2. Required: api_key, service_code, description. Kept: address_string, "
    "lat and long, first_name, last_name, phone (the voter's contact, never shown again). Not kept: email, "
    "device_id, account_id, media_url, attribute[…]. Optional header Idempotency-Key: a retry with the same "
    "key and body is stored once and answered with the same token. Answer 202 [{token}]."
)


class Open311Controller(Controller):
    path = BASE
    tags = ["open311"]
    exception_handlers = {HTTPException: open311_error}

    @get(["/services.json", "/services.xml"], operation_id=_per_format("open311Services"), summary="Open311: services")
    async def services(self, request: Request[Any, Any, Any]) -> Response[Any]:
        return render(services(), request.url.path.rpartition(".")[2], "services", "service")

    @get("/services/{name:str}", operation_id="open311ServiceDefinition", summary="Open311: a service's definition")
    async def service_definition(self, name: FromPath[str]) -> Response[Any]:
        code, fmt = split_format(name)
        if code not in SERVICE_NAMES:
            raise Open311Error(404, f"service_code: no service {code!r}")
        return render({"service_code": code, "attributes": []}, fmt, "service_definition", None)

    @post(
        ["/requests.json", "/requests.xml"],
        operation_id=_per_format("open311Create"),
        summary="Open311: submit",
        description=CREATE_FIELDS,
    )
    async def create(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        form = await request.form()
        api_key = _field(form, "api_key") or request.query_params.get("api_key")
        store = Open311Store(state.redis)
        key_id = hash_key(api_key) if api_key else ""
        key = await store.key(key_id) if api_key else None
        if key is None:
            raise Open311Error(403, "api_key: missing, unknown or revoked")
        if state.registry.view.station(key.station_code) is None:
            raise Open311Error(403, f"api_key: its station {key.station_code} is no longer in the registry")
        new = parse_request(form)
        text, extra_lines = intake_text(new)
        intake = IntakeRequest(
            channel="online", station_code=key.station_code, kind="problem", text=text, voter=voter_of(new)
        )
        idempotency_key = _idempotency_key(request, key_id)
        accepted = await accept_intake(state, intake, idempotency_key, submitted_by=f"open311:{key_id[:16]}")
        submission_id = accepted.submission_id
        now = await state.clock.now()
        record = RequestRecord(
            service_code=new.service_code, station_code=key.station_code, key_id=key_id, requested_at=now,
            address=new.address, lat=new.lat, long=new.long, extra_lines=extra_lines,
        )  # fmt: skip
        await store.note_request(submission_id, record)
        fmt = request.url.path.rpartition(".")[2]
        return render([{"token": str(submission_id)}], fmt, "service_requests", "request", status=202)

    @get(["/requests.json", "/requests.xml"], operation_id=_per_format("open311Requests"), summary="Open311: requests")
    async def requests(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        fmt = request.url.path.rpartition(".")[2]
        store = Open311Store(state.redis)
        if ids := _values(request, "service_request_id"):  # overrides every other parameter
            numbers = list(dict.fromkeys(ids))[:MAX_ROWS]
            found = zip(await state.issues.submissions_for(numbers), numbers, strict=True)
            rows = await _rows(state, store, [(s, n) for s, n in found if s])
            return render(rows, fmt, "service_requests", "request")
        statuses, codes = _values(request, "status"), _values(request, "service_code")
        if unknown := [s for s in statuses if s not in ("open", "closed")]:
            raise Open311Error(400, f"status: open or closed, not {unknown[0]!r}")
        if unknown := [c for c in codes if c not in SERVICE_NAMES]:
            raise Open311Error(400, f"service_code: no service {unknown[0]!r}")
        q = request.query_params
        start, end = window(q.get("start_date"), q.get("end_date"), await state.clock.now())
        rows: list[dict[str, Any]] = []
        for offset in range(0, SCAN_LIMIT, PAGE):
            page = await store.created_between(start, end, offset, PAGE)
            pairs = [(s, n) for s, n in zip(page, await state.issues.numbers_for(page), strict=True) if n]
            rows += [
                row
                for row in await _rows(state, store, pairs)
                if (not statuses or row["status"] in statuses) and (not codes or row["service_code"] in codes)
            ]
            if len(rows) >= MAX_ROWS or len(page) < PAGE:
                break
        return render(rows[:MAX_ROWS], fmt, "service_requests", "request")

    @get("/requests/{name:str}", operation_id="open311Request", summary="Open311: one request")
    async def one_request(self, name: FromPath[str], state: State) -> Response[Any]:
        number, fmt = split_format(name)
        store = Open311Store(state.redis)
        submission = (await state.issues.submissions_for([number]))[0]
        rows = await _rows(state, store, [(submission, number)]) if submission else []
        if not rows:
            raise Open311Error(404, f"service_request_id: no request {number!r}")
        return render(rows, fmt, "service_requests", "request")

    @get("/tokens/{name:str}", operation_id="open311Token", summary="Open311: the request id of a token")
    async def token(self, name: FromPath[str], state: State) -> Response[Any]:
        token, fmt = split_format(name)
        store = Open311Store(state.redis)
        try:
            known = await store.created_here(str(uuid.UUID(token)))
        except ValueError:
            known = False
        if not known:
            raise Open311Error(404, f"token: no token {token!r}")
        number = (await state.issues.numbers_for([str(uuid.UUID(token))]))[0]
        row = {"token": token} | ({"service_request_id": number} if number else {})
        return render([row], fmt, "service_requests", "request")

    @route("/{name:str}", http_method=["GET", "POST"], include_in_schema=False)
    async def unknown(self, name: FromPath[str]) -> None:
        raise Open311Error(404, f"resource: no {name!r}; services.json, requests.json (or .xml)")


async def _rows(state: State, store: Open311Store, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """(submission, number) pairs as Open311 rows, in order; those not yet visible left out."""
    records = await store.records([s for s, _ in pairs])
    issues: list[IssueView | None] = []
    for i in range(0, len(pairs), 50):  # the histories, 50 issues at a time
        issues += await asyncio.gather(*(state.issues.issue(n) for _, n in pairs[i : i + 50]))
    view = state.registry.view
    return [request_row(i, r, view) for i, r in zip(issues, records, strict=True) if i is not None and r is not None]


Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class NewKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    station_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    name: Name  # who uses it: the app or partner


class KeyView(msgspec.Struct, kw_only=True, omit_defaults=True):
    key_id: str
    station_code: str
    name: str
    created_at: datetime
    key: str | None = None  # shown once, when issued


class Open311KeyController(Controller):
    """Open311 API keys, one per app and station: an administrator issues and revokes them."""

    path = "/api/v1/open311/keys"
    tags = ["open311"]
    guards = [requires("admin")]

    @post(
        "/",
        status_code=201,
        operation_id="issueOpen311Key",
        summary="Issue an Open311 API key for a station (shown once)",
        cache_control=CacheControlHeader(no_store=True),
    )
    async def issue(self, data: NewKey, request: Request[Any, Any, Any], state: State) -> KeyView:
        view: RegistryView = state.registry.view
        station = view.station(data.station_code)
        if station is None or not request.state.principal.sees_unit(view, station.unit_code):
            raise ClientException(
                status_code=400,
                detail=f"station_code: no station {data.station_code} in the registry",
                extra=[{"key": "station_code", "message": "no such station", "source": "body"}],
            )
        api_key = "o311_" + secrets.token_urlsafe(32)
        record = ApiKey(station_code=station.code, name=data.name, created_at=await state.clock.now())
        key_id = await Open311Store(state.redis).add_key(api_key, record)
        return KeyView(key_id=key_id, key=api_key, **msgspec.structs.asdict(record))

    @get("/", operation_id="listOpen311Keys", summary="The Open311 API keys of stations in one's scope")
    async def keys(self, request: Request[Any, Any, Any], state: State) -> list[KeyView]:
        return [
            KeyView(key_id=key_id, **msgspec.structs.asdict(key))
            for key_id, key in await Open311Store(state.redis).keys()
            if _in_scope(request, state, key)
        ]

    @delete("/{key_id:str}", operation_id="revokeOpen311Key", summary="Revoke an Open311 API key")
    async def revoke(self, key_id: FromPath[str], request: Request[Any, Any, Any], state: State) -> None:
        store = Open311Store(state.redis)
        key = await store.key(key_id) if re.fullmatch(r"[0-9a-f]{64}", key_id) else None
        if key is None or not _in_scope(request, state, key):
            raise NotFoundException(f"no Open311 key {key_id}")
        await store.revoke(key_id)


def _in_scope(request: Request[Any, Any, Any], state: State, key: ApiKey) -> bool:
    """A key whose station has left the registry is the platform administrator's alone to see."""
    view: RegistryView = state.registry.view
    station = view.station(key.station_code)
    principal = request.state.principal
    if station is None:
        return bool(principal.login == PLATFORM_ADMIN)
    return bool(principal.sees_unit(view, station.unit_code))
