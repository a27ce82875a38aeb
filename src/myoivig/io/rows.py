"""Row models of the tabular exchange format: one model per table, one field per column.

Most tables are the domain records themselves; measurement tables add the key of the assessment
they belong to, and "NP" cells become the records' not-performed values.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from myoivig.domain import records as r
from myoivig.domain.values import NP, Finding, NotPerformed, Spec


class AssessmentKey(r.Record):
    patient_code: r.Code
    assessment_date: Annotated[date, Field()]


class AssessmentRow(r.Record):
    patient_code: r.Code
    assessment_date: Annotated[date, Field()]
    phase: r.Phase
    assessor: Annotated[str, Field(max_length=128)] | None = None
    note: r.Text | None = None

    def to_record(self) -> r.Assessment:
        return r.Assessment(**self.model_dump())


class MyometryRow(AssessmentKey, r.MyometryReading):
    def to_record(self) -> r.MyometryReading:
        return r.MyometryReading(**self.model_dump(exclude={"patient_code", "assessment_date"}))


class MuscleGradeRow(AssessmentKey, r.MuscleGrade):
    def to_record(self) -> r.MuscleGrade:
        return r.MuscleGrade(**self.model_dump(exclude={"patient_code", "assessment_date"}))


class FunctionalTaskRow(AssessmentKey):
    task: r.FunctionalTask
    able: Finding = None
    time_s: Annotated[float | None, r.WALK_S] = None

    def to_record(self) -> r.FunctionalTaskResult:
        if self.able is NP:
            return r.FunctionalTaskResult(task=self.task, not_performed=True)
        return r.FunctionalTaskResult(task=self.task, able=self.able, time_s=self.time_s)

    @classmethod
    def from_record(cls, key: AssessmentKey, t: r.FunctionalTaskResult) -> FunctionalTaskRow:
        able = NP if t.not_performed else t.able
        return cls(**key.model_dump(), task=t.task, able=able, time_s=t.time_s)


class CoreSetRow(AssessmentKey, r.CoreSetValue):
    def to_record(self) -> r.CoreSetValue:
        return r.CoreSetValue(**self.model_dump(exclude={"patient_code", "assessment_date"}))


class EnzymeRow(AssessmentKey, r.EnzymeResult):
    def to_record(self) -> r.EnzymeResult:
        return r.EnzymeResult(**self.model_dump(exclude={"patient_code", "assessment_date"}))


class LabRow(r.Record):
    patient_code: r.Code
    sample_date: r.PastDate = None
    test: r.LabTest
    value: Annotated[float | NotPerformed | None, Spec(minimum=0, np_allowed=True)] = None
    unit: Annotated[str, Field(max_length=32)] | None = None
    text_value: Annotated[str, Field(max_length=64)] | None = None

    def to_record(self) -> r.LabResult:
        if self.value is NP or (self.text_value or "").strip().upper() == "NP":
            return r.LabResult(
                patient_code=self.patient_code,
                sample_date=self.sample_date,
                test=self.test,
                unit=self.unit,
                not_performed=True,
            )
        return r.LabResult(**self.model_dump())

    @classmethod
    def from_record(cls, lab: r.LabResult) -> LabRow:
        data = lab.model_dump(exclude={"not_performed"})
        if lab.not_performed:
            data["value"] = NP
        return cls(**data)
