"""The paper's table and cohort summary from record-shaped data, and the cohort statistics."""

from __future__ import annotations

from dataclasses import replace

import pytest
from outcomes_trial_data import trial_dossiers

from myoivig.outcomes.cohort_stats import ck_before_after, proportion, summarise_changes
from myoivig.outcomes.trial_claims import load_claims
from myoivig.outcomes.trial_report import cohort_summary, table_cells, table_rows


def test_table_rows_match_the_paper() -> None:
    rows = table_rows(trial_dossiers())
    assert [r.case for r in rows] == list(range(1, 17))
    cells = {r.case: table_cells(r) for r in rows}
    assert cells[1] == [
        "1",
        "M 78 y",
        "DM",
        "1",
        "Pred MTX CyA",
        "2",
        "-",
        "-",
        "+20.9 (NS)",
        "253",
        "134",
    ]
    assert cells[4][3] == "<1"
    assert cells[5][5] == "1 + 3"
    assert cells[2][8] == "NP"
    assert cells[9][2] == "PM/SS" and cells[10][2] == "PM/SLE"
    assert cells[12][8:] == ["-12.3", "107", "NP"]
    assert cells[13][4] == "Nil" and cells[13][10] == "910*"
    assert cells[16][10] == "830*"
    assert [r.case for r in rows if r.responder] == [2, 4, 5, 6, 8, 9, 10, 11]


def test_summary_groups_intervals_and_discrepancies() -> None:
    source, claims = load_claims()
    summary = cohort_summary(trial_dossiers(), source, claims)
    assert summary["total_courses"] == 80
    assert summary["serious_adverse_events"] == 2
    groups = summary["groups"]
    assert isinstance(groups, dict)
    assert (groups["isolated_dm_pm"]["responders"], groups["isolated_dm_pm"]["patients"]) == (4, 7)
    assert (groups["overlap"]["responders"], groups["overlap"]["patients"]) == (4, 4)
    assert (groups["ibm"]["responders"], groups["ibm"]["patients"]) == (0, 5)
    # Clopper-Pearson 4/7: beta quantiles; 0/5 upper = 1 - 0.025**(1/5)
    assert groups["isolated_dm_pm"]["clopper_pearson_95"] == pytest.approx(
        [0.1841, 0.9010], abs=1e-4
    )
    assert groups["ibm"]["clopper_pearson_95"][1] == pytest.approx(1 - 0.025 ** (1 / 5))
    # Wilson 4/4: upper bound 1, lower n/(n+z^2)
    assert groups["overlap"]["wilson_95"][0] == pytest.approx(4 / (4 + 1.959964**2), abs=1e-5)
    found = {d["claim_id"]: (d["paper_says"], d["data_give"]) for d in summary["discrepancies"]}
    assert found == {
        "abstract_isolated_dm_pm": ("5 of 7", "4 of 7"),
        "abstract_non_ibm_total": ("9 of 11", "8 of 11"),
        "results_dermatomyositis": ("4 of 5", "3 of 5"),
    }
    agreed = {a["claim_id"] for a in summary["agreements"]}
    assert {"discussion_isolated_dm_pm", "results_overlap", "discussion_serious_reactions",
            "discussion_courses", "abstract_ibm", "results_polymyositis"} <= agreed  # fmt: skip


def test_proportion_edges_and_errors() -> None:
    p = proportion(0, 0)
    assert p.estimate is None and p.wilson is None
    full = proportion(5, 5)
    assert full.clopper_pearson is not None and full.clopper_pearson[1] == 1.0
    with pytest.raises(ValueError, match="successes"):
        proportion(6, 5)


def test_ck_tests_on_log_scale_and_exact_wilcoxon() -> None:
    pairs = [(253, 134), (1932, 29), (324, 127), (1230, 256), (637, 56), (207, 77), (166, 196)]
    result = ck_before_after(pairs)
    assert result.n_pairs == 7
    assert result.wilcoxon_method == "exact"
    # 6 of 7 fall; the one rise (166 -> 196, |d| = 30) has the smallest rank: W = 1,
    # exact two-sided p = 2 * P(W <= 1) = 2 * 2 / 2**7
    assert result.wilcoxon_statistic == 1
    assert result.wilcoxon_p_value == pytest.approx(4 / 128)
    assert result.ratio_after_to_before < 1
    assert result.t_p_value is not None and result.t_p_value < 0.05
    with pytest.raises(ValueError, match="> 0"):
        ck_before_after([(0, 10)])


def test_change_summary_counts() -> None:
    summary = summarise_changes([(20.9, False), (33.4, True), (-12.3, True), (1.0, None)])
    assert summary.n == 4
    assert (summary.improved_significant, summary.worsened_significant) == (1, 1)
    assert (summary.not_significant, summary.significance_unknown) == (1, 1)
    assert summary.median == pytest.approx((1.0 + 20.9) / 2)


def test_zero_ck_is_left_out_of_the_log_tests_not_a_crash() -> None:
    source, claims = load_claims()
    dossiers = trial_dossiers()
    first = dossiers[0].reported_outcome
    dossiers[0] = replace(dossiers[0], reported_outcome=replace(first, ck_after_u_per_l=0.0))
    summary = cohort_summary(dossiers, source, claims)
    ck = summary["ck"]
    assert isinstance(ck, dict)
    assert ck["all"]["excluded_pairs_with_zero_ck"] == 1
    assert ck["all"]["n_pairs"] == 14
