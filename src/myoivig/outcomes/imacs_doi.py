"""IMACS 2004 preliminary definition of improvement (DOI) for adult and juvenile myositis.

Source: Rider LG, Giannini EH, Brunner HI, et al. International consensus on preliminary
definitions of improvement in adult and juvenile myositis. Arthritis Rheum 2004;50:2281-2290:
"3 of any 6 of the core set measures improved by
>=20 %, with no more than 2 worse by >=25 % (which could not include manual muscle testing)".

Choices (documented in docs/outcomes.md):
- percent change is relative to baseline: (BL - FU)/BL, for MMT-8 (FU - BL)/BL (not stated in the
  abstract; the reading of Rider 2004's tables);
- a lower-is-better measure at baseline 0 cannot improve and counts as worse when FU > 0; an
  MMT-8 of 0 at baseline counts as improved when FU > 0 (our rule; the source is silent);
- the enzyme is the most abnormal one at baseline (as for the TIS);
- with missing measures the answer is True/False only when every possible value of the missing
  measures gives the same answer, otherwise None (undetermined).
"""

from __future__ import annotations

from dataclasses import dataclass

from myoivig.outcomes.core_set import (
    CoreSetChange,
    fixed_pair,
    most_abnormal_enzyme,
    require_valid,
)
from myoivig.outcomes.fixed_point import ENZYME_SCALE, to_fixed
from myoivig.outcomes.tis_table import TisMeasure

IMPROVED_PCT = 20  # ">=20 %" improvement (Rider 2004)
WORSE_PCT = 25  # ">=25 %" worsening (Rider 2004)
MIN_IMPROVED = 3  # "3 of any 6"
MAX_WORSE = 2  # "no more than 2 worse", MMT-8 never among them


@dataclass(frozen=True)
class DoiResult:
    improved: tuple[TisMeasure, ...]
    worse: tuple[TisMeasure, ...]
    missing: tuple[TisMeasure, ...]
    responder: bool | None


def relative_change(baseline: int, follow_up: int, higher_is_better: bool) -> tuple[bool, bool]:
    """(improved >=20 %, worse >=25 %) for fixed-point values, decided exactly."""
    gain = follow_up - baseline if higher_is_better else baseline - follow_up
    improved = gain > 0 and gain * 100 >= IMPROVED_PCT * baseline
    worse = gain < 0 and -gain * 100 >= WORSE_PCT * baseline
    return improved, worse


def decide(n_improved: int, n_worse: int, n_missing: int, mmt_state: str) -> bool | None:
    """The DOI rule over counts; `mmt_state` is "worse", "not_worse" or "missing"."""
    if mmt_state == "worse" or n_worse > MAX_WORSE or n_improved + n_missing < MIN_IMPROVED:
        return False
    if n_improved >= MIN_IMPROVED and n_worse + n_missing <= MAX_WORSE and mmt_state != "missing":
        return True
    return None


def imacs_definition_of_improvement(change: CoreSetChange) -> DoiResult:
    """Apply the DOI to one baseline/follow-up pair; raises CoreSetError on bad input."""
    require_valid(change)
    states: dict[TisMeasure, tuple[bool, bool] | None] = {}
    for measure, pair in (
        (TisMeasure.PHYSICIAN_GLOBAL, change.physician_global),
        (TisMeasure.PATIENT_GLOBAL, change.patient_global),
        (TisMeasure.HAQ, change.haq),
        (TisMeasure.EXTRAMUSCULAR, change.extramuscular),
    ):
        bl, fu = fixed_pair(pair)
        states[measure] = None if bl is None or fu is None else relative_change(bl, fu, False)
    bl, fu = fixed_pair(change.mmt8)
    states[TisMeasure.MMT8] = None if bl is None or fu is None else relative_change(bl, fu, True)
    enzyme = most_abnormal_enzyme(change)
    enzyme_state = None
    if enzyme is not None:
        values = change.enzymes[enzyme]
        if values.baseline is not None and values.follow_up is not None:
            enzyme_state = relative_change(
                to_fixed(values.baseline, ENZYME_SCALE),
                to_fixed(values.follow_up, ENZYME_SCALE),
                False,
            )
    states[TisMeasure.ENZYME] = enzyme_state
    improved = tuple(m for m, s in states.items() if s is not None and s[0])
    worse = tuple(m for m, s in states.items() if s is not None and s[1])
    missing = tuple(m for m, s in states.items() if s is None)
    mmt = states[TisMeasure.MMT8]
    mmt_state = "missing" if mmt is None else ("worse" if mmt[1] else "not_worse")
    responder = decide(len(improved), len(worse), len(missing), mmt_state)
    return DoiResult(improved, worse, missing, responder)
