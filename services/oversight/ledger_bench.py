"""A year of a district's work, simulated as legal issue histories, and the ledger's speed over it.

`Simulator` walks each issue through random legal steps of DESIGN.md section 3 (resolved on the spot or at a
review, escalated tier by tier, assigned with a deadline to one lead and co-handlers, completed on time or late,
unable with a reason, fed back, rated, closed, reopened, carried over, merged, closed by oversight, or left
open). Unit tests fold its histories through `contracts.lifecycle` to prove every step legal.
`python -m services.oversight.ledger_bench [issues]` prints the benchmark's figures as JSON.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter
from typing import Any

import msgspec

from common.clock import CHINA, month_of, next_month
from common.registry.view import HANDLER_KIND_AT_TIER, RegistryView
from contracts.base import IssueEvent
from contracts.issues import (
    IssueAssigned,
    IssueCarriedOver,
    IssueClosed,
    IssueEscalated,
    IssueFedBack,
    IssueMerged,
    IssueRated,
    IssueReceived,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    IssueSupervised,
    IssueTriaged,
    ProgressReported,
    ReferralAccepted,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.registry import Station
from contracts.vocabulary import CATEGORIES, CHANNELS, ISSUE_KINDS, UNABLE_REASONS
from services.oversight.assessment import load_model, score
from services.oversight.ledger import Ledger
from services.registry.demo import demo_district

# What a tier's review decides, with weights (villages resolve most; the district mostly assigns).
DECISIONS = ("resolve", "escalate", "assign", "carry_over", "merge", "oversight_close", "stop")
WEIGHTS = {
    "village": (0.86, 0.11, 0.0, 0.02, 0.004, 0.003, 0.003),
    "town": (0.58, 0.2, 0.17, 0.03, 0.005, 0.005, 0.01),
    "district": (0.2, 0.03, 0.72, 0.03, 0.005, 0.005, 0.01),
    "city": (0.3, 0.0, 0.65, 0.03, 0.005, 0.005, 0.01),
}
ON_SPOT = {"village": 0.45, "town": 0.3, "district": 0.2, "city": 0.0}
SATISFACTION_MIX = (("satisfied", 0.6), ("basically_satisfied", 0.25), ("dissatisfied", 0.15))


class Simulator:
    """Random legal issue histories over a registry, received uniformly over `days` from `start`; `weights`
    replaces some tiers' review decision weights (tests use it to make more referrals)."""

    def __init__(
        self,
        view: RegistryView,
        *,
        seed: int,
        start: datetime,
        days: int,
        weights: dict[str, tuple[float, ...]] | None = None,
    ) -> None:
        self.view, self.rng, self.start, self.span_s = view, random.Random(seed), start, days * 86400
        self.weights = WEIGHTS | (weights or {})
        stations = view.all(Station)
        self.stations = {
            "village": [s.code for s in stations if s.kind == "village_station"],
            "town": [s.code for s in stations if s.kind == "town_center"],
            "other": [s.code for s in stations if s.kind in ("deputies_home", "workroom")],
        }
        self.deputies = {s.code: [d.code for d in view.deputies_at(s.code)] for s in stations}
        self._handlers: dict[tuple[str, str], list[str]] = {}

    def histories(self, issues: int) -> list[list[IssueEvent]]:
        return [self.issue(n) for n in range(1, issues + 1)]

    def handlers(self, unit: str, tier: str, category: str) -> list[str]:
        """The handlers a review at `unit` may assign `category` to: those taking it, else any of the tier's kind."""
        found = self._handlers.get((unit, category))
        if found is None:
            kind = HANDLER_KIND_AT_TIER.get(tier)
            own = [h for h in self.view.handlers_of(unit) if h.kind == kind]
            found = [h.code for h in own if category in h.categories] or [h.code for h in own]
            self._handlers[(unit, category)] = found
        return found

    def issue(self, number: int) -> list[IssueEvent]:
        rng = self.rng
        at = self.start + timedelta(seconds=rng.randrange(self.span_s))
        group = rng.choices(("village", "town", "other"), (0.85, 0.1, 0.05))[0]
        station = rng.choice(self.stations[group] or self.stations["village"])
        walk = _Walk(self, f"HB-{month_of(at).replace('-', '')}-{number:06d}", at)
        walk.receive(station)
        walk.run()
        return walk.events


