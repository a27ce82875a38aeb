"""The REDCap data dictionary: writing it, and checking any dictionary against REDCap's rules.

The 18 columns and their rules follow REDCap's data dictionary documentation (columns A-R:
variable names lowercase, starting with a letter, letters/digits/underscores, at most 100
characters with 26 recommended; field types; choices as `code, label | code, label`; text
validation types; y/blank flags). A dictionary that breaks a rule is refused by REDCap on upload,
so the same check runs in the tests on what myoivig writes and on every dictionary it imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from myoivig.exchange.redcap.fields import FIELDS, RECORD_ID, RedcapField
from myoivig.io.problems import Problem

COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
FIELD_TYPES = frozenset(
    {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "calc",
        "file",
        "slider",
        "descriptive",
        "sql",
    }
)
CHOICE_TYPES = frozenset({"dropdown", "radio", "checkbox"})
VALIDATION_TYPES = frozenset(
    {
        "date_ymd",
        "date_mdy",
        "date_dmy",
        "datetime_ymd",
        "datetime_mdy",
        "datetime_dmy",
        "datetime_seconds_ymd",
        "datetime_seconds_mdy",
        "datetime_seconds_dmy",
        "time",
        "time_mm_ss",
        "time_hh_mm_ss",
        "integer",
        "number",
        "number_1dp",
        "number_2dp",
        "number_3dp",
        "number_4dp",
        "number_comma_decimal",
        "number_1dp_comma_decimal",
        "number_2dp_comma_decimal",
        "email",
        "phone",
        "zipcode",
        "alpha_only",
        "signature",
        "mrn_10d",
        "mrn_generic",
        "postalcode_canada",
        "ssn",
        "vmrn",
    }
)
NAME_RULE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 100
RECOMMENDED_NAME = 26
CHOICE_CODE = re.compile(r"^-?[A-Za-z0-9_.]+$")
BRANCH_REFERENCE = re.compile(r"\[([a-z][a-z0-9_]*)(?:\(([^)]*)\))?\]")
FLAG_VALUES = frozenset({"", "y"})
ALIGNMENTS = frozenset({"", "LV", "LH", "RV", "RH"})
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Row = dict[str, str]


def field_row(f: RedcapField) -> Row:
    """The dictionary row of one field."""
    return {
        "Variable / Field Name": f.name,
        "Form Name": f.form,
        "Section Header": f.section,
        "Field Type": f.field_type,
        "Field Label": f.label,
        "Choices, Calculations, OR Slider Labels": f.choice_text(),
        "Field Note": f.note,
        "Text Validation Type OR Show Slider Number": f.validation,
        "Text Validation Min": f.minimum,
        "Text Validation Max": f.maximum,
        "Identifier?": "y" if f.identifier else "",
        "Branching Logic (Show field only if...)": f.branching,
        "Required Field?": "y" if f.required else "",
        "Custom Alignment": "",
        "Question Number (surveys only)": "",
        "Matrix Group Name": "",
        "Matrix Ranking?": "",
        "Field Annotation": f.annotation,
    }


def dictionary_rows() -> list[Row]:
    return [field_row(f) for f in FIELDS]


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


def parse_choices(text: str) -> list[Choice] | str:
    """`1, Label | 2, Label` as choices, or the reason it cannot be read."""
    choices = []
    for part in text.split("|"):
        code, sep, label = part.strip().partition(",")
        if not sep or not code.strip() or not label.strip():
            return f"choice {part.strip()!r} is not 'code, label'"
        if not CHOICE_CODE.match(code.strip()):
            return f"choice code {code.strip()!r} may use letters, digits, '_', '.' and '-' only"
        choices.append(Choice(code.strip(), label.strip()))
    codes = [c.code for c in choices]
    if len(set(codes)) != len(codes):
        return "choice codes are not unique"
    return choices


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_dictionary(
    header: list[str], rows: list[Row], source: str = "data_dictionary.csv"
) -> list[Problem]:
    """Every way `rows` break REDCap's data dictionary rules (empty when it would upload)."""
    problems: list[Problem] = []
    if tuple(header) != COLUMNS:
        problems.append(
            Problem(
                source,
                1,
                "",
                ", ".join(header),
                f"the header must be REDCap's {len(COLUMNS)} columns in order: "
                + ", ".join(COLUMNS),
            )
        )
        return problems
    names = [row["Variable / Field Name"] for row in rows]
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        problems.extend(_check_row(row, number, source, set(names)))
        name = row["Variable / Field Name"]
        if name in seen:
            problems.append(
                Problem(
                    source, number, COLUMNS[0], name, f"duplicate field; first at row {seen[name]}"
                )
            )
        seen.setdefault(name, number)
    return problems


