"""One baseline/follow-up pair of IMACS core set measures: the input of TIS and IMACS DOI.

The shape mirrors one row of the batch file (`myoivig score`): three 0-10 cm VAS globals, HAQ
0-3, MMT-8 on its 0-80 or 0-150 scale, and up to five muscle enzymes with the laboratory's upper
limit of normal. `None` means not measured. Ranges are defined here once and used by both the
one-patient rules and the vectorised batch validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from myoivig.domain.vocab import Enzyme
from myoivig.outcomes.fixed_point import CLINICAL_SCALE, ENZYME_SCALE, to_fixed
from myoivig.outcomes.tis_table import Population

# Scale limits (Aggarwal 2017 criteria; Rider LG et al., Arthritis Care Res 2010;62:465-472 for
# MMT-8; Rider 2011, Arthritis Care Res 63 Suppl 11:S118): VAS 0-10 cm, HAQ-DI 0-3, MMT-8 0-80
# (unilateral) or 0-150 (bilateral).
VAS_MAX = 10
HAQ_MAX = 3
MMT8_SCALES = (80, 150)
# Plausibility limits for enzymes (not clinical constants; they bound the exact integer
# arithmetic, see fixed_point.py): activity 0..1e6 U/L, ULN 0.001..1e4 (µkat/L ULNs are ~0.5).
ENZYME_VALUE_MAX = 1_000_000
ENZYME_ULN_MIN = 0.001
ENZYME_ULN_MAX = 10_000

ENZYME_ORDER: tuple[Enzyme, ...] = (
    Enzyme.CK,
    Enzyme.ALDOLASE,
    Enzyme.AST,
    Enzyme.ALT,
    Enzyme.LDH,
)


class EnzymeRule(StrEnum):
    """How the TIS enzyme percent change is computed (the 2017 criteria do not define it).

    relative: (BL - FU) / BL x 100; the ULN only picks the most abnormal enzyme.
    uln_range: (BL - FU) / (k x ULN) x 100 with per-enzyme k (osgarion/myo_2025_iim, adults:
    k = 15 for CK, 3 for AST/ALT/LDH; aldolase is not in that script and defaults to 3).
    """

    RELATIVE = "relative"
    ULN_RANGE = "uln_range"


DEFAULT_ULN_MULTIPLIERS: Mapping[Enzyme, int] = {
    Enzyme.CK: 15,
    Enzyme.ALDOLASE: 3,
    Enzyme.AST: 3,
    Enzyme.ALT: 3,
    Enzyme.LDH: 3,
}


@dataclass(frozen=True)
class ScoringSettings:
    """Documented choices where the sources are uncertain (docs/outcomes.md, "Settings")."""

    enzyme_rule: EnzymeRule = EnzymeRule.RELATIVE
    uln_multipliers: Mapping[Enzyme, int] = field(
        default_factory=lambda: dict(DEFAULT_ULN_MULTIPLIERS)
    )

    def __post_init__(self) -> None:
        for enzyme in ENZYME_ORDER:
            k = self.uln_multipliers.get(enzyme)
            if not isinstance(k, int) or k <= 0 or k > 1000:
                raise ValueError(
                    f"uln_multipliers[{enzyme.value}] must be an integer 1-1000: {k!r}"
                )


@dataclass(frozen=True)
class Pair:
    baseline: float | None = None
    follow_up: float | None = None

    @property
    def complete(self) -> bool:
        return self.baseline is not None and self.follow_up is not None


@dataclass(frozen=True)
class EnzymeValues:
    baseline: float | None = None
    follow_up: float | None = None
    uln: float | None = None


@dataclass(frozen=True)
class CoreSetChange:
    """Baseline and follow-up core set values of one patient."""

    population: Population = Population.ADULT
    physician_global: Pair = Pair()
    patient_global: Pair = Pair()
    extramuscular: Pair = Pair()
    haq: Pair = Pair()
    mmt8: Pair = Pair()
    mmt8_max: float | None = None  # 80 or 150 (validated)
    enzymes: Mapping[Enzyme, EnzymeValues] = field(default_factory=dict)


@dataclass(frozen=True)
class RangeIssue:
    """One out-of-range or inconsistent input value."""

    field: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.reason}"


class CoreSetError(ValueError):
    """Raised by the one-patient rules when the input has out-of-range values."""

    def __init__(self, issues: list[RangeIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))


def _check_range(
    issues: list[RangeIssue], name: str, value: float | None, low: float, high: float
) -> None:
    if value is None:
        return
    if value != value or value in (float("inf"), float("-inf")):
        issues.append(RangeIssue(name, value, "must be a finite number or blank"))
    elif not low <= value <= high:
        issues.append(RangeIssue(name, value, f"outside {low:g}-{high:g}"))


def validate(change: CoreSetChange) -> list[RangeIssue]:
    """Every out-of-range value, named by its batch column (empty list when valid)."""
    issues: list[RangeIssue] = []
    for name, pair, high in (
        ("physician_global", change.physician_global, VAS_MAX),
        ("patient_global", change.patient_global, VAS_MAX),
        ("extramuscular", change.extramuscular, VAS_MAX),
        ("haq", change.haq, HAQ_MAX),
    ):
        _check_range(issues, f"{name}_bl", pair.baseline, 0, high)
        _check_range(issues, f"{name}_fu", pair.follow_up, 0, high)
    if change.mmt8_max is not None and change.mmt8_max not in MMT8_SCALES:
        issues.append(RangeIssue("mmt8_max", change.mmt8_max, "must be 80 or 150"))
    elif change.mmt8_max is None:
        for suffix, value in (("bl", change.mmt8.baseline), ("fu", change.mmt8.follow_up)):
            if value is not None:
                issues.append(RangeIssue(f"mmt8_{suffix}", value, "needs mmt8_max (80 or 150)"))
    else:
        _check_range(issues, "mmt8_bl", change.mmt8.baseline, 0, change.mmt8_max)
        _check_range(issues, "mmt8_fu", change.mmt8.follow_up, 0, change.mmt8_max)
    for enzyme, values in change.enzymes.items():
        prefix = Enzyme(enzyme).value
        _check_range(issues, f"{prefix}_bl", values.baseline, 0, ENZYME_VALUE_MAX)
        _check_range(issues, f"{prefix}_fu", values.follow_up, 0, ENZYME_VALUE_MAX)
        if values.uln is not None:
            if values.uln != values.uln or not ENZYME_ULN_MIN <= values.uln <= ENZYME_ULN_MAX:
                issues.append(
                    RangeIssue(
                        f"{prefix}_uln", values.uln, f"outside {ENZYME_ULN_MIN}-{ENZYME_ULN_MAX}"
                    )
                )
        elif values.baseline is not None or values.follow_up is not None:
            issues.append(RangeIssue(f"{prefix}_uln", None, "needed when the enzyme is measured"))
    return issues


def require_valid(change: CoreSetChange) -> None:
    issues = validate(change)
    if issues:
        raise CoreSetError(issues)


def most_abnormal_enzyme(change: CoreSetChange) -> Enzyme | None:
    """The enzyme with the largest baseline/ULN ratio (Aggarwal 2017); ties go to the earlier one.

    Only enzymes with a baseline value take part (the choice is made at baseline and kept for
    the follow-up). Ratios are compared exactly by cross-multiplying fixed-point integers.
    """
    best: Enzyme | None = None
    best_bl = 0
    best_uln = 1
    for enzyme in ENZYME_ORDER:
        values = change.enzymes.get(enzyme)
        if values is None or values.baseline is None or values.uln is None:
            continue
        bl = to_fixed(values.baseline, ENZYME_SCALE)
        uln = to_fixed(values.uln, ENZYME_SCALE)
        if best is None or bl * best_uln > best_bl * uln:
            best, best_bl, best_uln = enzyme, bl, uln
    return best


def fixed_pair(pair: Pair) -> tuple[int | None, int | None]:
    """A VAS/HAQ/MMT pair in fixed point (None stays None)."""
    bl = None if pair.baseline is None else to_fixed(pair.baseline, CLINICAL_SCALE)
    fu = None if pair.follow_up is None else to_fixed(pair.follow_up, CLINICAL_SCALE)
    return bl, fu
