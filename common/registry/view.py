"""The registry in memory, with the indexes every lookup needs. Pure: no I/O.

The registry service checks commands against one of these; every other part keeps one as its local
cache, fed from the registry topic (`common.registry.cache`). Lookups are dictionary reads; a subtree
walks only the units under the root.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from typing import TypeVar

from contracts.registry import (
    AdminUnit,
    Deputy,
    Entity,
    EntityPut,
    EntityRemoved,
    Grid,
    GridRole,
    Handler,
    LeaderAssignment,
    ReceptionSchedule,
    Station,
    User,
    entity_name,
)
from contracts.vocabulary import TIERS

E = TypeVar("E", bound=Entity)

# Which kind of handler answers for referrals made at each tier.
HANDLER_KIND_AT_TIER = {"city": "city_department", "district": "district_department", "town": "town_office"}


class RegistryView:
    def __init__(self, entities: Iterable[Entity] = ()) -> None:
        self._by_kind: dict[str, dict[str, Entity]] = defaultdict(dict)
        # reverse indexes: (index name, code it points at) -> codes pointing at it
        self._refs: dict[tuple[str, str], set[str]] = defaultdict(set)
        for entity in entities:
            self.put(entity)

    # -- changes -----------------------------------------------------------------------------

    def apply(self, event: EntityPut | EntityRemoved) -> None:
        if isinstance(event, EntityPut):
            self.put(event.entity)
        else:
            self.remove(event.ref.entity, event.ref.code)

    def put(self, entity: Entity) -> None:
        kind = entity_name(entity)
        old = self._by_kind[kind].get(entity.code)
        if old is not None:
            self._unindex(old)
        self._by_kind[kind][entity.code] = entity
        self._index(entity)

    def remove(self, kind: str, code: str) -> None:
        old = self._by_kind[kind].pop(code, None)
        if old is not None:
            self._unindex(old)

    def _links(self, e: Entity) -> Iterator[tuple[str, str]]:
        """(index, target code) pairs for the reverse indexes."""
        if isinstance(e, AdminUnit) and e.parent_code:
            yield "children", e.parent_code
        elif isinstance(e, Station):
            yield "stations", e.unit_code
        elif isinstance(e, Deputy):
            yield "deputies", e.station_code
        elif isinstance(e, Grid):
            yield "grids", e.village_code
        elif isinstance(e, GridRole):
            yield "grid_roles", e.grid_code
            if e.deputy_code:
                yield "deputy_grid_roles", e.deputy_code
        elif isinstance(e, Handler):
            yield "handlers", e.unit_code
        elif isinstance(e, LeaderAssignment):
            yield "leaders", e.unit_code
        elif isinstance(e, ReceptionSchedule):
            yield "receptions", e.station_code
            for deputy in e.deputy_codes:
                yield "deputy_receptions", deputy
        elif isinstance(e, User):
            if e.unit_code:
                yield "unit_users", e.unit_code
            if e.handler_code:
                yield "handler_users", e.handler_code
            if e.deputy_code:
                yield "deputy_users", e.deputy_code

    def _index(self, e: Entity) -> None:
        for index, target in self._links(e):
            self._refs[(index, target)].add(e.code)

    def _unindex(self, e: Entity) -> None:
        for index, target in self._links(e):
            codes = self._refs.get((index, target))
            if codes is not None:
                codes.discard(e.code)
                if not codes:
                    del self._refs[(index, target)]

    def referrers(self, index: str, code: str) -> set[str]:
        """Codes of the entities whose `index` link points at `code` (see `_links`)."""
        return self._refs.get((index, code), set())

    # -- reads -------------------------------------------------------------------------------

    def get(self, cls: type[E], code: str) -> E | None:
        found = self._by_kind.get(str(cls.__struct_config__.tag), {}).get(code)
        return found if isinstance(found, cls) else None

    def get_any(self, kind: str, code: str) -> Entity | None:
        return self._by_kind.get(kind, {}).get(code)

    def all(self, cls: type[E]) -> list[E]:
        """Every entity of a kind, ordered by code."""
        kind = self._by_kind.get(str(cls.__struct_config__.tag), {})
        return [kind[c] for c in sorted(kind)]  # type: ignore[misc]

    def count(self, cls: type[Entity]) -> int:
        return len(self._by_kind.get(str(cls.__struct_config__.tag), {}))

    def unit(self, code: str) -> AdminUnit | None:
        return self.get(AdminUnit, code)

    def parent_chain(self, code: str) -> list[AdminUnit]:
        """The unit and every unit above it, nearest first (a village, its town, district, city)."""
        chain: list[AdminUnit] = []
        unit = self.unit(code)
        while unit is not None and len(chain) <= len(TIERS):  # a cycle cannot make this loop forever
            chain.append(unit)
            unit = self.unit(unit.parent_code) if unit.parent_code else None
        return chain

    def children(self, code: str) -> list[AdminUnit]:
        return [u for c in sorted(self.referrers("children", code)) if (u := self.unit(c))]

    def subtree(self, code: str, tier: str | None = None) -> list[AdminUnit]:
        """The unit and every unit under it (only those of `tier`, if given), in code order."""
        root = self.unit(code)
        if root is None:
            return []
        found, stack = [], [root]
        while stack:
            unit = stack.pop()
            if tier is None or unit.tier == tier:
                found.append(unit)
            if unit.tier != "village":
                stack.extend(self.unit(c) for c in self.referrers("children", unit.code))  # type: ignore[misc]
        return sorted(found, key=lambda u: u.code)

    def in_subtree(self, code: str, root: str) -> bool:
        """Whether unit `code` is `root` or under it: the scope check of every user."""
        return any(u.code == root for u in self.parent_chain(code))

    def station(self, code: str) -> Station | None:
        return self.get(Station, code)

    def stations_of(self, unit_code: str) -> list[Station]:
        return [s for c in sorted(self.referrers("stations", unit_code)) if (s := self.station(c))]

    def tier_of_station(self, station_code: str) -> tuple[str, str]:
        """(tier, unit code) answering first for an issue received at a station. Raises ValueError for an
        unknown station."""
        station = self.station(station_code)
        unit = self.unit(station.unit_code) if station else None
        if station is None or unit is None:
            raise ValueError(f"station_code {station_code!r} is not a station in the registry")
        return unit.tier, unit.code

    def deputies_at(self, station_code: str) -> list[Deputy]:
        return [d for c in sorted(self.referrers("deputies", station_code)) if (d := self.get(Deputy, c))]

    def grids_of(self, village_code: str) -> list[Grid]:
        return [g for c in sorted(self.referrers("grids", village_code)) if (g := self.get(Grid, c))]

    def grid_roles(self, grid_code: str) -> list[GridRole]:
        return [r for c in sorted(self.referrers("grid_roles", grid_code)) if (r := self.get(GridRole, c))]

    def handlers_of(self, unit_code: str) -> list[Handler]:
        return [h for c in sorted(self.referrers("handlers", unit_code)) if (h := self.get(Handler, c))]

    def handlers_for(self, category: str, unit_code: str) -> list[Handler]:
        """The handlers that take `category` for referrals made at `unit_code`'s tier: the town's own
        offices for a town, the district's departments for the district, the city's for the city."""
        unit = self.unit(unit_code)
        if unit is None or unit.tier not in HANDLER_KIND_AT_TIER:
            return []
        kind = HANDLER_KIND_AT_TIER[unit.tier]
        return [h for h in self.handlers_of(unit_code) if h.kind == kind and category in h.categories]

    def leaders_over(self, unit_code: str) -> list[LeaderAssignment]:
        """Leaders in charge of the unit or of any unit above it, nearest first."""
        found: list[LeaderAssignment] = []
        for unit in self.parent_chain(unit_code):
            found.extend(
                a for c in sorted(self.referrers("leaders", unit.code)) if (a := self.get(LeaderAssignment, c))
            )
        return found

    def on_duty(self, station_code: str, day: date) -> list[Deputy]:
        """The deputies scheduled to receive voters at a station on a day."""
        codes: set[str] = set()
        for code in self.referrers("receptions", station_code):
            schedule = self.get(ReceptionSchedule, code)
            if schedule and (day.day in schedule.days_of_month or day.isoweekday() in schedule.weekdays):
                codes.update(schedule.deputy_codes)
        return [d for c in sorted(codes) if (d := self.get(Deputy, c))]

    def user(self, login: str) -> User | None:
        return self.get(User, login)