def _check_row(row: Row, number: int, source: str, names: set[str]) -> list[Problem]:
    out: list[Problem] = []

    def bad(column: str, reason: str) -> None:
        out.append(Problem(source, number, column, row[column], reason))

    name, form, ftype = row[COLUMNS[0]], row["Form Name"], row["Field Type"]
    for column, value in ((COLUMNS[0], name), ("Form Name", form)):
        if not NAME_RULE.match(value):
            bad(column, "must be lowercase, start with a letter, and use letters, digits and _")
        elif len(value) > MAX_NAME:
            bad(column, f"longer than {MAX_NAME} characters")
    if ftype not in FIELD_TYPES:
        bad("Field Type", f"unknown field type; REDCap knows {', '.join(sorted(FIELD_TYPES))}")
    choices = row["Choices, Calculations, OR Slider Labels"]
    if ftype in CHOICE_TYPES:
        parsed = parse_choices(choices) if choices.strip() else "choices are required"
        if isinstance(parsed, str):
            bad("Choices, Calculations, OR Slider Labels", parsed)
    elif choices and ftype not in {"calc", "slider", "sql"}:
        bad("Choices, Calculations, OR Slider Labels", f"not allowed for a {ftype} field")
    if ftype == "calc" and not choices.strip():
        bad("Choices, Calculations, OR Slider Labels", "a calc field needs its equation")
    validation = row["Text Validation Type OR Show Slider Number"]
    if validation and ftype == "text" and validation not in VALIDATION_TYPES:
        bad("Text Validation Type OR Show Slider Number", "unknown text validation type")
    elif validation and ftype not in {"text", "slider"}:
        bad("Text Validation Type OR Show Slider Number", f"not allowed for a {ftype} field")
    for column in ("Text Validation Min", "Text Validation Max"):
        limit = row[column]
        if not limit:
            continue
        if not validation:
            bad(column, "a minimum/maximum needs a text validation type")
        elif validation.startswith(("number", "integer")) and not _number(limit):
            bad(column, "must be a number for a numeric validation")
        elif validation == "integer" and _number(limit) and not float(limit).is_integer():
            bad(column, "must be a whole number for integer validation")
        elif validation == "date_ymd" and not DATE.match(limit):
            bad(column, "must be YYYY-MM-DD for date_ymd")
    for column in ("Identifier?", "Required Field?", "Matrix Ranking?"):
        if row[column] not in FLAG_VALUES:
            bad(column, "must be 'y' or blank")
    if row["Custom Alignment"] not in ALIGNMENTS:
        bad("Custom Alignment", "must be LV, LH, RV, RH or blank")
    for reference, _ in BRANCH_REFERENCE.findall(row["Branching Logic (Show field only if...)"]):
        if reference not in names:
            bad("Branching Logic (Show field only if...)", f"refers to unknown field [{reference}]")
    return out


def name_recommendations(rows: list[Row]) -> list[str]:
    """Field names longer than the recommended 26 characters (allowed, but awkward in exports)."""
    return [r[COLUMNS[0]] for r in rows if len(r[COLUMNS[0]]) > RECOMMENDED_NAME]


def first_field_is_record_id(rows: list[Row]) -> bool:
    return bool(rows) and rows[0][COLUMNS[0]] == RECORD_ID
