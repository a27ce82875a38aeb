"""Every write is audited with its actor; stale concurrent edits fail instead of overwriting."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm.exc import StaleDataError

from myoivig.demo import load_trial_cohort
from myoivig.store import Store
from myoivig.store.audit import BulkWriteError, ReadOnlySessionError
from myoivig.store.tables import AuditRow, PatientRow


def _patient(session, code: str = "MAS98-01") -> PatientRow:  # type: ignore[no-untyped-def]
    return session.scalars(select(PatientRow).where(PatientRow.code == code)).one()


def test_inserts_are_audited_with_actor(store: Store) -> None:
    load_trial_cohort(store)
    with store.session() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.table_name == "patients")).all()
        assert len(rows) == 16
        assert {r.actor for r in rows} == {"myoivig-demo-loader"}
        assert {r.action for r in rows} == {"insert"}
        assert rows[0].changes["code"].startswith("MAS98-")
        patient = _patient(s)
        assert patient.version == 1 and patient.updated_by == "myoivig-demo-loader"


def test_update_records_diff_version_and_actor(store: Store) -> None:
    load_trial_cohort(store)
    with store.unit_of_work(actor="dr.jones") as s:
        _patient(s).height_cm = 172.0
    with store.session() as s:
        patient = _patient(s)
        assert patient.version == 2 and patient.updated_by == "dr.jones"
        entry = s.scalars(
            select(AuditRow).where(AuditRow.action == "update", AuditRow.record_id == patient.id)
        ).one()
        assert entry.actor == "dr.jones"
        assert entry.changes == {"height_cm": {"from": None, "to": 172.0}}


def test_delete_is_audited(store: Store) -> None:
    load_trial_cohort(store)
    with store.unit_of_work(actor="admin") as s:
        s.delete(_patient(s, "MAS98-16"))
    with store.session() as s:
        deletes = s.scalars(select(AuditRow).where(AuditRow.action == "delete")).all()
        tables = {d.table_name for d in deletes}
        assert {"patients", "courses", "reported_outcomes"} <= tables
        assert s.scalar(select(func.count()).select_from(PatientRow)) == 15


def test_concurrent_edit_never_silently_overwrites(store: Store) -> None:
    load_trial_cohort(store)
    with store.unit_of_work(actor="nurse.a") as first:
        a = _patient(first)
        with store.unit_of_work(actor="nurse.b") as second:
            _patient(second).note = "edited by B"
        a.note = "edited by A"
        with pytest.raises(StaleDataError):
            first.flush()
        first.rollback()
    with store.session() as s:
        assert _patient(s).note == "edited by B"


def test_read_only_session_refuses_writes(store: Store) -> None:
    load_trial_cohort(store)
    with store.session() as s:
        _patient(s).note = "sneaky"
        with pytest.raises(ReadOnlySessionError):
            s.flush()


def test_write_needs_an_actor(store: Store) -> None:
    with pytest.raises(ValueError, match="who is making the change"), store.unit_of_work(actor=" "):
        pass


def test_bulk_statements_are_refused(store: Store) -> None:
    load_trial_cohort(store)
    with pytest.raises(BulkWriteError), store.unit_of_work(actor="admin") as s:
        s.execute(delete(PatientRow))
    assert store.patient_count() == 16
