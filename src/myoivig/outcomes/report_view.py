"""A clinician's view of one patient's outcome report: one small table per measure.

Numbers are rounded to the precision they are measured at (force 0.1 N, CK 1 U/L, percent
changes 0.1 %, TIS 0.5 points), every row has its unit, and each verdict names the rule that
decided it (with its source). The JSON of `patient_outcomes` stays the full-precision record;
this module only lays it out. Tables are two columns wide so they fit an 80-column terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from myoivig.outcomes.functional import DEFAULT_WALK_IMPROVEMENT_PCT
from myoivig.outcomes.myometry import SIGNIFICANCE_LEVEL
from myoivig.outcomes.strength_grades import MRC_MIN_GROUPS, MRC_MIN_LEVELS
from myoivig.outcomes.tis_table import THRESHOLDS_HALF_POINTS, Population

RUN_IN_LABELS = {
    "myometry_mean_force_n": ("Mean myometry force", "N", 1),
    "mmt8": ("MMT-8 total", "points", 0),
    "ck_u_per_l": ("CK", "U/L", 0),
}
OUTCOME_WORDS = {
    "no_response": "no response",
    "partial_remission": "responder, partial remission",
    "complete_remission": "responder, complete remission",
    "remission_undetermined": "responder, remission grade undetermined (data missing)",
    "undetermined": "undetermined (data missing)",
}


def number(value: float | None, digits: int, unit: str = "") -> str:
    """A value at clinical precision with its unit; a dash when there is none."""
    if value is None:
        return "-"
    text = f"{value:,.{digits}f}".replace(",", " ")
    return f"{text} {unit}".rstrip()


def signed_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f} %"


def verdict(value: bool | None, yes: str = "improved", no: str = "not improved") -> Text:
    if value is None:
        return Text("undetermined", style="yellow")
    return Text(yes, style="green") if value else Text(no, style="red")


def _table(title: str) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, min_width=60)
    table.add_column("item", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    return table


def _measure_table(title: str, part: dict[str, Any]) -> Table:
    """A measure's table, opened with the dates compared or with why it was not computed."""
    table = _table(title)
    if not part["available"]:
        table.add_row("Not computed", part.get("reason", ""))
    else:
        before = part.get("baseline_date") or "run-in mean"
        table.add_row("Compared", f"{before} -> {part['follow_up_date']}")
    return table


MEASURE_WORDS = {"mmt8": "MMT-8", "haq": "HAQ", "ck": "CK"}


def _units(units: Any) -> str:
    names = [MEASURE_WORDS.get(str(u), str(u).replace("_", " ")) for u in units]
    return ", ".join(names) if names else "none"


def run_in_table(run_in: dict[str, Any]) -> Table:
    """Run-in baseline and trend per measure (the trial's comparison reference)."""
    table = Table(title="Run-in baseline", title_justify="left")
    for column in ("Measure", "Baseline", "n", "Trend / month"):
        table.add_column(column, overflow="fold")
    notes: list[str] = []
    for key, part in run_in.items():
        label, unit, digits = RUN_IN_LABELS.get(key, (key, "", 1))
        if not part["available"]:
            table.add_row(label, "-", "0", part.get("reason", ""))
            continue
        slope = part["slope_per_month"]
        trend = "-" if slope is None else number(slope, digits + 1, unit)
        if part["deteriorating_during_run_in"]:
            trend += " (worsening)"
        table.add_row(
            label, f"{number(part['baseline'], digits, unit)} ({part['method']})",
            str(part["n_assessments"]), trend,
        )  # fmt: skip
        notes.extend(f"{label}: {w}" for w in part["warnings"])
    if notes:
        table.caption = "\n".join(dict.fromkeys(notes))
        table.caption_justify = "left"
    return table


def myometry_table(part: dict[str, Any]) -> Table:
    title = "Myometry (mean isometric force over the sites measured both times)"
    table = _measure_table(title, part)
    if not part["available"]:
        return table
    table.add_row("Sites", f"{len(part['sites'])}")
    table.add_row("Before -> after", f"{number(part['mean_before_n'], 1, 'N')} -> "
                  f"{number(part['mean_after_n'], 1, 'N')}")  # fmt: skip
    table.add_row("Change", signed_pct(part["percent_change"]))
    if part["p_value"] is None:
        table.add_row("Paired t test", part.get("t_test_note") or "undefined")
    else:
        table.add_row("Paired t test", f"t = {part['t_statistic']:.2f}, p = {part['p_value']:.3g}")
    table.add_row(
        "Verdict", verdict(part["significant"], "significant change", "not significant (NS)")
    )
    table.add_row("Rule", f"paired t test, p < {SIGNIFICANCE_LEVEL} (Mastaglia 1998)")
    return table


