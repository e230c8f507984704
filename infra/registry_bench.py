"""Registry lookups at the demo district's real size, as every part serves them from its local cache.

`python -m infra.registry_bench` prints the figures; `make bench` includes them. Targets (issue #3): a
lookup well under 1 ms, a subtree of all 387 villages under 5 ms. A plain dict read is measured in the
same run as the floor, so the figures can be compared across noisy machines as ratios."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable

from common.registry.view import RegistryView
from contracts.registry import AdminUnit, Station
from services.registry.demo import demo_district


def _timed(calls: list[Callable[[], object]]) -> dict[str, float]:
    samples = []
    for call in calls:
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    samples.sort()
    return {
        "calls": len(samples),
        "median_ms": round(statistics.median(samples), 5),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 5),
        "max_ms": round(samples[-1], 5),
    }


def lookup_figures(rounds: int = 2000, seed: int = 7) -> dict[str, object]:
    started = time.perf_counter()
    entities = demo_district()
    view = RegistryView(entities)
    built_s = time.perf_counter() - started
    rng = random.Random(seed)
    villages = [u.code for u in view.all(AdminUnit) if u.tier == "village"]
    stations = [s.code for s in view.all(Station)]
    plain = {code: code for code in villages}
    categories = ("water_supply", "roads_and_landslides", "hardship", "schooling")

    def sample(make: Callable[[str], Callable[[], object]], codes: list[str], n: int = rounds) -> dict[str, float]:
        return _timed([make(rng.choice(codes)) for _ in range(n)])

    town_of = {v: view.unit(v).parent_code for v in villages}  # type: ignore[union-attr]
    figures: dict[str, object] = {
        "entities": len(entities),
        "view_built_s": round(built_s, 3),
        "floor_dict_get": sample(lambda c: lambda: plain.get(c), villages),
        "parent_chain": sample(lambda c: lambda: view.parent_chain(c), villages),
        "station_and_deputies_of_village": sample(
            lambda c: lambda: (view.stations_of(c), view.deputies_at(c)), villages
        ),
        "tier_of_station": sample(lambda c: lambda: view.tier_of_station(c), stations),
        "in_subtree": sample(lambda c: lambda: view.in_subtree(c, town_of[c]), villages),
        "handlers_for_category_at_town": sample(
            lambda c: lambda: view.handlers_for(rng.choice(categories), town_of[c]),  # type: ignore[arg-type]
            villages,
        ),
        "subtree_all_villages": _timed([lambda: view.subtree("610902", tier="village") for _ in range(200)]),
        "subtree_whole_city": _timed([lambda: view.subtree("6109") for _ in range(200)]),
    }
    assert len(view.subtree("610902", tier="village")) == 387
    return figures


if __name__ == "__main__":
    print(json.dumps(lookup_figures(), indent=2))