class _Walk:
    """One issue's random legal walk; tracks just enough of its state to stay legal."""

    def __init__(self, sim: Simulator, issue_id: str, at: datetime) -> None:
        self.sim, self.rng, self.issue_id, self.at = sim, sim.rng, issue_id, at
        self.events: list[IssueEvent] = []
        self.tier = self.unit = self.category = self.waits = ""
        self.received: tuple[str, str] = ("", "")
        self.assigned: tuple[str, str] | None = None
        self.resolved: tuple[str, str] | None = None
        self.escalated, self.referrals, self.deputy = 0, 0, None

    def emit(self, cls: Callable[..., IssueEvent], at: datetime | None = None, **fields: Any) -> None:
        if self.events:
            self.at = max(at or self.at, self.at) + timedelta(minutes=self.rng.randrange(30, 60 * 24 * 6))
        event_id = uuid.UUID(int=self.rng.getrandbits(128))
        self.events.append(cls(event_id=event_id, occurred_at=self.at, issue_id=self.issue_id, **fields))

    def receive(self, station: str) -> None:
        rng = self.rng
        deputies = self.sim.deputies.get(station) or []
        self.deputy = rng.choice(deputies) if deputies and rng.random() < 0.6 else None
        channel = rng.choice(("visit", "reception")) if self.deputy else rng.choice(CHANNELS)
        submission, kind = uuid.UUID(int=rng.getrandbits(128)), rng.choice(ISSUE_KINDS)
        fields = {"channel": channel, "station_code": station, "kind": kind, "deputy_code": self.deputy}
        self.emit(IssueReceived, submission_id=submission, text="…", **fields)
        self.tier, self.unit = self.sim.view.tier_of_station(station)
        self.received, self.category = (self.tier, self.unit), rng.choice(CATEGORIES)
        self.emit(IssueTriaged, category=self.category, responsible_tier=self.tier, responsible_unit=self.unit)
        self.waits = month_of(self.at)

    def run(self) -> None:
        for cycle in range(4):
            outcome = self.review(first=cycle == 0)
            if outcome == "resolved":
                outcome = self.feedback()
            if outcome != "back":
                return

    def review(self, *, first: bool) -> str:
        """The reviews holding the issue decide until it leaves: resolved, assigned (and answered), or ended."""
        rng = self.rng
        if first and (self.tier, self.unit) == self.received and rng.random() < ON_SPOT[self.tier]:
            self.emit(IssueResolvedOnSpot, tier=self.tier, unit=self.unit, resolution="当场解决")
            self.resolved, self.assigned = (self.tier, self.unit), None
            return "resolved"
        while True:
            decision = rng.choices(DECISIONS, self.sim.weights[self.tier])[0]
            handlers = self.sim.handlers(self.unit, self.tier, self.category)
            if (decision == "assign" and not handlers) or (decision == "escalate" and self.tier == "city"):
                decision = "resolve"
            if decision == "escalate":
                self.escalate()
            elif decision == "carry_over":
                month = max(self.waits, month_of(self.at))
                self.emit(IssueCarriedOver, tier=self.tier, unit=self.unit, month=month)
                self.waits = next_month(month)
            elif decision == "resolve":
                self.emit(IssueResolved, tier=self.tier, unit=self.unit, resolution="研判解决")
                self.resolved, self.assigned = (self.tier, self.unit), None
                return "resolved"
            elif decision == "assign":
                return self.assign(handlers)
            elif decision == "merge":
                self.emit(IssueMerged, into_issue_id=f"{self.issue_id[:-6]}999999")
                return "merged"
            else:
                return self.oversight_close() if decision == "oversight_close" else "stop"

    def escalate(self) -> None:
        unit = self.sim.view.unit(self.unit)
        parent = self.sim.view.unit(unit.parent_code or "") if unit else None
        if parent is None:
            raise ValueError(f"{self.unit} has no parent to escalate to")
        city = parent.tier == "city"
        automatic = self.rng.random() < 0.2
        self.emit(
            IssueEscalated,
            from_tier=self.tier,
            from_unit=self.unit,
            to_tier=parent.tier,
            to_unit=parent.code,
            city_linkage=city,
            automatic=automatic,
        )
        self.tier, self.unit, self.escalated, self.waits = (
            parent.tier,
            parent.code,
            self.escalated + 1,
            month_of(self.at),
        )

    def oversight_close(self) -> str:
        self.emit(IssueClosed, tier=self.tier, reason="督查室核实后销号", by_oversight=True, closed_by="oversight")
        return "closed"

    def assign(self, handlers: list[str]) -> str:
        rng = self.rng
        lead = rng.choice(handlers)
        others = [h for h in handlers if h != lead]
        co = tuple(rng.sample(others, min(len(others), rng.randint(1, 2)))) if others and rng.random() < 0.2 else ()
        deadline = self.at.astimezone(CHINA).date() + timedelta(days=rng.randint(15, 40))
        self.emit(IssueAssigned, tier=self.tier, unit=self.unit, handler_code=lead, deadline=deadline, co_handlers=co)
        self.assigned, self.resolved = (self.tier, self.unit), None
        if rng.random() < 0.03:
            return "stop"  # assigned, the referral not sent yet
        self.referrals += 1
        referral = f"R-{self.issue_id}-{self.referrals}"
        sent = {"referral_id": referral, "deadline": deadline, "tier": self.tier, "unit": self.unit}
        self.emit(ReferralSent, handler_code=lead, co_handlers=co, **sent)
        return self.answer(referral, lead, co, deadline)

    def answer(self, referral: str, lead: str, co: tuple[str, ...], deadline: date) -> str:
        rng, reply = self.rng, {"referral_id": referral}
        if rng.random() < 0.6:
            self.emit(ReferralAccepted, handler_code=lead, **reply)
        if rng.random() < 0.3:
            self.emit(ProgressReported, handler_code=lead, note="正在办理", **reply)
        for handler in co:
            if rng.random() < 0.5:
                self.co_reply(handler, reply)
        if rng.random() < 0.05:
            self.emit(IssueSupervised, supervision_id=f"S-{referral}", reason="overdue", referral_id=referral)
        r = rng.random()
        if r < 0.08:
            return "stop"  # still open: in progress (perhaps overdue)
        if r < 0.1:
            return self.oversight_close()
        if r < 0.22:
            why = rng.choice(UNABLE_REASONS)
            self.emit(ReferralUnable, handler_code=lead, reason_code=why, reason="无法办理", **reply)
            self.tier, self.unit = self.assigned or (self.tier, self.unit)
            self.waits = month_of(self.at)
            return "back"
        on_time = rng.random() < 0.75
        due = datetime.combine(deadline, time(), CHINA).astimezone(UTC)
        late = due + timedelta(days=rng.randint(1, 20))
        self.emit(ReferralCompleted, at=None if on_time else late, handler_code=lead, result="已办结", **reply)
        if co and rng.random() < 0.3:
            self.co_reply(rng.choice(co), reply)  # a co-handler reporting after the lead completed
        self.resolved = self.assigned
        return "resolved"

    def co_reply(self, handler: str, reply: dict[str, str]) -> None:
        if self.rng.random() < 0.5:
            self.emit(ReferralCompleted, handler_code=handler, result="配合完成", **reply)
        else:
            self.emit(ReferralUnable, handler_code=handler, reason_code="outside_remit", reason="非本部门职责", **reply)

    def feedback(self) -> str:
        rng = self.rng
        back_to = self.assigned or self.resolved or (self.tier, self.unit)
        if rng.random() < 0.02:
            return "stop"  # resolved, not yet fed back
        self.emit(IssueFedBack, to_deputy=self.deputy, message="办理结果已反馈")
        r = rng.random()
        if r < 0.04:
            self.emit(IssueClosed, tier=back_to[0], reason="选民无法联系", unreachable=True, closed_by="operator")
            return "closed"
        if r < 0.06:
            return "stop"
        satisfaction = rng.choices(*zip(*SATISFACTION_MIX, strict=True))[0]
        self.emit(IssueRated, satisfaction=satisfaction)
        if satisfaction != "dissatisfied":
            if rng.random() < 0.03:
                return "stop"
            self.emit(IssueClosed, tier=back_to[0])
            return "closed"
        if rng.random() < 0.1:
            return self.oversight_close()
        self.emit(IssueReopened, tier=back_to[0], unit=back_to[1], reason="选民不满意")
        self.tier, self.unit, self.waits = back_to[0], back_to[1], month_of(self.at)
        return "back"


