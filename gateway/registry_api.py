"""The registry's HTTP API: read the district from the gateway's cache; change it with commands the
registry service checks, answered with what became of them; rosters in and out as CSV and Excel."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.params import Body, Parameter

from common.bus import outgoing, publish_all
from common.registry import rosters
from common.registry.view import RegistryView
from contracts.registry import (
    ENTITY_TYPES,
    AdminUnit,
    Entity,
    EntityRef,
    Problem,
    PutEntities,
    RegistryCommandApplied,
    RegistryCommandRefused,
    RemoveEntities,
    Row,
)
from contracts.topics import REGISTRY_COMMANDS
from gateway.auth import requires

API = "/api/v1/registry"
# URL names of the entity kinds
KINDS: dict[str, type[Entity]] = {
    "units": AdminUnit,
    **{
        name: cls
        for name, cls in zip(
            ("stations", "deputies", "grids", "grid-roles", "handlers", "leaders", "receptions", "users"),
            ENTITY_TYPES[1:],
            strict=True,
        )
    },
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_IMPORT_BYTES = 20 * 1024 * 1024


class Outcome(msgspec.Struct, kw_only=True, omit_defaults=True):
    command_id: uuid.UUID
    status: str  # applied / refused / pending
    put: int | None = None
    removed: int | None = None
    unchanged: int | None = None
    problems: tuple[Problem, ...] = ()
    status_url: str | None = None


class Page(msgspec.Struct, kw_only=True):
    total: int
    items: list[Entity]


class Counts(msgspec.Struct, kw_only=True):
    counts: dict[str, int]


def _kind(kind: str) -> type[Entity]:
    try:
        return KINDS[kind]
    except KeyError:
        raise NotFoundException(f"no registry kind {kind!r}; kinds: {', '.join(KINDS)}") from None


def _entity_from_body(cls: type[Entity], code: str, body: dict[str, Any]) -> Entity:
    fields = {f.encode_name for f in msgspec.structs.fields(cls)}
    unknown = sorted(set(body) - fields - {"entity"})
    if unknown:
        raise _bad(unknown[0], "unknown field")
    if body.get("code", code) != code:
        raise _bad("code", f"the body says {body['code']!r} but the path says {code!r}")
    try:
        return msgspec.convert({**body, "code": code}, cls)
    except msgspec.ValidationError as exc:
        raise _bad(_field_of(str(exc)), str(exc)) from None


def _field_of(message: str) -> str:
    # msgspec names the path: "Expected `str`, got `int` - at `$.name`"
    return message.rsplit("$.", 1)[-1].rstrip("`") if "$." in message else "body"


def _bad(field: str, reason: str) -> ClientException:
    return ClientException(
        status_code=400, detail=f"{field}: {reason}", extra=[{"key": field, "message": reason, "source": "body"}]
    )


async def send_command(state: State, command: PutEntities | RemoveEntities) -> Response[Outcome]:
    """Publish a command and wait (a while) for the registry's answer: 200 applied, 422 refused with
    every problem, or 202 with where to ask later."""
    await publish_all(state.broker, [outgoing(REGISTRY_COMMANDS, "registry", command)])
    deadline = time.monotonic() + state.registry_wait_s
    while time.monotonic() < deadline:
        if found := await state.registry_outcomes.get(command.command_id):
            if isinstance(found, RegistryCommandApplied):
                await state.registry.sync()  # this worker's next read sees the change
            return _answer(found)
        await asyncio.sleep(0.05)
    pending = Outcome(
        command_id=command.command_id, status="pending", status_url=f"{API}/commands/{command.command_id}"
    )
    return Response(pending, status_code=202)


def _answer(found: RegistryCommandApplied | RegistryCommandRefused) -> Response[Outcome]:
    if isinstance(found, RegistryCommandRefused):
        return Response(
            Outcome(command_id=found.command_id, status="refused", problems=found.problems), status_code=422
        )
    applied = Outcome(
        command_id=found.command_id, status="applied", put=found.put, removed=found.removed, unchanged=found.unchanged
    )
    return Response(applied, status_code=200)


def _users_for_admins(request: Request, kind: str) -> None:
    if kind == "users" and request.state.principal.role != "admin":
        raise PermissionDeniedException("the users roster is for administrators")


class RegistryController(Controller):
    """Static segments (lookups, exports, imports, commands) never share a first segment with a kind:
    Litestar matches a static segment first and does not fall back to `/{kind}`."""

    path = API
    tags = ["registry"]
    guards = [requires()]  # the registry is the district's own data: signed-in accounts only; users for admins only

    @get("/", operation_id="registryCounts", summary="How many of each kind the registry holds")
    async def counts(self, state: State) -> Counts:
        view: RegistryView = state.registry.view
        return Counts(counts={kind: view.count(cls) for kind, cls in KINDS.items()})

    @get("/commands/{command_id:uuid}", operation_id="registryCommand", summary="What became of a registry command")
    async def command(self, command_id: uuid.UUID, state: State) -> Response[Outcome]:
        found = await state.registry_outcomes.get(command_id)
        if found is None:
            pending = Outcome(command_id=command_id, status="pending", status_url=f"{API}/commands/{command_id}")
            return Response(pending, status_code=202)
        return _answer(found)

    @get("/lookups/parents/{code:str}", operation_id="unitParents", summary="A unit and every unit above it")
    async def parents(self, code: str, state: State) -> list[AdminUnit]:
        chain = state.registry.view.parent_chain(code)
        if not chain:
            raise NotFoundException(f"no unit {code}")
        return chain

    @get("/lookups/subtree/{code:str}", operation_id="unitSubtree", summary="A unit and every unit under it")
    async def subtree(self, code: str, state: State, tier: str | None = None) -> list[AdminUnit]:
        found = state.registry.view.subtree(code, tier)
        if not found and state.registry.view.unit(code) is None:
            raise NotFoundException(f"no unit {code}")
        return found

    @get("/lookups/on-duty/{code:str}", operation_id="stationOnDuty", summary="Deputies receiving voters on a day")
    async def on_duty(self, code: str, state: State, day: Annotated[date, Parameter(query="date")]) -> list[Entity]:
        if state.registry.view.station(code) is None:
            raise NotFoundException(f"no station {code}")
        return list(state.registry.view.on_duty(code, day))

    @get("/lookups/handlers-for", operation_id="handlersFor", summary="Handlers taking a category at a unit's tier")
    async def handlers_for(self, category: str, unit: str, state: State) -> list[Entity]:
        return list(state.registry.view.handlers_for(category, unit))

    @get(
        "/exports/{filename:str}",
        operation_id="exportRoster",
        summary="Rosters: <kind>.csv (UTF-8 with BOM), <kind>.xlsx, or registry.xlsx (every kind, or ?kinds=a,b)",
    )
    async def export(self, request: Request, filename: str, state: State, kinds: str | None = None) -> Response[bytes]:
        view: RegistryView = state.registry.view
        stem, _, suffix = filename.rpartition(".")
        if request.state.principal.role != "admin" and (stem in ("users", "registry")):
            raise PermissionDeniedException("the users roster is for administrators")
        disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if suffix == "csv":
            cls = _kind(stem)
            data = rosters.export_csv(view.all(cls), entity_name_of(cls))
            return Response(data, media_type="text/csv; charset=utf-8", headers=disposition)
        if suffix != "xlsx":
            raise NotFoundException(f"no export {filename}: ask for <kind>.csv, <kind>.xlsx or registry.xlsx")
        if stem == "registry":
            wanted = [_kind(k) for k in kinds.split(",")] if kinds else list(KINDS.values())
        else:
            wanted = [_kind(stem)]
        entities = [e for cls in wanted for e in view.all(cls)]
        data = rosters.export_xlsx(entities, [entity_name_of(cls) for cls in wanted])
        return Response(data, media_type=XLSX, headers=disposition)

    @post(
        "/imports",
        guards=[requires("admin")],
        operation_id="importRoster",
        summary="Import a roster (CSV with ?kind=, or .xlsx): all rows or none",
    )
    async def import_roster(
        self,
        state: State,
        data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
        kind: str | None = None,
    ) -> Response[Outcome]:
        raw = await data.read()
        if len(raw) > MAX_IMPORT_BYTES:
            raise _bad("file", f"larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB")
        filename = data.filename or "roster"
        if filename.lower().endswith(".xlsx"):
            parsed = rosters.parse_xlsx(raw, [entity_name_of(_kind(kind))] if kind else None)
        elif kind:
            parsed = rosters.parse_csv(raw, entity_name_of(_kind(kind)))
        else:
            raise _bad("kind", f"a CSV roster needs ?kind= (one of {', '.join(KINDS)})")
        command_id = uuid.uuid4()
        if parsed.problems:
            return Response(Outcome(command_id=command_id, status="refused", problems=parsed.problems), status_code=422)
        if not parsed.rows:
            raise _bad("file", "no rows")
        command = PutEntities(command_id=command_id, rows=parsed.rows, source=f"import:{filename}"[:200])
        return await send_command(state, command)

    @get("/{kind:str}", operation_id="listEntities", summary="Entities of a kind; filter by any field (?unit_code=)")
    async def list_entities(
        self, request: Request, kind: str, state: State, query: dict[str, Any], limit: int = 500, offset: int = 0
    ) -> Page:
        cls = _kind(kind)
        _users_for_admins(request, kind)
        filters = {k: v for k, v in query.items() if k not in ("limit", "offset")}
        fields = {f.encode_name for f in msgspec.structs.fields(cls)}
        for name in filters:
            if name not in fields:
                raise ClientException(status_code=400, detail=f"{name}: not a field of {kind}")
        items = [
            e for e in state.registry.view.all(cls) if all(str(getattr(e, k)) == str(v) for k, v in filters.items())
        ]
        limit = max(1, min(limit, 5000))
        return Page(total=len(items), items=items[offset : offset + limit])

    @get("/{kind:str}/{code:str}", operation_id="getEntity", summary="One entity")
    async def get_entity(self, request: Request, kind: str, code: str, state: State) -> Entity:
        _users_for_admins(request, kind)
        found = state.registry.view.get(_kind(kind), code)
        if found is None:
            raise NotFoundException(f"no {kind} {code}")
        return found

    @put(
        "/{kind:str}/{code:str}",
        operation_id="putEntity",
        summary="Create or replace one entity",
        guards=[requires("admin")],
    )
    async def put_entity(self, kind: str, code: str, data: dict[str, Any], state: State) -> Response[Outcome]:
        entity = _entity_from_body(_kind(kind), code, data)
        return await send_command(state, PutEntities(command_id=uuid.uuid4(), rows=(Row(entity=entity),)))

    @delete(
        "/{kind:str}/{code:str}",
        operation_id="removeEntity",
        summary="Remove one entity",
        status_code=200,
        guards=[requires("admin")],
    )
    async def remove_entity(self, kind: str, code: str, state: State) -> Response[Outcome]:
        ref = EntityRef(entity=entity_name_of(_kind(kind)), code=code)
        return await send_command(state, RemoveEntities(command_id=uuid.uuid4(), refs=(ref,)))


def entity_name_of(cls: type[Entity]) -> str:
    return str(cls.__struct_config__.tag)
