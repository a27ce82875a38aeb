"""Per-day infusion rate schedule: titration steps in mL/kg/min and pump mL/h.

Pump rate (mL/h) = dosing weight (kg) x rate (mL/kg/min) x 60 (the Octagam 10 % US
dermatomyositis dosing page gives this formula [C]). Rates start low and rise at fixed intervals
to a maximum that is lowered for patients at risk of thrombosis or renal dysfunction (FDA class
boxed warning) and, class-wide, for dermatomyositis (Octagam 10 % US label, section 2.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from myoivig.protocol.catalogue import RateProfile, Status
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings


@dataclass(frozen=True)
class RateStep:
    start: str  # HH:MM on the infusion day
    start_min: float  # minutes from the start of the infusion
    rate_ml_per_kg_min: float
    pump_ml_per_h: float
    duration_min: float
    volume_ml: float


@dataclass(frozen=True)
class InfusionDay:
    day: int
    volume_ml: float
    max_rate_ml_per_kg_min: float
    # "label", "label_at_risk", "local_at_risk", "class_at_risk_default",
    # "label_no_at_risk_figure" or "dermatomyositis_cap" (see `risk_adjusted_max`)
    max_rate_basis: str
    steps: tuple[RateStep, ...]
    duration_min: float
    steps_basis: str  # "label" or "derived_doubling"
    uncertain_figures: tuple[str, ...]

    @property
    def duration_h(self) -> float:
        return self.duration_min / 60.0


def pump_rate_ml_per_h(weight_kg: float, rate_ml_per_kg_min: float) -> float:
    """Pump setting for a per-kg rate."""
    return weight_kg * rate_ml_per_kg_min * 60.0


def class_at_risk_max_ml_per_kg_min(
    concentration_g_per_ml: float | None, settings: ProtocolSettings = DEFAULT_SETTINGS
) -> float | None:
    """The class-wide at-risk cap (mg/kg/min, settings) in mL/kg/min of this product."""
    mg = settings.class_at_risk_max_mg_per_kg_min
    if mg is None or concentration_g_per_ml is None:
        return None
    return mg / (concentration_g_per_ml * 1000.0)


def dermatomyositis_max_ml_per_kg_min(
    concentration_g_per_ml: float | None, settings: ProtocolSettings = DEFAULT_SETTINGS
) -> float | None:
    """The class-wide dermatomyositis cap (mg/kg/min, settings) in mL/kg/min of this product."""
    if not settings.dermatomyositis_rate_cap or concentration_g_per_ml is None:
        return None
    return settings.dermatomyositis_max_mg_per_kg_min / (concentration_g_per_ml * 1000.0)


def risk_adjusted_max(
    profile: RateProfile,
    at_risk: bool,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    concentration_g_per_ml: float | None = None,
    indication_max_ml_per_kg_min: float | None = None,
) -> tuple[float, str]:
    """The ceiling for this patient and why.

    At risk: the label's own at-risk figure; else the site's cap; else the class-wide default
    converted by the product's concentration; else (no default, or concentration unknown) the
    label maximum, flagged so the plan warns. An indication cap (dermatomyositis) lowers
    whichever of these is higher than it.
    """
    cap, basis = _risk_adjusted_max(profile, at_risk, settings, concentration_g_per_ml)
    if indication_max_ml_per_kg_min is not None and indication_max_ml_per_kg_min < cap - 1e-12:
        return indication_max_ml_per_kg_min, "dermatomyositis_cap"
    return cap, basis


def _risk_adjusted_max(
    profile: RateProfile,
    at_risk: bool,
    settings: ProtocolSettings,
    concentration_g_per_ml: float | None,
) -> tuple[float, str]:
    label_max = profile.max_ml_per_kg_min.value
    assert label_max is not None  # enforced by RateProfile validation
    if not at_risk:
        return label_max, "label"
    at_risk_max = profile.at_risk_max_ml_per_kg_min.value
    if at_risk_max is not None:
        return min(at_risk_max, label_max), "label_at_risk"
    local = settings.local_at_risk_max_ml_per_kg_min
    if local is not None:
        return min(local, label_max), "local_at_risk"
    class_cap = class_at_risk_max_ml_per_kg_min(concentration_g_per_ml, settings)
    if class_cap is not None:
        return min(class_cap, label_max), "class_at_risk_default"
    return label_max, "label_no_at_risk_figure"


def _ladder(profile: RateProfile, cap: float) -> tuple[list[float], str]:
    start = profile.start_ml_per_kg_min.value
    assert start is not None
    steps = profile.steps_ml_per_kg_min.value
    basis = "label"
    if steps is None:
        basis = "derived_doubling"
        steps = [start]
        while steps[-1] * 2 < cap:
            steps.append(steps[-1] * 2)
    below = [s for s in steps if s < cap - 1e-12]
    return [*below, cap] if below else [min(start, cap)], basis


def infusion_day(
    day: int,
    volume_ml: float,
    weight_kg: float,
    profile: RateProfile,
    at_risk: bool,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    concentration_g_per_ml: float | None = None,
    indication_max_ml_per_kg_min: float | None = None,
) -> InfusionDay:
    """Titration for one day's volume: each step lasts its interval, the last runs to the end."""
    if volume_ml <= 0:
        raise PlanningError("volume_ml", volume_ml, "must be positive")
    cap, cap_basis = risk_adjusted_max(
        profile, at_risk, settings, concentration_g_per_ml, indication_max_ml_per_kg_min
    )
    rates, steps_basis = _ladder(profile, cap)
    default = settings.default_step_interval_min
    first = profile.start_duration_min.value or default
    interval = profile.step_interval_min.value or default
    hours, minutes = (int(x) for x in settings.infusion_start.split(":"))
    day_start = datetime(2000, 1, 1, hours, minutes)

    steps: list[RateStep] = []
    remaining, elapsed = volume_ml, 0.0
    for i, rate in enumerate(rates):
        pump = pump_rate_ml_per_h(weight_kg, rate)
        last = i == len(rates) - 1
        planned = float(first if i == 0 else interval)
        full_volume = pump * planned / 60.0
        if last or full_volume >= remaining:
            duration, volume = remaining / pump * 60.0, remaining
        else:
            duration, volume = planned, full_volume
        clock = (day_start + timedelta(minutes=elapsed)).strftime("%H:%M")
        steps.append(RateStep(clock, elapsed, rate, pump, duration, volume))
        elapsed += duration
        remaining -= volume
        if remaining <= 1e-9:
            break

    uncertain = tuple(
        name
        for name in (
            "start_ml_per_kg_min",
            "start_duration_min",
            "step_interval_min",
            "steps_ml_per_kg_min",
            "max_ml_per_kg_min",
            "at_risk_max_ml_per_kg_min",
        )
        if getattr(profile, name).status is Status.UNCERTAIN
    )
    return InfusionDay(
        day=day,
        volume_ml=volume_ml,
        max_rate_ml_per_kg_min=cap,
        max_rate_basis=cap_basis,
        steps=tuple(steps),
        duration_min=elapsed,
        steps_basis=steps_basis,
        uncertain_figures=uncertain,
    )
