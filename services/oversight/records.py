"""The records oversight keeps beside the ledgers: deputies' contact with voters (接访 / 走访), training sessions and
their coverage of grid staff, emergency funds (应急资金) per month and per issue, and callbacks (回访抽查) to the
voters of closed issues, which flag the handler in the ledger where the voter's answer differs from the rating.

Pure, like the ledger: folded from the records topic alone; the registry is read only to answer a query (names,
towns, grid roles). A record id counts once per kind, so a retried request changes nothing.

Callbacks and the issue topic are followed independently, so a callback is kept pending until the ledger has its
issue closed, and settled then: at once when it is folded after the close (a rebuild reads the issue topic first),
else when the issue follower folds that issue's next event (`settle`), and at the latest when callbacks are queried
(`settle_all`). A closed issue never changes again, so the outcome, and the flag, are the same whichever topic was
read first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any, Final

import msgspec

from common.clock import month_of
from common.registry.view import RegistryView
from contracts.oversight import (
    CALLBACK_ANSWERS,
    CONTACT_KINDS,
    TRAINING_AUDIENCES,
    AllocateFunds,
    OversightRecordMessage,
    RecordCallback,
    RecordContact,
    RecordTraining,
)
from contracts.registry import AdminUnit, Deputy, GridRole, Station
from services.oversight.ledger import Ledger, check_period

DEFAULT_SHARE: Final = 0.05  # of closed issues drawn for a callback, unless the query says otherwise
CONTACT_BY: Final = ("deputy", "station", "town", "month")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_RECEPTIONS, _VISITS, _VOTERS = 0, 1, 2  # a contact counter vector


class ContactRow(msgspec.Struct, kw_only=True):
    key: str  # a deputy, station or town code, or a month
    name: str
    kind: str  # "deputy", the station's kind, the unit's tier, or "month"
    period: str
    receptions: int = 0
    visits: int = 0
    contacts: int = 0  # receptions + visits
    voters_met: int = 0


class TrainingRow(msgspec.Struct, kw_only=True):
    town: str
    name: str
    period: str
    sessions: int  # held in the town or its villages
    attendees: int
    by_audience: dict[str, int]  # sessions per audience
    grid_roles: int  # the town's grid leaders and members
    covered: int  # of them, those who attended at least one session (anywhere) in the period
    coverage: float  # covered / grid_roles (0 without grid roles)
    grid_leaders: int
    leaders_covered: int
    grid_members: int
    members_covered: int


class Allocation(msgspec.Struct, kw_only=True):
    record_id: str
    issue_id: str
    month: str
    amount_yuan: int
    purpose: str
    approved_by: str


class FundsMonth(msgspec.Struct, kw_only=True):
    month: str
    amount_yuan: int
    allocations: int


class FundsIssue(msgspec.Struct, kw_only=True):
    issue_id: str
    amount_yuan: int
    allocations: list[Allocation]


class FundsReport(msgspec.Struct, kw_only=True):
    period: str
    amount_yuan: int
    allocations: int
    months: list[FundsMonth]
    issues: list[FundsIssue]


class Callback(msgspec.Struct, kw_only=True):
    record_id: str
    issue_id: str
    month: str  # when the callback was made
    answer: str
    called_by: str
    note: str | None = None
    outcome: str = "pending"  # pending (issue not closed yet) / match / mismatch / unreached / unrated
    recorded: str | None = None  # the satisfaction recorded on the issue
    handler_code: str | None = None  # the handler that completed it


class DueCallback(msgspec.Struct, kw_only=True):
    issue_id: str
    closed_month: str
    recorded: str | None
    handler_code: str | None


class CallbacksReport(msgspec.Struct, kw_only=True):
    period: str
    done: int
    reached: int
    mismatched: int
    pending: int
    callbacks: list[Callback]
    mismatches: list[Callback]


def sample(issue_id: str, share: float, salt: str = "") -> bool:
    """Whether a closed issue is drawn for a callback: a hash of its id falls below `share`. The same answer every
    time and everywhere; a larger share draws a superset. A secret `salt` keeps handlers from telling in advance."""
    digest = hashlib.blake2b(f"{salt}:{issue_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < share * 2**64


def outcome(answer: str, recorded: str | None) -> str:
    """A callback that reached the voter is a mismatch where the answer differs from the rating recorded."""
    if answer == "unreachable":
        return "unreached"
    if recorded is None:
        return "unrated"  # closed without a rating (voter unreachable, or by oversight): nothing to compare
    return "match" if answer == recorded else "mismatch"


def valid(command: Any) -> bool:
    """The domain's checks of a record (the gateway makes them too; an old or foreign producer may not)."""
    if isinstance(command, RecordContact):
        return command.kind in CONTACT_KINDS and command.voters_met >= 0
    if isinstance(command, RecordTraining):
        return command.audience in TRAINING_AUDIENCES and command.attendees >= 0
    if isinstance(command, AllocateFunds):
        return command.amount_yuan > 0 and bool(_MONTH.match(command.month))
    return isinstance(command, RecordCallback) and command.answer in CALLBACK_ANSWERS


