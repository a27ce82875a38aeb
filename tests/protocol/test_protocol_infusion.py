"""Rate schedules: the notes' worked duration example and the risk-adjusted maxima."""

from __future__ import annotations

import pytest

from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.infusion import infusion_day, pump_rate_ml_per_h, risk_adjusted_max
from myoivig.protocol.settings import ProtocolSettings

CAT = load_catalogue()
DM = CAT.product("octagam-10").rate_profiles["dermatomyositis"]


def test_pump_formula() -> None:
    # Notes §0: pump mL/h = dosing weight x mL/kg/min x 60.
    assert pump_rate_ml_per_h(70, 0.01) == pytest.approx(42)


def test_notes_worked_duration_example() -> None:
    # Notes §2.5: 70 kg, 700 mL, 0.01 -> 0.02 -> 0.04: 42 mL/h x 30 min (21 mL), 84 mL/h x 30 min
    # (42 mL), then 168 mL/h for 637 mL (~3.8 h) -> ~4.8 h.
    day = infusion_day(1, 700, 70, DM, at_risk=False)
    pumps = [round(s.pump_ml_per_h) for s in day.steps]
    assert pumps == [42, 84, 168]
    assert [round(s.volume_ml) for s in day.steps] == [21, 42, 637]
    assert [s.start for s in day.steps] == ["09:00", "09:30", "10:00"]
    assert day.steps[-1].duration_min / 60 == pytest.approx(3.79, abs=0.01)
    assert day.duration_h == pytest.approx(4.79, abs=0.01)
    assert day.steps_basis == "label"


def test_at_risk_caps_octagam_dm_at_0_03() -> None:
    day = infusion_day(1, 700, 70, DM, at_risk=True)
    assert day.max_rate_ml_per_kg_min == 0.03
    assert [s.rate_ml_per_kg_min for s in day.steps] == [0.01, 0.02, 0.03]
    assert day.max_rate_basis == "label_at_risk"
    assert day.duration_h > 4.79


def test_small_volume_ends_early() -> None:
    day = infusion_day(1, 10, 70, DM, at_risk=False)
    assert len(day.steps) == 1 and day.steps[0].volume_ml == pytest.approx(10)


def test_no_label_at_risk_figure_uses_the_class_default_converted_by_concentration() -> None:
    # Review finding 6: an at-risk patient on Privigen / Gamunex-C was scheduled at 0.08.
    # Class default 3.0 mg/kg/min (Octagam 10 % US at-risk figure, lower value) = 0.03 mL/kg/min
    # of a 10 % product, 0.06 of a 5 % product.
    privigen = CAT.product("privigen").rate_profiles["pi_cidp"]
    assert risk_adjusted_max(privigen, True, concentration_g_per_ml=0.10) == pytest.approx(
        (0.03, "class_at_risk_default")
    )
    gamunex = CAT.product("gamunex-c")
    assert gamunex.myositis_profile is not None
    day = infusion_day(
        1,
        700,
        70,
        gamunex.rate_profiles[gamunex.myositis_profile],
        True,
        concentration_g_per_ml=0.1,
    )
    assert day.max_rate_basis == "class_at_risk_default"
    assert max(s.rate_ml_per_kg_min for s in day.steps) == pytest.approx(0.03)
    fleb = CAT.product("flebogamma-dif-5").rate_profiles["eu_smpc"]
    cap, basis = risk_adjusted_max(fleb, True, concentration_g_per_ml=0.05)
    label = fleb.max_ml_per_kg_min.value or 0
    assert basis == "class_at_risk_default" and cap == pytest.approx(min(0.06, label))
    # Without the class default (or the concentration) the label maximum is kept and flagged.
    none = ProtocolSettings(class_at_risk_max_mg_per_kg_min=None)
    assert risk_adjusted_max(privigen, True, none, 0.1) == (0.08, "label_no_at_risk_figure")
    assert risk_adjusted_max(privigen, True) == (0.08, "label_no_at_risk_figure")


def test_local_cap_overrides_the_class_default() -> None:
    profile = CAT.product("privigen").rate_profiles["pi_cidp"]
    local = ProtocolSettings(local_at_risk_max_ml_per_kg_min=0.02)
    assert risk_adjusted_max(profile, True, local, 0.1) == (0.02, "local_at_risk")
    day = infusion_day(1, 500, 60, profile, True, local, 0.1)
    assert day.steps_basis == "derived_doubling"
    assert [s.rate_ml_per_kg_min for s in day.steps] == [0.005, 0.01, 0.02]
    # a label's own at-risk figure wins over both
    assert risk_adjusted_max(DM, True, local, 0.1) == (0.03, "label_at_risk")


def test_volume_is_conserved() -> None:
    for key in ("octagam-10", "panzyga", "gamunex-c", "gammagard-liquid"):
        product = CAT.product(key)
        assert product.myositis_profile is not None
        profile = product.rate_profiles[product.myositis_profile]
        day = infusion_day(1, 1234, 81, profile, at_risk=False)
        assert sum(s.volume_ml for s in day.steps) == pytest.approx(1234)
        assert max(s.rate_ml_per_kg_min for s in day.steps) <= day.max_rate_ml_per_kg_min


def test_uncertain_figures_are_reported() -> None:
    profile = CAT.product("flebogamma-dif-5").rate_profiles["eu_smpc"]
    day = infusion_day(1, 400, 60, profile, at_risk=False)
    assert "max_ml_per_kg_min" in day.uncertain_figures


def test_panzyga_label_rate_chart() -> None:
    # Panzyga cITP rate chart (panzygausa.com): 40 kg -> 24, 96, 192 mL/h and 50 kg -> 30, 120,
    # 240 mL/h at 0.01, 0.04 and 0.08 mL/kg/min.
    for kg, expected in ((40, [24, 96, 192]), (50, [30, 120, 240])):
        assert [round(pump_rate_ml_per_h(kg, r)) for r in (0.01, 0.04, 0.08)] == expected
    itp = CAT.product("panzyga").rate_profiles["chronic_itp"]
    day = infusion_day(1, 800, 80, itp, at_risk=False)  # 1 g/kg of a 10 % product for 80 kg
    assert [round(s.pump_ml_per_h) for s in day.steps] == [48, 96, 192, 384]
    assert day.max_rate_ml_per_kg_min == 0.08
    assert infusion_day(1, 800, 80, itp, at_risk=True).max_rate_ml_per_kg_min == 0.033


def test_gammagard_ml_per_kg_per_hour_label_units() -> None:
    # Gammagard CIDP label: start 0.5 mL/kg/h, maximum 5.4 mL/kg/h (Gammagard Liquid US PI 2.3).
    cidp = CAT.product("gammagard-liquid").rate_profiles["cidp_mmn"]
    assert pump_rate_ml_per_h(70, cidp.start_ml_per_kg_min.value or 0) == pytest.approx(
        35, abs=0.01
    )
    assert pump_rate_ml_per_h(1, cidp.max_ml_per_kg_min.value or 0) == pytest.approx(5.4)
