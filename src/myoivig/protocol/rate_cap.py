"""The infusion rate a product may not exceed for a patient, and where that figure comes from.

One answer for the planner (the pump-rate ladder it writes) and for the record of what was
given (`clinic.infusion_checks`): the product's myositis rate profile from the catalogue, its
label maximum (or at-risk figure), lowered class-wide for dermatomyositis when the site keeps the
dermatomyositis cap on (settings `dermatomyositis_rate_cap`, `dermatomyositis_max_mg_per_kg_min`).
No figure is repeated here: they all come from products.yaml and the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from myoivig.domain.vocab import Diagnosis
from myoivig.protocol.catalogue import Catalogue, Product, RateProfile
from myoivig.protocol.infusion import dermatomyositis_max_ml_per_kg_min, risk_adjusted_max
from myoivig.protocol.safety import SRC_CLASS_AT_RISK, SRC_DM_CAP, SRC_LOCAL_AT_RISK
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings

# Diagnoses that the class-wide dermatomyositis rate cap applies to.
DERMATOMYOSITIS = frozenset({Diagnosis.DERMATOMYOSITIS, Diagnosis.JUVENILE_DERMATOMYOSITIS})


@dataclass(frozen=True)
class RateCap:
    """The highest rate allowed, in mL/kg/min of the product as supplied, and why."""

    max_ml_per_kg_min: float
    basis: str  # as `infusion.risk_adjusted_max`: "label", "dermatomyositis_cap", ...
    source: str
    product_name: str


def myositis_profile(product: Product) -> tuple[str | None, RateProfile | None]:
    """The rate profile the catalogue uses for myositis (None when it has no per-kg rates)."""
    if product.myositis_profile is None:
        return None, None
    return product.myositis_profile, product.rate_profiles[product.myositis_profile]


def dermatomyositis_cap_applies(diagnosis: Diagnosis | None, settings: ProtocolSettings) -> bool:
    """The site keeps the dermatomyositis cap and the patient has (or may have: unknown) DM."""
    return settings.dermatomyositis_rate_cap and (diagnosis is None or diagnosis in DERMATOMYOSITIS)


def dermatomyositis_cap(
    product: Product, diagnosis: Diagnosis | None, settings: ProtocolSettings
) -> float | None:
    """The dermatomyositis cap in mL/kg/min of this product, when it applies to the patient."""
    if not dermatomyositis_cap_applies(diagnosis, settings):
        return None
    return dermatomyositis_max_ml_per_kg_min(product.concentration_g_per_ml.value, settings)


def applicable_max_rate(
    product: Product,
    diagnosis: Diagnosis | None,
    catalogue: Catalogue,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    at_risk: bool = False,
) -> RateCap | None:
    """The rate cap for this product and patient, with its source; None when the catalogue has
    no per-kg rate profile for the product (nothing to check against)."""
    _, profile = myositis_profile(product)
    if profile is None:
        return None
    cap, basis = risk_adjusted_max(
        profile,
        at_risk,
        settings,
        product.concentration_g_per_ml.value,
        dermatomyositis_cap(product, diagnosis, settings),
    )
    return RateCap(cap, basis, cap_source(basis, profile, catalogue), product.name)


# What each basis of `infusion.risk_adjusted_max` is, as a recorded-day message names it.
BASIS_NAMES = {
    "label": "label",
    "dermatomyositis_cap": "dermatomyositis cap",
    "label_at_risk": "label at-risk figure",
    "local_at_risk": "local setting local_at_risk_max_ml_per_kg_min",
    "class_at_risk_default": "class default, setting class_at_risk_max_mg_per_kg_min",
    "label_no_at_risk_figure": "label maximum: the label gives no at-risk figure",
}


def basis_name(basis: str) -> str:
    return BASIS_NAMES.get(basis, basis.replace("_", " "))


def cap_source(basis: str, profile: RateProfile, catalogue: Catalogue) -> str:
    """Where a maximum of this basis comes from: one citation for the plan's at-risk notice
    (`planner._at_risk_cap_alert`) and for the checks of a recorded day."""
    if basis == "dermatomyositis_cap":
        return f"{SRC_DM_CAP} (site setting dermatomyositis_rate_cap)"
    if basis in ("label_at_risk", "label_no_at_risk_figure"):
        return catalogue.cite(profile.at_risk_max_ml_per_kg_min.source)
    if basis == "local_at_risk":
        return SRC_LOCAL_AT_RISK
    if basis == "class_at_risk_default":
        return SRC_CLASS_AT_RISK
    return catalogue.cite(profile.max_ml_per_kg_min.source)
