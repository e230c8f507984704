"""The demo district: Hanbin (汉滨区) of Ankang (安康市) at its real size, for trying the platform and for tests.

`demo_district()` returns every registry entity of the district in dependency order (units city →
district → town → village, then stations, handlers, deputies, grids, grid roles, leaders in charge,
reception schedules, users), ready to put in one `PutEntities`. It is deterministic: one seeded
`random.Random`, no global state. `demo_district("small")` is the same rules on 2 towns of 3 villages.

The arithmetic of the full district (the totals are the source article's):

- units: 1 city, 1 district, 28 towns, 387 villages (8 to 22 a town).
- stations: 1 deputies' home, 28 town centers, 387 village stations, 8 workrooms.
- 1,968 deputies = 6 province + 80 city + 329 district + 1,553 town, grouped so:
  deputies' home 6 province + 10 city + 12 district = 28; workrooms 18 district (2 or 3 each);
  town centers 70 city + 299 district = 369; village stations 1,553 town (3 to 6 each).
- 576 grids (1 to 3 a village), each with one leader (网长): 576 leaders + 1,326 members (网格员)
  = 1,902 grid roles, every one held by a deputy, no deputy holding two:
  every town deputy holds a role in its own village (1,553), a village having at least as many
  roles as town deputies; a village's other roles, 1,902 - 1,553 = 349 in all, go to city and
  district deputies at its town's center. That leaves 369 - 349 = 20 center deputies without a role,
  with the home's 28 and the workrooms' 18: 20 + 28 + 18 = 66 = 1,968 - 1,902.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from contracts.registry import (
    AdminUnit,
    Deputy,
    Entity,
    Grid,
    GridRole,
    Handler,
    LeaderAssignment,
    ReceptionSchedule,
    Station,
    User,
)
from services.registry.demo_names import (
    CITY,
    CITY_DEPARTMENTS,
    DISTRICT,
    DISTRICT_DEPARTMENTS,
    DISTRICT_LEADER_TITLES,
    GRASSROOTS_JOBS,
    HIGHER_JOBS,
    SUBDISTRICT_CADRE_TITLES,
    TOWN_CADRE_TITLES,
    TOWN_OFFICES,
    TOWNS,
    WORKROOM_SITES,
    Namer,
)

NUMERALS = "〇一二三四五六七八九十"
Person = tuple[str, str, str]  # name, title, phone


@dataclass(frozen=True)
class Shape:
    """How big a demo district is. Province deputies all sit at the deputies' home."""

    towns: tuple[int, ...]  # indexes into TOWNS; a town's code is 610902 and its index + 1 in 3 digits
    villages: int
    villages_per_town: tuple[int, int]
    workrooms: int
    province: int
    city: int
    district: int
    town: int
    home_city: int
    home_district: int
    workroom_deputies: int  # district deputies, at least 2 a workroom
    town_deputies_per_village: tuple[int, int]
    grids: int
    grids_per_village: tuple[int, int]
    grid_members: int
    members_per_grid: int = 5  # at most


# fmt: off
SHAPES = {
    "full": Shape(
        towns=tuple(range(28)), villages=387, villages_per_town=(8, 22), workrooms=8,
        province=6, city=80, district=329, town=1553, home_city=10, home_district=12, workroom_deputies=18,
        town_deputies_per_village=(3, 6), grids=576, grids_per_village=(1, 3), grid_members=1326,
    ),
    "small": Shape(
        towns=(0, 4), villages=6, villages_per_town=(3, 3), workrooms=2,
        province=1, city=4, district=12, town=20, home_city=1, home_district=2, workroom_deputies=4,
        town_deputies_per_village=(3, 4), grids=8, grids_per_village=(1, 2), grid_members=16,
    ),
}
# fmt: on


def demo_district(size: str = "full", *, seed: int = 610902) -> list[Entity]:
    """Every entity of the demo district, parents before children. `size` is "full" or "small"."""
    if size not in SHAPES:
        raise ValueError(f"size must be one of {sorted(SHAPES)}, not {size!r}")
    return _Builder(SHAPES[size], random.Random(seed)).build()


def _top_up(rng: random.Random, parts: list[int], extra: int, high: int) -> list[int]:
    """Add `extra` units to `parts`, one at a time at random, none past `high`."""
    below = [i for i, part in enumerate(parts) if part < high]
    if extra < 0 or extra > sum(high - parts[i] for i in below):
        raise ValueError(f"cannot place {extra} more over {len(parts)} parts of at most {high}")
    for _ in range(extra):
        k = rng.randrange(len(below))
        parts[below[k]] += 1
        if parts[below[k]] == high:
            below[k] = below[-1]
            below.pop()
    return parts


