"""The registry's rules: whether a command to put or remove entities is accepted, and what it changes.

A put is checked as if all its rows were applied together (a town and its villages may come in one
import, in any order); then everything that points at a changed entity, directly or through others (a
deputy's account depends on its station's unit), is checked again with `line=None`, so a change cannot
strand it. Every problem is reported; if there is one, nothing is applied and the Decision carries only
the problems. A removal is refused while anything not removed with it still points at what it removes.

Choices the source leaves open, kept strict on purpose:
- grouping (编组): a town deputy at a village station; city deputies at a town center or the deputies'
  home; province deputies only at the deputies' home; a workroom takes district and town deputies only.
- only a handler account names a `handler_code`, only a deputy account a `deputy_code`.
- the code rules also make "one home per district, one center per town, one station per village"
  hold, but the clash is reported in its own words too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import msgspec

from common.registry.view import HANDLER_KIND_AT_TIER, RegistryView
from contracts.registry import (
    ENTITY_NAMES,
    ENTITY_TYPES,
    AdminUnit,
    Deputy,
    Entity,
    EntityRef,
    Grid,
    GridRole,
    Handler,
    LeaderAssignment,
    Problem,
    ReceptionSchedule,
    Row,
    Station,
    User,
    entity_key,
    entity_name,
)
from contracts.vocabulary import CATEGORIES, CONGRESS_LEVELS, GRID_ROLES, STATION_KINDS, TIERS, USER_ROLES

Key = tuple[str, str]  # (entity name, code)
Found = Iterator[tuple[str, str]]  # (field, reason)

CODE_LENGTH = {"city": 4, "district": 6, "town": 9, "village": 12}
STATIONS = {  # kind: (how a reason names it, the tiers it belongs to)
    "deputies_home": ("the deputies' home", ("district",)),
    "town_center": ("a town center station", ("town",)),
    "village_station": ("a village station", ("village",)),
    "workroom": ("a workroom", ("district", "town")),
}
GROUPED_AT = {
    "province": ("deputies_home",),
    "city": ("town_center", "deputies_home"),
    "district": ("town_center", "deputies_home", "workroom"),
    "town": ("village_station", "workroom"),
}
HANDLER_TIER = {kind: tier for tier, kind in HANDLER_KIND_AT_TIER.items()}
STATION_ROLES = ("station_liaison", "station_head")
USER_UNIT_TIERS = {
    "admin": ("district", "city"),
    "oversight": ("district", "city"),
    "district_staff": ("district", "city"),
    "town_staff": ("town",),
    "station_liaison": ("village", "town", "district"),
    "station_head": ("village", "town", "district"),
    "leader": ("town", "village"),
}
GENDERS = (None, "male", "female")
# Publishing order: what is pointed at comes before what points at it. Removal runs it backwards.
PUT_ORDER = ("admin_unit", "station", "handler", "deputy", "grid", "grid_role", "leader", "reception", "user")
# What points at an entity: (index of RegistryView, entity name of the referrer, words for a refusal).
REFERRERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "admin_unit": (
        ("children", "admin_unit", "child units"),
        ("stations", "station", "stations"),
        ("grids", "grid", "grids"),
        ("handlers", "handler", "handlers"),
        ("leaders", "leader", "leaders"),
        ("unit_users", "user", "users"),
    ),
    "station": (("deputies", "deputy", "grouped deputies"), ("receptions", "reception", "receptions")),
    "deputy": (
        ("deputy_grid_roles", "grid_role", "a grid role"),
        ("deputy_receptions", "reception", "receptions"),
        ("deputy_users", "user", "a user account"),
    ),
    "grid": (("grid_roles", "grid_role", "grid roles"),),
    "handler": (("handler_users", "user", "users"),),
}
_DIGITS = re.compile(r"[0-9]+")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_HANDLER_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_WORKROOM_SUFFIX = re.compile(r"-W[0-9]{2}")


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """What a command does: refused if it has problems, and then it changes nothing."""

    put: tuple[Entity, ...] = ()  # new or changed, in the order to publish
    removed: tuple[EntityRef, ...] = ()  # existed, and are removed, in the order to publish
    unchanged: int = 0  # rows equal to what is stored, refs already absent
    problems: tuple[Problem, ...] = ()

    @property
    def refused(self) -> bool:
        return bool(self.problems)


def decide_put(view: RegistryView, rows: Sequence[Row]) -> Decision:
    """Accept rows (creating or replacing entities) or refuse them all, saying every reason."""
    first: dict[Key, int] = {}  # where each entity first appears
    for i, row in enumerate(rows):
        first.setdefault(_key(row.entity), i)
    kept = [rows[i].entity for i in first.values()]
    changed = [e for e in kept if view.get_any(*_key(e)) != e]
    after = RegistryView(entity for cls in ENTITY_TYPES for entity in view.all(cls))
    for entity in changed:
        after.put(entity)
    checks = _Checks(view, after, first)
    problems: list[Problem] = []
    for i, row in enumerate(rows):
        name, code = key = _key(row.entity)
        found = checks.check(row.entity) if first[key] == i else iter([("code", _twice(rows[first[key]]))])
        problems.extend(_problems(found, row.line, name, code))
    for name, code in _downstream(view, after, changed, set(first)):
        referrer = after.get_any(name, code)
        if referrer is not None:
            problems.extend(_problems(checks.check(referrer), None, name, code))
    if problems:
        return Decision(problems=tuple(problems))
    return Decision(put=tuple(sorted(changed, key=_put_order)), unchanged=len(rows) - len(changed))


def decide_remove(view: RegistryView, refs: Sequence[EntityRef], in_use: Mapping[str, int]) -> Decision:
    """Accept a removal or refuse it all; `in_use` counts the open issues pointing at each `entity_key`."""
    problems: list[Problem] = []
    gone: dict[Key, EntityRef] = {}
    for ref in refs:
        if ref.entity not in ENTITY_NAMES:
            reason = f"unknown entity {ref.entity!r}; expected one of {', '.join(ENTITY_NAMES)}"
            problems.append(Problem(field="entity", reason=reason, entity=ref.entity, code=ref.code))
        elif view.get_any(ref.entity, ref.code) is not None:
            gone.setdefault((ref.entity, ref.code), ref)
    for (name, code), ref in gone.items():
        problems.extend(_problems(_still_needed(view, ref, set(gone), in_use), None, name, code))
    if problems:
        return Decision(problems=tuple(problems))
    removed = sorted(gone.values(), key=lambda r: _order(r.entity, view.get_any(r.entity, r.code)), reverse=True)
    return Decision(removed=tuple(removed), unchanged=len(refs) - len(gone))


# -- put: one entity against the prospective registry --------------------------------------------------------


class _Checks:
    """The rules for each kind of entity, against the registry as it would be after the command."""

    def __init__(self, before: RegistryView, after: RegistryView, rank: Mapping[Key, int]) -> None:
        self.before, self.after, self.rank = before, after, rank

    def check(self, e: Entity) -> Found:
        if isinstance(e, AdminUnit):
            yield from self.unit(e)
        elif isinstance(e, Station):
            yield from self.station(e)
        elif isinstance(e, Handler):
            yield from self.handler(e)
        else:
            if not _CODE.fullmatch(e.code):
                yield "code", "a code is letters, digits, '.', '_' or '-', starting with a letter or digit"
            if isinstance(e, Deputy):
                yield from self.deputy(e)
            elif isinstance(e, Grid):
                yield from self.unit_of_tier("village_code", e.village_code, ("village",))
            elif isinstance(e, GridRole):
                yield from self.grid_role(e)
            elif isinstance(e, LeaderAssignment):
                yield from self.unit_of_tier("unit_code", e.unit_code, ("town", "village"))
            elif isinstance(e, ReceptionSchedule):
                yield from self.reception(e)
            elif isinstance(e, User):
                yield from self.user(e)

    def reported_here(self, e: Entity, other: str) -> bool:
        """A clash of two entities is reported once: on the later row, or on the row if the other was stored."""
        mine, theirs = self.rank.get(_key(e)), self.rank.get((entity_name(e), other))
        return mine is not None and (theirs is None or theirs < mine)

    def unit_of_tier(self, field: str, code: str, tiers: tuple[str, ...]) -> Found:
        unit = self.after.unit(code)
        if unit is None:
            yield field, _missing("an admin unit", code)
        elif unit.tier not in tiers:
            yield field, f"expected a {' or a '.join(tiers)}; {code!r} is a {unit.tier}"

    def unit(self, u: AdminUnit) -> Found:
        if u.tier not in TIERS:
            yield "tier", _not_one_of(u.tier, TIERS)
        lengths = (CODE_LENGTH[u.tier],) if u.tier in CODE_LENGTH else tuple(CODE_LENGTH.values())
        if not _DIGITS.fullmatch(u.code) or len(u.code) not in lengths:
            yield "code", f"a {u.tier} code is {' or '.join(map(str, lengths))} digits (its national division code)"
        if u.tier == "city" and u.parent_code is not None:
            yield "parent_code", "a city has no parent; expected no parent_code"
        elif u.tier in TIERS[1:]:
            yield from self.parent(u, TIERS[TIERS.index(u.tier) - 1])
        old = self.before.unit(u.code)
        if old is not None and old.tier != u.tier:
            below = [(words, self.after.referrers(index, u.code)) for index, _, words in REFERRERS["admin_unit"][:2]]
            if held := [f"{words} {_codes(codes)}" for words, codes in below if codes]:
                yield "tier", f"the tier cannot change from {old.tier} to {u.tier} while it has {' and '.join(held)}"

    def parent(self, u: AdminUnit, above: str) -> Found:
        parent = self.after.unit(u.parent_code) if u.parent_code else None
        if u.parent_code is None:
            yield "parent_code", f"a {u.tier} needs parent_code: the code of its {above}"
        elif parent is None:
            yield "parent_code", _missing("an admin unit", u.parent_code)
        else:
            if parent.tier != above:
                yield "parent_code", f"the parent of a {u.tier} is a {above}; {parent.code!r} is a {parent.tier}"
            if not u.code.startswith(parent.code):
                yield "code", f"a unit's code starts with its parent's code {parent.code!r}"
            if any(up.code == u.code for up in self.after.parent_chain(parent.code)):
                yield "parent_code", f"parent_code {parent.code!r} makes a cycle: a unit would be its own ancestor"

    def station(self, s: Station) -> Found:
        unit = self.after.unit(s.unit_code)
        if unit is None:
            yield "unit_code", _missing("an admin unit", s.unit_code)
        if s.kind not in STATION_KINDS:
            yield "kind", _not_one_of(s.kind, STATION_KINDS)
            return
        what, tiers = STATIONS[s.kind]
        if unit is not None and unit.tier not in tiers:
            yield "unit_code", f"{what} belongs to a {' or a '.join(tiers)}; {unit.code!r} is a {unit.tier}"
        if s.kind == "workroom":
            suffix = s.code.removeprefix(s.unit_code)
            if suffix == s.code or not _WORKROOM_SUFFIX.fullmatch(suffix):
                yield "code", f"a workroom's code is its unit's code, '-W' and two digits, e.g. {s.unit_code}-W01"
            if not s.site:
                yield "site", "a workroom needs its site (a business association, a project site)"
            return
        if s.code != s.unit_code:
            yield "code", f"{what} has the code of the unit it serves, {s.unit_code!r}"
        for other in self.after.stations_of(s.unit_code):
            if other.kind == s.kind and other.code != s.code and self.reported_here(s, other.code):
                yield "kind", f"{s.unit_code!r} already has {what}: {other.code!r}; a unit has one"

    def deputy(self, d: Deputy) -> Found:
        if d.congress_level not in CONGRESS_LEVELS:
            yield "congress_level", _not_one_of(d.congress_level, CONGRESS_LEVELS)
        if d.gender not in GENDERS:
            yield "gender", f"expected 'male', 'female' or nothing, got {d.gender!r}"
        station = self.after.station(d.station_code)
        if station is None:
            yield "station_code", _missing("a station", d.station_code)
        elif d.congress_level in GROUPED_AT and station.kind not in GROUPED_AT[d.congress_level]:
            allowed = " or ".join(STATIONS[k][0] for k in GROUPED_AT[d.congress_level])
            here = STATIONS[station.kind][0] if station.kind in STATIONS else station.kind
            yield "station_code", f"a {d.congress_level} deputy is grouped at {allowed}, not at {here}"

    def grid_role(self, r: GridRole) -> Found:
        if r.role not in GRID_ROLES:
            yield "role", _not_one_of(r.role, GRID_ROLES)
        if self.after.get(Grid, r.grid_code) is None:
            yield "grid_code", _missing("a grid", r.grid_code)
        for other in self.after.grid_roles(r.grid_code):
            if r.role == other.role == "grid_leader" and other.code != r.code and self.reported_here(r, other.code):
                yield "role", f"grid {r.grid_code!r} already has a grid leader, {other.code!r}; a grid has one"
        if r.deputy_code is None:
            return
        if self.after.get(Deputy, r.deputy_code) is None:
            yield "deputy_code", _missing("a deputy", r.deputy_code)
        for other_code in sorted(self.after.referrers("deputy_grid_roles", r.deputy_code) - {r.code}):
            if self.reported_here(r, other_code):
                yield "deputy_code", f"deputy {r.deputy_code!r} already holds grid role {other_code!r}; one is allowed"

    def handler(self, h: Handler) -> Found:
        if not _HANDLER_CODE.fullmatch(h.code):
            yield "code", "a handler's code names its topic: a-z, 0-9, '_' or '-', starting with a-z or 0-9"
        if h.kind not in HANDLER_TIER:
            yield "kind", _not_one_of(h.kind, tuple(HANDLER_TIER))
        else:
            yield from self.unit_of_tier("unit_code", h.unit_code, (HANDLER_TIER[h.kind],))
        unknown = [c for c in h.categories if c not in CATEGORIES]
        if not h.categories:
            yield "categories", "a handler takes at least one category"
        elif unknown:
            yield "categories", f"unknown categories {', '.join(unknown)}; expected some of {', '.join(CATEGORIES)}"

    def reception(self, r: ReceptionSchedule) -> Found:
        if self.after.station(r.station_code) is None:
            yield "station_code", _missing("a station", r.station_code)
        if not r.deputy_codes:
            yield "deputy_codes", "a reception needs at least one deputy"
        for code in r.deputy_codes:
            deputy = self.after.get(Deputy, code)
            if deputy is None:
                yield "deputy_codes", _missing("a deputy", code)
            elif deputy.station_code != r.station_code:
                where = f"{deputy.station_code!r}; a deputy receives voters where it is grouped"
                yield "deputy_codes", f"deputy {code!r} is grouped at {where}"
        if any(not 1 <= d <= 31 for d in r.days_of_month):
            yield "days_of_month", f"days of the month are 1..31, got {list(r.days_of_month)}"
        if any(not 1 <= d <= 7 for d in r.weekdays):
            yield "weekdays", f"weekdays are 1 (Monday) .. 7 (Sunday), got {list(r.weekdays)}"
        if not r.days_of_month and not r.weekdays:
            yield "days_of_month", "a reception needs at least one day: days_of_month or weekdays"

    def user(self, u: User) -> Found:
        if u.role not in USER_ROLES:
            yield "role", _not_one_of(u.role, USER_ROLES)
        elif u.role == "handler":
            if u.handler_code is None or self.after.get(Handler, u.handler_code) is None:
                yield "handler_code", _missing("a handler", u.handler_code)
            if u.unit_code is not None:
                yield "unit_code", "a handler account is scoped by its handler; expected no unit_code"
        else:
            if u.handler_code is not None:
                yield "handler_code", "only a handler account names a handler_code"
            yield from self.user_unit(u)
        if u.role != "deputy" and u.deputy_code is not None:
            yield "deputy_code", "only a deputy account names a deputy_code"

    def user_unit(self, u: User) -> Found:
        if u.unit_code is None or self.after.unit(u.unit_code) is None:
            yield "unit_code", _missing("an admin unit", u.unit_code)
        elif u.role == "deputy":
            deputy = self.after.get(Deputy, u.deputy_code or "")
            station = self.after.station(deputy.station_code) if deputy else None
            if deputy is None:
                yield "deputy_code", _missing("a deputy", u.deputy_code)
            elif station is not None and station.unit_code != u.unit_code:
                yield "unit_code", f"a deputy account's unit is its station's unit, {station.unit_code!r}"
        else:
            yield from self.unit_of_tier("unit_code", u.unit_code, USER_UNIT_TIERS[u.role])
            if u.role in STATION_ROLES and not self.after.stations_of(u.unit_code):
                yield "unit_code", f"a {u.role} account needs a unit with a station; {u.unit_code!r} has none"


def _downstream(before: RegistryView, after: RegistryView, changed: Iterable[Entity], rows: set[Key]) -> list[Key]:
    """What depends, directly or through others, on a changed entity (a deputy's account on its station's
    unit): it is checked again. Rows are left out, as they are checked anyway."""
    seen: set[Key] = set()
    todo = list(changed)
    while todo:
        for key in _depending_on(before, after, todo.pop()):
            if key not in seen and (found := after.get_any(*key)) is not None:
                seen.add(key)
                todo.append(found)
    return sorted(seen - rows, key=lambda k: _order(k[0], after.get_any(*k)))


def _depending_on(before: RegistryView, after: RegistryView, e: Entity) -> Iterator[Key]:
    name = entity_name(e)
    for index, referrer, _ in REFERRERS.get(name, ()):
        yield from ((referrer, code) for code in after.referrers(index, e.code))
    if isinstance(e, Station):  # station accounts need a station at their unit, wherever it was or is
        old = before.station(e.code)
        for unit_code in {e.unit_code, old.unit_code if old else e.unit_code}:
            yield from (("user", code) for code in after.referrers("unit_users", unit_code))


# -- remove --------------------------------------------------------------------------------------------------


def _still_needed(view: RegistryView, ref: EntityRef, gone: set[Key], in_use: Mapping[str, int]) -> Found:
    for index, referrer, words in REFERRERS.get(ref.entity, ()):
        left = [c for c in view.referrers(index, ref.code) if (referrer, c) not in gone]
        if left:
            yield "code", f"still has {words}: {_codes(left)}; remove those first or in the same command"
    station = view.station(ref.code) if ref.entity == "station" else None
    if station is not None and not [s for s in view.stations_of(station.unit_code) if ("station", s.code) not in gone]:
        accounts = [c for c in view.referrers("unit_users", station.unit_code) if ("user", c) not in gone]
        held = [c for c in accounts if (u := view.user(c)) is not None and u.role in STATION_ROLES]
        if held:
            yield "code", f"station accounts {_codes(held)} need a station at {station.unit_code!r}; remove them too"
    open_issues = in_use.get(entity_key(ref.entity, ref.code), 0)
    if open_issues == 1:
        yield "code", "1 open issue still points at it"
    elif open_issues > 1:
        yield "code", f"{open_issues} open issues still point at it"


# -- small helpers -------------------------------------------------------------------------------------------


def _key(e: Entity) -> Key:
    return entity_name(e), e.code


def _order(name: str, e: Entity | None) -> tuple[int, int, str]:
    tier = TIERS.index(e.tier) if isinstance(e, AdminUnit) and e.tier in TIERS else len(TIERS)
    return PUT_ORDER.index(name) if name in PUT_ORDER else len(PUT_ORDER), tier, e.code if e else ""


def _put_order(e: Entity) -> tuple[int, int, str]:
    return _order(entity_name(e), e)


def _problems(found: Found, line: int | None, name: str, code: str) -> Iterator[Problem]:
    return (Problem(field=field, reason=reason, line=line, entity=name, code=code) for field, reason in found)


def _twice(first: Row) -> str:
    if first.line is None:
        return "appears twice in this command"
    return f"appears twice in this import, first on line {first.line}"


def _missing(what: str, code: str | None) -> str:
    if code is None:
        return f"expected the code of {what}; none given"
    return f"expected {what}; {code!r} is not in the registry or in this command"


def _not_one_of(value: str, allowed: Sequence[str]) -> str:
    return f"expected one of {', '.join(allowed)}; got {value!r}"


def _codes(codes: Iterable[str], shown: int = 5) -> str:
    ordered = sorted(codes)
    more = f" and {len(ordered) - shown} more" if len(ordered) > shown else ""
    return ", ".join(ordered[:shown]) + more