class Records:
    """Contacts, training, funds and callbacks, folded from the records topic; callbacks flag through `ledger`."""

    def __init__(self, ledger: Ledger, salt: str = "") -> None:
        self.ledger, self.salt = ledger, salt
        self.skipped = 0  # undecodable or invalid records
        self._seen: set[tuple[type, str]] = set()  # (kind, record id)
        self._contacts: dict[str, dict[str, dict[str, list[int]]]] = {"deputy": {}, "station": {}}
        self._sessions: list[RecordTraining] = []
        self._funds: list[Allocation] = []
        self._callbacks: list[Callback] = []
        self._pending: dict[str, list[Callback]] = {}  # issue id -> callbacks waiting for its close
        self._reached: set[str] = set()  # issues whose voter a callback reached
        self._flagged: set[str] = set()
        self._decoder = msgspec.json.Decoder(OversightRecordMessage)
        self._rules: dict[type, Callable[[Any], None]] = {
            RecordContact: self._contact,
            RecordTraining: self._sessions.append,
            AllocateFunds: self._allocated,
            RecordCallback: self._called,
        }

    # -- folding -------------------------------------------------------------------------------

    def apply_raw(self, value: bytes) -> None:
        try:
            command = self._decoder.decode(value)
        except msgspec.DecodeError:
            self.skipped += 1
            return
        self.apply(command)

    def apply(self, command: Any) -> None:
        key = (type(command), command.record_id)
        if key in self._seen:
            return
        if not valid(command):
            self.skipped += 1
            return
        self._seen.add(key)
        self._rules[type(command)](command)

    def _contact(self, contact: RecordContact) -> None:
        month, at = f"{contact.held_on:%Y-%m}", _RECEPTIONS if contact.kind == "reception" else _VISITS
        for dim, key in (("deputy", contact.deputy_code), ("station", contact.station_code)):
            vector = self._contacts[dim].setdefault(key, {}).setdefault(month, [0, 0, 0])
            vector[at] += 1
            vector[_VOTERS] += contact.voters_met

    def _allocated(self, funds: AllocateFunds) -> None:
        fields = {f: getattr(funds, f) for f in Allocation.__struct_fields__}
        self._funds.append(Allocation(**fields))

    def _called(self, call: RecordCallback) -> None:
        fields = {"record_id": call.record_id, "issue_id": call.issue_id, "answer": call.answer, "note": call.note}
        callback = Callback(month=month_of(call.occurred_at), called_by=call.called_by, **fields)
        self._callbacks.append(callback)
        if call.answer != "unreachable":
            self._reached.add(call.issue_id)
        self._pending.setdefault(call.issue_id, []).append(callback)
        self.settle(call.issue_id)

    @property
    def waiting(self) -> bool:
        """Whether any callback waits for its issue's close (the issue follower then calls `settle`)."""
        return bool(self._pending)

    def settle(self, issue_id: str) -> None:
        """Compare the issue's pending callbacks with the satisfaction recorded, once the ledger has it closed;
        flag the handler (once per issue) where a voter's answer differs."""
        if issue_id not in self._pending or (closing := self.ledger.closing(issue_id)) is None:
            return
        recorded, handler = closing
        for callback in self._pending.pop(issue_id):
            callback.recorded, callback.handler_code = recorded, handler
            callback.outcome = outcome(callback.answer, recorded)
            if callback.outcome == "mismatch" and issue_id not in self._flagged:
                self._flagged.add(issue_id)
                self.ledger.flag_callback(issue_id, handler)

    def settle_all(self) -> None:
        for issue_id in list(self._pending):
            self.settle(issue_id)

    # -- reading -------------------------------------------------------------------------------

    def contacts(self, view: RegistryView, *, by: str, period: str) -> list[ContactRow]:
        """Receptions, visits and voters met, by deputy, station, town (the station's town, or its own unit for a
        district station) or month."""
        if by not in CONTACT_BY:
            raise ValueError(f"by must be one of {', '.join(CONTACT_BY)}, not {by!r}")
        check_period(period)
        sums: dict[str, list[int]] = {}
        for key, months in self._contacts["deputy" if by == "deputy" else "station"].items():
            row = _town_of_station(view, key) if by == "town" else key
            for month, vector in months.items():
                if _in_period(month, period):
                    total = sums.setdefault(month if by == "month" else row, [0, 0, 0])
                    for i, n in enumerate(vector):
                        total[i] += n
        return [_contact_row(view, by, key, period, v) for key, v in sorted(sums.items())]

    def training(self, view: RegistryView, *, period: str) -> list[TrainingRow]:
        """Per town (every town of the registry, and any unit with sessions): sessions held in it and its villages,
        and the share of its grid leaders and members who attended at least one session in the period."""
        check_period(period)
        held: dict[str, list[RecordTraining]] = {u.code: [] for u in view.all(AdminUnit) if u.tier == "town"}
        attended: set[str] = set()
        for session in self._sessions:
            if _in_period(f"{session.held_on:%Y-%m}", period):
                held.setdefault(_town_of_unit(view, session.unit_code), []).append(session)
                for code in session.attendee_codes:
                    if view.get(GridRole, code) is not None:
                        attended.add(code)
                    attended.update(view.referrers("deputy_grid_roles", code))
        return [_training_row(view, town, period, sessions, attended) for town, sessions in sorted(held.items())]

    def funds(self, *, period: str) -> FundsReport:
        """Emergency funds allocated in the period: per month and per issue, each issue with its allocations."""
        check_period(period)
        found = sorted((a for a in self._funds if _in_period(a.month, period)), key=lambda a: (a.month, a.record_id))
        months: dict[str, FundsMonth] = {}
        issues: dict[str, FundsIssue] = {}
        for a in found:
            month = months.setdefault(a.month, FundsMonth(month=a.month, amount_yuan=0, allocations=0))
            month.amount_yuan, month.allocations = month.amount_yuan + a.amount_yuan, month.allocations + 1
            issue = issues.setdefault(a.issue_id, FundsIssue(issue_id=a.issue_id, amount_yuan=0, allocations=[]))
            issue.amount_yuan += a.amount_yuan
            issue.allocations.append(a)
        return FundsReport(
            period=period,
            amount_yuan=sum(a.amount_yuan for a in found),
            allocations=len(found),
            months=list(months.values()),
            issues=[issues[i] for i in sorted(issues)],
        )

    def callbacks_due(self, *, share: float, period: str = "all") -> list[DueCallback]:
        """Issues closed in the period, drawn by `sample`, whose voter no callback has reached yet."""
        if not 0 <= share <= 1:
            raise ValueError(f"share must be between 0 and 1, not {share}")
        due = []
        for issue_id, month in self.ledger.closed_issues(period):
            if issue_id not in self._reached and sample(issue_id, share, self.salt):
                recorded, handler = self.ledger.closing(issue_id) or (None, None)
                due.append(DueCallback(issue_id=issue_id, closed_month=month, recorded=recorded, handler_code=handler))
        return due

    def callbacks(self, *, period: str) -> CallbacksReport:
        """The callbacks made in the period, with their outcome, and the mismatches among them."""
        check_period(period)
        self.settle_all()
        made = [c for c in self._callbacks if _in_period(c.month, period)]
        mismatches = [c for c in made if c.outcome == "mismatch"]
        return CallbacksReport(
            period=period,
            done=len(made),
            reached=sum(c.outcome != "unreached" for c in made),
            mismatched=len(mismatches),
            pending=sum(c.outcome == "pending" for c in made),
            callbacks=made,
            mismatches=mismatches,
        )