def mrc_table(part: dict[str, Any]) -> Table:
    title = "MRC grades (Kendall 0-10, per muscle group and side)"
    table = _measure_table(title, part)
    if not part["available"]:
        return table
    table.add_row("Values", f"{part['compared_units']} muscle group/side grades")
    table.add_row("Improved", _units(part["improved_units"]))
    table.add_row("Worsened", _units(part["worsened_units"]))
    table.add_row("Verdict", verdict(part["improved"]))
    table.add_row(
        "Rule",
        f">= {MRC_MIN_LEVELS} level in >= {MRC_MIN_GROUPS} muscle groups (Mastaglia 1998)",
    )
    return table


def functional_table(part: dict[str, Any]) -> Table:
    title = "Functional tasks and 30 m walk"
    table = _measure_table(title, part)
    if not part["available"]:
        return table
    table.add_row("Tasks gained", _units(part["gained"]))
    table.add_row("Tasks lost", _units(part["lost"]))
    walk = part["walk_30m_change_s"]
    table.add_row(
        "30 m walk",
        "-" if walk is None else f"{walk:+.1f} s ({signed_pct(part['walk_30m_change_pct'])})",
    )
    table.add_row("Verdict", verdict(part["improved"]))
    table.add_row(
        "Rule",
        f"a task gained or the walk >= {DEFAULT_WALK_IMPROVEMENT_PCT:.0f} % faster, and no "
        "task lost (our rule; the paper does not define it)",
    )
    return table


def ck_table(part: dict[str, Any]) -> Table:
    title = "Creatine kinase"
    table = _measure_table(title, part)
    if not part["available"]:
        return table
    table.add_row(
        "Before -> after",
        f"{number(part['before'], 0, 'U/L')} -> {number(part['after'], 0, 'U/L')}",
    )
    table.add_row("Upper limit of normal", number(part["uln"], 0, "U/L"))
    table.add_row("Change", signed_pct(part["percent_change"]))
    table.add_row("Verdict", verdict(part["normalised"], "normalised", "not normalised"))
    table.add_row("Rule", "normalised = at or below the laboratory's upper limit after IVIg")
    return table


def tis_table(part: dict[str, Any]) -> Table:
    title = "ACR/EULAR 2016 Total Improvement Score and IMACS 2004 DOI"
    table = _measure_table(title, part)
    if not part["available"]:
        return table
    if part["tis"] is not None:
        table.add_row("TIS", f"{part['tis']:.1f} points")
    else:
        table.add_row(
            "TIS", f"between {part['tis_min']:.1f} and {part['tis_max']:.1f} points (incomplete)"
        )
    missing = part["missing_measures"]
    if missing:
        table.add_row("Missing measures", _units(missing))
    category = part["tis_category"]
    table.add_row("Response", Text(category or "undetermined", style="yellow" if not category
                                   else "green" if category != "none" else "red"))  # fmt: skip
    minimal, moderate, major = (
        h / 2 for h in THRESHOLDS_HALF_POINTS[Population(part["population"])]
    )
    table.add_row(
        "Rule",
        f"{part['population']} thresholds: minimal >= {minimal:g}, moderate >= {moderate:g}, "
        f"major >= {major:g} ({'Aggarwal' if part['population'] == 'adult' else 'Rider'} 2017)",
    )
    table.add_row("IMACS DOI", verdict(part["imacs_doi"], "improved", "not improved"))
    table.add_row(
        "Rule",
        "3 of 6 core measures >= 20 % better, <= 2 worse by >= 25 %, MMT not among them "
        "(Rider 2004)",
    )
    return table


def trial_table(response: dict[str, Any], deterioration: dict[str, Any]) -> Table:
    table = _table("Overall")
    table.add_row(
        "Trial response",
        Text(OUTCOME_WORDS.get(response["outcome"], response["outcome"]),
             style="green" if response["responder"] else "red"),
    )  # fmt: skip
    table.add_row("Rule", "functional improvement AND MRC improvement (Mastaglia 1998 table)")
    if deterioration["available"]:
        confirmed = deterioration["confirmed"]
        text = f"confirmed at {deterioration['confirmed_at']}" if confirmed else "not confirmed"
        table.add_row("ProDERM deterioration", Text(text, style="red" if confirmed else "green"))
        table.add_row("Rule", "a deterioration criterion met on 2 consecutive visits (ProDERM)")
    else:
        table.add_row("ProDERM deterioration", f"not computed: {deterioration['reason']}")
    return table


