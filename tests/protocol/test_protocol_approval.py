"""Review, override and approval of a stored patient's plan (the service behind pages and API)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from myoivig.clinic.service import Viewer
from myoivig.domain.records import Course, Patient, PatientDossier
from myoivig.domain.vocab import Diagnosis, Sex
from myoivig.protocol.service import (
    ApprovalError,
    Override,
    PatientPlanOptions,
    advise_patient,
    approve_patient_plan,
    override_patient_plan,
    review_patient_plan,
)
from myoivig.protocol.tables import PlanApprovalRow
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError, add_dossier, existing_sites

START = date(2026, 12, 7)
OPTIONS = PatientPlanOptions(weight_kg=70, height_cm=165)


@pytest.fixture
def stored(store: Store) -> Store:
    dossier = PatientDossier(
        patient=Patient(
            code="APP-01", sex=Sex.MALE, birth_year=1960, diagnosis=Diagnosis.POLYMYOSITIS
        ),
        courses=[Course(patient_code="APP-01", course_number=1, product="octagam-10", days=5)],
    )
    with store.unit_of_work("setup") as session:
        add_dossier(session, dossier, existing_sites(session))
    return store


def _approvals(store: Store) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(PlanApprovalRow)) or 0)


def test_a_blocked_plan_cannot_be_approved(stored: Store) -> None:
    reviewed = review_patient_plan(stored, "APP-01", OPTIONS, today=START)
    assert not reviewed.ready_to_give and reviewed.outcome.blocking_codes == ("iga_not_measured",)
    with pytest.raises(ApprovalError, match="iga_not_measured"):
        approve_patient_plan(stored, "APP-01", OPTIONS, "pharm.a", today=START)
    assert _approvals(stored) == 0


def test_override_and_approval_belong_to_one_plan(stored: Store) -> None:
    override = (Override("iga_not_measured", "IgA 2.0 g/L, outside lab"),)
    done = override_patient_plan(stored, "APP-01", OPTIONS, override, "pharm.a", today=START)
    assert done.ready_to_give and not done.approved
    assert [(d.code, d.actor) for d in done.overrides] == [("iga_not_measured", "pharm.a")]
    approved = approve_patient_plan(stored, "APP-01", OPTIONS, "pharm.a", today=START)
    assert approved.approved and approved.approval is not None
    assert approved.approval.actor == "pharm.a"
    again = approve_patient_plan(stored, "APP-01", OPTIONS, "pharm.a", today=START)
    assert again.approved and _approvals(stored) == 1  # approving twice records once
    heavier = PatientPlanOptions(weight_kg=75, height_cm=165)
    other = review_patient_plan(stored, "APP-01", heavier, today=START)
    assert other.outcome.blocked and other.approval is None  # another plan: blocked again
    later = review_patient_plan(stored, "APP-01", OPTIONS, today=date(2026, 12, 8))
    assert later.outcome.blocked  # another start date is another plan


def test_a_viewer_plans_only_patients_they_may_see(stored: Store) -> None:
    north = Viewer(name="x", all_sites=False, site_codes=frozenset({"NORTH"}))
    with pytest.raises(RecordNotFoundError):
        review_patient_plan(stored, "APP-01", OPTIONS, viewer=north, today=START)
    with pytest.raises(RecordNotFoundError):
        advise_patient(stored, "APP-01", viewer=north)
    dossier, advice = advise_patient(stored, "APP-01")
    assert dossier.patient.code == "APP-01" and advice.rule
