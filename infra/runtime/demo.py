"""Demo data for `make run`: the demo district through the roster import, then a dozen intakes.

Both load through the public API, as an office would. Loading again (every `make run`) changes
nothing: an import of rosters equal to the registry changes nothing, and each intake carries its own
Idempotency-Key."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from common.registry import rosters
from contracts.registry import ENTITY_NAMES, Entity, entity_name
from services.registry.demo import demo_district

# (channel, station code, kind, text, voter name, phone)
DEMO_INTAKES = (
    ("visit", "610902001001", "problem", "村里垃圾好几天没人清理，堆在路边发臭", "王秀英", "13800001234"),
    ("reception", "610902001001", "problem", "二组自来水管损坏，饮水困难已经三天", "李建国", "13912345678"),
    ("reception", "610902001002", "problem", "邻里因宅基地边界起纠纷，请求调解", "张桂兰", "13700004321"),
    ("hotline", "610902002003", "problem", "家中老人患大病，住院费负担重，申请医疗救助", "陈明", "15800006789"),
    ("online", "610902002", "suggestion", "建议镇上为养殖户提供产业贴息贷款", "刘强", "13600002468"),
    ("window", "610902003004", "problem", "新农合医保报销比例不清楚，希望有人解释", "赵芳", "13500001357"),
    ("visit", "610902003004", "problem", "通村公路雨后滑坡，路面塌方影响出行", "孙伟", "13400009753"),
    ("program", "610902", "opinion", "孩子上学路远，希望开通校车", None, None),
    ("reception", "610902004", "problem", "返乡务工人员就业难，希望组织技能培训和招聘", "周磊", "13300008642"),
    ("hotline", "610902004001", "problem", "低保申请提交两个月没有回音，生活困难", "吴敏", "13200007531"),
    ("online", "610902005002", "suggestion", "建议在村委会旁修建公共厕所，改善卫生", "郑洁", None),
    ("visit", "610902005002", "opinion", "希望代表多来村里走访，听听大家的意见", None, None),
)


def load_demo(gateway_url: str, admin_password: str) -> int:
    """Submit the demo intakes as the stations would (signed in); return how many the gateway accepted."""
    accepted = 0
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        client.headers.update(admin_headers(client, admin_password))
        for n, (channel, station, kind, text, name, phone) in enumerate(DEMO_INTAKES, 1):
            voter = {k: v for k, v in (("name", name), ("phone", phone)) if v} or None
            body = {"channel": channel, "station_code": station, "kind": kind, "text": text, "voter": voter}
            response = client.post("/api/v1/intakes", json=body, headers={"Idempotency-Key": f"demo-{n:03d}"})
            accepted += response.status_code == 202
    return accepted


ADMIN = "platform-admin"
DEMO_LOGINS = ("admin", "oversight", "district", "town", "liaison", "head", "handler", "deputy", "leader")


def admin_headers(client: httpx.Client, password: str) -> dict[str, str]:
    """Sign in as the platform's first administrator; the headers that carry the session."""
    response = client.post("/api/v1/auth/sign-in", json={"login": ADMIN, "password": password})
    if response.status_code != 200:
        raise RuntimeError(f"could not sign in as {ADMIN} ({response.status_code}): {response.text[:300]}")
    return {"Authorization": f"Bearer {response.json()['token']}"}


def set_demo_passwords(gateway_url: str, admin_password: str, out: Path) -> Path:
    """Give each demo login (one per role) a password, written to `out` (0600), never printed."""
    lines = []
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        headers = admin_headers(client, admin_password)
        for login in DEMO_LOGINS:
            password = f"demo-{login}-{secrets.token_urlsafe(6)}"
            response = client.put(f"/api/v1/auth/passwords/{login}", json={"password": password}, headers=headers)
            if response.status_code == 204:
                lines.append(f"{login}\t{password}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write("\n".join(lines) + "\n")
    return out


def load_demo_registry(
    gateway_url: str, entities: Sequence[Entity] | None = None, *, admin_password: str
) -> dict[str, int]:
    """Import the demo district one roster (.xlsx) per kind, parents first, as the platform's first
    administrator; return the entities each import created or changed. Raises RuntimeError with the
    registry's problems if one is refused."""
    entities = demo_district() if entities is None else entities
    changed: dict[str, int] = {}
    with httpx.Client(base_url=gateway_url, timeout=120) as client:
        headers = admin_headers(client, admin_password)
        for kind in ENTITY_NAMES:
            of_kind = [e for e in entities if entity_name(e) == kind]
            if not of_kind:
                continue
            workbook = rosters.export_xlsx(of_kind, [kind])
            files = {"data": (f"{kind}.xlsx", workbook, "application/octet-stream")}
            response = client.post("/api/v1/registry/imports", files=files, headers=headers)
            deadline = time.monotonic() + 600
            while response.status_code == 202 and time.monotonic() < deadline:  # a busy machine: ask again
                time.sleep(0.5)
                response = client.get(response.json()["status_url"], headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"demo {kind} roster refused ({response.status_code}): {response.text[:2000]}")
            changed[kind] = response.json()["put"]
    return changed
