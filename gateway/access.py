"""Who may see which issue, referral and review: the one place the gateway's scope rules live.

A signed-in account sees an issue when the station that received it, the unit it sits at now or the unit
responsible for it lies in the account's subtree; a handler account sees the issues it holds (or held) a
referral for. Everything outside is answered exactly as if it did not exist (the same 404 and detail), so
guessing another unit's issue numbers or referral ids teaches nothing (DESIGN.md section 7)."""

from __future__ import annotations

from litestar.exceptions import NotFoundException

from common.registry.view import RegistryView
from contracts.lifecycle import IssueState
from gateway.auth import PLATFORM_ADMIN, Principal
from gateway.schemas import IssueView

STAFF_ROLES = ("station_liaison", "station_head", "town_staff", "district_staff", "leader", "oversight", "admin")
INTAKE_ROLES = (*STAFF_ROLES, "deputy")  # who may record an intake at a station of their subtree
REVIEW_ROLES = ("station_head", "town_staff", "district_staff", "leader", "admin")  # who holds a tier's review
OVERSIGHT_ROLES = ("oversight", "district_staff", "leader", "admin")


def station_unit(view: RegistryView, station_code: str) -> str | None:
    station = view.station(station_code)
    return station.unit_code if station is not None else None


def sees_issue(principal: Principal, view: RegistryView, issue: IssueView | IssueState) -> bool:
    if principal.login == PLATFORM_ADMIN:
        return True
    if principal.role == "handler":
        mine = principal.handler_code
        return mine is not None and (issue.handler_code == mine or mine in issue.co_handlers)
    if (
        principal.role == "deputy"
        and principal.deputy_code
        and getattr(issue, "deputy_code", None) == principal.deputy_code
    ):
        return True
    units = (
        station_unit(view, issue.station_code),
        issue.unit,
        getattr(issue, "responsible_unit", None),  # the read model's view
        getattr(issue, "assigned_unit", None),  # the lifecycle's state
    )
    return any(u is not None and principal.sees_unit(view, u) for u in units)


def no_issue(number: str) -> NotFoundException:
    """The one answer for an issue that does not exist and for one the account may not see."""
    return NotFoundException(f"no issue {number}")


def no_referral(referral_id: str) -> NotFoundException:
    return NotFoundException(f"no referral {referral_id}")
