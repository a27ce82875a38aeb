"""Reports end to end on SQLite and PostgreSQL: each renders HTML and PDF from stored data, a
blocked plan gives no infusion sheet (exit 3) unless its blocking alert was overridden on record,
and no existing file is ever replaced without --force."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader
from reports_dossiers import blocked_dossier, responder_dossier
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.demo import load_trial_cohort
from myoivig.exit_codes import ExitCode
from myoivig.protocol.safety import Risk
from myoivig.protocol.service import Override, PatientPlanOptions, plan_patient
from myoivig.reports.cohort import cohort_context
from myoivig.reports.patient import patient_context
from myoivig.reports.render import ReportError, ReportFormat, render, write_report
from myoivig.reports.review import review_context
from myoivig.review import repository as repo
from myoivig.review.example.load import load_example
from myoivig.store import Store
from myoivig.store.repository import add_dossier, existing_sites

runner = CliRunner()
# Day 1 of RPT-02's next course; proline intolerance asked and ruled out, IgA never measured.
SHEET_RPT02 = [
    "infusion",
    "RPT-02",
    "--course",
    "2",
    "--day",
    "1",
    "--ruled-out",
    "hyperprolinaemia",
]
REASON = "IgA 2.3 g/L at the referring hospital on 2026-10-30, report scanned"


@pytest.fixture
def clinic(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    with store.unit_of_work("setup") as session:
        add_dossier(session, responder_dossier(), existing_sites(session))
        add_dossier(session, blocked_dossier(), existing_sites(session))
    monkeypatch.setenv("MYOIVIG_DATABASE_URL", store.url)
    monkeypatch.setenv("MYOIVIG_ACTOR", "tester")
    return store


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def shows(path: Path, *expected: str) -> str:
    """The PDF's text (whitespace folded), after checking that it shows each expected phrase."""
    text = flat(pdf_text(path.read_bytes()))
    missing = [e for e in expected if e not in text]
    assert not missing, f"{path.name} lacks {missing}"
    return text


def report(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, ["report", *args])
    return result.exit_code, result.output


def test_patient_report_html_and_pdf(clinic: Store, tmp_path: Path) -> None:
    context = patient_context(clinic, "RPT-01")
    html = render("patient.html", context, ReportFormat.HTML).decode()
    assert "SYNTHETIC DATA" in html and "Aseptic meningitis" in html
    assert html.count("data:image/png;base64,") == 2  # timeline and per-muscle-group figures
    # four treatment visits judged with the outcome engine, the last a responder by the TIS
    assert [v["courses_before"] for v in context["visits"]] == [1, 2, 3, 4]
    assert context["visits"][-1]["tis"]["text"].endswith("(major)")
    assert context["advice"]["action"] == "continue"
    assert [c["course_total_g"] for c in context["courses"]] == [140, 140, 140, 140]
    out = tmp_path / "p.pdf"
    code, output = report(["patient", "RPT-01", "--format", "pdf", "--out", str(out)])
    assert code == ExitCode.OK, output
    shows(
        out,
        "Patient report RPT-01",
        "SYNTHETIC",
        "dermatomyositis",
        "Octagam 10 %",
        "Aseptic meningitis",
        "Response criteria per visit",
        "Current advice",
    )


def test_blocked_patient_report_says_not_ready(clinic: Store) -> None:
    context = patient_context(clinic, "RPT-02")
    assert context["next_course"]["blocked"]
    assert "iga_not_measured" in context["next_course"]["blocking"]
    html = render("patient.html", context, ReportFormat.HTML).decode()
    assert "NOT READY TO GIVE" in html and "No IVIg course" not in html
    assert "no timeline to draw" in html


def test_infusion_sheet_pdf_has_rates_vials_checks_and_signatures(
    clinic: Store, tmp_path: Path
) -> None:
    out = tmp_path / "sheet.pdf"
    code, output = report(["infusion", "RPT-01", "--course", "5", "--day", "2", "--out", str(out)])
    assert code == ExitCode.OK, output
    # 2 g/kg of 70 kg over 5 days = 28 g/day of Octagam 10 % (280 mL); DM cap 0.04 mL/kg/min
    text = shows(
        out,
        "IVIg infusion sheet",
        "2 of 5",
        "Octagam 10 %",
        "28 g",
        "280 mL",
        "Pump (mL/h)",
        "168",
        "Second checker",
        "Lot numbers",
        "SYNTHETIC",
    )
    assert "GIVEN DESPITE" not in text


