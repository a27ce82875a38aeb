"""Controlled vocabularies.

Values are stable snake_case strings: they are what the store, the tabular format and the JSON
output carry, so renaming one is a data migration, not a refactor.
"""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    OTHER = "X"


class Diagnosis(StrEnum):
    """Idiopathic inflammatory myopathy subtypes the system knows about."""

    DERMATOMYOSITIS = "dermatomyositis"
    POLYMYOSITIS = "polymyositis"
    OVERLAP_MYOSITIS = "overlap_myositis"
    INCLUSION_BODY_MYOSITIS = "inclusion_body_myositis"
    IMMUNE_MEDIATED_NECROTISING_MYOPATHY = "immune_mediated_necrotising_myopathy"
    ANTISYNTHETASE_SYNDROME = "antisynthetase_syndrome"
    JUVENILE_DERMATOMYOSITIS = "juvenile_dermatomyositis"


class OverlapDisease(StrEnum):
    """Connective-tissue disease associated with an overlap myositis."""

    SYSTEMIC_SCLEROSIS = "systemic_sclerosis"
    SLE = "systemic_lupus_erythematosus"
    SJOGREN = "sjogren_syndrome"
    MCTD = "mixed_connective_tissue_disease"
    RHEUMATOID_ARTHRITIS = "rheumatoid_arthritis"


class Drug(StrEnum):
    """Concurrent immunotherapies; `other` keeps the source's own label in `drug_label`."""

    PREDNISOLONE = "prednisolone"
    PREDNISONE = "prednisone"
    METHYLPREDNISOLONE = "methylprednisolone"
    METHOTREXATE = "methotrexate"
    AZATHIOPRINE = "azathioprine"
    CYCLOSPORIN_A = "cyclosporin_a"
    PENICILLAMINE = "penicillamine"
    MYCOPHENOLATE = "mycophenolate"
    TACROLIMUS = "tacrolimus"
    RITUXIMAB = "rituximab"
    CYCLOPHOSPHAMIDE = "cyclophosphamide"
    HYDROXYCHLOROQUINE = "hydroxychloroquine"
    OTHER = "other"


class TherapyTiming(StrEnum):
    """How a therapy relates in time to the IVIg treatment when exact dates are unknown."""

    CONCURRENT = "concurrent"
    STOPPED_BEFORE_IVIG = "stopped_before_ivig"
    STARTED_DURING_IVIG = "started_during_ivig"


class Phase(StrEnum):
    RUN_IN = "run_in"
    TREATMENT = "treatment"
    FOLLOW_UP = "follow_up"


class MuscleGroup(StrEnum):
    """Muscle groups graded or measured; the first four are the trial's myometry set."""

    SHOULDER_ABDUCTORS = "shoulder_abductors"
    ELBOW_EXTENSORS = "elbow_extensors"
    HIP_FLEXORS = "hip_flexors"
    KNEE_EXTENSORS = "knee_extensors"
    HIP_EXTENSORS = "hip_extensors"
    ELBOW_FLEXORS = "elbow_flexors"
    WRIST_EXTENSORS = "wrist_extensors"
    WRIST_FLEXORS = "wrist_flexors"
    NECK_FLEXORS = "neck_flexors"
    NECK_EXTENSORS = "neck_extensors"
    DELTOID_MIDDLE = "deltoid_middle"
    BICEPS_BRACHII = "biceps_brachii"
    GLUTEUS_MAXIMUS = "gluteus_maximus"
    GLUTEUS_MEDIUS = "gluteus_medius"
    QUADRICEPS = "quadriceps"
    ANKLE_DORSIFLEXORS = "ankle_dorsiflexors"
    ANKLE_PLANTAR_FLEXORS = "ankle_plantar_flexors"
    TRAPEZIUS = "trapezius"
    ILIOPSOAS = "iliopsoas"
    HAMSTRINGS = "hamstrings"


