"""iCalendar (RFC 5545) export of a course schedule: one all-day event per infusion day.

Written by hand to avoid a runtime dependency; the tests check it with an independent parser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from myoivig.protocol.schedule import ScheduledCourse

CRLF = "\r\n"
MAX_OCTETS = 75  # RFC 5545 §3.1: lines SHOULD NOT be longer than 75 octets


def escape_text(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (§3.1)."""
    out: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            out.append(current)
            current, size, limit = "", 0, MAX_OCTETS - 1  # continuation starts with a space
        current += ch
        size += n
    out.append(current)
    return (CRLF + " ").join(out)


def to_ics(
    courses: list[ScheduledCourse],
    patient_label: str,
    product_name: str | None = None,
    stamp: datetime | None = None,
) -> str:
    """The schedule as a VCALENDAR; UIDs are stable so re-imports update, not duplicate."""
    dtstamp = (stamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//myoivig//protocol schedule//EN",
        "CALSCALE:GREGORIAN",
    ]
    for course in courses:
        total = len(course.days)
        for i, day in enumerate(course.days, start=1):
            dose = f": {course.daily_dose_g:g} g" if course.daily_dose_g is not None else ""
            product = f" {product_name}" if product_name else ""
            summary = (
                f"IVIg {patient_label} course {course.number} ({course.kind.value}) "
                f"day {i}/{total}{dose}{product}"
            )
            lines += [
                "BEGIN:VEVENT",
                f"UID:{_uid_part(patient_label)}-c{course.number}-d{i}@myoivig",
                f"DTSTAMP:{dtstamp}",
                f"DTSTART;VALUE=DATE:{day.strftime('%Y%m%d')}",
                f"DTEND;VALUE=DATE:{(day + timedelta(days=1)).strftime('%Y%m%d')}",
                f"SUMMARY:{escape_text(summary)}",
                "END:VEVENT",
            ]
    lines.append("END:VCALENDAR")
    return CRLF.join(fold(line) for line in lines) + CRLF


def _uid_part(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label) or "patient"
