"""Application layer of the outcomes area: what the CLI (and pages or an API) ask for.

The commands only parse options and print; loading records and applying the rules happen here.
"""

from __future__ import annotations

from typing import Any

from myoivig.domain.records import PatientDossier
from myoivig.domain.synthetic import is_synthetic, patient_label
from myoivig.outcomes.core_set import ScoringSettings
from myoivig.outcomes.patient_report import patient_outcomes
from myoivig.outcomes.runin import BaselineMethod
from myoivig.outcomes.trial_claims import load_claims
from myoivig.outcomes.trial_report import cohort_summary
from myoivig.store import Store
from myoivig.store.repository import list_dossiers, load_dossier


def patient_outcome_report(
    store: Store,
    code: str,
    baseline: BaselineMethod = BaselineMethod.MEAN,
    settings: ScoringSettings | None = None,
) -> dict[str, Any]:
    """One stored patient's outcome report; RecordNotFoundError when the code is unknown."""
    with store.session() as session:
        dossier = load_dossier(session, code)
    report = patient_outcomes(
        code, dossier.patient.diagnosis, dossier.assessments, baseline, settings
    )
    report["synthetic"] = is_synthetic(dossier.patient)
    report["label"] = patient_label(dossier.patient)
    return report


def stored_dossiers(store: Store) -> list[PatientDossier]:
    """Every stored dossier."""
    with store.session() as session:
        return list_dossiers(session)


def trial_cohort_summary(dossiers: list[PatientDossier]) -> dict[str, object]:
    """The 1998 trial's summary from the stored reported outcomes and the paper's claims."""
    source, claims = load_claims()
    return cohort_summary(dossiers, source, claims)
