"""Synthetic (generated) patients are labelled as such wherever they are shown.

The bundled demo clinic is generated data, not people. Its records carry the label in their own
fields, so the label survives export, import and every database: the patient `source` starts
with `SYNTHETIC`, codes start with `SYN-`, site names contain "Synthetic". Printers ask
`is_synthetic` and add `SYNTHETIC_LABEL` next to the patient, so no screen can show a generated
patient as if it were real.
"""

from __future__ import annotations

from myoivig.domain.records import Patient

SYNTHETIC_SOURCE_PREFIX = "SYNTHETIC"
SYNTHETIC_LABEL = "SYNTHETIC demo patient, not a real person"
SYNTHETIC_GROUP_LABEL = "SYNTHETIC demo patients, not real people"


def is_synthetic(patient: Patient) -> bool:
    """True for a generated patient (its `source` starts with SYNTHETIC)."""
    return (patient.source or "").lstrip().upper().startswith(SYNTHETIC_SOURCE_PREFIX)


def patient_label(patient: Patient) -> str:
    """The patient's code, followed by the SYNTHETIC label for a generated patient."""
    if is_synthetic(patient):
        return f"{patient.code} ({SYNTHETIC_LABEL})"
    return patient.code
