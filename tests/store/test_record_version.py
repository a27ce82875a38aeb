"""`record_version` changes with every kind of write to a patient's record (it keys the cached
dossiers of the web pages), and the bulk dossier insert reads back exactly what was written.
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from myoivig.clinic.derived_cache import DOSSIERS, STORED_DIGESTS, dossier_digest
from myoivig.clinic.service import CLI_OPERATOR, load_patient
from myoivig.demo_clinic.scaled import scaled_dossier, scaled_sites
from myoivig.protocol.tables import PlanOverrideRow
from myoivig.store import Store, repository
from myoivig.store.tables import AssessmentRow, LabResultRow, MyometryRow, PatientRow, SiteRow


def _fill(store: Store) -> list[str]:
    dossiers = [scaled_dossier(n, 7) for n in (1, 2, 3)]
    with store.unit_of_work("test") as session:
        sites = {s.site_code: repository.add_site(session, s) for s in scaled_sites()}
        session.flush()
        repository.bulk_add_dossiers(session, dossiers, {c: row.id for c, row in sites.items()})
    with store.session() as session:
        assert repository.load_dossiers(session, [d.patient.code for d in dossiers]) == dossiers
    return [d.patient.code for d in dossiers]


def _version(store: Store, code: str) -> str | None:
    with store.session() as session:
        return repository.record_version(session, code)


def test_every_write_changes_the_version_of_that_patient_only(store: Store) -> None:
    code, other, _ = _fill(store)
    seen = {_version(store, code)}
    untouched = _version(store, other)
    assert _version(store, "NO-SUCH") is None

    def changed() -> None:
        now = _version(store, code)
        assert now not in seen, "a write left the record version unchanged"
        seen.add(now)
        assert _version(store, other) == untouched

    with store.unit_of_work("test") as session:  # a measurement under an assessment
        reading = session.scalars(
            select(MyometryRow)
            .join(AssessmentRow, AssessmentRow.id == MyometryRow.assessment_id)
            .join(PatientRow, PatientRow.id == AssessmentRow.patient_id)
            .where(PatientRow.code == code)
        ).first()
        assert reading is not None
        reading.force_n = (reading.force_n or 0) + 1
    changed()
    with store.unit_of_work("test") as session:  # a deleted lab result
        lab = session.scalars(
            select(LabResultRow).join(PatientRow).where(PatientRow.code == code)
        ).first()
        session.delete(lab)
    changed()
    with store.unit_of_work("test") as session:  # a pharmacist's override (plan table)
        patient_id = session.scalar(select(PatientRow.id).where(PatientRow.code == code))
        session.add(
            PlanOverrideRow(
                patient_id=patient_id,
                plan_hash="0" * 64,
                plan_summary="test",
                code="iga_not_measured",
                severity="block",
                alert_message="test",
                reason="measured elsewhere",
            )
        )
    changed()
    with store.unit_of_work("test") as session:  # the patient's site renamed
        site = session.scalars(
            select(SiteRow).join(PatientRow).where(PatientRow.code == code)
        ).one()
        site.name = "Renamed"
    now = _version(store, code)
    assert now not in seen


def test_a_cached_dossier_is_replaced_after_a_write(store: Store) -> None:
    code, _, _ = _fill(store)
    DOSSIERS.clear()
    with store.session() as session:
        first = load_patient(session, CLI_OPERATOR, code)
        again = load_patient(session, CLI_OPERATOR, code)
    assert again is first and DOSSIERS.hits == 1  # the same object: read once
    with store.unit_of_work("test") as session:
        row = session.scalars(select(PatientRow).where(PatientRow.code == code)).one()
        row.note = "changed after the first view"
    with store.session() as session:
        after = load_patient(session, CLI_OPERATOR, code)
    assert after.patient.note == "changed after the first view"
    assert first.patient.note != after.patient.note


def test_a_stored_dossier_keeps_its_digest_and_a_changed_copy_gets_a_new_one(
    store: Store,
) -> None:
    """The digest taken when a dossier is read is reused for that object only: a copy that
    someone changes (a form's draft, a planner's what-if) is hashed afresh, so its derived
    views (plan, alerts) are never those of the stored record."""
    code, _, _ = _fill(store)
    DOSSIERS.clear()
    with store.session() as session:
        stored = load_patient(session, CLI_OPERATOR, code)
    fresh = hashlib.sha256(stored.model_dump_json().encode("utf-8")).hexdigest()
    assert STORED_DIGESTS.digest_of(stored) == fresh
    assert dossier_digest(stored) == fresh
    draft = stored.model_copy(deep=True)
    assert STORED_DIGESTS.digest_of(draft) is None
    draft.patient.note = "a what-if change"
    assert dossier_digest(draft) != fresh
