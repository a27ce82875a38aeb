"""Every generated clinic infusion day (lots, per-kg and pump rate steps, reactions) survives
REDCap and FHIR unchanged: the mappings are checked on 1,700 varied days, not only on the
hand-written test dossiers."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from exchange_dossiers import dermatomyositis

from myoivig.clinic.infusion_checks import check_rates, day_at_risk, rate_caps_for
from myoivig.domain import records as r
from myoivig.exchange.fhir.export import bundle_of
from myoivig.exchange.fhir.read import read_bundle_text
from myoivig.exchange.redcap.records import export_records, header, read_records
from myoivig.io.importer import Bundle, load_bundle
from myoivig.io.infusion_rules import rate_problems
from myoivig.protocol.catalogue import load_catalogue
from myoivig.protocol.dossier import DECLARED_UNKNOWN
from myoivig.protocol.settings import DEFAULT_SETTINGS


def _clinic() -> Bundle:
    folder = Path(str(resources.files("myoivig.data").joinpath("synthetic_clinic")))
    return load_bundle(folder, accept_warnings=True)


def _days(bundle: Bundle) -> dict[str, list[dict[str, Any]]]:
    return {
        d.patient.code: [day.model_dump(mode="json") for day in d.infusion_days]
        for d in bundle.dossiers
    }


def test_generated_infusion_days_survive_redcap_and_fhir() -> None:
    clinic = _clinic()
    days = _days(clinic)
    assert sum(map(len, days.values())) > 1000
    assert any(s["unit"] == "ml_per_h" for d in days.values() for x in d for s in x["rate_steps"])
    columns = header()
    rows = [
        {c: row.get(c, "") for c in columns}
        for row in export_records(clinic.sites, clinic.dossiers)
    ]
    back, problems = read_records(columns, rows)
    assert problems == [] and _days(back) == days
    back, problems = read_bundle_text(json.dumps(bundle_of(clinic.sites, clinic.dossiers)), "b")
    assert problems == [] and _days(back) == days


def test_an_import_leaves_the_cannot_tell_at_risk_question_to_the_clinic() -> None:
    """REDCap and FHIR imports refuse only what the clinic never saves. The test patient's day 1
    (Privigen, dermatomyositis, 0.04 mL/kg/min) is above the class at-risk maximum 0.03 and the
    record cannot tell whether the patient is at risk (the planner's declared risk factors are
    not stored): a confirmable problem for the clinic, like a dose above the daily dose, so
    the import does not refuse it; a step above the applicable maximum is refused."""
    dossier = dermatomyositis()
    course = dossier.courses[0]
    day = dossier.infusion_days[0]
    settings, catalogue = DEFAULT_SETTINGS, load_catalogue()
    risk = day_at_risk(dossier.patient, dossier.labs, day, course, settings)
    assert risk.at_risk is None and DECLARED_UNKNOWN in risk.unknown
    caps = rate_caps_for("privigen", dossier.patient.diagnosis, catalogue, settings, risk)
    [asked] = check_rates(day, course, "privigen", caps)
    assert asked.needs_confirmation and "not stored in the record" in asked.message
    assert rate_problems([dossier], catalogue, settings, "records.csv", "inf_rate_steps") == []
    fast = day.model_copy(update={"rate_steps": [r.RateStepGiven(rate=0.05, minutes=30)]})
    refused = [dossier.model_copy(update={"infusion_days": [fast, *dossier.infusion_days[1:]]})]
    [problem] = rate_problems(refused, catalogue, settings, "records.csv", "inf_rate_steps")
    assert "above the maximum 0.04 mL/kg/min" in problem.reason