def _spread(rng: random.Random, total: int, count: int, low: int, high: int) -> list[int]:
    """`count` numbers from `low` to `high` that sum to `total`."""
    return _top_up(rng, [low] * count, total - low * count, high)


class _Builder:
    def __init__(self, shape: Shape, rng: random.Random) -> None:
        self.shape, self.rng, self.names = shape, rng, Namer(rng)
        self.towns: list[AdminUnit] = []
        self.villages: dict[str, list[AdminUnit]] = {}  # by town code
        self.workrooms: list[Station] = []
        self.grouped: dict[str, list[Deputy]] = {}  # by station code
        self.role_holders: dict[str, list[Deputy]] = {}  # center deputies with a grid role, by town code

    def build(self) -> list[Entity]:
        units = self._units()
        self._people()
        stations = self._stations()
        handlers = self._handlers()
        deputies = self._deputies()
        grids, roles = self._grids()
        leaders, receptions = self._leaders(), self._receptions()
        return [*units, *stations, *handlers, *deputies, *grids, *roles, *leaders, *receptions, *self._users()]

    def _all_villages(self) -> list[AdminUnit]:
        return [v for t in self.towns for v in self.villages[t.code]]

    def _units(self) -> list[AdminUnit]:
        city = AdminUnit(code=CITY[0], name=CITY[1], tier="city")
        district = AdminUnit(code=DISTRICT[0], name=DISTRICT[1], tier="district", parent_code=city.code)
        counts = _spread(self.rng, self.shape.villages, len(self.shape.towns), *self.shape.villages_per_town)
        for index, count in zip(self.shape.towns, counts, strict=True):
            town = AdminUnit(
                code=f"{district.code}{index + 1:03d}", name=TOWNS[index], tier="town", parent_code=district.code
            )
            self.towns.append(town)
            self.villages[town.code] = [
                AdminUnit(code=f"{town.code}{n:03d}", name=name, tier="village", parent_code=town.code)
                for n, name in enumerate(self.names.villages(town.name, count), 1)
            ]
        return [city, district, *self.towns, *self._all_villages()]

    def _person(self, title: str) -> Person:
        return self.names.person()[0], title, self.names.mobile()

    def _people(self) -> None:
        """District leaders (each in charge of two towns), city leaders and each town's cadres."""
        titles = DISTRICT_LEADER_TITLES[:4]
        self.leaders = [self._person(titles[i % 4]) for i in range(max(2, (len(self.towns) + 1) // 2))]
        self.vice_mayors = [self._person("安康市人民政府副市长") for _ in range(2)]
        self.cadres: dict[str, list[Person]] = {}
        for town in self.towns:
            cadre_titles = SUBDISTRICT_CADRE_TITLES if town.name.endswith("街道") else TOWN_CADRE_TITLES
            self.cadres[town.code] = [self._person(town.name + title) for title in cadre_titles]

    def _stations(self) -> list[Station]:
        def station(unit: str, name: str, kind: str, address: str, phone: str | None = None) -> Station:
            return Station(code=unit, name=name, kind=kind, unit_code=unit, address=address, phone=phone)

        self.workrooms = self._workrooms()
        return [
            station(DISTRICT[0], "汉滨区人大代表之家", "deputies_home", "汉滨区人大常委会机关", self.names.landline()),
            *(
                station(
                    t.code, f"{t.name}人大代表中心联络站", "town_center", f"{t.name}便民服务中心", self.names.landline()
                )
                for t in self.towns
            ),
            *(
                station(v.code, f"{v.name}人大代表联络站", "village_station", f"{v.name}党群服务中心")
                for v in self._all_villages()
            ),
            *self.workrooms,
        ]

    def _workrooms(self) -> list[Station]:
        town_codes = {t.name: t.code for t in self.towns}
        numbered: Counter[str] = Counter()
        rooms: list[Station] = []
        for site, town in WORKROOM_SITES:
            unit = DISTRICT[0] if town is None else town_codes.get(town)
            if unit is None or len(rooms) == self.shape.workrooms:
                continue
            numbered[unit] += 1
            code = f"{unit}-W{numbered[unit]:02d}"
            rooms.append(Station(code=code, name=f"{site}人大代表工作室", kind="workroom", unit_code=unit, site=site))
        if len(rooms) < self.shape.workrooms:
            raise ValueError(f"only {len(rooms)} workroom sites fit the shape's towns")
        return rooms

    def _handler(self, spec: tuple[str, str, tuple[str, ...]], kind: str, unit: str, people: list[Person]) -> Handler:
        code, name, categories = spec
        who, title, _ = self.rng.choice(people)
        phone, superior = self.names.landline(), f"{title} {who}"
        return Handler(
            code=code, name=name, kind=kind, unit_code=unit, categories=categories, phone=phone, superior=superior
        )

    def _town_offices(self, town: AdminUnit) -> list[tuple[str, str, tuple[str, ...]]]:
        """A town's 镇站办所. A subdistrict has no 社保站: its 社会事务办 takes that work too."""
        subdistrict, specs = town.name.endswith("街道"), []
        for suffix, town_name, subdistrict_name, categories in TOWN_OFFICES:
            name = subdistrict_name if subdistrict else town_name
            if subdistrict and suffix == "civil":
                categories = (*categories, *TOWN_OFFICES[-1][3])
            if name is not None:
                specs.append((f"t{town.code}-{suffix}", town.name + name, categories))
        return specs

    def _handlers(self) -> list[Handler]:
        deputy_heads = [p for p in self.leaders if p[1] == "区政府副区长"]
        return [
            *(self._handler(spec, "district_department", DISTRICT[0], deputy_heads) for spec in DISTRICT_DEPARTMENTS),
            *(
                self._handler(spec, "town_office", town.code, self.cadres[town.code])
                for town in self.towns
                for spec in self._town_offices(town)
            ),
            *(self._handler(spec, "city_department", CITY[0], self.vice_mayors) for spec in CITY_DEPARTMENTS),
        ]

    def _plan_grids(self) -> None:
        """Town deputies and grids per village, members per grid, and so the center deputies per town."""
        s, villages = self.shape, self._all_villages()
        town_deputies = _spread(self.rng, s.town, len(villages), *s.town_deputies_per_village)
        grids = _spread(self.rng, s.grids, len(villages), *s.grids_per_village)
        self.town_deputies = {v.code: n for v, n in zip(villages, town_deputies, strict=True)}
        self.members = {v.code: [1] * n for v, n in zip(villages, grids, strict=True)}
        for code, members in self.members.items():  # enough roles for every town deputy of the village
            for i in range(self.town_deputies[code] - len(members) - sum(members)):
                members[i % len(members)] += 1
        flat = _top_up(
            self.rng,
            [m for members in self.members.values() for m in members],
            s.grid_members - sum(map(sum, self.members.values())),
            s.members_per_grid,
        )
        for members in self.members.values():
            members[:], flat = flat[: len(members)], flat[len(members) :]

    def _overflow(self, village: str) -> int:
        """Grid roles of a village beyond its town deputies: held by deputies at its town's center."""
        return len(self.members[village]) + sum(self.members[village]) - self.town_deputies[village]

    def _center_levels(self) -> dict[str, list[str]]:
        """The levels of each town center's deputies: enough to hold the town's overflow roles, the rest
        spread at random (a center with no overflow gets at least one, to receive voters on the 15th)."""
        s = self.shape
        levels = ["city"] * (s.city - s.home_city) + ["district"] * (s.district - s.home_district - s.workroom_deputies)
        self.rng.shuffle(levels)
        needed = [sum(self._overflow(v.code) for v in self.villages[t.code]) for t in self.towns]
        self.center_holders = dict(zip((t.code for t in self.towns), needed, strict=True))
        counts = [max(n, 1) for n in needed]
        counts = _top_up(self.rng, counts, len(levels) - sum(counts), len(levels))
        by_town: dict[str, list[str]] = {}
        for town, count in zip(self.towns, counts, strict=True):
            by_town[town.code], levels = levels[:count], levels[count:]
        return by_town

    def _deputy(self, level: str, station: str) -> Deputy:
        name, gender = self.names.person()
        jobs = GRASSROOTS_JOBS if level == "town" else HIGHER_JOBS
        deputy = Deputy(
            code=f"D{self.deputy_count + 1:05d}",
            name=name,
            congress_level=level,
            station_code=station,
            phone=self.names.mobile(),
            gender=gender,
            occupation=self.rng.choice(jobs),
        )
        self.deputy_count += 1
        self.grouped.setdefault(station, []).append(deputy)
        return deputy

    def _deputies(self) -> list[Deputy]:
        s, self.deputy_count = self.shape, 0
        self._plan_grids()
        plan: list[tuple[str, str]] = [("province", DISTRICT[0])] * s.province
        plan += [("city", DISTRICT[0])] * s.home_city + [("district", DISTRICT[0])] * s.home_district
        for town, levels in self._center_levels().items():
            plan += [(level, town) for level in levels]
        plan += [("town", v.code) for v in self._all_villages() for _ in range(self.town_deputies[v.code])]
        per_room = _spread(self.rng, s.workroom_deputies, len(self.workrooms), 2, s.workroom_deputies)
        plan += [("district", room.code) for room, n in zip(self.workrooms, per_room, strict=True) for _ in range(n)]
        deputies = [self._deputy(level, station) for level, station in plan]
        self.role_holders = {t.code: self.grouped[t.code][: self.center_holders[t.code]] for t in self.towns}
        return deputies

    def _grids(self) -> tuple[list[Grid], list[GridRole]]:
        grids: list[Grid] = []
        roles: list[GridRole] = []
        for town in self.towns:
            from_center = iter(self.role_holders[town.code])
            for village in self.villages[town.code]:
                holders = self.grouped[village.code] + [next(from_center) for _ in range(self._overflow(village.code))]
                self.rng.shuffle(holders)
                for i, members in enumerate(self.members[village.code], 1):
                    grid = Grid(
                        code=f"{village.code}-G{i:02d}",
                        name=f"{village.name}第{NUMERALS[i]}网格",
                        village_code=village.code,
                    )
                    grids.append(grid)
                    slots = [(f"{grid.code}-L", "grid_leader")] + [
                        (f"{grid.code}-M{j}", "grid_member") for j in range(1, members + 1)
                    ]
                    roles += [
                        GridRole(
                            code=code, grid_code=grid.code, role=role, name=d.name, phone=d.phone, deputy_code=d.code
                        )
                        for (code, role), d in zip(slots, (holders.pop() for _ in slots), strict=True)
                    ]
        return grids, roles

    def _leaders(self) -> list[LeaderAssignment]:
        assignments = []
        for i, town in enumerate(self.towns):
            name, title, phone = self.leaders[i // 2]
            assignments.append(
                LeaderAssignment(code=f"L-{town.code}", name=name, title=title, unit_code=town.code, phone=phone)
            )
            for village in self.villages[town.code]:
                name, title, phone = self.rng.choice(self.cadres[town.code])
                assignments.append(
                    LeaderAssignment(
                        code=f"L-{village.code}", name=name, title=title, unit_code=village.code, phone=phone
                    )
                )
        self.leader_of = {a.unit_code: a for a in assignments}
        return assignments

    def _receptions(self) -> list[ReceptionSchedule]:
        def schedule(station: str, note: str, **days: tuple[int, ...]) -> ReceptionSchedule:
            codes = tuple(d.code for d in self.grouped[station])
            return ReceptionSchedule(code=f"R-{station}", station_code=station, deputy_codes=codes, note=note, **days)

        return [
            schedule(DISTRICT[0], "省市区人大代表轮流在代表之家接待选民", weekdays=(self.rng.randint(1, 5),)),
            *(schedule(t.code, "每月15日公开接访日", days_of_month=(15,)) for t in self.towns),
            *(
                schedule(v.code, "镇人大代表驻站接待选民", weekdays=(self.rng.randint(1, 5),))
                for v in self._all_villages()
            ),
        ]

    def _user(self, code: str, role: str, **scope: str) -> User:
        name, _ = self.names.person()
        return User(code=code, name=name, role=role, phone=self.names.mobile(), **scope)

    def _users(self) -> list[User]:
        district, town = DISTRICT[0], self.towns[0]
        village = self.villages[town.code][0]
        deputy, leader = self.grouped[village.code][0], self.leader_of[town.code]
        return [
            self._user("admin", "admin", unit_code=district),
            self._user("oversight", "oversight", unit_code=district),
            self._user("district", "district_staff", unit_code=district),
            self._user("town", "town_staff", unit_code=town.code),
            self._user("liaison", "station_liaison", unit_code=village.code),
            self._user("head", "station_head", unit_code=village.code),
            self._user("handler", "handler", handler_code="d-transport"),
            User(
                code="deputy",
                name=deputy.name,
                role="deputy",
                unit_code=village.code,
                deputy_code=deputy.code,
                phone=deputy.phone,
            ),
            User(code="leader", name=leader.name, role="leader", unit_code=town.code, phone=leader.phone),
            *(self._user(f"town-{t.code}", "town_staff", unit_code=t.code) for t in self.towns),
            *(self._user(f"liaison-{v.code}", "station_liaison", unit_code=v.code) for v in self._all_villages()),
        ]
