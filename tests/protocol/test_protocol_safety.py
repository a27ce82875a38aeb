"""Safety checks: the issue's "done means" cases and each alert family."""

from __future__ import annotations

from datetime import date

import pytest

from myoivig.domain.vocab import AntibodyResult, BloodGroup, Diagnosis, Sex
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.planner import CoursePlan, PlanRequest, plan_course
from myoivig.protocol.safety import (
    Alert,
    CourseFacts,
    PatientFacts,
    Risk,
    Severity,
    review,
)

CAT = load_catalogue()


def codes(alerts: object) -> dict[str, Severity]:
    return {a.code: a.severity for a in alerts}  # type: ignore[attr-defined]


def base(**kw: object) -> PatientFacts:
    facts: dict[str, object] = {
        "age": 50,
        "iga_g_per_l": 2.0,
        "egfr": 95.0,
        "diagnosis": Diagnosis.POLYMYOSITIS,
        "ruled_out": frozenset({Risk.FRUCTOSE_INTOLERANCE, Risk.HYPERPROLINAEMIA}),
    }
    facts.update(kw)
    return PatientFacts(**facts)  # type: ignore[arg-type]


def course(product: str = "octagam-10", days: int = 5, g_per_kg: float | None = 2.0) -> CourseFacts:
    daily = None if g_per_kg is None else g_per_kg / days
    return CourseFacts(CAT.product(product), days, g_per_kg, daily_g_per_kg=daily)


def test_clean_patient_only_gets_the_maltose_warning() -> None:
    result = review(base(blood_group=BloodGroup.O), course(), CAT)
    assert codes(result.alerts) == {"maltose_glucose_meter": Severity.WARNING}
    assert not result.blocked and not result.at_risk


def test_no_iga_result_blocks() -> None:
    result = review(base(iga_g_per_l=None), course("privigen"), CAT)
    assert codes(result.alerts)["iga_not_measured"] is Severity.BLOCK
    assert result.blocked
    assert result.alerts[0].severity is Severity.BLOCK  # most severe first


def test_iga_deficiency_blocks_until_anti_iga_recorded() -> None:
    unknown = review(base(iga_g_per_l=0.05), course("privigen"), CAT)
    assert codes(unknown.alerts)["iga_deficiency_anti_iga_unknown"] is Severity.BLOCK
    positive = review(
        base(iga_g_per_l=0.05, anti_iga=AntibodyResult.POSITIVE), course("privigen"), CAT
    )
    assert codes(positive.alerts)["iga_deficiency_anti_iga_positive"] is Severity.BLOCK
    negative = review(
        base(iga_g_per_l=0.05, anti_iga=AntibodyResult.NEGATIVE), course("privigen"), CAT
    )
    assert codes(negative.alerts)["iga_deficiency_anti_iga_negative"] is Severity.WARNING
    assert not negative.blocked


def test_elderly_two_day_standard_dose_warns() -> None:
    result = review(base(age=72), course(days=2, g_per_kg=2.0), CAT)
    found = [a for a in result.alerts if a.code == "elderly_rapid_standard_dose"]
    assert found and found[0].severity is Severity.WARNING
    assert "Mastaglia" in found[0].source
    assert "elderly_rapid_standard_dose" not in codes(review(base(age=72), course(), CAT).alerts)
    assert "elderly_rapid_standard_dose" not in codes(
        review(base(age=50), course(days=2), CAT).alerts
    )


def test_egfr_below_30_renal_alerts_and_non_sucrose_suggestion() -> None:
    result = review(base(egfr=25.0), course("sandoglobulin"), CAT)
    found = codes(result.alerts)
    assert found["renal_severe_impairment"] is Severity.WARNING
    assert found["renal_sucrose_product"] is Severity.BLOCK
    suggestion = next(a for a in result.alerts if a.code == "renal_use_non_sucrose_product")
    assert "Privigen" in suggestion.message and "Sandoglobulin" not in suggestion.message
    assert result.renal_risk and result.at_risk
    # With a sucrose-free product the suggestion still appears (keep sucrose-free).
    ok = review(base(egfr=25.0), course("privigen"), CAT)
    assert "renal_use_non_sucrose_product" in codes(ok.alerts)
    assert "renal_sucrose_product" not in codes(ok.alerts)


def test_egfr_bands() -> None:
    moderate = codes(review(base(egfr=45.0), course("privigen"), CAT).alerts)
    assert "renal_impairment" in moderate and "renal_severe_impairment" not in moderate
    assert "renal_impairment" not in codes(review(base(egfr=60.0), course("privigen"), CAT).alerts)


def test_missing_or_stale_egfr_warns() -> None:
    assert "egfr_not_recorded" in codes(review(base(egfr=None), course(), CAT).alerts)
    stale = PatientFacts(age=50, iga_g_per_l=2.0, egfr=90.0, egfr_date=date(2026, 1, 1))
    facts = CourseFacts(CAT.product("privigen"), 5, 2.0, start_date=date(2026, 3, 1))
    assert "egfr_out_of_date" in codes(review(stale, facts, CAT).alerts)


