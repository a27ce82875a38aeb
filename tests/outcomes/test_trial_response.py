"""The trial's response rule and remission grades."""

from __future__ import annotations

from myoivig.outcomes.enzymes import EnzymeChange
from myoivig.outcomes.trial_response import TrialOutcome, classify_trial_response, trial_responder


def test_responder_needs_both_improvements() -> None:
    assert trial_responder(True, True) is True
    assert trial_responder(True, False) is False
    assert trial_responder(None, False) is False
    assert trial_responder(True, None) is None


def test_remission_grades() -> None:
    ck_ok = EnzymeChange(1932, 29, 200)
    ck_high = EnzymeChange(1230, 256, 200)
    assert classify_trial_response(True, True, ck_ok, True, True).outcome is (
        TrialOutcome.COMPLETE_REMISSION
    )
    assert classify_trial_response(True, True, ck_high, True, True).outcome is (
        TrialOutcome.PARTIAL_REMISSION
    )
    assert classify_trial_response(True, True, ck_ok, None, True).outcome is (
        TrialOutcome.REMISSION_UNDETERMINED
    )
    no = classify_trial_response(False, False, EnzymeChange(460, 910, 200))
    assert no.outcome is TrialOutcome.NO_RESPONSE and no.ck_normal_after is False
    assert no.ck_percent_change is not None and round(no.ck_percent_change, 1) == 97.8
    assert classify_trial_response(None, True).outcome is TrialOutcome.UNDETERMINED
