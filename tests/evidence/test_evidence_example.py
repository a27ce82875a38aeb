"""The bundled IVIg example keeps every number's certainty and source, and uses only what the
sources give: the primary pool is CONFIRMED figures, the trial seed's table 8/11, with its
abstract's 9/11 as a sensitivity analysis."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from myoivig.evidence.example import analyse, load_studies


def test_every_row_has_certainty_and_source() -> None:
    studies = load_studies()
    assert studies["certainty"].str.len().min() > 0
    assert studies["source"].str.len().min() > 0
    primary = studies[studies["role"] == "primary"]
    assert primary["certainty"].str.startswith("CONFIRMED").all()
    assert set(studies["role"]) <= {
        "primary",
        "sensitivity_alternative",
        "sensitivity_addition",
        "excluded",
    }


def test_mastaglia_table_in_primary_abstract_in_sensitivity() -> None:
    a = analyse()
    row = a.primary_rows[a.primary_rows["study_id"] == "mastaglia1998_table"].iloc[0]
    assert (row["xi"], row["ni"]) == (8, 11)
    names = [s.name for s in a.sensitivity]
    assert "mastaglia1998_abstract_instead_of_mastaglia1998_table" in names
    sens = a.sensitivity[names.index("mastaglia1998_abstract_instead_of_mastaglia1998_table")]
    assert sens.fit.k == a.primary.k
    assert sens.fit.predict(natural=True).pred > a.primary.predict(natural=True).pred


def test_counts_match_the_shared_study_table(outside_data: Callable[[str], Path]) -> None:
    shared = pd.read_csv(outside_data("data/evidence/ivig_pm_dm_studies.csv"))
    ours = load_studies()
    for r in ours.itertuples():
        sid = r.study_id.removesuffix("_table").removesuffix("_abstract")
        src = shared[shared["study_id"] == sid].iloc[0]
        if r.study_id == "mastaglia1998_table":
            assert (r.xi, r.ni) == (8, 11)  # table; the shared row follows the abstract (9)
            continue
        assert int(src["responders"]) == r.xi
        assert int(src["n_ivig"]) == r.ni


def test_subgroups_and_mixed_definitions_reported() -> None:
    out = analyse().as_dict()
    assert len(out["response_definitions_mixed"]) == 3
    assert {s["group"] for s in out["by_design"]["subgroups"]} == {
        "RCT",
        "Prospective open",
        "Retrospective",
    }
    assert out["by_response_definition"]["q_between_df"] == 2
