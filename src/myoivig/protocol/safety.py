"""Pre-course safety checks as structured alerts a nurse can act on.

Each alert has a severity, a stable code, a message and its primary source (label and section,
paper or guideline; the full references are in docs/sources.md):

* `block`: the course must not start until the issue is resolved (or overridden with a reason);
* `ask`: a question that must be answered before the course (an unknown answer to a blocking
  question is itself a stop, as an unmeasured IgA is); it stops the plan like `block`;
* `warning` and `info`: shown with the plan, they do not stop it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from myoivig.domain.vocab import AntibodyResult, BloodGroup, Diagnosis
from myoivig.protocol.catalogue import Catalogue, Product, Stabiliser
from myoivig.protocol.settings import DEFAULT_SETTINGS, ProtocolSettings


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ASK = "ask"
    BLOCK = "block"


# Severities that stop a plan from being shown as ready to give.
BLOCKING = frozenset({Severity.BLOCK, Severity.ASK})
SEVERITY_ORDER = {Severity.BLOCK: 0, Severity.ASK: 1, Severity.WARNING: 2, Severity.INFO: 3}


class Risk(StrEnum):
    """Risk factors a prescriber can declare (`--risk a,b,...`) or rule out (`--ruled-out`)."""

    # Thrombosis: FDA class boxed warning list; obesity and malignancy (EMA core SmPC 4.4).
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
    # Renal: FDA class boxed warning list.
    RENAL = "renal"  # any renal risk not listed below
    DIABETES = "diabetes"
    VOLUME_DEPLETION = "volume_depletion"
    SEPSIS = "sepsis"
    PARAPROTEINAEMIA = "paraproteinaemia"
    NEPHROTOXIC_DRUGS = "nephrotoxic_drugs"
    # Other label contraindications and precautions.
    PREVIOUS_SERIOUS_REACTION = "previous_serious_reaction"
    CORN_ALLERGY = "corn_allergy"
    FRUCTOSE_INTOLERANCE = "fructose_intolerance"
    HYPERPROLINAEMIA = "hyperprolinaemia"
    HEART_FAILURE = "heart_failure"  # or any other risk of volume overload
    PREGNANCY = "pregnancy"
    ASEPTIC_MENINGITIS_HISTORY = "aseptic_meningitis_history"
    MIGRAINE = "migraine"


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

MENINGITIS_RISKS = frozenset({Risk.ASEPTIC_MENINGITIS_HISTORY, Risk.MIGRAINE})

# Primary sources (full references in docs/sources.md).
SRC_BOXED = (
    "FDA class boxed warning for immune globulin intravenous products (e.g. Octagam 10 %, "
    "Privigen, Gamunex-C US prescribing information, boxed warning)"
)
SRC_CORE_SMPC_44 = "EMA core SmPC for human normal immunoglobulin IV (IVIg), section 4.4"
SRC_CONTRA = (
    "Label contraindication: IgA deficiency with antibodies against IgA and a history of "
    "hypersensitivity (US IGIV labels, section 4; EMA core SmPC for IVIg, section 4.3)"
)
SRC_IGA_TEST = (
    "The Myositis Association, IVIg treatment information: IgA level tested before IVIg; EMA "
    "core SmPC for IVIg, section 4.3"
)
SRC_ESID = "ESID registry working definitions: selective IgA deficiency, serum IgA < 0.07 g/L"
SRC_KDIGO = "KDIGO 2012 CKD guideline (Kidney Int Suppl 2013;3:19-62), GFR categories table"
SRC_TRIAL = (
    'Mastaglia et al., J Neurol Neurosurg Psychiatry 1998;65:107-110, discussion: "More rapid '
    "administration of the standard dose of immunoglobulin over a shorter period of one to two "
    'days rather than three days should be avoided ..., particularly in elderly patients"'
)
SRC_HAEMOLYSIS = (
    "Octagam 10 % US prescribing information, section 5 (haemolysis: Hb before and 36-96 h "
    "after infusion in non-O recipients of high doses); EMA core SmPC for IVIg, section 4.4"
)
SRC_MALTOSE = (
    "Octagam 10 % US prescribing information, boxed warning and section 5 (maltose: "
    "GDH-PQQ glucose meters); section 4 (corn allergy)"
)
SRC_SORBITOL = (
    "Flebogamma DIF 50 mg/mL EU SmPC, sections 4.3 (hereditary fructose intolerance) and 4.4 "
    "(sorbitol)"
)
SRC_PROLINE = "Privigen EU SmPC, section 4.3: contraindicated in hyperprolinaemia type I or II"
SRC_SEVERE_REACTION = (
    "Label contraindication: previous severe systemic hypersensitivity to human immune "
    "globulin (US IGIV labels, section 4; EMA core SmPC for IVIg, section 4.3)"
)
SRC_LAB_WINDOW = (
    "FDA class boxed warning: assess renal function before the infusion; the recency window "
    "is local policy (setting lab_recency_days)"
)
SRC_VOLUME = (
    "EMA core SmPC for IVIg, section 4.9: overdose may lead to fluid overload and "
    "hyperviscosity, particularly in elderly patients and patients with cardiac or renal "
    "impairment; volume = dose / concentration (product label, section 2)"
)
SRC_PREGNANCY = (
    "EMA core SmPC for IVIg, section 4.6 (use in pregnancy with caution); Ontario IVIG dose "
    "calculator (Transfusion Ontario): dose pregnant patients on the pre-pregnancy weight"
)
SRC_LIVE_VACCINE = (
    "EMA core SmPC for IVIg, section 4.5: live attenuated virus vaccines impaired for at least "
    "6 weeks and up to 3 months after IVIg (measles up to 1 year); CDC ACIP General Best "
    "Practice Guidelines for Immunization, timing and spacing: antibody products within 14 days "
    "after a live vaccine"
)
SRC_MENINGITIS = (
    "EMA core SmPC for IVIg, section 4.4 (aseptic meningitis syndrome: more frequent with high "
    "doses (2 g/kg) and/or rapid infusion); US IGIV prescribing information, section 5 "
    "(aseptic meningitis syndrome)"
)
SRC_OBESITY = (
    "EMA core SmPC for IVIg, section 4.4: obesity is a risk factor for thromboembolic events; "
    "BMI >= 30 (WHO obesity classification)"
)
SRC_LOCAL_AT_RISK = "local protocol setting local_at_risk_max_ml_per_kg_min [D]"
SRC_CLASS_AT_RISK = (
    "class-wide default (setting class_at_risk_max_mg_per_kg_min) from the Octagam 10 % "
    "US prescribing information, section 2.3 (at risk: not to exceed 3.3 mg/kg/min, "
    "0.03 mL/kg/min; the lower 3.0 mg/kg/min is used) and the FDA class boxed "
    "warning's minimum infusion rate practicable"
)
SRC_DM_CAP = (
    "Octagam 10 % US prescribing information (2021), section 2.3 dermatomyositis: do not "
    "exceed 0.04 mL/kg/min (4 mg/kg/min); patients with dermatomyositis are at increased risk "
    "of thromboembolic events (section 5)"
)


@dataclass(frozen=True)
class Alert:
    severity: Severity
    code: str
    message: str
    source: str


@dataclass(frozen=True)
class PatientFacts:
    """What the checks need to know about the patient before a course.

    `risks` are declared present; `ruled_out` were asked and are absent. A question that is in
    neither set is unanswered.
    """

    age: int | None
    iga_g_per_l: float | None = None
    anti_iga: AntibodyResult | None = None
    egfr: float | None = None  # mL/min/1.73 m2
    egfr_date: date | None = None
    blood_group: BloodGroup | None = None
    risks: frozenset[Risk] = field(default_factory=frozenset)
    ruled_out: frozenset[Risk] = field(default_factory=frozenset)
    diagnosis: Diagnosis | None = None  # None: not known
    bmi: float | None = None
    live_vaccine_given: date | None = None  # last live attenuated vaccine
    live_vaccine_due: date | None = None  # next live attenuated vaccine planned


@dataclass(frozen=True)
class CourseFacts:
    product: Product | None  # None while the product is not chosen yet
    days: int
    g_per_kg: float | None  # course dose per kg dosing weight; None if weight unknown
    start_date: date | None = None
    daily_g_per_kg: float | None = None  # largest day's dose per kg
    daily_volume_ml: float | None = None  # largest day's infusion volume


@dataclass(frozen=True)
class AtRisk:
    """Whether the lower, at-risk maximum infusion rate applies to a patient, and why.

    `unknown` names the facts the rule reads that are not known (age, eGFR, BMI): a patient with
    none of the risks found is "not at risk" only when nothing is unknown. The planner applies
    the at-risk maximum only when `at_risk` is True (a missing fact is asked for by its own
    alert); the record of what was given (`clinic.infusion_checks`) asks for confirmation when
    it is None, which `protocol.dossier.record_at_risk` makes it whenever no risk is found, as
    the record does not store the declared risk factors.
    """

    thrombosis: bool
    renal: bool
    meningitis: bool
    reasons: tuple[str, ...] = ()  # e.g. "age 70", "eGFR 45", "BMI 31.2", "diabetes"
    unknown: tuple[str, ...] = ()  # e.g. "age", "eGFR", "BMI (weight and height)"

    @property
    def at_risk(self) -> bool | None:
        """True: at risk; False: not at risk; None: no risk found, but facts are missing."""
        if self.thrombosis or self.renal or self.meningitis:
            return True
        return None if self.unknown else False


@dataclass(frozen=True)
class SafetyReview:
    alerts: tuple[Alert, ...]
    risk: AtRisk

    @property
    def thrombosis_risk(self) -> bool:
        return self.risk.thrombosis

    @property
    def renal_risk(self) -> bool:
        return self.risk.renal

    @property
    def meningitis_risk(self) -> bool:
        return self.risk.meningitis

    @property
    def at_risk(self) -> bool:
        """Whether the lower, at-risk maximum infusion rate applies."""
        return self.risk.at_risk is True

    @property
    def blocked(self) -> bool:
        return any(a.severity in BLOCKING for a in self.alerts)


def is_obese(patient: PatientFacts, settings: ProtocolSettings) -> bool:
    """Obesity from the BMI, whether or not it was declared."""
    return patient.bmi is not None and patient.bmi >= settings.obesity_thrombosis_bmi


def thrombosis_risk(patient: PatientFacts, settings: ProtocolSettings) -> bool:
    old = patient.age is not None and patient.age >= settings.thrombosis_age
    return old or is_obese(patient, settings) or bool(patient.risks & THROMBOSIS_RISKS)


def renal_risk(patient: PatientFacts, settings: ProtocolSettings) -> bool:
    old = patient.age is not None and patient.age > settings.renal_age_over
    low_egfr = patient.egfr is not None and patient.egfr < settings.egfr_impaired_below
    return old or low_egfr or bool(patient.risks & RENAL_RISKS)


def meningitis_risk(patient: PatientFacts) -> bool:
    """A declared history of aseptic meningitis or migraine: the slower, at-risk rate."""
    return bool(patient.risks & MENINGITIS_RISKS)


def at_risk_status(patient: PatientFacts, settings: ProtocolSettings) -> AtRisk:
    """The one rule for "at risk" (thrombosis, renal dysfunction, aseptic meningitis): used by
    the safety review of a plan and, through `protocol.dossier.record_at_risk`, by the checks
    of a recorded infusion day."""
    reasons: list[str] = []
    if patient.age is not None and (
        patient.age >= settings.thrombosis_age or patient.age > settings.renal_age_over
    ):
        reasons.append(f"age {patient.age}")
    if patient.egfr is not None and patient.egfr < settings.egfr_impaired_below:
        reasons.append(f"eGFR {patient.egfr:g}")
    if is_obese(patient, settings):
        assert patient.bmi is not None
        reasons.append(f"BMI {patient.bmi:.1f}")
    reasons += sorted(r.value for r in patient.risks & (THROMBOSIS_RISKS | RENAL_RISKS))
    reasons += sorted(r.value for r in patient.risks & MENINGITIS_RISKS)
    unknown = [
        name
        for name, missing in (
            ("age", patient.age is None),
            ("eGFR", patient.egfr is None),
            ("BMI (weight and height)", patient.bmi is None),
        )
        if missing
    ]
    return AtRisk(
        thrombosis_risk(patient, settings),
        renal_risk(patient, settings),
        meningitis_risk(patient),
        tuple(reasons),
        tuple(unknown),
    )


def sort_alerts(alerts: list[Alert]) -> tuple[Alert, ...]:
    """Most severe first (block, ask, warning, info); stable within a severity."""
    return tuple(sorted(alerts, key=lambda a: SEVERITY_ORDER[a.severity]))


def review(
    patient: PatientFacts,
    course: CourseFacts,
    catalogue: Catalogue,
    settings: ProtocolSettings = DEFAULT_SETTINGS,
    today: date | None = None,
) -> SafetyReview:
    """Run every check; the order of alerts is most severe first."""
    alerts: list[Alert] = []
    alerts += _iga(patient, settings)
    alerts += _previous_reaction(patient)
    alerts += _diagnosis(patient)
    alerts += _renal(patient, course, catalogue, settings)
    risk = at_risk_status(patient, settings)
    alerts += _thrombosis(patient, risk.thrombosis, settings)
    alerts += _elderly_daily_dose(patient, course, settings)
    alerts += _haemolysis(patient, course, settings)
    alerts += _excipients(patient, course)
    alerts += _volume_overload(patient, course)
    alerts += _pregnancy(patient)
    alerts += _live_vaccines(patient, course.start_date or today or date.today(), settings)
    alerts += _aseptic_meningitis(patient, risk.meningitis)
    return SafetyReview(sort_alerts(alerts), risk)


def _iga(patient: PatientFacts, settings: ProtocolSettings) -> list[Alert]:
    if patient.iga_g_per_l is None:
        return [
            Alert(
                Severity.BLOCK,
                "iga_not_measured",
                "Serum IgA has not been recorded. Measure IgA before the first course; if it is "
                "deficient, record the anti-IgA antibody result.",
                SRC_IGA_TEST,
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
    if is_obese(patient, settings) and Risk.OBESITY not in patient.risks:
        assert patient.bmi is not None
        reasons.append(f"obesity (BMI {patient.bmi:.1f})")
    if patient.age is not None and patient.age >= settings.thrombosis_age:
        reasons.insert(0, f"age {patient.age}")
    source = SRC_BOXED
    if is_obese(patient, settings):
        source = f"{SRC_BOXED}; {SRC_OBESITY}"
    return [
        Alert(
            Severity.WARNING,
            "thrombosis_risk",
            f"Thrombosis risk ({', '.join(reasons)}): use the at-risk (slower) maximum rate; "
            "hydrate first, consider a 5-day split and watch for thrombosis symptoms.",
            source,
        )
    ]


def _elderly_daily_dose(
    patient: PatientFacts, course: CourseFacts, settings: ProtocolSettings
) -> list[Alert]:
    """The trial paper's warning judged on the daily dose: more than the standard course spread
    over `elderly_min_days` days gives per day (2 g/kg / 3 = 0.67 g/kg/day) is too fast."""
    if patient.age is None or patient.age < settings.elderly_age:
        return []
    limit = settings.standard_course_g_per_kg / settings.elderly_min_days
    daily = course.daily_g_per_kg
    if daily is None or daily <= limit + settings.dose_tolerance_g_per_kg / course.days:
        return []
    return [
        Alert(
            Severity.WARNING,
            "elderly_rapid_standard_dose",
            f"Patient aged {patient.age} is planned {daily:.2f} g/kg/day, more than the "
            f"{limit:.2f} g/kg/day of the standard {settings.standard_course_g_per_kg:g} g/kg "
            f"spread over {settings.elderly_min_days} days. The trial paper advises against "
            "giving the standard dose over one to two days, particularly in elderly patients: "
            f"spread the course over at least {settings.elderly_min_days} days (e.g. 5).",
            SRC_TRIAL,
        )
    ]


def _diagnosis(patient: PatientFacts) -> list[Alert]:
    if patient.diagnosis is not None:
        return []
    return [
        Alert(
            Severity.ASK,
            "diagnosis_unknown",
            "The diagnosis is not recorded. Dermatomyositis carries an increased "
            "thromboembolic risk and a lower maximum rate: record the diagnosis (the "
            "dermatomyositis rate cap is applied until it is known).",
            SRC_DM_CAP,
        )
    ]


def _volume_overload(patient: PatientFacts, course: CourseFacts) -> list[Alert]:
    if Risk.HEART_FAILURE not in patient.risks or course.product is None:
        return []
    conc = course.product.concentration_g_per_ml.value
    volume = course.daily_volume_ml
    amount = f"{volume:.0f} mL a day" if volume is not None else "a volume that is not known"
    if conc is not None and conc <= 0.05:
        return [
            Alert(
                Severity.WARNING,
                "volume_overload_5_percent",
                f"Heart failure / volume overload risk and a {conc * 100:g} % product: "
                f"{course.product.name} gives {amount}, twice the volume of a 10 % product. "
                "Prefer a 10 % product, spread the course over 5 days, assess fluid status "
                "before each day and watch for breathlessness and oedema.",
                SRC_VOLUME,
            )
        ]
    return [
        Alert(
            Severity.WARNING,
            "volume_overload_risk",
            f"Heart failure / volume overload risk: {course.product.name} gives {amount}. "
            "Assess fluid status before each day, consider a 5-day split and watch for "
            "breathlessness and oedema.",
            SRC_VOLUME,
        )
    ]


def _pregnancy(patient: PatientFacts) -> list[Alert]:
    if Risk.PREGNANCY not in patient.risks:
        return []
    return [
        Alert(
            Severity.WARNING,
            "pregnancy",
            "Pregnant: use IVIg with caution (safety in pregnancy not established in controlled "
            "trials); the dose is based on the pre-pregnancy weight.",
            SRC_PREGNANCY,
        )
    ]


def _live_vaccines(patient: PatientFacts, start: date, settings: ProtocolSettings) -> list[Alert]:
    alerts: list[Alert] = []
    given = patient.live_vaccine_given
    if given is not None and 0 <= (start - given).days <= settings.live_vaccine_before_days:
        alerts.append(
            Alert(
                Severity.WARNING,
                "live_vaccine_recent",
                f"A live attenuated vaccine was given on {given.isoformat()}, within "
                f"{settings.live_vaccine_before_days} days before the course: the vaccine may "
                "not take. Plan to repeat it or check antibodies later.",
                SRC_LIVE_VACCINE,
            )
        )
    due = patient.live_vaccine_due
    if due is not None and 0 <= (due - start).days < settings.live_vaccine_after_days:
        alerts.append(
            Alert(
                Severity.WARNING,
                "live_vaccine_due",
                f"A live attenuated vaccine is due on {due.isoformat()}, within "
                f"{settings.live_vaccine_after_days} days after the course: IVIg impairs it. "
                f"Postpone it to at least {settings.live_vaccine_after_days} days after the last "
                "infusion (measles: check antibodies; impairment can last up to 1 year).",
                SRC_LIVE_VACCINE,
            )
        )
    return alerts


def _aseptic_meningitis(patient: PatientFacts, at_risk: bool) -> list[Alert]:
    if not at_risk:
        return []
    reasons = ", ".join(sorted(r.value for r in patient.risks & MENINGITIS_RISKS))
    return [
        Alert(
            Severity.WARNING,
            "aseptic_meningitis_risk",
            f"Aseptic meningitis risk ({reasons}): the at-risk (slower) maximum rate is used; "
            "consider a 5-day split and watch for headache, neck stiffness and fever up to 2 "
            "days after each infusion.",
            SRC_MENINGITIS,
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
    if stabiliser is Stabiliser.SORBITOL:
        alerts += _excipient_question(
            patient,
            product,
            Risk.FRUCTOSE_INTOLERANCE,
            "sorbitol_fructose_intolerance",
            "hereditary fructose intolerance",
            "sorbitol",
            SRC_SORBITOL,
        )
    if stabiliser is Stabiliser.PROLINE:
        alerts += _excipient_question(
            patient,
            product,
            Risk.HYPERPROLINAEMIA,
            "proline_hyperprolinaemia",
            "hyperprolinaemia (type I or II)",
            "L-proline",
            SRC_PROLINE,
        )
    return alerts


def _excipient_question(
    patient: PatientFacts,
    product: Product,
    risk: Risk,
    code: str,
    condition: str,
    excipient: str,
    source: str,
) -> list[Alert]:
    """A label contraindication nobody declares unprompted: block if present, ask if unknown."""
    if risk in patient.risks:
        return [
            Alert(
                Severity.BLOCK,
                code,
                f"{condition.capitalize()} recorded: {product.name} ({excipient}) is "
                "contraindicated; choose another product.",
                source,
            )
        ]
    if risk in patient.ruled_out:
        return []
    return [
        Alert(
            Severity.ASK,
            f"{code}_unasked",
            f"{product.name} contains {excipient}, contraindicated in {condition}. Ask the "
            f"patient and record the answer (--risk {risk.value} or --ruled-out {risk.value}).",
            source,
        )
    ]
