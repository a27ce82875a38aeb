"""Pre-course safety checks as structured alerts a nurse can act on.

Each alert has a severity (`info`, `warning`, `block`), a stable code, a message and its source.
A `block` means the course must not start until the issue is resolved and recorded.
Notes = /work/shared/research/ivig_protocol_and_edc.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from myoivig.domain.vocab import AntibodyResult, BloodGroup
from myoivig.protocol.catalogue import Catalogue, Product, Stabiliser
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    BLOCK = "block"


class Risk(StrEnum):
    """Risk factors a prescriber can declare (`--risk a,b,...`)."""

    # Thrombosis: boxed warning list (notes §3.1) [C]; obesity and malignancy [D] notes §3.5.
    THROMBOSIS = "thrombosis"  # any thrombosis risk not listed below
    PREVIOUS_THROMBOSIS = "previous_thrombosis"
    IMMOBILITY = "immobility"
    OESTROGENS = "oestrogens"
    CENTRAL_LINE = "central_line"
    HYPERVISCOSITY = "hyperviscosity"
    HYPERCOAGULABLE = "hypercoagulable"
    CARDIOVASCULAR = "cardiovascular"
    OBESITY = "obesity"
    MALIGNANCY = "malignancy"
    # Renal: boxed warning list (notes §3.1) [C].
    RENAL = "renal"  # any renal risk not listed below
    DIABETES = "diabetes"
    VOLUME_DEPLETION = "volume_depletion"
    SEPSIS = "sepsis"
    PARAPROTEINAEMIA = "paraproteinaemia"
    NEPHROTOXIC_DRUGS = "nephrotoxic_drugs"
    # Other.
    PREVIOUS_SERIOUS_REACTION = "previous_serious_reaction"
    CORN_ALLERGY = "corn_allergy"
    FRUCTOSE_INTOLERANCE = "fructose_intolerance"


THROMBOSIS_RISKS = frozenset(
    {
        Risk.THROMBOSIS,
        Risk.PREVIOUS_THROMBOSIS,
        Risk.IMMOBILITY,
        Risk.OESTROGENS,
        Risk.CENTRAL_LINE,
        Risk.HYPERVISCOSITY,
        Risk.HYPERCOAGULABLE,
        Risk.CARDIOVASCULAR,
        Risk.OBESITY,
        Risk.MALIGNANCY,
    }
)
RENAL_RISKS = frozenset(
    {
        Risk.RENAL,
        Risk.DIABETES,
        Risk.VOLUME_DEPLETION,
        Risk.SEPSIS,
        Risk.PARAPROTEINAEMIA,
        Risk.NEPHROTOXIC_DRUGS,
    }
)

SRC_BOXED = "FDA class boxed warning (Octagam, Privigen, Gamunex-C, Panzyga labels), notes §3.1"
SRC_CONTRA = "Label contraindication: IgA deficiency with anti-IgA antibodies (notes §1, §3.2)"
SRC_MYOSITIS_ORG = "Myositis Association advises IgA testing before IVIg [C] (notes §2.1, §3.5)"
SRC_ESID = "Selective IgA deficiency: serum IgA < 0.07 g/L (ESID working definition) [U]"
SRC_KDIGO = "KDIGO 2012 GFR categories (Kidney Int Suppl 2013;3:19-62, table 5)"
SRC_TRIAL = (
    "Mastaglia et al. 1998 (seed 000), discussion: avoid the standard dose over one to two days "
    "rather than three, particularly in elderly patients"
)
SRC_HAEMOLYSIS = (
    "Haemolysis risk in non-O recipients of >= 2 g/kg; Hb 36-96 h after infusion (empr Octagam "
    "summary); most haemolysis 5-10 days after (Transfusion 2021) - notes §3.2-3.3"
)
SRC_MALTOSE = "Maltose and GDH-PQQ glucose meters (Octagam label, notes §3.2)"
SRC_SORBITOL = "Sorbitol and hereditary fructose intolerance [U] (notes §2.4)"
SRC_SEVERE_REACTION = "Label contraindication: previous severe systemic reaction to human Ig"
SRC_LAB_WINDOW = "Creatinine/eGFR before each course; window is local policy [U] (notes §3.5)"


@dataclass(frozen=True)
class Alert:
    severity: Severity
    code: str
    message: str
    source: str


@dataclass(frozen=True)
class PatientFacts:
    """What the checks need to know about the patient before a course."""

    age: int | None
    iga_g_per_l: float | None = None
    anti_iga: AntibodyResult | None = None
    egfr: float | None = None  # mL/min/1.73 m2
    egfr_date: date | None = None
    blood_group: BloodGroup | None = None
    risks: frozenset[Risk] = field(default_factory=frozenset)


@dataclass(frozen=True)
class CourseFacts:
    product: Product | None  # None while the product is not chosen yet
    days: int
    g_per_kg: float | None  # course dose per kg dosing weight; None if weight unknown
    start_date: date | None = None


@dataclass(frozen=True)
class SafetyReview:
    alerts: tuple[Alert, ...]
    thrombosis_risk: bool
    renal_risk: bool

    @property
    def at_risk(self) -> bool:
        """Whether the lower, at-risk maximum infusion rate applies."""
        return self.thrombosis_risk or self.renal_risk

    @property
    def blocked(self) -> bool:
        return any(a.severity is Severity.BLOCK for a in self.alerts)


def thrombosis_risk(patient: PatientFacts, settings: ProtocolSettings) -> bool:
    old = patient.age is not None and patient.age >= settings.thrombosis_age
    return old or bool(patient.risks & THROMBOSIS_RISKS)


def renal_risk(patient: PatientFacts, settings: ProtocolSettings) -> bool:
    old = patient.age is not None and patient.age > settings.renal_age_over
    low_egfr = patient.egfr is not None and patient.egfr < settings.egfr_impaired_below
    return old or low_egfr or bool(patient.risks & RENAL_RISKS)


def review(
    patient: PatientFacts,
    course: CourseFacts,
    catalogue: Catalogue,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
) -> SafetyReview:
    """Run every check; the order of alerts is most severe first."""
    alerts: list[Alert] = []
    alerts += _iga(patient, settings)
    alerts += _previous_reaction(patient)
    alerts += _renal(patient, course, catalogue, settings)
    thrombosis = thrombosis_risk(patient, settings)
    alerts += _thrombosis(patient, thrombosis, settings)
    alerts += _elderly_short_course(patient, course, settings)
    alerts += _haemolysis(patient, course, settings)
    alerts += _excipients(patient, course)
    order = {Severity.BLOCK: 0, Severity.WARNING: 1, Severity.INFO: 2}
    alerts.sort(key=lambda a: order[a.severity])
    return SafetyReview(tuple(alerts), thrombosis, renal_risk(patient, settings))


def _iga(patient: PatientFacts, settings: ProtocolSettings) -> list[Alert]:
    if patient.iga_g_per_l is None:
        return [
            Alert(
                Severity.BLOCK,
                "iga_not_measured",
                "Serum IgA has not been recorded. Measure IgA before the first course; if it is "
                "deficient, record the anti-IgA antibody result.",
                SRC_MYOSITIS_ORG,
            )
        ]
    if patient.iga_g_per_l >= settings.iga_deficiency_g_per_l:
        return []
    deficient = (
        f"IgA {patient.iga_g_per_l:g} g/L is below {settings.iga_deficiency_g_per_l:g} g/L "
        "(IgA deficiency)."
    )
    if patient.anti_iga is None:
        return [
            Alert(
                Severity.BLOCK,
                "iga_deficiency_anti_iga_unknown",
                f"{deficient} Do not start until the anti-IgA antibody status is recorded.",
                f"{SRC_CONTRA}; {SRC_ESID}",
            )
        ]
    if patient.anti_iga is AntibodyResult.POSITIVE:
        return [
            Alert(
                Severity.BLOCK,
                "iga_deficiency_anti_iga_positive",
                f"{deficient} Anti-IgA antibodies are present: IVIg is contraindicated with a "
                "history of hypersensitivity. Specialist review before any course; if given, use "
                "the lowest-IgA product with anaphylaxis precautions.",
                SRC_CONTRA,
            )
        ]
    return [
        Alert(
            Severity.WARNING,
            "iga_deficiency_anti_iga_negative",
            f"{deficient} Anti-IgA antibodies negative: observe closely for hypersensitivity and "
            "keep epinephrine available.",
            SRC_CONTRA,
        )
    ]


def _previous_reaction(patient: PatientFacts) -> list[Alert]:
    if Risk.PREVIOUS_SERIOUS_REACTION not in patient.risks:
        return []
    return [
        Alert(
            Severity.BLOCK,
            "previous_serious_reaction",
            "A previous severe systemic reaction to immunoglobulin is recorded. Do not start "
            "without a documented specialist decision.",
            SRC_SEVERE_REACTION,
        )
    ]


def _renal(
    patient: PatientFacts, course: CourseFacts, catalogue: Catalogue, settings: ProtocolSettings
) -> list[Alert]:
    alerts: list[Alert] = []
    product = course.product
    sucrose = product is not None and product.contains_sucrose
    egfr = patient.egfr
    if egfr is None:
        alerts.append(
            Alert(
                Severity.WARNING,
                "egfr_not_recorded",
                "No eGFR recorded. Check creatinine/eGFR and hydration before starting.",
                SRC_LAB_WINDOW,
            )
        )
    elif (
        patient.egfr_date is not None
        and course.start_date is not None
        and (course.start_date - patient.egfr_date).days > settings.lab_recency_days
    ):
        alerts.append(
            Alert(
                Severity.WARNING,
                "egfr_out_of_date",
                f"The eGFR is from {patient.egfr_date.isoformat()}, more than "
                f"{settings.lab_recency_days} days before the course. Repeat it before starting.",
                SRC_LAB_WINDOW,
            )
        )
    severe = egfr is not None and egfr < settings.egfr_severe_below
    impaired = egfr is not None and egfr < settings.egfr_impaired_below
    if severe:
        alerts.append(
            Alert(
                Severity.WARNING,
                "renal_severe_impairment",
                f"eGFR {egfr:g} is below {settings.egfr_severe_below:g} (KDIGO G4-G5). Hydrate "
                "before starting, infuse at the minimum practicable rate (the at-risk maximum; see "
                "the plan's rate alerts for the figure used), check creatinine during the course "
                "and stop if it rises.",
                f"{SRC_KDIGO}; {SRC_BOXED}",
            )
        )
    elif impaired:
        alerts.append(
            Alert(
                Severity.WARNING,
                "renal_impairment",
                f"eGFR {egfr:g} is below {settings.egfr_impaired_below:g} (KDIGO G3). Hydrate "
                "before starting and use the at-risk (slower) maximum rate.",
                f"{SRC_KDIGO}; {SRC_BOXED}",
            )
        )
    other_renal = renal_risk(patient, settings)
    if product is not None and sucrose and (impaired or other_renal):
        alerts.append(
            Alert(
                Severity.BLOCK if severe else Severity.WARNING,
                "renal_sucrose_product",
                f"{product.name} is sucrose-stabilised; renal failure is commoner with sucrose "
                "products. Switch to a sucrose-free product.",
                SRC_BOXED,
            )
        )
    if severe or (sucrose and (impaired or other_renal)):
        names = ", ".join(p.name for p in catalogue.non_sucrose())
        current = (
            f"{product.name} is sucrose-free: keep a sucrose-free product."
            if product is not None and not sucrose and product.stabiliser.value is not None
            else "Choose a sucrose-free product."
        )
        alerts.append(
            Alert(
                Severity.INFO,
                "renal_use_non_sucrose_product",
                f"Renal risk: avoid sucrose-stabilised immunoglobulin. {current} "
                f"Sucrose-free products in the catalogue: {names}.",
                SRC_BOXED,
            )
        )
    elif other_renal and not impaired:
        reasons = sorted(r.value for r in patient.risks & RENAL_RISKS)
        if patient.age is not None and patient.age > settings.renal_age_over:
            reasons.insert(0, f"age {patient.age}")
        alerts.append(
            Alert(
                Severity.INFO,
                "renal_risk_factors",
                f"Renal risk factors ({', '.join(reasons)}): hydrate first, check creatinine "
                "before and after the course; use the at-risk (slower) maximum rate.",
                SRC_BOXED,
            )
        )
    return alerts


def _thrombosis(patient: PatientFacts, at_risk: bool, settings: ProtocolSettings) -> list[Alert]:
    if not at_risk:
        return []
    reasons = sorted(r.value for r in patient.risks & THROMBOSIS_RISKS)
    if patient.age is not None and patient.age >= settings.thrombosis_age:
        reasons.insert(0, f"age {patient.age}")
    return [
        Alert(
            Severity.WARNING,
            "thrombosis_risk",
            f"Thrombosis risk ({', '.join(reasons)}): use the at-risk (slower) maximum rate; "
            "hydrate first, consider a 5-day split and watch for thrombosis symptoms.",
            SRC_BOXED,
        )
    ]


def _elderly_short_course(
    patient: PatientFacts, course: CourseFacts, settings: ProtocolSettings
) -> list[Alert]:
    if patient.age is None or patient.age < settings.elderly_age:
        return []
    if course.days > settings.short_course_max_days:
        return []
    if (
        course.g_per_kg is None
        or course.g_per_kg < settings.standard_course_g_per_kg - settings.dose_tolerance_g_per_kg
    ):
        return []
    return [
        Alert(
            Severity.WARNING,
            "elderly_rapid_standard_dose",
            f"Patient aged {patient.age} is planned {course.g_per_kg:.1f} g/kg over "
            f"{course.days} day(s). Avoid giving the standard dose over one to two days in "
            "elderly patients: spread it over at least three days (e.g. 5).",
            SRC_TRIAL,
        )
    ]


def _haemolysis(
    patient: PatientFacts, course: CourseFacts, settings: ProtocolSettings
) -> list[Alert]:
    high_dose = (
        course.g_per_kg is not None
        and course.g_per_kg >= settings.haemolysis_dose_g_per_kg - settings.dose_tolerance_g_per_kg
    )
    if not high_dose:
        return []
    if patient.blood_group is None:
        return [
            Alert(
                Severity.INFO,
                "blood_group_not_recorded",
                "High-dose course and no blood group recorded: record it to judge haemolysis "
                "risk (non-O groups).",
                SRC_HAEMOLYSIS,
            )
        ]
    if patient.blood_group is BloodGroup.O:
        return []
    return [
        Alert(
            Severity.WARNING,
            "haemolysis_risk",
            f"Blood group {patient.blood_group.value} with {course.g_per_kg:.1f} g/kg: check "
            "haemoglobin before the course and again 36-96 h after; consider monitoring to day "
            "10.",
            SRC_HAEMOLYSIS,
        )
    ]


def _excipients(patient: PatientFacts, course: CourseFacts) -> list[Alert]:
    alerts: list[Alert] = []
    product = course.product
    if product is None:
        return alerts
    stabiliser = product.stabiliser.value
    if stabiliser is Stabiliser.MALTOSE:
        alerts.append(
            Alert(
                Severity.WARNING,
                "maltose_glucose_meter",
                f"{product.name} contains maltose: GDH-PQQ and glucose-dye-oxidoreductase "
                "glucose meters read falsely high. Use a glucose-specific method for any "
                "blood-glucose check during and after the infusion.",
                SRC_MALTOSE,
            )
        )
        if Risk.CORN_ALLERGY in patient.risks:
            alerts.append(
                Alert(
                    Severity.BLOCK,
                    "maltose_corn_allergy",
                    f"Corn allergy recorded: avoid {product.name} (maltose); choose "
                    "another product.",
                    SRC_MALTOSE,
                )
            )
    if stabiliser is Stabiliser.SORBITOL and Risk.FRUCTOSE_INTOLERANCE in patient.risks:
        alerts.append(
            Alert(
                Severity.BLOCK,
                "sorbitol_fructose_intolerance",
                f"Hereditary fructose intolerance recorded: avoid {product.name} "
                "(sorbitol); choose another product.",
                SRC_SORBITOL,
            )
        )
    return alerts
