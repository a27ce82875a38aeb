"""The bundled example data: the 16-patient cohort of the 1998 trial (Mastaglia et al. 1998)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from myoivig.io.importer import import_path
from myoivig.store import Store

DEMO_ACTOR = "myoivig-demo-loader"


def trial_cohort_path() -> Path:
    """Folder of the bundled trial cohort tables (CSV) with their PROVENANCE.md."""
    return Path(str(resources.files("myoivig") / "data" / "trial_cohort"))


def trial_cohort_facts() -> dict[str, Any]:
    """Cohort-level statements of the paper that are not patient records (cohort.yaml)."""
    with (trial_cohort_path() / "cohort.yaml").open(encoding="utf-8") as handle:
        facts: dict[str, Any] = yaml.safe_load(handle)
    return facts


def load_trial_cohort(store: Store) -> dict[str, int]:
    return import_path(store, trial_cohort_path(), actor=DEMO_ACTOR)
