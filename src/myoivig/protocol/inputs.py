"""What a prescriber enters to plan a course, one shape for the web form, the API and the CLI.

`PlanFields` is the JSON body of the plan API and the fields of the planner page; the CLI's
options map onto the same names. Text is turned into the engine's types here, once, and any
value that cannot be used raises `PlanningError` naming the field and the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from myoivig.domain.vocab import AntibodyResult, BloodGroup, Diagnosis, Sex
from myoivig.protocol.errors import PlanningError
from myoivig.protocol.planner import PlanRequest
from myoivig.protocol.regimens import CourseKind
from myoivig.protocol.safety import Risk
from myoivig.protocol.settings import ProtocolSettings, Rounding

LIST_FIELDS = ("risks", "ruled_out")


def parse_diagnosis(text: str) -> Diagnosis | None:
    """A diagnosis, or None for "unknown" (the plan then asks and the DM rate cap applies)."""
    if text.strip().lower() == "unknown":
        return None
    try:
        return Diagnosis(text.strip().lower())
    except ValueError:
        known = ", ".join([d.value for d in Diagnosis] + ["unknown"])
        raise PlanningError("diagnosis", text, f"unknown diagnosis; known: {known}") from None


def parse_risks(items: Iterable[str], field: str = "risk") -> frozenset[Risk]:
    out = set()
    for item in (t.strip() for t in items):
        if not item:
            continue
        try:
            out.add(Risk(item))
        except ValueError:
            known = ", ".join(r.value for r in Risk)
            raise PlanningError(field, item, f"unknown risk; known: {known}") from None
    return frozenset(out)


def parse_date(field: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PlanningError(field, text, "expected an ISO date YYYY-MM-DD") from None


class PlanFields(BaseModel):
    """The planner's inputs. Patient facts (sex … blood group) are used only stand-alone; for a
    stored patient they come from the record, and weight/height override the recorded ones."""

    model_config = ConfigDict(extra="forbid")

    regimen: str = Field("2g/kg", max_length=64, description="Named regimen or e.g. 2g/kg")
    product: str | None = Field(None, max_length=64, description="Product key, e.g. octagam-10")
    course: CourseKind | None = None
    days: int | None = Field(None, ge=1)
    rounding: Rounding | None = None
    start_date: date | None = Field(None, description="Course start (default: today)")
    weight_kg: float | None = None
    height_cm: float | None = None
    risks: list[Risk] = Field(default_factory=list)
    ruled_out: list[Risk] = Field(default_factory=list)
    pre_pregnancy_weight_kg: float | None = None
    live_vaccine_given: date | None = None
    live_vaccine_due: date | None = None
    # stand-alone only
    diagnosis: str | None = Field(None, max_length=64, description="… or unknown")
    sex: Sex | None = None
    age: int | None = None
    iga_g_per_l: float | None = None
    anti_iga: AntibodyResult | None = None
    egfr: float | None = None
    egfr_date: date | None = None
    blood_group: BloodGroup | None = None
    previous_weight_kg: float | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, Any] | Iterable[tuple[str, str]]) -> PlanFields:
        """From HTML form or query pairs: empty fields are absent, risks may repeat."""
        pairs = form.items() if isinstance(form, Mapping) else form
        data: dict[str, Any] = {}
        for key, value in pairs:
            if key == "csrf_token" or key.startswith("override_") or key.startswith("reason_"):
                continue
            text = str(value).strip()
            if not text:
                continue
            if key in LIST_FIELDS:
                data.setdefault(key, []).append(text)
            else:
                data[key] = text
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "form"
            name = str(first["loc"][0]) if first["loc"] else ""
            raise PlanningError(field, data.get(name), first["msg"]) from None

    def pairs(self) -> list[tuple[str, str]]:
        """The fields as form/query pairs (what the page carries to the next step)."""
        out: list[tuple[str, str]] = []
        for key, value in self.model_dump(exclude_none=True, mode="json").items():
            if isinstance(value, list):
                out += [(key, str(v)) for v in value]
            else:
                out.append((key, str(value)))
        return out

    def dated(self, today: date | None = None) -> PlanFields:
        """With the start date fixed (today when none was entered): the plan, its overrides and
        approval must not change with the day the page is opened again."""
        if self.start_date is not None:
            return self
        return self.model_copy(update={"start_date": today or date.today()})

    def settings(self, base: ProtocolSettings) -> ProtocolSettings:
        return (
            base if self.rounding is None else base.model_copy(update={"rounding": self.rounding})
        )

    def request(self) -> PlanRequest:
        """A stand-alone plan request (no stored patient); the diagnosis must be given."""
        if self.diagnosis is None:
            raise PlanningError("diagnosis", None, "required (a diagnosis or unknown)")
        if self.weight_kg is None:
            raise PlanningError("weight_kg", None, "required for a stand-alone plan")
        return PlanRequest(
            regimen=self.regimen,
            sex=self.sex,
            age=self.age,
            weight_kg=self.weight_kg,
            height_cm=self.height_cm,
            course=self.course or CourseKind.INDUCTION,
            days=self.days,
            product=self.product,
            iga_g_per_l=self.iga_g_per_l,
            anti_iga=self.anti_iga,
            egfr=self.egfr,
            egfr_date=self.egfr_date,
            blood_group=self.blood_group,
            risks=frozenset(self.risks),
            start_date=self.start_date,
            diagnosis=parse_diagnosis(self.diagnosis),
            ruled_out=frozenset(self.ruled_out),
            previous_weight_kg=self.previous_weight_kg,
            pre_pregnancy_weight_kg=self.pre_pregnancy_weight_kg,
            live_vaccine_given=self.live_vaccine_given,
            live_vaccine_due=self.live_vaccine_due,
        )
