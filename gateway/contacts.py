"""A voter's contact, unmasked, for those who handle the issue, and the record of every such view.

Everyone else sees the masked form only (张* 138****1234, in the issue's `voter`). Handling the issue
means: the station that received it, the unit whose review holds it now, or the handler holding its
referral (and the platform's first administrator). Each unmasked view is appended to the Valkey stream
`gw:audit:unmasked` (who, when, which issue, and the account's role) before the answer leaves, and the
oversight office reads that record through `GET /api/v1/audit/unmasked`. The contact itself is kept
sealed (`common.pii`), never logged. A photo's view (`gateway.photos`) goes into the same record, its
`what` saying "photo" (entries from before `what` was written read as "contact")."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, Parameter

from common.pii import Sealer
from common.registry.view import RegistryView
from gateway.access import STAFF_ROLES, no_issue, sees_issue, station_unit
from gateway.auth import PLATFORM_ADMIN, Principal, requires
from gateway.schemas import IssueView

log = logging.getLogger(__name__)
AUDIT = "gw:audit:unmasked"
AUDIT_KEPT = 1_000_000  # entries; about 190 days of a busy district's calls back


def contact_key(submission_id: str) -> str:
    return f"gw:contact:{submission_id}"


class Contact(msgspec.Struct, kw_only=True, omit_defaults=True):
    number: str
    name: str | None = None
    phone: str | None = None
    address: str | None = None


class UnmaskedView(msgspec.Struct, kw_only=True):
    at: str
    login: str
    role: str
    number: str
    what: str = "contact"  # or "photo"
    photo_id: str | None = None


async def record_view(redis: Any, principal: Principal, number: str, what: str = "contact", photo_id: str = "") -> None:
    """Append one view of personal data to the audit stream: called before the data leaves the gateway."""
    entry = {"login": principal.login, "role": principal.role, "number": number, "at": str(time.time()), "what": what}
    if photo_id:
        entry["photo_id"] = photo_id
    await redis.xadd(AUDIT, entry, maxlen=AUDIT_KEPT, approximate=True)


def handles(principal: Principal, view: RegistryView, issue: IssueView) -> bool:
    """Whether the account handles the issue (see the module's docstring): only they see the voter unmasked."""
    if principal.login == PLATFORM_ADMIN:
        return True
    if principal.role == "handler":
        return principal.handler_code is not None and principal.handler_code in (issue.handler_code, *issue.co_handlers)
    receiving = station_unit(view, issue.station_code)
    return principal.unit_code is not None and principal.unit_code in (receiving, issue.unit)


class ContactController(Controller):
    path = "/api/v1"
    tags = ["personal data"]

    @get(
        "/issues/{number:str}/contact",
        operation_id="voterContact",
        summary="The voter's contact, unmasked, for those handling the issue; every view is recorded",
        guards=[requires(*STAFF_ROLES, "handler")],
    )
    async def contact(self, request: Request, number: FromPath[str], state: State) -> Contact:
        principal: Principal = request.state.principal
        issue = await state.issues.issue(number)
        if issue is None or not sees_issue(principal, state.registry.view, issue):
            raise no_issue(number)
        if not handles(principal, state.registry.view, issue):
            raise PermissionDeniedException("only those handling the issue see the voter's contact")
        submission = await state.redis.get(f"gw:submission-of:{number}")
        sealed = await state.redis.get(contact_key(submission.decode())) if submission else None
        await record_view(state.redis, principal, number)  # recorded before it is shown
        log.info("voter contact shown", extra={"issue_id": number, "login": principal.login})
        if not sealed:
            return Contact(number=number)  # no contact was given (or it came before contacts were sealed)
        sealer: Sealer = state.sealer
        found = sealer.open(sealed.decode())
        return Contact(number=number, name=found.name, phone=found.phone, address=found.address)

    @get(
        "/audit/unmasked",
        operation_id="unmaskedViews",
        summary="Who saw which voter's contact or photo, and when (newest first; ?number=, ?login= or ?what=)",
        guards=[requires("oversight", "admin")],
    )
    async def audit(
        self,
        state: State,
        number: FromQuery[str | None] = None,
        login: FromQuery[str | None] = None,
        what: FromQuery[str | None] = None,
        limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
    ) -> list[UnmaskedView]:
        found: list[UnmaskedView] = []
        last = "+"
        while len(found) < limit:
            batch = await state.redis.xrevrange(AUDIT, max=last, min="-", count=1000)
            for _, fields in batch:
                row = {k.decode(): v.decode() for k, v in fields.items()}
                seen = row.get("what", "contact")
                if (number and row["number"] != number) or (login and row["login"] != login) or (what and seen != what):
                    continue
                at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(row["at"])))
                found.append(
                    UnmaskedView(
                        at=at,
                        login=row["login"],
                        role=row["role"],
                        number=row["number"],
                        what=seen,
                        photo_id=row.get("photo_id"),
                    )
                )
            if len(batch) < 1000:
                break
            last = f"({batch[-1][0].decode()}"
        return found[:limit]
