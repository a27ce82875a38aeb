"""Every generated clinic infusion day (lots, per-kg and pump rate steps, reactions) survives
REDCap and FHIR unchanged: the mappings are checked on 1,700 varied days, not only on the
hand-written test dossiers."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from myoivig.exchange.fhir.export import bundle_of
from myoivig.exchange.fhir.read import read_bundle_text
from myoivig.exchange.redcap.records import export_records, header, read_records
from myoivig.io.importer import Bundle, load_bundle


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