def _timed(query: Callable[[], object], runs: int = 7) -> float:
    """Median wall time of `query` in ms."""
    times = []
    for _ in range(runs):
        started = perf_counter()
        query()
        times.append((perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def benchmark(issues: int = 100_000, seed: int = 610902) -> dict[str, Any]:
    """A year of the full demo district's work, encoded as on the topic, folded and queried."""
    view = RegistryView(demo_district("full"))
    started = perf_counter()
    sim = Simulator(view, seed=seed, start=datetime(2025, 1, 1, tzinfo=CHINA), days=365)
    events = sorted((e for history in sim.histories(issues) for e in history), key=lambda e: e.occurred_at)
    encoder = msgspec.json.Encoder()
    values = [encoder.encode(e) for e in events]
    built_s = perf_counter() - started
    ledger = Ledger()
    started = perf_counter()
    for value in values:
        ledger.apply_raw(value)
    fold_s = perf_counter() - started
    today, model = date(2025, 12, 31), load_model()
    result = {
        "issues": ledger.issues_count(),
        "events": len(values),
        "events_per_issue": round(len(values) / issues, 2),
        "skipped": ledger.skipped,
        "simulate_and_encode_s": round(built_s, 2),
        "apply_raw_events_per_s": round(len(values) / fold_s),
        "rows_town_month_ms": _timed(lambda: ledger.rows(view, by="town", period="2025-06", today=today)),
        "rows_handler_year_ms": _timed(lambda: ledger.rows(view, by="handler", period="2025", today=today)),
        "rankings_village_year_ms": _timed(lambda: ledger.rankings(view, kind="village", period="2025", today=today)),
        "rows_unit_all_ms": _timed(lambda: ledger.rows(view, by="unit", period="all", today=today)),
        "overdue_ms": _timed(lambda: ledger.overdue(view, today)),
        "accountability_year_ms": _timed(lambda: ledger.accountability(view, today, "2025")),
        "score_department_year_ms": _timed(
            lambda: score(ledger, view, model, kind="department", period="2025", today=today)
        ),
        "score_village_month_ms": _timed(
            lambda: score(ledger, view, model, kind="village", period="2025-06", today=today)
        ),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