# Mastaglia et al. 1998 (J Neurol Neurosurg Psychiatry 65:107-110): "shoulder abductors, elbow
# extensors, hip flexors, and knee extensors", measured bilaterally by myometry and graded on the
# 10-level modified MRC scale.
TRIAL_MUSCLE_GROUPS: tuple[MuscleGroup, ...] = (
    MuscleGroup.SHOULDER_ABDUCTORS,
    MuscleGroup.ELBOW_EXTENSORS,
    MuscleGroup.HIP_FLEXORS,
    MuscleGroup.KNEE_EXTENSORS,
)

# IMACS MMT-8 (IMACS Form 04; Rider et al., Arthritis Care Res 2010).
MMT8_MUSCLE_GROUPS: tuple[MuscleGroup, ...] = (
    MuscleGroup.NECK_FLEXORS,
    MuscleGroup.DELTOID_MIDDLE,
    MuscleGroup.BICEPS_BRACHII,
    MuscleGroup.WRIST_EXTENSORS,
    MuscleGroup.GLUTEUS_MAXIMUS,
    MuscleGroup.GLUTEUS_MEDIUS,
    MuscleGroup.QUADRICEPS,
    MuscleGroup.ANKLE_DORSIFLEXORS,
)


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    AXIAL = "axial"  # neck flexors/extensors: tested once


class FunctionalTask(StrEnum):
    """The trial's functional tasks (Mastaglia 1998, methods item 3)."""

    RISE_FROM_CHAIR_WITHOUT_HANDS = "rise_from_chair_without_hands"
    RISE_FROM_SQUAT = "rise_from_squat"
    CLIMB_STAIRS = "climb_stairs"
    WALK_30M = "walk_30m"


class CoreSetMeasure(StrEnum):
    """IMACS core set activity measures other than enzymes and MMT grades."""

    PHYSICIAN_GLOBAL = "physician_global"  # VAS, 0-10 cm
    PATIENT_GLOBAL = "patient_global"  # VAS, 0-10 cm
    HAQ = "haq"  # HAQ-DI, 0-3
    EXTRAMUSCULAR = "extramuscular"  # extramuscular global activity VAS, 0-10 cm
    MMT8 = "mmt8"  # MMT-8 total, on the scale given by scale_max (80, 150)


class Enzyme(StrEnum):
    CK = "ck"
    ALDOLASE = "aldolase"
    AST = "ast"
    ALT = "alt"
    LDH = "ldh"


class LabTest(StrEnum):
    IGA = "iga"
    IGG = "igg"
    ANTI_IGA_ANTIBODIES = "anti_iga_antibodies"
    CREATININE = "creatinine"
    EGFR = "egfr"
    HAEMOGLOBIN = "haemoglobin"
    BLOOD_GROUP = "blood_group"


class BloodGroup(StrEnum):
    O = "O"  # noqa: E741 - the ABO blood group
    A = "A"
    B = "B"
    AB = "AB"


class AntibodyResult(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


class AdverseEventOutcome(StrEnum):
    RECOVERED = "recovered"
    RECOVERING = "recovering"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    NOT_RECOVERED = "not_recovered"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class AdverseEventAction(StrEnum):
    NONE = "none"
    INFUSION_SLOWED = "infusion_slowed"
    INFUSION_STOPPED = "infusion_stopped"
    THERAPY_DISCONTINUED = "therapy_discontinued"


class IvigRelation(StrEnum):
    """How likely IVIg caused an adverse event: the categories of the WHO-UMC system for
    standardised case causality assessment (Uppsala Monitoring Centre; docs/sources.md)."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    CONDITIONAL = "conditional"
    UNASSESSABLE = "unassessable"


class Qualifier(StrEnum):
    """How a reported number relates to the true value (e.g. the paper's "<1" years)."""

    EXACT = "exact"
    LESS_THAN = "less_than"
    APPROXIMATE = "approximate"


class RateUnit(StrEnum):
    """How a nurse reads an infusion rate: per kilogram (the labels' unit) or the pump's mL/h."""

    ML_PER_KG_MIN = "ml_per_kg_min"
    ML_PER_H = "ml_per_h"


class ReactionAction(StrEnum):
    """What was done about an infusion reaction on the day."""

    SLOWED = "slowed"
    PAUSED = "paused"
    STOPPED = "stopped"
    PREMEDICATION = "premedication"
