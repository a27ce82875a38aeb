"""Longitudinal set-up files REDCap needs besides the dictionary; the supplied-dictionary check.

Formats follow REDCap's own import files (the same columns as its API methods): arms
(`arm_num, name`), events (`event_name, arm_num, unique_event_name, custom_event_label`),
instrument-event mapping (`arm_num, unique_event_name, form`) and repeating instruments and
events (`event_name, form_name, custom_form_label`; a blank form_name makes the whole event
repeat).
"""

from __future__ import annotations

from myoivig.exchange.redcap.dictionary import COLUMNS, Row, parse_choices
from myoivig.exchange.redcap.fields import ARM, EVENTS, FIELDS_BY_NAME
from myoivig.io.problems import Problem

Table = tuple[list[str], list[list[str]]]


def arms() -> Table:
    return ["arm_num", "name"], [[str(ARM), "Arm 1"]]


def events() -> Table:
    header = ["event_name", "arm_num", "unique_event_name", "custom_event_label"]
    return header, [[e.name, str(ARM), e.unique_name, ""] for e in EVENTS]


def instrument_event_mapping() -> Table:
    header = ["arm_num", "unique_event_name", "form"]
    return header, [[str(ARM), e.unique_name, form] for e in EVENTS for form in e.forms]


def repeating_instruments() -> Table:
    header = ["event_name", "form_name", "custom_form_label"]
    body = []
    for e in EVENTS:
        if e.repeating_event:
            body.append([e.unique_name, "", ""])
        body += [[e.unique_name, form, ""] for form in e.repeating_forms]
    return header, body


def compare_dictionary(rows: list[Row], source: str) -> list[Problem]:
    """Fields of a supplied dictionary that myoivig cannot map, or maps differently."""
    problems = []
    for number, row in enumerate(rows, start=2):
        name = row[COLUMNS[0]]
        ours = FIELDS_BY_NAME.get(name)
        if ours is None:
            problems.append(
                Problem(
                    source,
                    number,
                    COLUMNS[0],
                    name,
                    "unknown field: not part of the myoivig REDCap project",
                )
            )
            continue
        expected = {
            "Form Name": ours.form,
            "Field Type": ours.field_type,
            "Text Validation Type OR Show Slider Number": ours.validation,
        }
        for column, want in expected.items():
            if row[column] != want:
                problems.append(
                    Problem(source, number, column, row[column], f"{name}: expected {want!r}")
                )
        if ours.choice_text():
            parsed = parse_choices(row["Choices, Calculations, OR Slider Labels"])
            codes = [] if isinstance(parsed, str) else [c.code for c in parsed]
            if codes != [c for c, _ in ours.choices]:
                problems.append(
                    Problem(
                        source,
                        number,
                        "Choices, Calculations, OR Slider Labels",
                        row["Choices, Calculations, OR Slider Labels"],
                        f"{name}: choice codes differ from myoivig's ({ours.choice_text()})",
                    )
                )
    return problems
