"""Report downloads from the web pages, on SQLite and PostgreSQL: who may download which report,
content type and file name, pseudonymised content for a researcher, the infusion sheet's
blocked-plan rule (the same as `myoivig report infusion`), and GRADE only where recorded.

The PDFs are left under test-artifacts/web-reports/ so they can be looked at (pdftoppm).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from web_helpers import INJECTION, NAME_IN_NOTE, csrf_of

from myoivig.clinic.service import pseudonym
from myoivig.demo import load_trial_cohort
from myoivig.review import repository as repo
from myoivig.review.example.load import load_example
from myoivig.store import Store

Client = Callable[[str | None], TestClient]
# N003: NORTH, two courses recorded (the next is course 3), IgA never measured (blocks).
SHEET = "/patients/N003/plan/report"
PLAN = {"weight_kg": "64", "height_cm": "160", "start_date": "2026-12-14"}
GRADE = {
    "outcome": "response",
    "start": "low",
    "certainty": "very_low",
    "symbol": "⊕◯◯◯",
    "steps": [{"domain": "imprecision", "change": -1, "reason": "few patients"}],
    "notes": [],
}


@pytest.fixture(scope="module")
def artifacts_dir() -> Path:
    folder = Path(__file__).parents[2] / "test-artifacts" / "web-reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _words(html: str) -> str:
    """The HTML without its embedded figures: base64 text may hold any letters or digits."""
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:image", html)


def _pdf_text(response: Response) -> str:
    assert response.content.startswith(b"%PDF")
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join((p.extract_text() or "") for p in pages).split())


def _attachment(response: Response, name: str, media: str) -> None:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith(media)
    assert response.headers["content-disposition"] == f'attachment; filename="{name}"'


def _keep(response: Response, folder: Path, name: str, backend: str) -> None:
    (folder / f"{backend}-{name}").write_bytes(response.content)


def _backend(store: Store) -> str:
    return store.engine.dialect.name


def test_patient_report_for_who_may_see_the_patient(
    client_for: Client, clinic_store: Store, artifacts_dir: Path
) -> None:
    clinician = client_for("carl")
    pdf = clinician.get("/patients/N001/report", params={"format": "pdf"})
    _attachment(pdf, "patient-report-N001.pdf", "application/pdf")
    text = _pdf_text(pdf)
    assert "Patient report N001" in text and "IVIg courses" in text
    _keep(pdf, artifacts_dir, "patient-report-N001.pdf", _backend(clinic_store))
    html = clinician.get("/patients/N001/report", params={"format": "html"})
    _attachment(html, "patient-report-N001.html", "text/html")
    assert INJECTION not in html.text and "&lt;script&gt;" in html.text  # escaped
    # another site's clinician, a reviewer, and an unknown format
    assert client_for("sam").get("/patients/N001/report").status_code == 404
    assert client_for("rob").get("/patients/N001/report").status_code == 403
    wrong = clinician.get("/patients/N001/report", params={"format": "docx"})
    assert wrong.status_code == 422 and "use pdf or html" in wrong.text


def test_researcher_gets_the_pseudonymised_report(
    client_for: Client, web_app: FastAPI, clinic_store: Store
) -> None:
    alias = pseudonym("N001", web_app.state.pseudonym_key)
    researcher = client_for("rita")
    assert researcher.get("/patients/N001/report").status_code == 404  # codes are not theirs
    html = researcher.get(f"/patients/{alias}/report", params={"format": "html"})
    _attachment(html, f"patient-report-{alias}.html", "text/html")
    words = _words(html.text)
    assert alias in words and "N001" not in words
    assert NAME_IN_NOTE not in words and "1969" not in words  # no note, no birth year
    page = researcher.get(f"/patients/{alias}").text
    assert f"/patients/{alias}/report?format=pdf" in page and "(pseudonymised)" in page


def _blocking_codes(html: str) -> list[str]:
    part = html.split('data-testid="blocking-alerts"')[1].split("</ul>")[0]
    return re.findall(r'data-code="([a-z_0-9]+)"', part)


def test_blocked_plan_gives_a_refusal_page_until_overridden(
    client_for: Client, clinic_store: Store, artifacts_dir: Path
) -> None:
    clinician = client_for("carl")
    refused = clinician.get(SHEET, params={**PLAN, "day": "1"})
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in refused.headers and not refused.content.startswith(b"%")
    assert "NOT READY TO GIVE" in refused.text
    codes = _blocking_codes(refused.text)
    assert "iga_not_measured" in codes
    # a pharmacist records an override for each blocking alert of this very plan
    pharmacist = client_for("phil")
    data = {**PLAN, "csrf_token": csrf_of(pharmacist.get("/patients/N003/plan").text)}
    data["override_code"] = codes  # type: ignore[assignment]
    for code in codes:
        data[f"reason_{code}"] = "checked with the referring hospital, result on file"
    done = pharmacist.post("/patients/N003/plan/overrides", data=data, follow_redirects=False)
    assert done.status_code == 303
    # overridden but not yet marked ready to give: still no sheet for the nurse
    waiting = clinician.get(SHEET, params={**PLAN, "day": "1"})
    assert waiting.status_code == 409 and "No pharmacist has marked this plan ready" in waiting.text
    approval = {**PLAN, "csrf_token": data["csrf_token"]}
    approved = pharmacist.post("/patients/N003/plan/approve", data=approval, follow_redirects=False)
    assert approved.status_code == 303
    pdf = clinician.get(SHEET, params={**PLAN, "day": "2", "course_number": "3"})
    _attachment(pdf, "infusion-sheet-N003-course-3-day-2.pdf", "application/pdf")
    text = _pdf_text(pdf)
    assert "IVIg infusion sheet" in text and "Course 3" in text and "Day 2 of" in text
    assert "GIVEN DESPITE BLOCKING ALERT" in text and "phil" in text
    _keep(pdf, artifacts_dir, "infusion-sheet-N003.pdf", _backend(clinic_store))
    # another plan (another weight) is another digest: blocked again
    assert clinician.get(SHEET, params={**PLAN, "weight_kg": "80", "day": "1"}).status_code == 409
    # only the next course, and only its days
    old = clinician.get(SHEET, params={**PLAN, "day": "1", "course_number": "2"})
    assert old.status_code == 422 and "which is course 3" in old.text
    assert clinician.get(SHEET, params={**PLAN, "day": "9"}).status_code == 422
    assert client_for("sam").get(SHEET, params={**PLAN, "day": "1"}).status_code == 404
    assert client_for("rita").get(SHEET, params={**PLAN, "day": "1"}).status_code == 403


def test_cohort_report_for_researchers_pseudonymised(
    client_for: Client, clinic_store: Store, artifacts_dir: Path
) -> None:
    researcher = client_for("rita")
    assert researcher.get("/research/report").status_code == 404  # no trial outcomes yet
    load_trial_cohort(clinic_store)
    pdf = researcher.get("/research/report", params={"format": "pdf"})
    _attachment(pdf, "cohort-report.pdf", "application/pdf")
    _keep(pdf, artifacts_dir, "cohort-report.pdf", _backend(clinic_store))
    html = researcher.get("/research/report", params={"format": "html"}).text
    html = _words(html)
    # the trajectory patient under its pseudonym, never the clinic's code
    assert "MAS98-" not in html and "N00" not in html and "patient <b>R-" in html
    assert "<th>Patient (pseudonym)</th>" in html and "<td>R-" in html  # no case numbers
    first_cells = re.findall(r"<tr><td>([^<]*)</td>", html.split("</table>")[0])
    assert len(first_cells) == 16 and all(c.startswith("R-") for c in first_cells)
    admin = client_for("ada").get("/research/report", params={"format": "html"})
    _attachment(admin, "cohort-report.html", "text/html")
    assert "patient <b>N001</b>" in admin.text and "<th>Case</th>" in admin.text
    assert 'data-testid="cohort-report"' in researcher.get("/research").text
    assert client_for("carl").get("/research/report").status_code == 403


def test_review_report_shows_grade_only_where_recorded(
    client_for: Client, clinic_store: Store, artifacts_dir: Path
) -> None:
    reviewer = client_for("rob")
    with clinic_store.unit_of_work("tester") as session:
        load_example(session, "wang2012")
    html = reviewer.get("/prisma/wang2012/report", params={"format": "html"})
    _attachment(html, "review-report-wang2012.html", "text/html")
    assert 'data-grade="not-recorded"' in html.text and "GRADE: not recorded" in html.text
    assert "⊕" not in html.text and "very low" not in html.text
    with clinic_store.unit_of_work("tester") as session:
        repo.save_appraisal(session, "outcome:response", "grade", {}, GRADE, "wang2012")
    pdf = reviewer.get("/prisma/wang2012/report")
    _attachment(pdf, "review-report-wang2012.pdf", "application/pdf")
    text = _pdf_text(pdf)
    assert "very low" in text and "few patients" in text and "not recorded" not in text
    _keep(pdf, artifacts_dir, "review-report-wang2012.pdf", _backend(clinic_store))
    assert reviewer.get("/prisma/nope/report").status_code == 404
    assert client_for("rita").get("/prisma/wang2012/report").status_code == 403
    assert 'data-testid="review-report"' in reviewer.get("/prisma/wang2012").text
