"""The bundled example data: the 1998 trial cohort and the SYNTHETIC demo clinic.

- `trial`: the 16 patients of the 1998 open-label trial (Mastaglia et al.) as the paper reports
  them (per-patient summary values, no visits or dates);
- `clinic`: 60 generated patients at 3 synthetic sites with dated courses and monthly visits
  (`myoivig.demo_clinic`), so that plan, advise and outcomes have something to work on.

Loading is idempotent: a dataset whose patients are all in the database already is reported as
loaded and nothing is written; a partial overlap is refused by the importer (duplicate codes).
Pages, the API and the CLI share these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from myoivig.io.importer import import_path, load_bundle, write_bundle
from myoivig.store import Store, repository

DEMO_ACTOR = "myoivig-demo-loader"


class Dataset(StrEnum):
    TRIAL = "trial"
    CLINIC = "clinic"


DATASET_FOLDERS = {Dataset.TRIAL: "trial_cohort", Dataset.CLINIC: "synthetic_clinic"}
DATASET_TITLES = {
    Dataset.TRIAL: "the 1998 trial cohort",
    Dataset.CLINIC: "the SYNTHETIC demo clinic",
}


@dataclass(frozen=True)
class DemoLoad:
    """What loading one dataset did: `already_loaded` means nothing was written."""

    dataset: Dataset
    title: str
    counts: dict[str, int]
    already_loaded: bool


def dataset_path(dataset: Dataset) -> Path:
    """Folder of a bundled dataset's tables (CSV) with its PROVENANCE.md."""
    return Path(str(resources.files("myoivig") / "data" / DATASET_FOLDERS[dataset]))


def trial_cohort_path() -> Path:
    """Folder of the bundled trial cohort tables (CSV) with their PROVENANCE.md."""
    return dataset_path(Dataset.TRIAL)


def trial_cohort_facts() -> dict[str, Any]:
    """Cohort-level statements of the paper that are not patient records (cohort.yaml)."""
    with (trial_cohort_path() / "cohort.yaml").open(encoding="utf-8") as handle:
        facts: dict[str, Any] = yaml.safe_load(handle)
    return facts


def load_trial_cohort(store: Store) -> dict[str, int]:
    return import_path(store, trial_cohort_path(), actor=DEMO_ACTOR)


def load_dataset(store: Store, dataset: Dataset) -> DemoLoad:
    """Load one bundled dataset; a no-op when all its patients are already stored."""
    bundle = load_bundle(dataset_path(dataset))
    codes = {d.patient.code for d in bundle.dossiers}
    with store.session() as session:
        present = codes <= repository.existing_patient_codes(session)
    if present:
        return DemoLoad(dataset, DATASET_TITLES[dataset], bundle.counts(), already_loaded=True)
    counts = write_bundle(store, bundle, actor=DEMO_ACTOR)
    return DemoLoad(dataset, DATASET_TITLES[dataset], counts, already_loaded=False)


def load_demo(store: Store, datasets: tuple[Dataset, ...] = tuple(Dataset)) -> list[DemoLoad]:
    """Load the chosen bundled datasets (default: both), each atomically."""
    return [load_dataset(store, dataset) for dataset in datasets]


def load_demo_if_empty(store: Store) -> list[DemoLoad]:
    """Both datasets into an empty database (what `myoivig run` does); nothing otherwise."""
    if store.patient_count() > 0:
        return []
    return load_demo(store)
