"""The assessment model (考核): indicators and weights from `assessment.toml`, scored from the ledgers.

An indicator's value is numerator / denominator (clamped to 0..1), or 1 minus that when inverted (a rate
that should be low). An indicator whose denominator is 0 does not apply: its line shows value and weight 0,
and the weights of the lines that apply are rescaled to sum to 1, so points = value × weight × 100 and the
score is the sum of its lines' points (0..100). A department, town or village with no applicable indicator
in the period (no work) gets no Score. Departments are the district's (`district_department` handlers),
scored on the referrals they lead; a town is scored on its whole subtree (as `Ledger.rows(by="town")`), a
village on its own figures.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Annotated, Final

import msgspec

from common.registry.view import RegistryView
from contracts.registry import AdminUnit, Handler
from services.oversight.ledger import ALL, Ledger
from services.oversight.views import Score, ScoreLine

MODEL_FILE: Final = Path(__file__).with_name("assessment.toml")
KINDS: Final = {"department": "handler", "town": "town", "village": "unit"}  # kind -> ledger dimension
DERIVED: Final = {  # figures the model may name besides the ledger's own: sums of them
    "rated": ("satisfied", "basically_satisfied", "dissatisfied"),
    "content": ("satisfied", "basically_satisfied"),
    "decided": ("resolved_on_spot", "resolved", "escalated", "assigned"),
    "outcomes": ("resolved_on_spot", "resolved", "completed"),
    "replied": ("completed", "unable"),
    "due": ("completed", "overdue"),
}


class Indicator(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    weight: Annotated[float, msgspec.Meta(ge=0)]
    numerator: str
    denominator: str
    invert: bool = False


class Model(msgspec.Struct, frozen=True, kw_only=True):
    indicators: dict[str, list[Indicator]]  # per kind: department / town / village


def load_model(path: Path | None = None) -> Model:
    """The model in `path` (default: the shipped assessment.toml). Raises ValueError naming what is wrong."""
    try:
        model = msgspec.convert(tomllib.loads((path or MODEL_FILE).read_text("utf-8")), Model)
    except (msgspec.ValidationError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"assessment model {path or MODEL_FILE}: {exc}") from None
    for kind, indicators in model.indicators.items():
        if kind not in KINDS:
            raise ValueError(f"indicators.{kind}: the kinds assessed are {sorted(KINDS)}")
        for indicator in indicators:
            for figure in (indicator.numerator, indicator.denominator):
                if figure not in ALL and figure not in DERIVED:
                    raise ValueError(f"indicators.{kind}.{indicator.name}: unknown figure {figure!r}")
    return model


def figure(figures: dict[str, int], name: str) -> int:
    """A ledger figure, or a derived one (a sum of ledger figures)."""
    return sum(figures.get(part, 0) for part in DERIVED[name]) if name in DERIVED else figures.get(name, 0)


def score(ledger: Ledger, view: RegistryView, model: Model, *, kind: str, period: str, today: date) -> list[Score]:
    """Every department, town or village with work in the period, best first (equal scores share a rank)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    figures = ledger.figures(view, by=KINDS[kind], period=period, today=today)
    bodies: list[Handler | AdminUnit] = (
        [h for h in view.all(Handler) if h.kind == "district_department"]
        if kind == "department"
        else [u for u in view.all(AdminUnit) if u.tier == kind]
    )
    indicators = model.indicators.get(kind, [])
    scored = []
    for body in bodies:
        lines = _lines(indicators, figures.get(body.code, {}))
        if lines:
            total = sum(line.points for line in lines)
            scored.append(
                Score(key=body.code, name=body.name, kind=kind, period=period, score=total, rank=0, lines=lines)
            )
    scored.sort(key=lambda s: (-s.score, s.key))
    for i, item in enumerate(scored):
        item.rank = scored[i - 1].rank if i and scored[i - 1].score == item.score else i + 1
    return scored


def _lines(indicators: list[Indicator], figures: dict[str, int]) -> list[ScoreLine]:
    counted = [(i, figure(figures, i.numerator), figure(figures, i.denominator)) for i in indicators]
    applicable = sum(i.weight for i, _, d in counted if d > 0)
    if applicable <= 0:
        return []
    lines = []
    for indicator, numerator, denominator in counted:
        value, weight = 0.0, 0.0  # not applicable: nothing to count
        if denominator > 0:
            value = min(max(numerator / denominator, 0.0), 1.0)
            value, weight = (1.0 - value if indicator.invert else value), indicator.weight / applicable
        lines.append(
            ScoreLine(
                indicator=indicator.name,
                value=value,
                weight=weight,
                points=value * weight * 100,
                numerator=numerator,
                denominator=denominator,
            )
        )
    return lines


def unable_by_reason(ledger: Ledger, key: str, period: str, *, by: str = "handler") -> dict[str, int]:
    """The "unable" replies of a handler (or unit, category, channel, deputy: `by`) in the period, by reason code."""
    return ledger.unable_reasons(by=by, key=key, period=period)