@pytest.mark.parametrize(
    "risk", ["previous_thrombosis", "oestrogens", "central_line", "immobility"]
)
def test_thrombosis_risk_factors_lower_rate(risk: str) -> None:
    result = review(base(risks=frozenset({Risk(risk)})), course(), CAT)
    assert result.thrombosis_risk and result.at_risk
    assert risk in next(a.message for a in result.alerts if a.code == "thrombosis_risk")


def test_age_65_is_a_thrombosis_risk() -> None:
    assert review(base(age=65), course(), CAT).thrombosis_risk
    assert not review(base(age=64), course(), CAT).thrombosis_risk


def test_haemolysis_non_o_at_2_g_per_kg() -> None:
    a = codes(review(base(blood_group=BloodGroup.A), course(g_per_kg=2.0), CAT).alerts)
    assert a["haemolysis_risk"] is Severity.WARNING
    low = codes(review(base(blood_group=BloodGroup.A), course(g_per_kg=1.0), CAT).alerts)
    assert "haemolysis_risk" not in low
    o = codes(review(base(blood_group=BloodGroup.O), course(g_per_kg=2.0), CAT).alerts)
    assert "haemolysis_risk" not in o


def test_previous_serious_reaction_blocks() -> None:
    result = review(base(risks=frozenset({Risk.PREVIOUS_SERIOUS_REACTION})), course(), CAT)
    assert codes(result.alerts)["previous_serious_reaction"] is Severity.BLOCK


def test_excipient_allergies() -> None:
    corn = review(base(risks=frozenset({Risk.CORN_ALLERGY})), course(), CAT)
    assert codes(corn.alerts)["maltose_corn_allergy"] is Severity.BLOCK
    hfi = review(
        base(risks=frozenset({Risk.FRUCTOSE_INTOLERANCE})), course("flebogamma-dif-5"), CAT
    )
    assert codes(hfi.alerts)["sorbitol_fructose_intolerance"] is Severity.BLOCK


def test_planner_applies_at_risk_rate_for_elderly() -> None:
    request = PlanRequest(
        regimen="2g/kg",
        sex=Sex.FEMALE,
        age=70,
        weight_kg=95,
        height_cm=165,
        days=5,
        product="octagam-10",
        iga_g_per_l=1.2,
        egfr=80,
    )
    plan = plan_course(request)
    assert plan.infusion is not None
    assert plan.infusion[0].max_rate_ml_per_kg_min == 0.03
    assert plan.weight is not None and plan.weight.dosing_kg == pytest.approx(72.1, abs=0.05)
    # pump = dosing weight x rate x 60
    assert plan.infusion[0].steps[0].pump_ml_per_h == pytest.approx(72.15 * 0.01 * 60, abs=0.05)


def _plan_alerts(
    product: str, age: int = 50, egfr: float = 80, risks: frozenset[Risk] = frozenset()
) -> tuple[dict[str, Alert], CoursePlan]:
    request = PlanRequest(
        regimen="2g/kg",
        sex=Sex.FEMALE,
        age=age,
        weight_kg=70,
        height_cm=165,
        product=product,
        iga_g_per_l=1.0,
        egfr=egfr,
        risks=risks,
    )
    plan = plan_course(request)
    return {a.code: a for a in plan.alerts}, plan


def test_at_risk_patient_on_privigen_is_capped_and_told_the_basis() -> None:
    alerts, plan = _plan_alerts("privigen", risks=frozenset({Risk.DIABETES}))
    assert plan.infusion is not None
    top = max(s.rate_ml_per_kg_min for s in plan.infusion[0].steps)
    assert top == pytest.approx(0.03)
    cap = alerts["at_risk_rate_cap"]
    assert cap.severity is Severity.WARNING
    assert "class-wide default of 3 mg/kg/min" in cap.message and "0.03 mL/kg/min" in cap.message
    assert "Octagam 10 % US prescribing information" in cap.source
    assert "no_at_risk_rate_figure" not in alerts


def test_label_at_risk_figure_is_named_as_the_basis() -> None:
    alerts, _ = _plan_alerts("octagam-10", age=70)
    assert alerts["at_risk_rate_cap"].severity is Severity.INFO
    assert "from Octagam 10 %'s label" in alerts["at_risk_rate_cap"].message


def test_renal_alert_does_not_claim_a_rate_cap_without_a_rate_schedule() -> None:
    alerts, plan = _plan_alerts("intragam-10", egfr=25)
    assert plan.infusion is None
    assert "is applied" not in alerts["renal_severe_impairment"].message
    assert "at_risk_rate_not_planned" in alerts
    assert "no at-risk maximum has been applied" in alerts["at_risk_rate_not_planned"].message