def _in_period(month: str, period: str) -> bool:
    return period == "all" or month == period or (len(period) == 4 and month.startswith(period))


def _town_of_unit(view: RegistryView, unit_code: str) -> str:
    """The town a unit is in (or is); a unit above the towns, or unknown, stands for itself."""
    return next((u.code for u in view.parent_chain(unit_code) if u.tier == "town"), unit_code)


def _town_of_station(view: RegistryView, station_code: str) -> str:
    station = view.station(station_code)
    return _town_of_unit(view, station.unit_code) if station is not None else station_code


def _contact_row(view: RegistryView, by: str, key: str, period: str, vector: list[int]) -> ContactRow:
    name, kind = key, by
    found: Deputy | Station | AdminUnit | None = None
    if by == "deputy" and (found := view.get(Deputy, key)) is not None:
        name = found.name
    elif by == "station" and (found := view.station(key)) is not None:
        name, kind = found.name, found.kind
    elif by == "town" and (found := view.unit(key)) is not None:
        name, kind = found.name, found.tier
    receptions, visits, voters = vector
    return ContactRow(
        key=key,
        name=name,
        kind=kind,
        period=period,
        receptions=receptions,
        visits=visits,
        contacts=receptions + visits,
        voters_met=voters,
    )


def _training_row(
    view: RegistryView, town: str, period: str, sessions: list[RecordTraining], attended: set[str]
) -> TrainingRow:
    roles = [
        role
        for village in view.subtree(town, tier="village")
        for grid in view.grids_of(village.code)
        for role in view.grid_roles(grid.code)
    ]
    leaders = [r for r in roles if r.role == "grid_leader"]
    members = [r for r in roles if r.role == "grid_member"]
    covered = [r for r in roles if r.code in attended]
    by_audience: dict[str, int] = {}
    for session in sessions:
        by_audience[session.audience] = by_audience.get(session.audience, 0) + 1
    unit = view.unit(town)
    return TrainingRow(
        town=town,
        name=unit.name if unit is not None else town,
        period=period,
        sessions=len(sessions),
        attendees=sum(s.attendees for s in sessions),
        by_audience=by_audience,
        grid_roles=len(roles),
        covered=len(covered),
        coverage=round(len(covered) / len(roles), 4) if roles else 0.0,
        grid_leaders=len(leaders),
        leaders_covered=sum(r.role == "grid_leader" for r in covered),
        grid_members=len(members),
        members_covered=sum(r.role == "grid_member" for r in covered),
    )
