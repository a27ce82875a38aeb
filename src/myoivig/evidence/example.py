"""The bundled example: pooled response proportion of IVIg in refractory PM/DM.

Data: `data/ivig_response_studies.csv`, built only from CONFIRMED figures of the primary papers
(each row cites journal, year, volume, pages and PMID), with its certainty. The primary pool uses
the trial paper's table (8 of 11); its abstract's 9 of 11 is a sensitivity analysis, as are the
second-hand Cherin 1991 count and the extra Hara 2003 study. Measure and model are settings
(default: logit proportions, REML), because the pooled proportion moves with that choice (shown by
the sensitivity analyses).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import pandas as pd

from myoivig.evidence.effect_sizes import EffectSizes, escalc
from myoivig.evidence.glmm import rma_glmm
from myoivig.evidence.model import MetaFit, rma
from myoivig.evidence.subgroups import SubgroupAnalysis, subgroup_analysis

DATA_FILE = "ivig_response_studies.csv"
PRIMARY_ROLE = "primary"


def load_studies() -> pd.DataFrame:
    """The example's study table (one row per figure, with certainty and source)."""
    with (
        resources.files("myoivig.evidence.data")
        .joinpath(DATA_FILE)
        .open("r", encoding="utf-8") as fh
    ):
        return pd.read_csv(fh, dtype={"replaces": str}, keep_default_na=False, na_values=[""])


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts (typed access for the analysis code)."""
    return [{str(k): v for k, v in row.items()} for row in df.to_dict("records")]


def _es(rows: pd.DataFrame, measure: str) -> EffectSizes:
    return escalc(
        measure,
        xi=rows["xi"].to_numpy(dtype=float),
        ni=rows["ni"].to_numpy(dtype=float),
        labels=rows["study"].tolist(),
    )


@dataclass(frozen=True)
class Sensitivity:
    """One sensitivity analysis: what changed and the refitted model."""

    name: str
    description: str
    fit: MetaFit


@dataclass(frozen=True)
class ExampleAnalysis:
    """Primary fit, subgroup analyses and sensitivity analyses of the example."""

    studies: pd.DataFrame
    primary_rows: pd.DataFrame
    primary: MetaFit
    by_response: SubgroupAnalysis
    by_design: SubgroupAnalysis
    sensitivity: tuple[Sensitivity, ...]

    def as_dict(self) -> dict[str, Any]:
        """Stable JSON-ready summary."""

        def brief(fit: MetaFit) -> dict[str, Any]:
            s = fit.summary()
            keys = ("k", "estimate", "se", "ci_lower", "ci_upper", "tau2", "i2", "h2", "q", "q_p",
                    "pi_lower", "pi_upper", "pooled", "pooled_lower", "pooled_upper",
                    "pooled_pi_lower", "pooled_pi_upper")  # fmt: skip
            return {k: s.get(k) for k in keys}

        def subgroups(sg: SubgroupAnalysis) -> dict[str, Any]:
            return {
                "subgroups": [
                    {"group": g, "studies": list(f.es.labels or ())} | brief(f)
                    for g, f in zip(sg.groups, sg.fits, strict=True)
                ],
                "between_test": sg.between_test,
                "q_between": sg.q_between,
                "q_between_df": sg.q_between_df,
                "q_between_df2": sg.q_between_df2,
                "q_between_p": sg.q_between_p,
            }

        primary = self.primary.summary()
        return {
            "question": "Pooled response proportion of IVIg in refractory adult PM/DM",
            "measure": primary["measure"],
            "method": primary["method"],
            "back_transform": primary.get("back_transform"),
            "studies": [
                {
                    "study_id": r["study_id"],
                    "study": r["study"],
                    "responders": int(r["xi"]),
                    "n": int(r["ni"]),
                    "design": r["design_group"],
                    "response_definition": r["response_definition"],
                    "role": r["role"],
                    "certainty": r["certainty"],
                    "source": r["source"],
                }
                for r in _records(self.studies)
            ],
            "response_definitions_mixed": sorted(set(self.primary_rows["response_group"])),
            "primary": brief(self.primary),
            "by_response_definition": subgroups(self.by_response),
            "by_design": subgroups(self.by_design),
            "glmm_binomial_normal": rma_glmm(
                self.primary_rows["xi"].to_numpy(dtype=float),
                self.primary_rows["ni"].to_numpy(dtype=float),
            ).summary(),
            "sensitivity": [
                {"name": s.name, "description": s.description} | brief(s.fit)
                for s in self.sensitivity
            ],
        }


def analyse(measure: str = "PLO", method: str = "REML", test: str = "z") -> ExampleAnalysis:
    """Run the example's primary, subgroup and sensitivity analyses."""
    studies = load_studies()
    primary_rows = studies[studies["role"] == PRIMARY_ROLE].reset_index(drop=True)
    es = _es(primary_rows, measure)
    primary = rma(es, method=method, test=test)
    by_response = subgroup_analysis(
        es, primary_rows["response_group"].tolist(), method=method, test=test
    )
    by_design = subgroup_analysis(
        es, primary_rows["design_group"].tolist(), method=method, test=test
    )

    sens: list[Sensitivity] = []
    for alt in _records(studies[studies["role"] == "sensitivity_alternative"]):
        rows = primary_rows.copy()
        keep = rows["study_id"] != alt["replaces"]
        rows = pd.concat([rows[keep], studies[studies["study_id"] == alt["study_id"]]])
        sens.append(
            Sensitivity(
                f"{alt['study_id']}_instead_of_{alt['replaces']}",
                f"{alt['study']}: {int(alt['xi'])}/{int(alt['ni'])} instead of the table's figure",
                rma(_es(rows.reset_index(drop=True), measure), method=method, test=test),
            )
        )
    for add in _records(studies[studies["role"] == "sensitivity_addition"]):
        rows = pd.concat(
            [primary_rows, studies[studies["study_id"] == add["study_id"]]], ignore_index=True
        )
        certainty = str(add["certainty"]).split(":")[0]
        sens.append(
            Sensitivity(
                f"add_{add['study_id']}",
                f"adding {add['study']} ({int(add['xi'])}/{int(add['ni'])}; {certainty})",
                rma(_es(rows, measure), method=method, test=test),
            )
        )
    return ExampleAnalysis(studies, primary_rows, primary, by_response, by_design, tuple(sens))


