"""Extraction forms for IVIg studies, dual extraction and field-level reconciliation.

One `Extraction` per study per extractor. Two extractors fill forms independently;
`disagreements` lists every field where they differ, and `reconcile` produces the agreed form only
when each disagreement has an explicit resolution. Numbers validate (responders <= evaluated...)
with errors naming the study and field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator


class ExtractionError(ValueError):
    """Invalid or unreconciled extraction; the message names study and field."""


class StudyDesign(StrEnum):
    RCT = "rct"
    CONTROLLED = "controlled"  # non-randomised with a concurrent control group
    PROSPECTIVE_OPEN = "prospective_open"
    RETROSPECTIVE = "retrospective"
    CASE_SERIES = "case_series"
    CASE_REPORT = "case_report"


class DiagnosisCount(BaseModel):
    diagnosis: str = Field(description="pm, dm, overlap, ibm, amyopathic_dm, juvenile_dm, other")
    n: int = Field(ge=0)


class Regimen(BaseModel):
    dose_g_per_kg_per_course: float | None = Field(default=None, gt=0)
    days_per_course: int | None = Field(default=None, ge=1)
    interval_weeks: float | None = Field(default=None, gt=0)
    courses_min: int | None = Field(default=None, ge=1)
    courses_max: int | None = Field(default=None, ge=1)
    product: str | None = None
    text: str | None = Field(default=None, description="The regimen as the source states it.")

    @model_validator(mode="after")
    def _courses(self) -> Regimen:
        if self.courses_min and self.courses_max and self.courses_min > self.courses_max:
            raise ValueError(f"courses_min {self.courses_min} > courses_max {self.courses_max}")
        return self


class ResponseOutcome(BaseModel):
    measure: str = Field(description="What counted as a response, in the study's terms.")
    arm: Literal["ivig", "control"] = "ivig"
    responders: int = Field(ge=0)
    evaluated: int = Field(ge=1)
    primary: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> ResponseOutcome:
        if self.responders > self.evaluated:
            raise ValueError(
                f"responders {self.responders} > evaluated {self.evaluated} ({self.measure})"
            )
        return self


class CreatineKinase(BaseModel):
    before_u_per_l: float | None = Field(default=None, ge=0)
    after_u_per_l: float | None = Field(default=None, ge=0)
    statistic: Literal["mean", "median"] = "mean"
    n: int | None = Field(default=None, ge=1)


class AdverseEvents(BaseModel):
    patients_any: int | None = Field(default=None, ge=0)
    serious: int | None = Field(default=None, ge=0)
    thromboembolic: int | None = Field(default=None, ge=0)
    text: str | None = None


class Extraction(BaseModel):
    """What one extractor read from one study (possibly several linked reports)."""

    study_id: str
    extractor: str
    report_ids: list[str] = Field(default_factory=list)
    first_author: str | None = None
    year: int | None = None
    design: StudyDesign | None = None
    n_ivig: int | None = Field(default=None, ge=0, description="Patients given IVIg (eligible).")
    n_randomised: int | None = Field(default=None, ge=0)
    diagnoses: list[DiagnosisCount] = Field(default_factory=list)
    regimen: Regimen = Field(default_factory=Regimen)
    concurrent_therapy: list[str] = Field(default_factory=list)
    responses: list[ResponseOutcome] = Field(default_factory=list)
    ck: CreatineKinase | None = None
    adverse_events: AdverseEvents = Field(default_factory=AdverseEvents)
    steroid_sparing: bool | None = None
    steroid_sparing_text: str | None = None
    certainty: dict[str, str] = Field(
        default_factory=dict, description="field -> CONFIRMED/UNCERTAIN + where it was read"
    )
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Extraction:
        ae = self.adverse_events
        if ae.serious is not None and ae.patients_any is not None and ae.serious > ae.patients_any:
            raise ValueError(f"serious {ae.serious} > patients_any {ae.patients_any}")
        for response in self.responses:
            if (
                response.arm == "ivig"
                and self.n_ivig is not None
                and response.evaluated > self.n_ivig
            ):
                raise ValueError(
                    f"evaluated {response.evaluated} > n_ivig {self.n_ivig} ({response.measure})"
                )
        if sum(1 for r in self.responses if r.primary and r.arm == "ivig") > 1:
            raise ValueError("more than one primary IVIg response outcome")
        return self

    def primary_response(self, arm: str = "ivig") -> ResponseOutcome | None:
        """The response used for pooling: the one marked primary, else the first of the arm."""
        arm_responses = [r for r in self.responses if r.arm == arm]
        return next(
            (r for r in arm_responses if r.primary), arm_responses[0] if arm_responses else None
        )


def extraction_from_mapping(data: dict[str, Any]) -> Extraction:
    """Validate a mapping; errors name the study, field path and value."""
    study = data.get("study_id", "<no study_id>")
    try:
        return Extraction.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "<form>"
            parts.append(f"{loc}: {err['msg']} (value {err.get('input')!r})")
        raise ExtractionError(f"study {study}: " + "; ".join(parts)) from exc


# -- dual extraction -----------------------------------------------------------------------------

_NOT_COMPARED = {"extractor", "certainty", "note"}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = {}
        for i, sub in enumerate(value):
            out.update(_flatten(sub, f"{prefix}[{i}]"))
        out[f"{prefix}.count"] = len(value)
        return out
    return {prefix: value}


class Disagreement(BaseModel):
    field: str
    value_a: Any
    value_b: Any


def disagreements(a: Extraction, b: Extraction) -> list[Disagreement]:
    """Field-level differences between two extractors' forms of one study."""
    if a.study_id != b.study_id:
        raise ExtractionError(f"cannot compare studies {a.study_id!r} and {b.study_id!r}")
    fa = _flatten(a.model_dump(mode="json", exclude=_NOT_COMPARED))
    fb = _flatten(b.model_dump(mode="json", exclude=_NOT_COMPARED))
    out = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key), fb.get(key)
        if isinstance(va, list) and isinstance(vb, list):
            va, vb = sorted(map(str, va)), sorted(map(str, vb))
        if va != vb:
            out.append(Disagreement(field=key, value_a=fa.get(key), value_b=fb.get(key)))
    return out


def reconcile(
    a: Extraction, b: Extraction, choices: dict[str, Literal["a", "b"]], reconciler: str
) -> Extraction:
    """Agreed form: fields where both agree, plus, per disagreement, the chosen extractor's value.

    Choices are made per top-level field (e.g. 'responses', 'adverse_events'); every top-level
    field that has a disagreement must have a choice.
    """
    diffs = disagreements(a, b)
    needed = sorted({d.field.split(".")[0].split("[")[0] for d in diffs})
    missing = [f for f in needed if f not in choices]
    if missing:
        raise ExtractionError(
            f"study {a.study_id}: unresolved disagreements in {missing}: "
            + "; ".join(
                f"{d.field}: {d.value_a!r} vs {d.value_b!r}"
                for d in diffs
                if d.field.split(".")[0].split("[")[0] in missing
            )
        )
    merged = a.model_dump()
    source_b = b.model_dump()
    for field_name in needed:
        if choices[field_name] == "b":
            merged[field_name] = source_b[field_name]
    merged["extractor"] = reconciler
    merged["certainty"] = {**b.certainty, **a.certainty}
    return Extraction.model_validate(merged)
