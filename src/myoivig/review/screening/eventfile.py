"""A plain events file (CSV or JSON) as the interim store for screening events.

The thin persistence layer until the review store exists: events are read, validated by replaying
them through ScreeningLog, and appended by rewriting the file atomically (temporary file, then
rename), so a refused or interrupted write never leaves a half-written file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from myoivig.atomic_files import write_text
from myoivig.review.screening.events import (
    EventKind,
    ScreeningError,
    ScreeningEvent,
    Verdict,
    parse_stage,
)
from myoivig.review.screening.protocol import ScreeningProtocol

FIELDS = ("at", "kind", "stage", "record_id", "reviewer", "verdict", "reason", "note")


def event_to_row(event: ScreeningEvent) -> dict[str, str]:
    """Plain strings for one event (empty string for an absent reason/note)."""
    return {
        "at": event.at.isoformat(),
        "kind": event.kind.value,
        "stage": event.stage.value,
        "record_id": event.record_id,
        "reviewer": event.reviewer,
        "verdict": event.verdict.value,
        "reason": event.reason or "",
        "note": event.note or "",
    }


def event_from_row(row: Mapping[str, Any], position: int) -> ScreeningEvent:
    """Parse one row; errors name the row position, the field and the value."""

    def field(name: str) -> str:
        value = row.get(name)
        if value is None or str(value).strip() == "":
            raise ScreeningError(f"event {position}: {name}: missing")
        return str(value).strip()

    def enum_value(name: str, enum: type[EventKind] | type[Verdict]) -> Any:
        text = field(name)
        try:
            return enum(text)
        except ValueError:
            allowed = [m.value for m in enum]
            raise ScreeningError(
                f"event {position}: {name}: {text!r} is not one of {allowed}"
            ) from None

    try:
        at = datetime.fromisoformat(field("at"))
    except ValueError:
        raise ScreeningError(
            f"event {position}: at: {row.get('at')!r} is not an ISO time"
        ) from None
    try:
        stage = parse_stage(field("stage"))
    except ScreeningError as exc:
        raise ScreeningError(f"event {position}: {exc}") from None
    reason = str(row.get("reason") or "").strip() or None
    note = str(row.get("note") or "").strip() or None
    return ScreeningEvent(
        kind=enum_value("kind", EventKind),
        stage=stage,
        record_id=field("record_id"),
        reviewer=field("reviewer"),
        verdict=enum_value("verdict", Verdict),
        at=at,
        reason=reason,
        note=note,
    )


def _is_json(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def read_events(path: Path) -> list[ScreeningEvent]:
    """All events in a file; a missing file is an empty history."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8-sig")
    if _is_json(path):
        try:
            rows = json.loads(text) if text.strip() else []
        except json.JSONDecodeError as exc:
            raise ScreeningError(f"events: {path.name} is not valid JSON: {exc}") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise ScreeningError(f"events: {path.name} must hold a JSON list of objects")
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = [f for f in FIELDS if f not in (reader.fieldnames or [])]
        if text.strip() and missing:
            raise ScreeningError(f"events: {path.name} lacks column(s) {missing}")
        rows = list(reader)
    return [event_from_row(row, i) for i, row in enumerate(rows, start=1)]


def write_events(path: Path, events: Iterable[ScreeningEvent]) -> None:
    """Write the whole history atomically."""
    rows = [event_to_row(e) for e in events]
    if _is_json(path):
        payload = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        payload = buffer.getvalue()
    write_text(path, payload, newline="")


def read_protocol(path: Path) -> ScreeningProtocol:
    """A screening protocol from a JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ScreeningError(f"protocol: file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ScreeningError(f"protocol: {path.name} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ScreeningError(f"protocol: {path.name} must hold a JSON object")
    return ScreeningProtocol.from_mapping(data)
