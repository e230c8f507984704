"""Oversight's read-only answers, served beside its health endpoint: ledgers, overdue supervision and the
monthly notice, assessment scores, rankings (exemplars), the accountability list, the monthly
report as Excel and PDF, and the records kept beside them (deputies' contacts, training, emergency funds,
callbacks). Everything is computed from the in-memory ledgers and records, which are rebuilt from the
issue and records topics at start."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date

import msgspec

from common.clock import CHINA, Clock, month_of
from common.registry.view import RegistryView
from services.oversight import assessment
from services.oversight.ledger import Ledger, check_period
from services.oversight.records import CONTACT_BY, DEFAULT_SHARE, Records
from services.oversight.reports import monthly_pdf, monthly_workbook
from services.oversight.views import FIGURES, LedgerRow, MonthlyReport

JSON = "application/json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Answer = tuple[int, str, bytes]


def _bad(field: str, reason: str) -> Answer:
    return 400, JSON, msgspec.json.encode({"status_code": 400, "detail": f"{field}: {reason}", "field": field})


def total(rows: list[LedgerRow], key: str, name: str, kind: str, period: str) -> LedgerRow:
    sums = {figure: sum(getattr(r, figure) for r in rows) for figure in FIGURES}
    return LedgerRow(key=key, name=name, kind=kind, period=period, **sums)


class Queries:
    def __init__(
        self,
        ledger: Ledger,
        registry: Callable[[], RegistryView],
        clock: Clock,
        district: str,
        model: assessment.Model,
        records: Records | None = None,
    ) -> None:
        self.ledger, self._registry, self._clock, self.district, self.model = ledger, registry, clock, district, model
        self.records = records if records is not None else Records(ledger)

    @property
    def routes(self) -> dict[str, Callable[[dict[str, str]], Awaitable[Answer]]]:
        return {
            "/ledgers": self.ledgers,
            "/overdue": self.overdue,
            "/unreviewed": self.unreviewed,
            "/notice": self.notice,
            "/assessment": self.assessment,
            "/rankings": self.rankings,
            "/accountability": self.accountability,
            "/reports/monthly.xlsx": self.workbook,
            "/reports/monthly.pdf": self.pdf,
            "/stats": self.stats,
            "/contacts": self.contacts,
            "/training": self.training,
            "/funds": self.funds,
            "/callbacks/due": self.callbacks_due,
            "/callbacks": self.callbacks,
        }

    async def _today(self) -> date:
        return (await self._clock.now()).astimezone(CHINA).date()

    async def _period(self, query: dict[str, str]) -> str:
        return query.get("period") or month_of(await self._clock.now())

    async def ledgers(self, query: dict[str, str]) -> Answer:
        by = query.get("by", "town")
        if by not in ("unit", "town", "handler", "category", "channel"):
            return _bad("by", "one of unit, town, handler, category, channel")
        view = self._registry()
        under = query.get("under")
        if under and view.unit(under) is None:
            return _bad("under", f"no unit {under}")
        rows = self.ledger.rows(view, by=by, period=await self._period(query), today=await self._today(), under=under)
        return 200, JSON, msgspec.json.encode(rows)

    async def overdue(self, query: dict[str, str]) -> Answer:
        return 200, JSON, msgspec.json.encode(self.ledger.overdue(self._registry(), await self._today()))

    async def unreviewed(self, query: dict[str, str]) -> Answer:
        return 200, JSON, msgspec.json.encode(self.ledger.unreviewed(self._registry()))

    async def notice(self, query: dict[str, str]) -> Answer:
        """The monthly notice (通报): overdue referrals by department and by town."""
        items = self.ledger.overdue(self._registry(), await self._today())
        by_department: dict[str, list] = defaultdict(list)
        by_town: dict[str, list] = defaultdict(list)
        for item in items:
            by_department[item.handler_name].append(item)
            by_town[item.town or item.unit].append(item)
        body = {"period": await self._period(query), "by_department": by_department, "by_town": by_town}
        return 200, JSON, msgspec.json.encode(body)

    async def assessment(self, query: dict[str, str]) -> Answer:
        kind = query.get("kind", "department")
        if kind not in self.model.indicators:
            return _bad("kind", f"one of {', '.join(self.model.indicators)}")
        scores = assessment.score(
            self.ledger,
            self._registry(),
            self.model,
            kind=kind,
            period=await self._period(query),
            today=await self._today(),
        )
        return 200, JSON, msgspec.json.encode(scores)

    async def rankings(self, query: dict[str, str]) -> Answer:
        kind = query.get("kind", "town")
        if kind not in ("town", "village", "deputy", "grid_staff"):
            return _bad("kind", "one of town, village, deputy, grid_staff")
        rows = self.ledger.rankings(
            self._registry(), kind=kind, period=await self._period(query), today=await self._today()
        )
        return 200, JSON, msgspec.json.encode(rows)

    async def accountability(self, query: dict[str, str]) -> Answer:
        entries = self.ledger.accountability(self._registry(), await self._today(), await self._period(query))
        return 200, JSON, msgspec.json.encode(entries)

    async def stats(self, query: dict[str, str]) -> Answer:
        return 200, JSON, msgspec.json.encode({"issues": self.ledger.issues_count()})

    async def report(self, month: str) -> MonthlyReport:
        view, today = self._registry(), await self._today()
        district = view.unit(self.district)
        name = district.name if district else self.district
        units = self.ledger.rows(view, by="unit", period=month, today=today)
        scores = [
            s
            for kind in self.model.indicators
            for s in assessment.score(self.ledger, view, self.model, kind=kind, period=month, today=today)
        ]
        return MonthlyReport(
            month=month,
            district=name,
            generated_on=today,
            total=total(units, self.district, name, "district", month),
            towns=self.ledger.rows(view, by="town", period=month, today=today),
            departments=self.ledger.rows(view, by="handler", period=month, today=today),
            categories=self.ledger.rows(view, by="category", period=month, today=today),
            scores=scores,
            overdue=self.ledger.overdue(view, today),
            accountability=self.ledger.accountability(view, today, month),
        )

    async def workbook(self, query: dict[str, str]) -> Answer:
        return 200, XLSX, monthly_workbook(await self.report(await self._month(query)))

    async def pdf(self, query: dict[str, str]) -> Answer:
        return 200, "application/pdf", monthly_pdf(await self.report(await self._month(query)))

    async def _month(self, query: dict[str, str]) -> str:
        month = query.get("month") or month_of(await self._clock.now())
        return month

    # -- records: deputies' contacts, training, emergency funds, callbacks ---------------------

    async def _checked_period(self, query: dict[str, str]) -> str | None:
        period = await self._period(query)
        try:
            return check_period(period)
        except ValueError:
            return None

    async def contacts(self, query: dict[str, str]) -> Answer:
        by = query.get("by", "deputy")
        if by not in CONTACT_BY:
            return _bad("by", f"one of {', '.join(CONTACT_BY)}")
        if (period := await self._checked_period(query)) is None:
            return _bad("period", "YYYY-MM, YYYY or all")
        return 200, JSON, msgspec.json.encode(self.records.contacts(self._registry(), by=by, period=period))

    async def training(self, query: dict[str, str]) -> Answer:
        if (period := await self._checked_period(query)) is None:
            return _bad("period", "YYYY-MM, YYYY or all")
        return 200, JSON, msgspec.json.encode(self.records.training(self._registry(), period=period))

    async def funds(self, query: dict[str, str]) -> Answer:
        if (period := await self._checked_period(query)) is None:
            return _bad("period", "YYYY-MM, YYYY or all")
        return 200, JSON, msgspec.json.encode(self.records.funds(period=period))

    async def callbacks_due(self, query: dict[str, str]) -> Answer:
        """Closed issues drawn for a callback (?share=, default DEFAULT_SHARE; ?period= of closing, default all)."""
        try:
            share = float(query.get("share", DEFAULT_SHARE))
        except ValueError:
            share = -1.0
        if not 0 <= share <= 1:
            return _bad("share", "a number from 0 to 1")
        period = query.get("period", "all")
        try:
            check_period(period)
        except ValueError:
            return _bad("period", "YYYY-MM, YYYY or all")
        self.records.settle_all()
        return 200, JSON, msgspec.json.encode(self.records.callbacks_due(share=share, period=period))

    async def callbacks(self, query: dict[str, str]) -> Answer:
        if (period := await self._checked_period(query)) is None:
            return _bad("period", "YYYY-MM, YYYY or all")
        return 200, JSON, msgspec.json.encode(self.records.callbacks(period=period))
