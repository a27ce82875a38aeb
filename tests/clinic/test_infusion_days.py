"""Infusion days of a course: storage and audit round trip, the rules (day in course, dose,
rate steps against the applicable maximum with its source), stale edits and who may write.

Storage tests run on SQLite and PostgreSQL (`store` fixture). Values are made up for testing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from myoivig.accounts.service import add_site
from myoivig.clinic import recording
from myoivig.clinic.infusion_checks import DayProblem, check_infusion_day, rate_cap_for
from myoivig.clinic.recording import InfusionRules, RecordRejectedError, StaleEditError
from myoivig.clinic.service import Viewer, course_infusion_days, load_patient
from myoivig.domain import records as r
from myoivig.domain.vocab import Diagnosis, LabTest, Sex
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.dossier import DECLARED_UNKNOWN, record_at_risk
from myoivig.protocol.safety import SRC_CLASS_AT_RISK, SRC_LOCAL_AT_RISK, AtRisk
from myoivig.protocol.service import plan_dossier
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings
from myoivig.store import Store
from myoivig.store.audit_log import AuditEntry, audit_entries
from myoivig.store.repository import RecordNotFoundError, add_dossier
from myoivig.store.tables import SiteRow

START = date(2025, 3, 3)
NURSE = Viewer(name="nurse.north", all_sites=False, site_codes=frozenset({"NORTH"}))
SOUTH = Viewer(name="nurse.south", all_sites=False, site_codes=frozenset({"SOUTH"}))
RESEARCHER = Viewer(name="rita", all_sites=True, pseudonymised=True, pseudonym_key=b"k" * 32)


def _course(code: str, product: str) -> r.Course:
    return r.Course(
        patient_code=code,
        course_number=1,
        product=product,
        start_date=START,
        days=3,
        planned_daily_dose_g=35,
        weight_kg=70,
    )


def _egfr(code: str, value: float, taken: date = START - timedelta(days=7)) -> r.LabResult:
    return r.LabResult(
        patient_code=code, sample_date=taken, test=LabTest.EGFR, value=value, unit="mL/min/1.73m2"
    )


def _facts(
    birth_year: int | None = 1975, height_cm: float | None = 165, age_at_entry: int | None = None
) -> r.Patient:
    return r.Patient(
        code="X1",
        sex=Sex.FEMALE,
        diagnosis=Diagnosis.DERMATOMYOSITIS,
        birth_year=birth_year,
        height_cm=height_cm,
        age_at_entry=age_at_entry,
    )


# Age 50, eGFR 90 a week before, BMI 25.7: no risk found, but the risk factors declared in the
# planner are not stored, so the record cannot tell.
NO_RISK_FOUND = record_at_risk(_facts(), [_egfr("X1", 90)], START, 70, DEFAULT_SETTINGS)


def _patient(
    store: Store,
    code: str,
    diagnosis: Diagnosis,
    product: str,
    birth_year: int | None = 1975,  # 50 on the course's start
    height_cm: float | None = 165,  # BMI 25.7 at the course's 70 kg
    egfr: float | None = 90,
) -> None:
    """A patient whose age, eGFR and BMI show no thrombosis or renal risk unless told otherwise
    (the record still cannot tell: declared risk factors are not stored)."""
    patient = r.Patient(
        code=code,
        site_code="NORTH",
        sex=Sex.FEMALE,
        diagnosis=diagnosis,
        birth_year=birth_year,
        height_cm=height_cm,
    )
    dossier = r.PatientDossier(
        patient=patient,
        courses=[_course(code, product)],
        labs=[] if egfr is None else [_egfr(code, egfr)],
    )
    with store.unit_of_work("setup") as session:
        sites = {row.site_code: row for row in session.scalars(select(SiteRow))}
        add_dossier(session, dossier, sites)


@pytest.fixture
def clinic(store: Store) -> Store:
    add_site(store, "setup", "NORTH", "North clinic", "NZ")
    _patient(store, "DM1", Diagnosis.DERMATOMYOSITIS, "octagam-10")
    _patient(store, "DM2", Diagnosis.DERMATOMYOSITIS, "privigen")
    _patient(store, "PM1", Diagnosis.POLYMYOSITIS, "privigen")
    _patient(store, "OLD", Diagnosis.DERMATOMYOSITIS, "octagam-10", birth_year=1950)  # 75
    _patient(store, "KID", Diagnosis.POLYMYOSITIS, "privigen", egfr=45)  # renal risk
    _patient(store, "NOLAB", Diagnosis.DERMATOMYOSITIS, "octagam-10", egfr=None)
    return store


def day_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "day_number": 1,
        "infusion_date": START.isoformat(),
        "lot_number": "A1234B",
        "dose_g": 35,
        "volume_ml": 350,
        "rate_steps": [
            {"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30},
            {"rate": 0.02, "unit": "ml_per_kg_min", "minutes": 30},
            {"rate": 0.03, "unit": "ml_per_kg_min", "minutes": 130},
        ],
        "total_minutes": 190,
        "reactions": [{"type": "headache", "ctcae_grade": 1, "action": "slowed"}],
        "given_by": "Nurse Hana",
        "note": "premedicated with paracetamol",
    }
    data.update(changes)
    return data


# Octagam 10 % in dermatomyositis: the label maximum 0.04 mL/kg/min, above the at-risk 0.03.
FAST_STEPS = [
    {"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30},
    {"rate": 0.02, "unit": "ml_per_kg_min", "minutes": 30},
    {"rate": 0.04, "unit": "ml_per_kg_min", "minutes": 95},
]


def _audit(store: Store) -> list[AuditEntry]:
    with store.session() as session:
        return audit_entries(session, table_name="infusion_days").entries[::-1]


def test_a_day_round_trips_and_every_change_is_audited(clinic: Store) -> None:
    saved = recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data())
    assert saved.product == "octagam-10"  # defaults to the course's product
    with clinic.session() as session:
        dossier = load_patient(session, NURSE, "DM1")
        [(stored, version)] = course_infusion_days(session, NURSE, "DM1", 1)
    assert dossier.infusion_days == [stored]
    assert stored == saved and version == 1
    assert [s.rate for s in stored.rate_steps] == [0.01, 0.02, 0.03]
    assert stored.reactions[0].action is not None and stored.reactions[0].action.value == "slowed"

    edited, new_version = recording.update_infusion_day(
        clinic, NURSE, "DM1", 1, 1, day_data(lot_number="C9876D", reactions=[]), version
    )
    assert edited.lot_number == "C9876D" and new_version == 2
    recording.delete_infusion_day(clinic, NURSE, "DM1", 1, 1, new_version)

    insert, update, delete = _audit(clinic)
    assert (insert.action, update.action, delete.action) == ("insert", "update", "delete")
    assert {insert.actor, update.actor, delete.actor} == {"nurse.north"}
    assert insert.changes["lot_number"] == "A1234B"
    assert insert.changes["rate_steps"][2] == {
        "rate": 0.03,
        "unit": "ml_per_kg_min",
        "minutes": 130,
    }
    assert update.changes["lot_number"] == {"from": "A1234B", "to": "C9876D"}
    assert update.changes["reactions"]["to"] == []
    assert delete.changes["lot_number"] == "C9876D"
    with clinic.session() as session:
        assert load_patient(session, NURSE, "DM1").infusion_days == []
        trail = recording.patient_audit_trail(session, NURSE, "DM1")
    assert sum(e.table_name == "infusion_days" for e in trail.entries) == 3


def _problems(error: pytest.ExceptionInfo[RecordRejectedError]) -> dict[str, str]:
    return {p.field: p.message for p in error.value.problems}


def test_a_rate_above_the_label_maximum_names_step_value_and_source(clinic: Store) -> None:
    steps = [
        {"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30},
        {"rate": 0.06, "unit": "ml_per_kg_min", "minutes": 60},
    ]
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(rate_steps=steps))
    message = _problems(error)["rate_steps.1.rate"]
    assert "step 2: rate 0.06 mL/kg/min is above the maximum 0.04 mL/kg/min" in message
    assert "Octagam 10 % US prescribing information" in message
    assert not error.value.confirmable
    # Refused: nothing written, no audit entry.
    assert _audit(clinic) == []
    assert "rate_steps.1.rate: step 2" in str(error.value)


def test_a_pump_rate_is_converted_with_the_course_weight(clinic: Store) -> None:
    # 70 kg x 0.04 mL/kg/min x 60 = 168 mL/h is the cap; 200 mL/h is above it.
    steps = [{"rate": 200, "unit": "ml_per_h", "minutes": 60}]
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(rate_steps=steps))
    assert "200 mL/h = 0.0476 mL/kg/min" in _problems(error)["rate_steps.0.rate"]
    assert not error.value.confirmable
    # 126 mL/h = 0.03 mL/kg/min, the at-risk maximum: saved without a question.
    ok = [{"rate": 126, "unit": "ml_per_h", "minutes": 60}]
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(rate_steps=ok, total_minutes=60))
    # 168 mL/h = 0.04 mL/kg/min, the label maximum: above the at-risk one, so confirmed.
    label = [{"rate": 168, "unit": "ml_per_h", "minutes": 60}]
    data = day_data(day_number=2, rate_steps=label, total_minutes=60)
    with pytest.raises(RecordRejectedError) as unsure:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, data)
    assert unsure.value.confirmable
    assert (
        "168 mL/h = 0.04 mL/kg/min is above the at-risk maximum 0.03"
        in (_problems(unsure)["rate_steps.0.rate"])
    )
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, data, confirmed=True)


def test_the_dermatomyositis_cap_is_the_site_setting_class_wide(clinic: Store) -> None:
    # Privigen's own maximum (PI/CIDP) is 0.08 mL/kg/min; dermatomyositis is capped at 0.04.
    fast = [{"rate": 0.06, "unit": "ml_per_kg_min", "minutes": 60}]
    data = day_data(rate_steps=fast, volume_ml=None, total_minutes=None)
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM2", 1, data)
    message = _problems(error)["rate_steps.0.rate"]
    assert "maximum 0.04 mL/kg/min for Privigen (dermatomyositis cap)" in message
    assert "dermatomyositis_rate_cap" in message
    assert not error.value.confirmable
    # Polymyositis: the label maximum 0.08; 0.06 is above the at-risk 0.03, so confirmed.
    with pytest.raises(RecordRejectedError) as unsure:
        recording.add_infusion_day(clinic, NURSE, "PM1", 1, data)
    assert unsure.value.confirmable
    recording.add_infusion_day(clinic, NURSE, "PM1", 1, data, confirmed=True)
    no_cap = InfusionRules(
        load_catalogue(), DEFAULT_SETTINGS.model_copy(update={"dermatomyositis_rate_cap": False})
    )
    recording.add_infusion_day(clinic, NURSE, "DM2", 1, data, rules=no_cap, confirmed=True)


def test_day_and_date_must_lie_in_the_course(clinic: Store) -> None:
    late = (START + timedelta(days=5)).isoformat()
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(
            clinic, NURSE, "DM1", 1, day_data(day_number=4, infusion_date=late)
        )
    problems = _problems(error)
    assert "day_number 4 is beyond course 1's 3 planned day(s)" in problems["day_number"]
    assert "outside course 1 (2025-03-03 to 2025-03-05)" in problems["infusion_date"]
    with pytest.raises(RecordNotFoundError):
        recording.add_infusion_day(clinic, NURSE, "DM1", 2, day_data())


def test_lot_number_is_required_short_and_printable(clinic: Store) -> None:
    for lot, expected in (
        ("", "lot number is required"),
        ("X" * 41, "at most 40 characters"),
        ("A12\x1b34", "only printable characters"),
    ):
        with pytest.raises(RecordRejectedError) as error:
            recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data(lot_number=lot))
        assert expected in _problems(error)["lot_number"]


def test_a_dose_above_the_daily_dose_needs_confirming(clinic: Store) -> None:
    data = day_data(dose_g=40, volume_ml=400)  # daily dose 35 g + 10 % = 38.5 g
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, data)
    assert error.value.confirmable
    assert (
        "dose_g 40 g is more than course 1's daily dose 35 g plus 10 %"
        in _problems(error)["dose_g"]
    )
    saved = recording.add_infusion_day(clinic, NURSE, "DM1", 1, data, confirmed=True)
    assert saved.dose_g == 40
    with pytest.raises(RecordRejectedError) as duplicate:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, data, confirmed=True)
    assert "already recorded" in _problems(duplicate)["day_number"]


def test_a_stale_edit_writes_nothing_and_says_what_changed(clinic: Store) -> None:
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data())
    recording.update_infusion_day(clinic, NURSE, "DM1", 1, 1, day_data(lot_number="THEIRS1"), 1)
    with pytest.raises(StaleEditError) as stale:
        recording.update_infusion_day(clinic, NURSE, "DM1", 1, 1, day_data(lot_number="MINE22"), 1)
    assert stale.value.current_version == 2
    assert [(c.field, c.theirs, c.yours) for c in stale.value.changes] == [
        ("lot_number", "THEIRS1", "MINE22")
    ]
    with pytest.raises(StaleEditError):
        recording.delete_infusion_day(clinic, NURSE, "DM1", 1, 1, 1)
    with clinic.session() as session:
        [(day, version)] = course_infusion_days(session, NURSE, "DM1", 1)
    assert (day.lot_number, version) == ("THEIRS1", 2)


def test_other_sites_cannot_write_and_researchers_see_no_names(clinic: Store) -> None:
    with pytest.raises(RecordNotFoundError):
        recording.add_infusion_day(clinic, SOUTH, "DM1", 1, day_data())
    recording.add_infusion_day(clinic, NURSE, "DM1", 1, day_data())
    with pytest.raises(RecordNotFoundError):
        recording.update_infusion_day(clinic, SOUTH, "DM1", 1, 1, day_data(), 1)
    with clinic.session() as session:
        with pytest.raises(RecordNotFoundError):
            course_infusion_days(session, RESEARCHER, "DM1", 1)  # clinic codes are not theirs
        alias = load_patient(session, RESEARCHER, _alias(session)).patient.code
        [(day, _)] = course_infusion_days(session, RESEARCHER, alias, 1)
        dossier = load_patient(session, RESEARCHER, alias)
    assert day.patient_code == alias and day.given_by is None and day.note is None
    assert day.lot_number == "A1234B"
    assert dossier.infusion_days == [day]


def _alias(session: Any) -> str:
    from myoivig.clinic.service import pseudonym

    return pseudonym("DM1", RESEARCHER.pseudonym_key)


def test_the_rules_are_pure_functions_of_day_course_and_catalogue() -> None:
    course = _course("X1", "intragam")  # not in the catalogue: rates cannot be checked
    day = r.InfusionDay.model_validate(
        {**day_data(), "patient_code": "X1", "course_number": 1, "product": None}
    )
    found = check_infusion_day(
        day, course, Diagnosis.POLYMYOSITIS, load_catalogue(), DEFAULT_SETTINGS, NO_RISK_FOUND
    )
    assert [(p.field, p.needs_confirmation) for p in found] == [("product", True)]
    assert "'intragam' has no per-kg maximum rate" in found[0].message


# --- the at-risk maximum (thrombosis or renal risk) ------------------------------------------


def test_the_record_says_whether_a_patient_is_at_risk_on_the_day() -> None:
    labs = [_egfr("X1", 90)]
    # Nothing in age, eGFR or BMI: the declared risk factors still cannot be ruled out.
    assert NO_RISK_FOUND.at_risk is None and NO_RISK_FOUND.reasons == ()
    assert NO_RISK_FOUND.unknown == (DECLARED_UNKNOWN,)
    assert DECLARED_UNKNOWN.startswith("declared risk factors (previous thrombosis, ")
    for named in ("diabetes", "sepsis", "paraproteinaemia", "nephrotoxic drugs", "migraine"):
        assert named in DECLARED_UNKNOWN
    assert DECLARED_UNKNOWN.endswith("entered in the dose planner, not stored in the record)")
    old = record_at_risk(_facts(birth_year=1950), labs, START, 70, DEFAULT_SETTINGS)
    assert old.at_risk is True and old.thrombosis and old.renal and old.reasons == ("age 75",)
    assert record_at_risk(_facts(birth_year=1960), labs, START, 70).at_risk is True  # 65
    assert record_at_risk(_facts(birth_year=1961), labs, START, 70).at_risk is None  # 64
    low = record_at_risk(_facts(), [_egfr("X1", 45)], START, 70, DEFAULT_SETTINGS)
    assert low.renal and not low.thrombosis and low.reasons == ("eGFR 45",)
    obese = record_at_risk(_facts(), labs, START, 90, DEFAULT_SETTINGS)  # BMI 33.1
    assert obese.thrombosis and obese.reasons == ("BMI 33.1",)
    # The latest eGFR taken by the day counts; one taken after it does not.
    later = [_egfr("X1", 40, START - timedelta(days=20)), _egfr("X1", 90)]
    assert record_at_risk(_facts(), later, START, 70).at_risk is None
    after = [_egfr("X1", 90, START + timedelta(days=1))]
    unknown = record_at_risk(_facts(), after, START, 70, DEFAULT_SETTINGS)
    assert unknown.at_risk is None and unknown.unknown == ("eGFR", DECLARED_UNKNOWN)
    none = record_at_risk(_facts(birth_year=None, height_cm=None), [], START, None)
    assert none.at_risk is None
    assert none.unknown == ("age", "eGFR", "BMI (weight and height)", DECLARED_UNKNOWN)
    # Age at entry stands in for a birth year when it already shows a risk (age only grows);
    # a risk found needs nothing else.
    entered = record_at_risk(_facts(birth_year=None, age_at_entry=70), [], START, None)
    assert entered.at_risk is True and entered.reasons == ("age 70",)
    # A younger age at entry may have passed the limit since: the age is unknown.
    young = record_at_risk(_facts(birth_year=None, age_at_entry=40), labs, START, 70)
    assert young.at_risk is None and young.reasons == ()
    assert young.unknown[0] == "age (only the age at entry, 40, is recorded: no birth year)"


def test_an_egfr_older_than_the_planners_freshness_limit_is_unknown_unless_low() -> None:
    """The planner's lab_recency_days (30 days by default) also bounds the eGFR the record
    check uses: an old normal eGFR is unknown; an old low one still shows the risk."""
    limit = DEFAULT_SETTINGS.lab_recency_days
    fresh = record_at_risk(_facts(), [_egfr("X1", 90, START - timedelta(days=limit))], START, 70)
    assert fresh.unknown == (DECLARED_UNKNOWN,)
    taken = START - timedelta(days=limit + 1)
    stale = record_at_risk(_facts(), [_egfr("X1", 90, taken)], START, 70, DEFAULT_SETTINGS)
    assert stale.at_risk is None and stale.unknown == (
        f"a current eGFR (the latest, {taken.isoformat()}, is more than {limit} days before "
        "the day: setting lab_recency_days)",
        DECLARED_UNKNOWN,
    )
    old_low = record_at_risk(_facts(), [_egfr("X1", 45, taken)], START, 70, DEFAULT_SETTINGS)
    assert old_low.at_risk is True and old_low.reasons == ("eGFR 45",)
    longer = DEFAULT_SETTINGS.model_copy(update={"lab_recency_days": limit + 1})
    assert record_at_risk(_facts(), [_egfr("X1", 90, taken)], START, 70, longer).unknown == (
        DECLARED_UNKNOWN,
    )


def test_the_planner_and_the_record_share_one_at_risk_rule() -> None:
    """The stored patient's plan (`plan_dossier`, as the patient page's next course) applies
    the at-risk maximum exactly when the record check finds the patient at risk, and cites the
    same source for it."""
    catalogue = load_catalogue()
    for birth_year, egfr, weight in (
        (1975, 90, 70),
        (1950, 90, 70),
        (1975, 45, 70),
        (1975, 90, 95),
    ):
        patient = _facts(birth_year=birth_year)
        course = _course("X1", "octagam-10").model_copy(update={"weight_kg": weight})
        dossier = r.PatientDossier(patient=patient, courses=[course], labs=[_egfr("X1", egfr)])
        plan = plan_dossier(dossier, today=START).plan
        risk = record_at_risk(patient, dossier.labs, START, weight, DEFAULT_SETTINGS)
        assert plan.safety.at_risk is (risk.at_risk is True), (birth_year, egfr, weight)
        assert plan.infusion is not None
        cap = rate_cap_for("octagam-10", patient.diagnosis, catalogue, DEFAULT_SETTINGS, True)
        assert cap is not None
        if risk.at_risk:
            assert plan.infusion[0].max_rate_ml_per_kg_min == cap.max_ml_per_kg_min
            notice = next(a for a in plan.alerts if a.code == "at_risk_rate_cap")
            assert notice.source == cap.source


def _check(
    rate: float,
    risk: AtRisk,
    product: str = "octagam-10",
    diagnosis: Diagnosis = Diagnosis.DERMATOMYOSITIS,
    unit: str = "ml_per_kg_min",
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> list[DayProblem]:
    course = _course("X1", product)
    steps = [{"rate": 0.01, "unit": "ml_per_kg_min", "minutes": 30}]
    steps.append({"rate": rate, "unit": unit, "minutes": 60})
    day = r.InfusionDay.model_validate(
        {**day_data(rate_steps=steps, volume_ml=None), "patient_code": "X1", "course_number": 1}
    )
    return check_infusion_day(day, course, diagnosis, load_catalogue(), settings, risk)


AT_RISK_SOURCE = load_catalogue().cite(
    load_catalogue()
    .product("octagam-10")
    .rate_profiles["dermatomyositis"]
    .at_risk_max_ml_per_kg_min.source
)
AT_RISK = record_at_risk(_facts(birth_year=1950), [_egfr("X1", 90)], START, 70, DEFAULT_SETTINGS)
UNKNOWN = record_at_risk(_facts(), [], START, 70, DEFAULT_SETTINGS)


def test_above_the_at_risk_maximum_is_an_error_for_a_patient_at_risk() -> None:
    catalogue = load_catalogue()
    label = catalogue.cite(
        catalogue.product("octagam-10")
        .rate_profiles["dermatomyositis"]
        .at_risk_max_ml_per_kg_min.source
    )
    [problem] = _check(0.035, AT_RISK)
    assert problem.field == "rate_steps.1.rate" and not problem.needs_confirmation
    assert problem.message == (
        "step 2: rate 0.035 mL/kg/min is above the at-risk maximum 0.03 mL/kg/min for "
        "Octagam 10 % (label at-risk figure): the patient is at risk of thrombosis or renal "
        f"dysfunction (age 75); source: {label}"
    )
    assert _check(0.03, AT_RISK) == [] and _check(0.02, AT_RISK) == []  # at and below
    # A pump rate: 70 kg x 0.03 mL/kg/min x 60 = 126 mL/h.
    assert _check(126, AT_RISK, unit="ml_per_h") == []
    [pump] = _check(130, AT_RISK, unit="ml_per_h")
    assert "130 mL/h = 0.031 mL/kg/min is above the at-risk maximum 0.03" in pump.message
    # Above the label maximum too: the message names the maximum for this patient.
    [fast] = _check(0.06, AT_RISK)
    assert "above the at-risk maximum 0.03 mL/kg/min" in fast.message


def test_no_risk_in_age_egfr_and_bmi_still_needs_confirming_above_the_at_risk_maximum() -> None:
    """The defect: age 40, eGFR 90, BMI 24 and a step between the at-risk (0.03) and the label
    (0.04) maximum was saved silently, though the patient may be at risk through a factor only
    the planner asks about. Now it is a confirmable problem that says why."""
    patient = _facts(birth_year=START.year - 40, height_cm=170)  # 70 kg: BMI 24.2
    risk = record_at_risk(patient, [_egfr("X1", 90)], START, 70, DEFAULT_SETTINGS)
    assert risk.at_risk is None and risk.reasons == ()
    [problem] = _check(0.035, risk)
    assert problem.needs_confirmation and problem.field == "rate_steps.1.rate"
    assert problem.message == (
        "step 2: rate 0.035 mL/kg/min is above the at-risk maximum 0.03 mL/kg/min for "
        f"Octagam 10 % (label at-risk figure; source: {AT_RISK_SOURCE}), and whether the "
        "patient is at risk of thrombosis or renal dysfunction cannot be told from the record "
        f"(not known: {DECLARED_UNKNOWN})"
    )
    assert _check(0.03, risk) == [] and _check(0.02, risk) == []  # at and below: no question
    [problem] = _check(0.045, risk)  # above the label maximum: always an error
    assert "above the maximum 0.04 mL/kg/min for Octagam 10 % (label)" in problem.message
    assert not problem.needs_confirmation


def test_an_unknown_at_risk_status_needs_confirming_above_the_at_risk_maximum() -> None:
    [problem] = _check(0.04, UNKNOWN)
    assert problem.needs_confirmation and problem.field == "rate_steps.1.rate"
    assert "above the at-risk maximum 0.03 mL/kg/min for Octagam 10 % (label at-risk" in (
        problem.message
    )
    assert f"cannot be told from the record (not known: eGFR; {DECLARED_UNKNOWN})" in (
        problem.message
    )
    assert _check(0.03, UNKNOWN) == []
    [error] = _check(0.045, UNKNOWN)  # above the applicable maximum: still an error
    assert not error.needs_confirmation and "above the maximum 0.04" in error.message


def test_the_at_risk_basis_is_the_label_the_site_or_the_class_default() -> None:
    # Privigen's label gives no at-risk figure: the class-wide 3 mg/kg/min (0.03 mL/kg/min of a
    # 10 % product) unless the site sets its own cap.
    [problem] = _check(0.05, AT_RISK, "privigen", Diagnosis.POLYMYOSITIS)
    assert (
        "above the at-risk maximum 0.03 mL/kg/min for Privigen (class default, setting "
        "class_at_risk_max_mg_per_kg_min)"
    ) in problem.message
    assert problem.message.endswith(f"source: {SRC_CLASS_AT_RISK}")
    local = DEFAULT_SETTINGS.model_copy(update={"local_at_risk_max_ml_per_kg_min": 0.02})
    [site] = _check(0.025, AT_RISK, "privigen", Diagnosis.POLYMYOSITIS, settings=local)
    assert "at-risk maximum 0.02 mL/kg/min for Privigen (local setting" in site.message
    assert site.message.endswith(f"source: {SRC_LOCAL_AT_RISK}")
    assert _check(0.03, NO_RISK_FOUND, "privigen", Diagnosis.POLYMYOSITIS) == []
    [unsure] = _check(0.05, NO_RISK_FOUND, "privigen", Diagnosis.POLYMYOSITIS)
    assert unsure.needs_confirmation and "at-risk maximum 0.03" in unsure.message


def test_the_dermatomyositis_cap_and_the_at_risk_maximum_together() -> None:
    # Dermatomyositis on Privigen: 0.04 mL/kg/min (class-wide DM cap); at risk the class
    # default 0.03 is lower and applies.
    assert _check(0.03, NO_RISK_FOUND, "privigen") == []
    [unsure] = _check(0.04, NO_RISK_FOUND, "privigen")
    assert unsure.needs_confirmation
    [problem] = _check(0.035, AT_RISK, "privigen")
    assert "at-risk maximum 0.03 mL/kg/min for Privigen (class default" in problem.message
    # A site cap above the DM cap: the DM cap is the lower, so it is the maximum named.
    local = DEFAULT_SETTINGS.model_copy(update={"local_at_risk_max_ml_per_kg_min": 0.05})
    assert _check(0.04, AT_RISK, "privigen", settings=local) == []
    [dm] = _check(0.045, AT_RISK, "privigen", settings=local)
    assert "above the maximum 0.04 mL/kg/min for Privigen (dermatomyositis cap)" in dm.message
    # Nothing to ask when the at-risk maximum is not lower than the applicable one.
    assert _check(0.04, UNKNOWN, "privigen", settings=local) == []


def test_a_recorded_day_above_the_at_risk_maximum_is_refused_and_not_saved(clinic: Store) -> None:
    with clinic.session() as session:
        about = recording.course_for_infusion(session, NURSE, "OLD", 1)
    assert about.cap is not None and about.cap.max_ml_per_kg_min == 0.03
    assert about.cap.basis == "label_at_risk" and about.caps.risk.reasons == ("age 75",)
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(
            clinic, NURSE, "OLD", 1, day_data(rate_steps=FAST_STEPS), confirmed=True
        )
    message = _problems(error)["rate_steps.2.rate"]
    assert "step 3: rate 0.04 mL/kg/min is above the at-risk maximum 0.03 mL/kg/min" in message
    assert not error.value.confirmable and _audit(clinic) == []
    slow = day_data(rate_steps=[{"rate": 0.03, "unit": "ml_per_kg_min", "minutes": 155}])
    recording.add_infusion_day(clinic, NURSE, "OLD", 1, slow)
    # An edit is checked the same way.
    with pytest.raises(RecordRejectedError):
        recording.update_infusion_day(
            clinic, NURSE, "OLD", 1, 1, day_data(rate_steps=FAST_STEPS), 1, confirmed=True
        )
    # eGFR 45 on Privigen (polymyositis): the class default 0.03 mL/kg/min.
    fast = day_data(
        rate_steps=[{"rate": 0.05, "unit": "ml_per_kg_min", "minutes": 60}], volume_ml=None
    )
    with pytest.raises(RecordRejectedError) as renal:
        recording.add_infusion_day(clinic, NURSE, "KID", 1, fast)
    assert "(eGFR 45); source: class-wide default" in _problems(renal)["rate_steps.0.rate"]


def test_a_day_for_a_patient_without_an_egfr_is_saved_once_confirmed(clinic: Store) -> None:
    fast = day_data(rate_steps=FAST_STEPS)
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "NOLAB", 1, fast)
    assert error.value.confirmable and _audit(clinic) == []
    assert "(not known: eGFR; declared risk factors" in _problems(error)["rate_steps.2.rate"]
    saved = recording.add_infusion_day(clinic, NURSE, "NOLAB", 1, fast, confirmed=True)
    assert saved.rate_steps[2].rate == 0.04


def test_the_defect_a_day_above_the_at_risk_maximum_is_not_saved_silently(
    clinic: Store,
) -> None:
    """DM1: age 50, eGFR 90, BMI 25.7. A step at the label maximum 0.04 mL/kg/min (above the
    at-risk 0.03) was saved without a question; now only once the writer confirms."""
    fast = day_data(rate_steps=FAST_STEPS)
    with pytest.raises(RecordRejectedError) as error:
        recording.add_infusion_day(clinic, NURSE, "DM1", 1, fast)
    assert error.value.confirmable and _audit(clinic) == []
    message = _problems(error)["rate_steps.2.rate"]
    assert "step 3: rate 0.04 mL/kg/min is above the at-risk maximum 0.03 mL/kg/min" in message
    assert f"cannot be told from the record (not known: {DECLARED_UNKNOWN})" in message
    saved = recording.add_infusion_day(clinic, NURSE, "DM1", 1, fast, confirmed=True)
    assert saved.rate_steps[2].rate == 0.04 and len(_audit(clinic)) == 1
    # An edit back above the at-risk maximum asks again.
    with pytest.raises(RecordRejectedError) as edit:
        recording.update_infusion_day(clinic, NURSE, "DM1", 1, 1, {**fast, "lot_number": "B2"}, 1)
    assert edit.value.confirmable
