"""Vial combinations: which bottles to open for one infusion day.

Opened bottles must be used promptly and part-used ones discarded (Octagam 10 % US label,
section 2), so waste is whatever the opened vials hold beyond the day's dose.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from myoivig.protocol.errors import PlanningError

# Vial sizes are multiples of 0.5 g in every catalogued product; sums are exact in half-grams.
UNIT_G = 0.5


@dataclass(frozen=True)
class VialSet:
    """Counts per vial size (g) and their total."""

    counts: tuple[tuple[float, int], ...]  # (size_g, count), largest size first

    @property
    def total_g(self) -> float:
        return sum(size * n for size, n in self.counts)

    @property
    def n_vials(self) -> int:
        return sum(n for _, n in self.counts)


def _units(grams: float, field: str) -> int:
    units = round(grams / UNIT_G)
    if abs(units * UNIT_G - grams) > 1e-9:
        raise PlanningError(field, grams, f"vial sizes must be multiples of {UNIT_G} g")
    return units


@dataclass(frozen=True)
class _Table:
    """Fewest-vial counts for every total (in units) up to a limit, with back-pointers."""

    count: list[int | None]
    last: list[int]

    def combo(self, total: int) -> list[int] | None:
        if self.count[total] is None:
            return None
        out, rest = [], total
        while rest:
            out.append(self.last[rest])
            rest -= self.last[rest]
        return out


def _fewest_vials_table(sizes: list[float], limit_units: int) -> _Table:
    size_units = sorted({_units(s, "vial_sizes_g") for s in sizes}, reverse=True)
    count: list[int | None] = [None] * (limit_units + 1)
    last: list[int] = [0] * (limit_units + 1)
    count[0] = 0
    for total in range(1, limit_units + 1):
        for su in size_units:
            if total < su:
                continue
            prev = count[total - su]
            current = count[total]
            if prev is not None and (current is None or prev + 1 < current):
                count[total], last[total] = prev + 1, su
    return _Table(count, last)


def _to_set(units: list[int]) -> VialSet:
    counts = Counter(u * UNIT_G for u in units)
    return VialSet(tuple(sorted(counts.items(), key=lambda kv: -kv[0])))


def covering_vials(dose_g: float, sizes: list[float]) -> VialSet:
    """The vials to open to give at least `dose_g`: least waste, then fewest vials."""
    return _covering(round(dose_g, 6), tuple(sizes))


@lru_cache(maxsize=4096)
def _covering(dose_g: float, sizes_t: tuple[float, ...]) -> VialSet:
    sizes = list(sizes_t)
    if dose_g <= 0:
        raise PlanningError("daily_dose_g", dose_g, "must be positive")
    need = int(-(-dose_g // UNIT_G)) if dose_g % UNIT_G else round(dose_g / UNIT_G)
    limit = need + _units(max(sizes), "vial_sizes_g")
    table = _fewest_vials_table(sizes, limit)
    for total in range(need, limit + 1):
        combo = table.combo(total)
        if combo is not None:
            return _to_set(combo)
    raise PlanningError("vial_sizes_g", sizes, f"no combination covers {dose_g:g} g")


def nearest_vials(
    dose_g: float, sizes: list[float], tolerance: float, max_g: float | None = None
) -> VialSet:
    """Round a day's dose to whole vials: closest total within +/- tolerance, then fewest vials.

    Ties between an under- and an over-dose of the same size go to the lower dose (less waste
    of a scarce product) [D]. `max_g` is a hard ceiling (a dose limit): totals above it are not
    considered, so rounding never crosses a limit.
    """
    return _nearest(round(dose_g, 6), tuple(sizes), tolerance, max_g)


@lru_cache(maxsize=4096)
def _nearest(
    dose_g: float, sizes_t: tuple[float, ...], tolerance: float, max_g: float | None
) -> VialSet:
    sizes = list(sizes_t)
    if dose_g <= 0:
        raise PlanningError("daily_dose_g", dose_g, "must be positive")
    low, high = dose_g * (1 - tolerance), dose_g * (1 + tolerance)
    if max_g is not None:
        high = min(high, max_g)
    limit = int(high / UNIT_G) + 1
    table = _fewest_vials_table(sizes, limit)
    candidates = [
        (abs(total * UNIT_G - dose_g), total * UNIT_G, n, total)
        for total, n in enumerate(table.count)
        if n and low - 1e-9 <= total * UNIT_G <= high + 1e-9
    ]
    if not candidates:
        ceiling = "" if max_g is None else f" and at or below the limit of {max_g:.1f} g/day"
        raise PlanningError(
            "rounding",
            "vials",
            f"no vial combination of {sizes} g lies within {tolerance:.0%} of {dose_g:.1f} g"
            + ceiling,
        )
    _, _, _, best = min(candidates, key=lambda c: (c[0], c[1], c[2]))
    combo = table.combo(best)
    assert combo is not None
    return _to_set(combo)
