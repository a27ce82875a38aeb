"""Property tests over the whole planner: invariants hold for any plausible patient."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myoivig.domain.vocab import BloodGroup, Sex
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.planner import PlanRequest, plan_course
from myoivig.protocol.regimens import Basis, load_regimens
from myoivig.protocol.safety import BLOCKING, Risk
from myoivig.protocol.settings import ProtocolSettings, Rounding

CAT = load_catalogue()
PRODUCTS = sorted(CAT.products)


def test_regimen_products_exist_in_catalogue() -> None:
    for regimen in load_regimens().regimens.values():
        for key in [regimen.product, *(regimen.products or [])]:
            if key is not None:
                assert key in CAT.products, (regimen.key, key)


requests = st.builds(
    PlanRequest,
    regimen=st.sampled_from(["2g/kg", "2g/kg-then-1g/kg", "proderm", "mastaglia-1998", "1g/kg"]),
    sex=st.sampled_from([Sex.FEMALE, Sex.MALE]),
    age=st.integers(18, 95),
    weight_kg=st.floats(35, 200),
    height_cm=st.floats(145, 210),
    days=st.one_of(st.none(), st.integers(2, 5)),
    product=st.sampled_from(PRODUCTS),
    iga_g_per_l=st.one_of(st.none(), st.floats(0, 5)),
    egfr=st.one_of(st.none(), st.floats(5, 130)),
    blood_group=st.one_of(st.none(), st.sampled_from(list(BloodGroup))),
    risks=st.frozensets(st.sampled_from(list(Risk)), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(request=requests, rounding=st.sampled_from(list(Rounding)))
def test_plan_invariants(request: PlanRequest, rounding: Rounding) -> None:
    try:
        plan = plan_course(request, settings=ProtocolSettings(rounding=rounding))
    except PlanningError as exc:
        assert exc.field in {"days", "daily_dose_g", "dose_g", "rounding"}
        return
    assert plan.blocked == any(a.severity in BLOCKING for a in plan.alerts)
    assert (request.iga_g_per_l is None) <= plan.blocked
    dose = plan.dose
    assert dose is not None and plan.weight is not None
    assert plan.weight.dosing_kg <= request.weight_kg + 1e-9  # type: ignore[operator]
    assert sum(dose.daily_dose_g) == pytest.approx(dose.dose_g)
    for given_day in dose.per_day:
        assert given_day.vials.total_g >= given_day.dose_g - 1e-9
    if dose.basis is Basis.G_PER_KG and rounding is Rounding.NONE:
        assert dose.prescribed_g / plan.weight.dosing_kg <= 2.0 + 1e-9
    # every hard limit holds on the ROUNDED doses (review finding 2)
    limit_kg = plan.weight.dosing_kg if dose.basis is Basis.G_PER_KG else request.weight_kg
    assert limit_kg is not None and plan.product is not None
    label_day = plan.product.max_daily_dose_g_per_kg.value
    for d in dose.daily_dose_g:
        assert d <= 1.0 * limit_kg + 1e-6
        assert label_day is None or d <= label_day * limit_kg + 1e-6
    if dose.basis is Basis.G_PER_KG:
        assert dose.dose_g <= 2.0 * limit_kg + 1e-6
    if dose.basis is Basis.FIXED_G:
        # fixed grams are judged on the actual weight and only warn above 2 g/kg per course
        over = dose.dose_g / request.weight_kg > 2.0 + 1e-9  # type: ignore[operator]
        warned = any(a.code == "fixed_dose_above_per_kg_limit" for a in plan.alerts)
        assert over == warned
    if plan.infusion is not None:
        assert plan.product is not None and plan.rate_profile is not None
        profile = plan.product.rate_profiles[plan.rate_profile]
        label_max = profile.max_ml_per_kg_min.value
        at_risk_max = profile.at_risk_max_ml_per_kg_min.value
        for day, day_dose in zip(plan.infusion, dose.per_day, strict=True):
            assert sum(s.volume_ml for s in day.steps) == pytest.approx(day_dose.volume_ml)
            top = max(s.rate_ml_per_kg_min for s in day.steps)
            assert top <= (label_max or 0) + 1e-12
            if plan.safety.at_risk and at_risk_max is not None:
                assert top <= at_risk_max + 1e-12
            conc = plan.product.concentration_g_per_ml.value
            if plan.safety.at_risk and at_risk_max is None and conc is not None:
                assert top * conc * 1000 <= 3.0 + 1e-9  # class default, mg/kg/min
            starts = [s.start_min for s in day.steps]
            assert starts == sorted(starts) and starts[0] == 0
