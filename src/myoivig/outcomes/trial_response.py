"""The trial's response rule (Mastaglia et al., J Neurol Neurosurg Psychiatry 1998;65:107-110).

The paper's table reports, per patient, "Functional improvement" (+/-) and "Change in MRC grades"
(+/-; >= 1 level in >= 4 muscle groups, see strength_grades.py), plus the myometer % change and
serum CK before and after. Its abstract counts as responders the patients who "responded to IVIg
with partial or complete remission of disease and normalisation of serum creatine kinase".

Definitions used here (the paper does not define remission; these are ours, documented in
docs/outcomes.md):
- responder: functional improvement AND MRC improvement (both "+" in the table). CK change is
  reported next to it but is not part of the rule, because the table's responders include CK
  values whose normalisation cannot be checked without the laboratory ULN.
- complete remission: responder, CK at or below the ULN after IVIg, full strength (every graded
  trial muscle group at Kendall 10) and every functional task possible.
- partial remission: responder that does not meet complete remission.
- remission undetermined: responder, but the data needed to tell complete from partial are missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from myoivig.outcomes.enzymes import EnzymeChange


class TrialOutcome(StrEnum):
    NO_RESPONSE = "no_response"
    PARTIAL_REMISSION = "partial_remission"
    COMPLETE_REMISSION = "complete_remission"
    REMISSION_UNDETERMINED = "remission_undetermined"
    UNDETERMINED = "undetermined"  # response itself not determinable (missing or not performed)


@dataclass(frozen=True)
class TrialResponse:
    responder: bool | None
    outcome: TrialOutcome
    ck_percent_change: float | None
    ck_normal_after: bool | None


def trial_responder(
    functional_improvement: bool | None, mrc_improvement: bool | None
) -> bool | None:
    """Both improvements required; False as soon as one is known to be absent."""
    if functional_improvement is False or mrc_improvement is False:
        return False
    if functional_improvement is None or mrc_improvement is None:
        return None
    return True


def classify_trial_response(
    functional_improvement: bool | None,
    mrc_improvement: bool | None,
    ck: EnzymeChange | None = None,
    full_strength_after: bool | None = None,
    all_tasks_possible_after: bool | None = None,
) -> TrialResponse:
    """Responder status and remission grade for one patient (see module docstring)."""
    responder = trial_responder(functional_improvement, mrc_improvement)
    ck_pct = None if ck is None else ck.percent_change
    ck_normal = None if ck is None else ck.normal_after
    if responder is None:
        outcome = TrialOutcome.UNDETERMINED
    elif not responder:
        outcome = TrialOutcome.NO_RESPONSE
    else:
        criteria = (ck_normal, full_strength_after, all_tasks_possible_after)
        if any(c is False for c in criteria):
            outcome = TrialOutcome.PARTIAL_REMISSION
        elif all(c is True for c in criteria):
            outcome = TrialOutcome.COMPLETE_REMISSION
        else:
            outcome = TrialOutcome.REMISSION_UNDETERMINED
    return TrialResponse(responder, outcome, ck_pct, ck_normal)
