"""Throughput of the protocol engine: full course plans and vial rounding.

Run: .venv/bin/python benchmarks/protocol_plan.py [n_plans]
Prints plans per second for a batch of varied patients (dosing weight, dose, vials, per-day rate
schedule and safety review each time). Peer: the vial search (dynamic programme over half-gram
totals) against brute-force enumeration of every vial multiset, on the same daily doses; both
must choose the same total and vial count.
"""

from __future__ import annotations

import itertools
import random
import sys
import time

from myoivig.domain.vocab import BloodGroup, Diagnosis, Sex
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.planner import PlanRequest, plan_course
from myoivig.protocol.regimens import load_regimens
from myoivig.protocol.safety import Risk
from myoivig.protocol.settings import ProtocolSettings, Rounding
from myoivig.protocol.vials import covering_vials, nearest_vials


def requests(n: int, seed: int = 1) -> list[PlanRequest]:
    rng = random.Random(seed)
    products = [k for k, p in load_catalogue().products.items() if p.myositis_profile]
    risks = list(Risk)
    out = []
    for _ in range(n):
        sex = rng.choice([Sex.FEMALE, Sex.MALE])
        height = rng.uniform(150, 195)
        weight = rng.uniform(45, 140)
        out.append(
            PlanRequest(
                regimen=rng.choice(["2g/kg", "2g/kg-then-1g/kg", "1g/kg"]),
                sex=sex,
                age=rng.randint(18, 85),
                weight_kg=weight,
                height_cm=height,
                days=rng.randint(2, 5),
                product=rng.choice(products),
                iga_g_per_l=rng.choice([None, 0.05, 1.5]),
                egfr=rng.choice([None, 25.0, 50.0, 90.0]),
                blood_group=rng.choice(list(BloodGroup)),
                risks=frozenset(rng.sample(risks, rng.randint(0, 2))) - {Risk.CORN_ALLERGY},
                diagnosis=rng.choice([*Diagnosis, None]),
            )
        )
    return out


def brute_force_covering(dose_g: float, sizes: list[float]) -> tuple[float, int]:
    """Peer: try every count of every size; least waste, then fewest vials."""
    best: tuple[float, int] | None = None
    ranges = [range(int(dose_g // s) + 2) for s in sizes]
    for counts in itertools.product(*ranges):
        total = sum(c * s for c, s in zip(counts, sizes, strict=True))
        if total + 1e-9 < dose_g:
            continue
        key = (round(total - dose_g, 6), sum(counts))
        if best is None or key < best:
            best = key
    assert best is not None
    return round(dose_g + best[0], 6), best[1]


def vial_peer(n: int = 60, seed: int = 2) -> None:
    rng = random.Random(seed)
    sizes = [2.0, 5.0, 10.0, 20.0, 30.0]  # Octagam 10 %
    doses = [round(rng.uniform(10, 80), 2) for _ in range(n)]
    t0 = time.perf_counter()
    ours = [covering_vials(d, sizes) for d in doses]
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    peer = [brute_force_covering(d, sizes) for d in doses]
    t_peer = time.perf_counter() - t0
    same = all(
        abs(o.total_g - p[0]) < 1e-6 and o.n_vials == p[1] for o, p in zip(ours, peer, strict=True)
    )
    print(
        f"vial search, {n} doses 10-80 g, Octagam 10 % sizes: dp={t_ours * 1e3:.1f} ms "
        f"brute_force={t_peer * 1e3:.1f} ms speedup={t_peer / t_ours:,.0f}x same_choice={same}"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    load_catalogue(), load_regimens()  # parse and validate once, outside the timing
    batch = requests(n)
    for rounding in Rounding:
        settings = ProtocolSettings(rounding=rounding)
        t0 = time.perf_counter()
        steps = 0
        for req in batch:
            plan = plan_course(req, settings=settings)
            steps += sum(len(d.steps) for d in plan.infusion or ())
        dt = time.perf_counter() - t0
        print(
            f"rounding={rounding.value:5s} plans={n} time={dt:.3f}s "
            f"plans_per_s={n / dt:,.0f} us_per_plan={dt / n * 1e6:.0f} rate_steps={steps}"
        )
    t0 = time.perf_counter()
    covering_vials(200, [0.5, 2.5, 5, 10, 20])
    nearest_vials(200, [0.5, 2.5, 5, 10, 20], 0.1)
    ms = (time.perf_counter() - t0) * 1e3
    print(f"worst-case vial search (200 g/day, 0.5 g vials): {ms:.1f} ms")
    vial_peer()


if __name__ == "__main__":
    main()
