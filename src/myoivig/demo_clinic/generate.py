"""Generate the SYNTHETIC demo clinic: `python -m myoivig.demo_clinic.generate [--out DIR]`.

Seeded and reproducible: the same seed gives byte-identical files (a test regenerates the bundled
copy and compares). The output is the project's own tabular import format (one CSV per table,
`myoivig import` reads it), a PROVENANCE.md saying what the data are, and intent.yaml with the
course the generator designed for each patient.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from myoivig.demo_clinic.design import (
    DEFAULT_SEED,
    EARLIEST_START,
    REFERENCE_DATE,
    SITES,
    PatientDesign,
    cohort_design,
)
from myoivig.demo_clinic.records import intent_text, patient_dossier
from myoivig.domain import records as r
from myoivig.exit_codes import ExitCode
from myoivig.io.exporter import table_data
from myoivig.io.sheets import write_csv_folder
from myoivig.protocol.catalogue import load_catalogue

DATASET_NAME = "synthetic_clinic"
PROVENANCE = "PROVENANCE.md"
INTENT = "intent.yaml"
MARKER = "# SYNTHETIC demo clinic"  # first line of PROVENANCE.md: the folder is ours to rewrite


@dataclass(frozen=True)
class Clinic:
    seed: int
    sites: list[r.Site]
    dossiers: list[r.PatientDossier]
    designs: list[PatientDesign]


def bundled_path() -> Path:
    """The dataset shipped inside the package (src/myoivig/data/synthetic_clinic)."""
    return Path(str(resources.files("myoivig") / "data" / DATASET_NAME))


def build_clinic(seed: int = DEFAULT_SEED) -> Clinic:
    """Sites and patient dossiers of the demo clinic, as validated records."""
    catalogue = load_catalogue()
    designs = cohort_design(seed)
    sites = [
        r.Site(
            site_code=s.code,
            name=s.name,
            note="SYNTHETIC site of the myoivig demo clinic; not a real clinic.",
        )
        for s in SITES
    ]
    dossiers = [patient_dossier(d, seed, catalogue) for d in designs]
    return Clinic(seed, sites, dossiers, designs)


def intent_table(clinic: Clinic) -> dict[str, dict[str, object]]:
    """Per patient: the designed course (what the rules engines are expected to conclude)."""
    return {
        d.code: {
            "intent": d.intent.value,
            "diagnosis": d.diagnosis.value,
            "site": d.site.code,
            "like_trial_patient": d.like_trial_patient,
            "special": d.special,
            "description": intent_text(d),
        }
        for d in clinic.designs
    }


def provenance_text(clinic: Clinic) -> str:
    counts: dict[str, int] = {}
    for d in clinic.designs:
        counts[d.intent.value] = counts.get(d.intent.value, 0) + 1
    by_intent = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in sorted(counts.items()))
    assessments = sum(len(d.assessments) for d in clinic.dossiers)
    courses = sum(len(d.courses) for d in clinic.dossiers)
    days = sum(len(d.infusion_days) for d in clinic.dossiers)
    return f"""{MARKER}: provenance

**SYNTHETIC DATA. These are not real patients, sites or results.** Every patient code starts
with `SYN-`, every patient's `source` starts with `SYNTHETIC`, every site name contains
"Synthetic", and myoivig prints SYNTHETIC wherever one of these patients is shown.

- Generator: `python -m myoivig.demo_clinic.generate`, seed {clinic.seed}.
- Regenerate in place:
  `python -m myoivig.demo_clinic.generate --out src/myoivig/data/{DATASET_NAME}`.
  The same seed gives byte-identical files; a test checks that the committed files equal a
  fresh run.
- Dates: visits, courses and laboratory samples fall between {EARLIEST_START.isoformat()} and
  the fixed cut-off {REFERENCE_DATE.isoformat()} (never "today").
- Size: {len(clinic.dossiers)} patients at {len(clinic.sites)} sites, {courses} IVIg courses,
  {assessments} assessments, {days} infusion days (lot, dose, volume, the protocol engine's
  rate steps capped at the course's maximum rate and at the at-risk maximum (the record cannot
  rule out the risk factors declared in the planner), reactions; `demo_clinic/infusions.py`).
- Designed courses (per patient in `{INTENT}`; the tests check that the outcome and advice
  engines reach them): {by_intent}.
- Shape: a three-month run-in with three or four assessments and continued deterioration, then
  IVIg every 4 weeks (2 g/kg, or the 1998 trial's 30 g/day for 5 days then 3 days monthly) with
  monthly assessments: myometry of shoulder abductors, elbow extensors, hip flexors, knee
  extensors and hip extensors on both sides; Kendall grades of the trial's four groups and the
  MMT-8; the trial's functional tasks and timed 30 m walk; the IMACS core set; CK with the site
  laboratory's upper limit of normal. IgA, IgG, blood group, creatinine, eGFR and haemoglobin
  before courses; adverse events. Trajectories follow the course reported by the 1998 open-label
  trial of add-on IVIg (Mastaglia et al., J Neurol Neurosurg Psychiatry 1998;65:107-110); see
  `src/myoivig/demo_clinic/design.py` and `docs/demo-data.md`.
- Load: `myoivig demo load --dataset clinic`, or `myoivig import src/myoivig/data/{DATASET_NAME}`.
"""


def write_clinic(clinic: Clinic, out: Path) -> dict[str, int]:
    """Write all files into a fresh folder, then move them into `out` (never half-written)."""
    if out.exists() and any(out.iterdir()) and not _is_ours(out):
        raise FileExistsError(
            f"{out} is not empty and is not a synthetic clinic folder (no {PROVENANCE} starting "
            f"with {MARKER!r}); choose an empty or new folder"
        )
    data = table_data(clinic.sites, clinic.dossiers)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        staging = Path(tmp) / DATASET_NAME
        write_csv_folder(staging, data)
        (staging / PROVENANCE).write_text(provenance_text(clinic), encoding="utf-8")
        intent = yaml.safe_dump(intent_table(clinic), sort_keys=True, allow_unicode=True)
        header = "# SYNTHETIC demo clinic: the course the generator designed for each patient.\n"
        (staging / INTENT).write_text(header + intent, encoding="utf-8")
        out.mkdir(exist_ok=True)
        for file in sorted(staging.iterdir()):
            shutil.move(str(file), out / file.name)
    return {name: len(body) for name, (_, body) in data.items()}


def _is_ours(folder: Path) -> bool:
    provenance = folder / PROVENANCE
    return provenance.is_file() and provenance.read_text(encoding="utf-8").startswith(MARKER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m myoivig.demo_clinic.generate",
        description="Generate the SYNTHETIC demo clinic in the tabular import format.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: the bundled dataset)"
    )
    args = parser.parse_args(argv)
    out = args.out or bundled_path()
    try:
        counts = write_clinic(build_clinic(args.seed), out)
    except OSError as error:  # includes the refusal to write into a folder that is not ours
        print(f"error: {error}", file=sys.stderr)
        return ExitCode.USAGE
    print(f"wrote the SYNTHETIC demo clinic (seed {args.seed}) to {out}: " +
          ", ".join(f"{n} {name}" for name, n in counts.items() if n))  # fmt: skip
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