def patient_report_view(report: dict[str, Any]) -> Iterator[RenderableType]:
    """The renderables of `myoivig outcomes CODE`, in reading order."""
    later = report["assessments"] - report["run_in_assessments"]
    yield Text(
        f"Patient {report.get('label', report['code'])}: {report['assessments']} assessments "
        f"({report['run_in_assessments']} run-in, {later} after IVIg)",
        style="bold",
    )
    yield run_in_table(report["run_in"])
    latest = report["latest"]
    if latest is None:
        yield Text(report.get("note", ""), style="yellow")
        return
    yield Text(f"Latest assessment {latest['assessment_date']}, each measure against run-in:")
    yield myometry_table(latest["myometry"])
    yield mrc_table(latest["mrc"])
    yield functional_table(latest["functional"])
    yield ck_table(latest["ck"])
    yield tis_table(latest["tis_doi"])
    yield trial_table(latest["trial_response"], report["proderm_deterioration"])


GROUP_LABELS = {
    "all": "All patients",
    "isolated_dm_pm": "Isolated DM/PM",
    "overlap": "Overlap",
    "ibm": "IBM",
}


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratio_ci(part: dict[str, Any]) -> str:
    ratio, ci = part.get("ratio_after_to_before"), part.get("ratio_ci")
    if ratio is None:
        return "-"
    return f"{ratio:.2f}" + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else "")


def ck_summary_table(ck: dict[str, Any]) -> Table:
    """CK before and after IVIg per group: geometric means, their ratio and both paired tests."""
    table = Table(title="Serum CK before and after IVIg (U/L)", title_justify="left")
    for column, justify in (("Group", "left"), ("Pairs", "right"), ("Before", "right"),
                            ("After", "right"), ("After/before (95 % CI)", "right"),
                            ("t test p", "right"), ("Wilcoxon p", "right")):  # fmt: skip
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for key, found in ck.items():
        part = found or {}
        table.add_row(
            GROUP_LABELS.get(key, key), str(part.get("n_pairs", 0)),
            number(part.get("geometric_mean_before"), 0),
            number(part.get("geometric_mean_after"), 0),
            _ratio_ci(part), _p(part.get("t_p_value")), _p(part.get("wilcoxon_p_value")),
        )  # fmt: skip
    table.caption = (
        "Before/after are geometric means; the tests compare log CK (paired t) and CK "
        "(Wilcoxon signed-rank)."
    )
    table.caption_justify = "left"
    return table


def myometry_summary_table(myometry: dict[str, Any]) -> Table:
    table = Table(title="Myometer change after IVIg (%)", title_justify="left")
    for column in ("Group", "n", "Mean (SD)", "Median (range)", "Better / worse / NS"):
        table.add_column(column, justify="left" if column == "Group" else "right")
    for key, part in myometry.items():
        if not part.get("n"):
            table.add_row(GROUP_LABELS.get(key, key), "0", "-", "-", "-")
            continue
        sd = part.get("sd")
        table.add_row(
            GROUP_LABELS.get(key, key), str(part["n"]),
            f"{part['mean']:+.1f}" + ("" if sd is None else f" ({sd:.1f})"),
            f"{part['median']:+.1f} ({part['minimum']:+.1f} to {part['maximum']:+.1f})",
            f"{part['improved_significant']} / {part['worsened_significant']} / "
            f"{part['not_significant']}",
        )  # fmt: skip
    return table


def adverse_event_table(events: dict[str, Any]) -> Table:
    table = _table("Adverse events")
    table.add_row(
        "Events", f"{events['events']} ({events['serious_events']} serious) in "
        f"{events['courses']} courses",
    )  # fmt: skip
    table.add_row(
        "Patients with an event",
        f"{events['patients_with_event']} of {events['patients']} "
        f"({events['patients_with_serious_event']} with a serious one)",
    )
    table.add_row("Per course", f"{100 * events['events_per_course']:.1f} % of courses")
    table.add_row("Serious per course", f"{100 * events['serious_per_course']:.1f} % of courses")
    return table
