"""The registry: who and what exists (DESIGN.md section 2), the commands that change it and the events
that tell everyone else.

Entities travel whole: an `EntityPut` carries the entity as it now is, keyed `<entity>:<code>` on a
compacted topic, so the last record of a key is the entity's current state and a cache rebuilt from
offset 0 ends where the registry is. Value sets (tiers, kinds, levels, roles) travel as plain strings;
the registry checks them against `contracts.vocabulary`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from contracts.base import Command, Event

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text = Annotated[str, msgspec.Meta(max_length=200)]


class Entity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="entity"):
    """Every registry entity has a code, unique among entities of its kind."""

    code: Code


class AdminUnit(Entity, frozen=True, kw_only=True, tag="admin_unit"):
    """行政单元. Codes are national division codes: 4 digits a city, 6 a district, 9 a town, 12 a village."""

    name: Name
    tier: str  # city / district / town / village
    parent_code: Code | None = None  # exactly one tier up; None only for a city


class Station(Entity, frozen=True, kw_only=True, tag="station"):
    """代表之家 / 中心联络站 / 联络站 / 代表工作室. A home, center or village station has the code of the unit
    it serves; a workroom has its unit's code and `-W` and two digits."""

    name: Name
    kind: str  # deputies_home / town_center / village_station / workroom
    unit_code: Code
    site: Text | None = None  # a workroom's site: a business association, a project site
    address: Text | None = None
    phone: Text | None = None


class Deputy(Entity, frozen=True, kw_only=True, tag="deputy"):
    """人大代表, grouped (编组) into exactly one station."""

    name: Name
    congress_level: str  # province / city / district / town
    station_code: Code
    phone: Text | None = None
    gender: str | None = None  # male / female
    occupation: Text | None = None


class Grid(Entity, frozen=True, kw_only=True, tag="grid"):
    """网格 inside a village: the "321" grassroots grid."""

    name: Name
    village_code: Code


class GridRole(Entity, frozen=True, kw_only=True, tag="grid_role"):
    """A person's role in a grid: 网长 or 网格员. A deputy may hold one (then `deputy_code` is set)."""

    grid_code: Code
    role: str  # grid_leader / grid_member
    name: Name
    phone: Text | None = None
    deputy_code: Code | None = None


class Handler(Entity, frozen=True, kw_only=True, tag="handler"):
    """A department or office that takes referrals: 区直部门, 镇站办所 or 市级部门. Its code names its topic."""

    name: Name
    kind: str  # district_department / town_office / city_department
    unit_code: Code  # the city, district or town it belongs to
    categories: tuple[str, ...] = ()  # the issue categories it takes
    phone: Text | None = None
    superior: Text | None = None  # who answers for it: notified of its overdue work


class LeaderAssignment(Entity, frozen=True, kw_only=True, tag="leader"):
    """包抓: a leader responsible for a town or village and everything under it."""

    name: Name
    title: Text | None = None
    unit_code: Code
    phone: Text | None = None


class ReceptionSchedule(Entity, frozen=True, kw_only=True, tag="reception"):
    """Which deputies receive voters at a station, on which days of the month or of the week."""

    station_code: Code
    deputy_codes: tuple[Code, ...]
    days_of_month: tuple[int, ...] = ()  # 1..31; towns' public reception day is the 15th
    weekdays: tuple[int, ...] = ()  # 1 (Monday) .. 7
    note: Text | None = None


class User(Entity, frozen=True, kw_only=True, tag="user"):
    """An account: its code is the login name. Its scope is one admin unit's whole subtree, or one handler."""

    name: Name
    role: str  # see contracts.vocabulary.USER_ROLES
    unit_code: Code | None = None
    handler_code: Code | None = None
    deputy_code: Code | None = None  # the deputy this account belongs to, for role `deputy`
    phone: Text | None = None
    active: bool = True


AnyEntity = AdminUnit | Station | Deputy | Grid | GridRole | Handler | LeaderAssignment | ReceptionSchedule | User
ENTITY_TYPES: tuple[type[Entity], ...] = (
    AdminUnit,
    Station,
    Deputy,
    Grid,
    GridRole,
    Handler,
    LeaderAssignment,
    ReceptionSchedule,
    User,
)
ENTITY_NAMES: tuple[str, ...] = tuple(str(t.__struct_config__.tag) for t in ENTITY_TYPES)


def entity_name(entity: Entity) -> str:
    return str(type(entity).__struct_config__.tag)


def entity_key(entity: str, code: str) -> str:
    """The record key of an entity on the registry topic."""
    return f"{entity}:{code}"


class EntityRef(msgspec.Struct, frozen=True, kw_only=True):
    entity: str  # one of ENTITY_NAMES
    code: Code


class Row(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One entity to put, with the line of the file it came from when it came from a roster."""

    entity: AnyEntity
    line: int | None = None


class PutEntities(Command, frozen=True, kw_only=True, tag="gateway.registry_put_entities.v1"):
    """Create or replace entities: all of them, or none if any is refused. Putting an entity exactly as
    it is changes nothing."""

    command_id: uuid.UUID
    rows: tuple[Row, ...]
    source: Text = "api"  # "api", or "import:<file name>"
    requested_by: Code | None = None


class RemoveEntities(Command, frozen=True, kw_only=True, tag="gateway.registry_remove_entities.v1"):
    """Remove entities: all of them, or none if anything (a child unit, a grouped deputy, an open issue)
    still points at one. Removing what does not exist changes nothing."""

    command_id: uuid.UUID
    refs: tuple[EntityRef, ...]
    requested_by: Code | None = None


RegistryCommandMessage = PutEntities | RemoveEntities


class EntityPut(Event, frozen=True, kw_only=True, tag="registry.entity_put.v1"):
    """An entity as it now is (created or changed)."""

    entity: AnyEntity
    command_id: uuid.UUID


class EntityRemoved(Event, frozen=True, kw_only=True, tag="registry.entity_removed.v1"):
    """An entity that no longer exists. Kept under compaction as the key's last record."""

    ref: EntityRef
    command_id: uuid.UUID


RegistryEventMessage = EntityPut | EntityRemoved


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a row or a reference was refused: which field, and why."""

    field: str
    reason: str
    line: int | None = None
    entity: str | None = None
    code: str | None = None


class RegistryCommandApplied(Event, frozen=True, kw_only=True, tag="registry.command_applied.v1"):
    command_id: uuid.UUID
    put: int  # entities created or changed
    removed: int
    unchanged: int  # rows that matched what was there


class RegistryCommandRefused(Event, frozen=True, kw_only=True, tag="registry.command_refused.v1"):
    command_id: uuid.UUID
    problems: tuple[Problem, ...]


RegistryOutcomeMessage = RegistryCommandApplied | RegistryCommandRefused
