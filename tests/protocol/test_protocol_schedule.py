"""Course schedule and its iCalendar export (checked with the independent `icalendar` parser)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest
from typer.testing import CliRunner

from myoivig.cli import app
from myoivig.protocol.calendar_export import escape_text, fold, to_ics
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.regimens import CourseKind, load_regimens
from myoivig.protocol.schedule import build_schedule

TRIAL = load_regimens().get("mastaglia-1998")


def test_trial_schedule_dates() -> None:
    courses = build_schedule(
        TRIAL, date(2026, 1, 5), 2, induction_daily_g=30, maintenance_daily_g=30
    )
    assert [c.kind for c in courses] == [
        CourseKind.INDUCTION,
        CourseKind.MAINTENANCE,
        CourseKind.MAINTENANCE,
    ]
    assert courses[0].days == tuple(date(2026, 1, d) for d in range(5, 10))
    assert courses[1].days == (date(2026, 2, 2), date(2026, 2, 3), date(2026, 2, 4))
    assert courses[2].days[0] == date(2026, 3, 2)
    assert sum(len(c.days) * (c.daily_dose_g or 0) for c in courses) == 150 + 2 * 90


def test_schedule_rejects_bad_day_counts() -> None:
    with pytest.raises(PlanningError, match="days=4"):
        build_schedule(TRIAL, date(2026, 1, 5), 1, induction_days=4)
    with pytest.raises(PlanningError, match="maintenance_courses"):
        build_schedule(TRIAL, date(2026, 1, 5), -1)


def test_ics_parses_and_matches_schedule() -> None:
    courses = build_schedule(
        TRIAL, date(2026, 1, 5), 3, induction_daily_g=30, maintenance_daily_g=30
    )
    text = to_ics(courses, "P01; Smith, J", "Privigen", stamp=datetime(2026, 1, 1, tzinfo=UTC))
    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n")
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75
    cal = icalendar.Calendar.from_ical(text)
    events = [c for c in cal.walk() if c.name == "VEVENT"]
    assert len(events) == 5 + 3 * 3
    first = events[0]
    assert first.decoded("DTSTART") == date(2026, 1, 5)
    assert first.decoded("DTEND") == date(2026, 1, 6)
    assert str(first["SUMMARY"]).startswith("IVIg P01; Smith, J course 1 (induction) day 1/5: 30 g")
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert str(cal["VERSION"]) == "2.0"


def test_fold_and_escape() -> None:
    long = "SUMMARY:" + "é" * 100
    folded = fold(long)
    parts = folded.encode("utf-8").split(b"\r\n")
    assert all(len(p) <= 75 for p in parts)
    assert folded.replace("\r\n ", "") == long
    assert escape_text("a;b,c\\d\ne") == "a\\;b\\,c\\\\d\\ne"


def test_schedule_cli_writes_ics(tmp_path: Path) -> None:
    out = tmp_path / "plan.ics"
    args = [
        "protocol",
        "schedule",
        "--regimen",
        "mastaglia-1998",
        "--start",
        "2026-01-05",
        "--maintenance-courses",
        "2",
        "--product",
        "privigen",
        "--ics",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["daily_dose_g"] for c in data["courses"]] == [30, 30, 30]
    cal = icalendar.Calendar.from_ical(out.read_bytes())
    assert len([c for c in cal.walk() if c.name == "VEVENT"]) == 11