# The two subgroupings of the example's forest plots (issue 5 item 7): the study-table column
# that defines the sections and a human heading.
GROUPINGS = {"definition": "response_group", "design": "design_group"}
GROUPING_TITLES = {"definition": "response definition", "design": "design"}


def subgroups_for(analysis: ExampleAnalysis, by: str) -> SubgroupAnalysis:
    """The subgroup analysis behind the forest plot sectioned by `by` ("definition"/"design")."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; known: {', '.join(GROUPINGS)}")
    return analysis.by_response if by == "definition" else analysis.by_design


def _subgroup_line(sg: SubgroupAnalysis, title: str) -> str:
    parts = []
    for g, f in zip(sg.groups, sg.fits, strict=True):
        pr = f.predict(natural=True)
        parts.append(
            f"{g} (k={f.k}) {100 * pr.pred:.0f}% [{100 * pr.ci_lower:.0f}, {100 * pr.ci_upper:.0f}]"
        )
    return f"By {title}: " + "; ".join(parts) + f"; test for differences p = {sg.q_between_p:.2f}."


def footnote(analysis: ExampleAnalysis, by: str = "definition") -> str:
    """The other grouping's subgroups and the sensitivity results, for the forest plot's foot."""
    other = "design" if by == "definition" else "definition"
    line = _subgroup_line(subgroups_for(analysis, other), GROUPING_TITLES[other])
    sens = []
    for s in analysis.sensitivity:
        pr = s.fit.predict(natural=True)
        ci = f"[{100 * pr.ci_lower:.1f}, {100 * pr.ci_upper:.1f}]"
        sens.append(f"{s.description}: {100 * pr.pred:.1f}% {ci}")
    return (
        line
        + "\nSensitivity: "
        + "; ".join(sens)
        + f".\nSections are subgroups by {GROUPING_TITLES[by]}; response definitions differ between"
        " studies; figures are those CONFIRMED in each study's primary paper. "
        f"Measure {analysis.primary.es.measure}, tau² by {analysis.primary.method}, 95% CIs."
    )
