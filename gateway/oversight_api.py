"""Oversight's figures through the gateway: ledgers, supervision, the monthly notice, assessment scores,
rankings, the accountability list and the monthly report (Excel, PDF). The oversight service owns and
computes them; the gateway asks it (`OVERSIGHT_URL`) and passes the answer on."""

from __future__ import annotations

import httpx
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Response

from gateway.access import OVERSIGHT_ROLES
from gateway.auth import requires

API = "/api/v1/oversight"
ANSWERS = {
    "ledgers": "/ledgers",
    "overdue": "/overdue",
    "unreviewed": "/unreviewed",
    "notice": "/notice",
    "assessment": "/assessment",
    "rankings": "/rankings",
    "accountability": "/accountability",
    "monthly-report.xlsx": "/reports/monthly.xlsx",
    "monthly-report.pdf": "/reports/monthly.pdf",
}


class OversightController(Controller):
    path = API
    tags = ["oversight"]
    guards = [requires(*OVERSIGHT_ROLES)]

    @get(
        "/{what:str}",
        operation_id="oversight",
        summary="ledgers (?by=town|unit|handler|category|channel&period=YYYY-MM|YYYY|all&under=), overdue, notice, "
        "assessment (?kind=department|town|village&period=), rankings (?kind=town|village|deputy), accountability, "
        "monthly-report.xlsx / monthly-report.pdf (?month=YYYY-MM)",
    )
    async def answer(self, what: str, request: Request, state: State) -> Response[bytes]:
        if what not in ANSWERS:
            raise NotFoundException(f"no oversight answer {what!r}; answers: {', '.join(ANSWERS)}")
        download = what if what.startswith("monthly-report") else None
        return await ask_oversight(state, ANSWERS[what], request, download=download)


async def ask_oversight(state: State, path: str, request: Request, download: str | None = None) -> Response[bytes]:
    """Pass a read-only question on to the oversight service, and its answer back (503 if it is away)."""
    client: httpx.AsyncClient = state.oversight
    try:
        found = await client.get(path, params=dict(request.query_params))
    except httpx.HTTPError as exc:
        raise HTTPException(status_code=503, detail=f"oversight is unavailable: {exc!r}") from None
    headers = {"Content-Disposition": f'attachment; filename="{download}"'} if download else {}
    content_type = found.headers.get("content-type", "application/json")
    return Response(found.content, status_code=found.status_code, media_type=content_type, headers=headers)