def test_blocked_plan_gives_no_sheet(clinic: Store, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "sheet.html"
    code, output = report([*SHEET_RPT02, "--format", "html", "--out", str(out)])
    assert code == ExitCode.BLOCKED
    assert "iga_not_measured" in output and "NOT READY TO GIVE" in output
    assert list(folder.iterdir()) == []


def test_sheet_of_an_overridden_plan_shows_who_and_why(clinic: Store, tmp_path: Path) -> None:
    options = PatientPlanOptions(ruled_out=frozenset({Risk.HYPERPROLINAEMIA}))
    outcome = plan_patient(
        clinic,
        "RPT-02",
        options,
        overrides=(Override("iga_not_measured", REASON),),
        actor="dr.prescriber",
    )
    assert not outcome.blocked
    out = tmp_path / "sheet.pdf"
    code, output = report([*SHEET_RPT02, "--out", str(out)])
    assert code == ExitCode.OK, output
    shows(out, "GIVEN DESPITE BLOCKING ALERT", "iga_not_measured", "dr.prescriber", "scanned")
    # The override was for that plan: a different weight is a new plan, blocked again.
    other = tmp_path / "other.pdf"
    code, output = report([*SHEET_RPT02, "--out", str(other), "--weight-kg", "90"])
    assert code == ExitCode.BLOCKED and not other.exists()


def test_sheet_only_for_the_next_course_and_its_days(clinic: Store, tmp_path: Path) -> None:
    out = tmp_path / "s.pdf"
    code, output = report(["infusion", "RPT-01", "--course", "3", "--day", "1", "--out", str(out)])
    assert code == ExitCode.USAGE and "course 5" in output
    code, output = report(["infusion", "RPT-01", "--course", "5", "--day", "6", "--out", str(out)])
    assert code == ExitCode.USAGE and "days 1 to 5" in output
    code, output = report(["infusion", "NOPE", "--course", "1", "--day", "1", "--out", str(out)])
    assert code == ExitCode.USAGE and "NOPE" in output
    assert not out.exists()


def test_existing_file_is_not_replaced_without_force(clinic: Store, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "p.html"
    out.write_text("the clinician's own notes", encoding="utf-8")
    code, output = report(["patient", "RPT-01", "--format", "html", "--out", str(out)])
    assert code == ExitCode.USAGE and "--force" in output
    assert out.read_text(encoding="utf-8") == "the clinician's own notes"
    code, output = report(["patient", "RPT-01", "--format", "html", "--out", str(out), "--force"])
    assert code == ExitCode.OK, output
    assert "Patient report RPT-01" in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in folder.iterdir()) == ["p.html"]  # no temporary file left


def test_write_report_is_atomic_and_refuses_existing(tmp_path: Path) -> None:
    target = tmp_path / "r.pdf"
    write_report(target, b"%PDF-first")
    with pytest.raises(ReportError, match="exists"):
        write_report(target, b"%PDF-second")
    assert target.read_bytes() == b"%PDF-first"
    with pytest.raises(ReportError, match="does not exist"):
        write_report(tmp_path / "missing" / "r.pdf", b"x")
    write_report(target, b"%PDF-second", force=True)
    assert target.read_bytes() == b"%PDF-second" and len(list(tmp_path.iterdir())) == 1
    umask = os.umask(0o022)
    try:
        write_report(tmp_path / "shared.pdf", b"%PDF")
    finally:
        os.umask(umask)
    assert (tmp_path / "shared.pdf").stat().st_mode & 0o777 == 0o644  # readable, as files are


def test_cohort_report_reproduces_the_trial_table(clinic: Store, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="demo load"):
        cohort_context(clinic)
    load_trial_cohort(clinic)
    context = cohort_context(clinic)
    assert len(context["rows"]) == 16 and context["other_patients"] == 2
    groups = {g["name"]: (g["responders"], g["patients"]) for g in context["groups"]}
    assert groups == {
        "Isolated DM or PM": (4, 7),
        "Overlap syndromes": (4, 4),
        "Inclusion body myositis": (0, 5),
    }
    said = {(d["paper_says"], d["data_give"]) for d in context["discrepancies"]}
    assert ("5 of 7", "4 of 7") in said and ("9 of 11", "8 of 11") in said
    assert context["trajectory"]["code"] == "RPT-01" and context["trajectory"]["synthetic"]
    out = tmp_path / "c.pdf"
    code, output = report(["cohort", "--out", str(out), "--trajectory-patient", "RPT-01"])
    assert code == ExitCode.OK, output
    shows(
        out,
        "Details of patients treated with IVIg",
        "PM/SLE",
        "Where the paper",
        "4 of 7",
        "RPT-01",
        "SYNTHETIC",
    )
    code, output = report(
        ["cohort", "--out", str(tmp_path / "x.pdf"), "--trajectory-patient", "RPT-02"]
    )
    assert code == ExitCode.USAGE and "fewer than two visits" in output


def test_cohort_report_says_when_no_patient_has_visits(store: Store) -> None:
    load_trial_cohort(store)
    context = cohort_context(store)
    assert context["trajectory"]["code"] is None
    html = render("cohort.html", context, ReportFormat.HTML).decode()
    assert "No trajectory figure" in html


def test_review_report_of_the_worked_example(clinic: Store, tmp_path: Path) -> None:
    with clinic.unit_of_work("tester") as session:
        load_example(session, "wang2012")
        repo.save_appraisal(
            session,
            "outcome:response",
            "grade",
            {},
            {
                "outcome": "response",
                "start": "low",
                "certainty": "very_low",
                "symbol": "⊕◯◯◯",
                "steps": [{"domain": "imprecision", "change": -1, "reason": "few patients"}],
                "notes": [],
            },
            "wang2012",
        )
    context = review_context(clinic, "wang2012")
    assert context["prisma"]["uri"] and context["forest"]["uri"]
    assert context["forest"]["k"] == 7  # studies with responders and patients evaluated
    assert any(s["study_id"] == "dalakas1993" for s in context["studies"])
    out = tmp_path / "r.pdf"
    code, output = report(["review", "wang2012", "--out", str(out)])
    assert code == ExitCode.OK, output
    shows(
        out,
        "PRISMA 2020 flow diagram",
        "Characteristics of included studies",
        "Dalakas 1993",
        "Forest plot",
        "Summary of findings",
        "very low",
        "few patients",
    )
    code, output = report(["review", "nope", "--out", str(tmp_path / "n.pdf")])
    assert code == ExitCode.USAGE and "not found" in output
