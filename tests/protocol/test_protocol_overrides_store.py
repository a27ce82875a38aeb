"""Overrides of blocking alerts for a stored patient land in the audit trail with the actor."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.domain.records import Course, LabResult, Patient, PatientDossier
from myoivig.domain.vocab import Diagnosis, Sex
from myoivig.protocol.service import (
    Override,
    OverrideError,
    PatientPlanOptions,
    plan_patient,
    recorded_overrides,
)
from myoivig.protocol.tables import PlanOverrideRow
from myoivig.store import Store
from myoivig.store.repository import RecordNotFoundError, add_dossier, existing_sites
from myoivig.store.tables import AuditRow

REASON = "anti-IgA negative per lab 2026-11-02"


def _dossier() -> PatientDossier:
    # No IgA on record: the plan is blocked by iga_not_measured.
    return PatientDossier(
        patient=Patient(
            code="SAFE-01",
            sex=Sex.FEMALE,
            birth_year=1970,
            diagnosis=Diagnosis.DERMATOMYOSITIS,
            height_cm=165,
        ),
        courses=[
            Course(patient_code="SAFE-01", course_number=1, product="panzyga", days=5, weight_kg=70)
        ],
        labs=[LabResult(patient_code="SAFE-01", test="egfr", value=90, unit="mL/min/1.73m2")],
    )


@pytest.fixture
def stored(store: Store) -> Store:
    with store.unit_of_work("setup") as session:
        add_dossier(session, _dossier(), existing_sites(session))
    return store


def _count(store: Store, table: type) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_blocked_patient_plan_is_returned_blocked_and_nothing_is_written(stored: Store) -> None:
    outcome = plan_patient(stored, "SAFE-01", actor="nurse.a")
    assert outcome.blocked and outcome.blocking_codes == ("iga_not_measured",)
    assert outcome.plan.infusion is not None  # DM cap on Panzyga applied from the record
    assert outcome.plan.infusion[0].max_rate_ml_per_kg_min == 0.04
    assert _count(stored, PlanOverrideRow) == 0


def test_override_is_written_to_the_audit_trail_with_the_actor(stored: Store) -> None:
    before = _count(stored, AuditRow)
    outcome = plan_patient(
        stored, "SAFE-01", overrides=(Override("iga_not_measured", REASON),), actor="dr.b"
    )
    assert not outcome.blocked
    rows = recorded_overrides(stored, "SAFE-01")
    assert [(r["code"], r["reason"], r["actor"]) for r in rows] == [
        ("iga_not_measured", REASON, "dr.b")
    ]
    assert len(rows[0]["plan_hash"]) == 64 and "panzyga" in rows[0]["plan_summary"]
    with stored.session() as session:
        audit = [
            (row.actor, row.action)
            for row in session.scalars(
                select(AuditRow).where(AuditRow.table_name == "plan_overrides")
            )
        ]
    assert audit == [("dr.b", "insert")]
    assert _count(stored, AuditRow) == before + 1


@pytest.mark.parametrize(
    ("overrides", "actor", "match"),
    [
        ((Override("egfr_not_recorded", "not blocking"),), "dr.b", "not a blocking alert"),
        ((Override("iga_not_measured", "ok"),), "dr.b", "too short"),
        ((Override("iga_not_measured", REASON),), " ", "needs the name"),
    ],
)
def test_refused_override_writes_nothing(
    stored: Store, overrides: tuple[Override, ...], actor: str, match: str
) -> None:
    with pytest.raises(OverrideError, match=match):
        plan_patient(stored, "SAFE-01", overrides=overrides, actor=actor)
    assert _count(stored, PlanOverrideRow) == 0


def test_unknown_patient_is_not_found(stored: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        plan_patient(stored, "NOPE-99", actor="dr.b")


def test_todays_weight_is_checked_against_the_record(stored: Store) -> None:
    outcome = plan_patient(stored, "SAFE-01", PatientPlanOptions(weight_kg=154), actor="x")
    assert "weight_unit_slip" in outcome.blocking_codes  # 70 kg in pounds
    assert outcome.weight_source == "entered today"


def test_plan_cli_exit_codes_and_recorded_override(
    stored: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", stored.url)
    runner = CliRunner()
    blocked = runner.invoke(app, ["plan", "SAFE-01"])
    assert blocked.exit_code == 3 and "NOT READY TO GIVE" in blocked.stdout
    assert "Rate schedule" not in blocked.stdout
    bad = runner.invoke(app, ["plan", "SAFE-01", "--override", "iga_not_measured"])
    assert bad.exit_code == 2 and "iga_not_measured" in bad.stderr
    done = runner.invoke(
        app,
        [
            "plan",
            "SAFE-01",
            "--override",
            f"iga_not_measured={REASON}",
            "--actor",
            "dr.c",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["overrides"][0]["reason"] == REASON
    assert recorded_overrides(stored, "SAFE-01")[0]["actor"] == "dr.c"
    missing = runner.invoke(app, ["plan", "NOPE-99"])
    assert missing.exit_code == 2
