"""Named regimens (regimens.yaml) and the dose of one course under a regimen.

A regimen is data, not code: a site adds its own by editing the YAML file.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from myoivig.protocol.errors import CatalogueError, PlanningError


class Basis(StrEnum):
    G_PER_KG = "g_per_kg"
    FIXED_G = "fixed_g"


class CourseKind(StrEnum):
    INDUCTION = "induction"
    MAINTENANCE = "maintenance"
    STEP_DOWN = "step_down"


class CourseSpec(BaseModel):
    """One course: either g/kg per course or fixed grams per day, and the allowed day counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dose_g_per_kg: float | None = Field(default=None, gt=0, le=2.0)
    daily_g: float | None = Field(default=None, gt=0, le=200)
    days_default: int = Field(ge=1, le=5)
    days_min: int = Field(ge=1, le=5)
    days_max: int = Field(ge=1, le=5)

    @model_validator(mode="after")
    def _consistent(self) -> CourseSpec:
        if (self.dose_g_per_kg is None) == (self.daily_g is None):
            raise ValueError("give exactly one of dose_g_per_kg and daily_g")
        if not self.days_min <= self.days_default <= self.days_max:
            raise ValueError("days_min <= days_default <= days_max is required")
        return self

    def check_days(self, days: int) -> None:
        if not self.days_min <= days <= self.days_max:
            span = (
                f"{self.days_min}"
                if self.days_min == self.days_max
                else f"{self.days_min}-{self.days_max}"
            )
            raise PlanningError("days", days, f"this course is given over {span} days")


class Regimen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str
    basis: Basis
    source: str = Field(min_length=1)
    product: str | None = None
    products: list[str] | None = None
    induction: CourseSpec
    maintenance: CourseSpec
    step_down: CourseSpec | None = None
    interval_days: int = Field(ge=7, le=84)

    @model_validator(mode="after")
    def _basis_matches(self) -> Regimen:
        for spec in (self.induction, self.maintenance, self.step_down):
            if spec is None:
                continue
            if (self.basis is Basis.G_PER_KG) != (spec.dose_g_per_kg is not None):
                raise ValueError(f"courses of a {self.basis.value} regimen must use that basis")
        return self

    def course(self, kind: CourseKind) -> CourseSpec:
        spec = {
            CourseKind.INDUCTION: self.induction,
            CourseKind.MAINTENANCE: self.maintenance,
            CourseKind.STEP_DOWN: self.step_down,
        }[kind]
        if spec is None:
            raise PlanningError("course", kind.value, f"regimen {self.key} has no such course")
        return spec


class RegimenBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(ge=1, le=1)
    regimens: dict[str, Regimen]

    def get(self, key: str) -> Regimen:
        """A named regimen, or an ad-hoc weight-based one written like '1.5g/kg'."""
        if key in self.regimens:
            return self.regimens[key]
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*g/kg", key.strip())
        if match:
            g_per_kg = float(match.group(1))
            if not 0 < g_per_kg <= 2.0:
                raise PlanningError("regimen", key, "a course dose must be above 0 and <= 2 g/kg")
            spec = CourseSpec(dose_g_per_kg=g_per_kg, days_default=5, days_min=2, days_max=5)
            return Regimen(
                key=key,
                name=f"{g_per_kg:g} g/kg every 4 weeks (ad hoc)",
                basis=Basis.G_PER_KG,
                source="ad-hoc weight-based regimen; 2-5 day split per Octagam 10 % DM label [C]",
                induction=spec,
                maintenance=spec,
                interval_days=28,
            )
        known = ", ".join(sorted(self.regimens))
        raise PlanningError("regimen", key, f"unknown regimen; known: {known} or e.g. 2g/kg")


def parse_regimens(data: object, origin: str = "regimens.yaml") -> RegimenBook:
    if not isinstance(data, dict) or not isinstance(data.get("regimens"), dict):
        raise CatalogueError(f"{origin}: top level must be a mapping with 'regimens'")
    raw = {k: {"key": k, **v} if isinstance(v, dict) else v for k, v in data["regimens"].items()}
    try:
        return RegimenBook.model_validate({**data, "regimens": raw})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogueError(f"{origin}: {where}: {first['msg']}") from exc


@cache
def load_regimens() -> RegimenBook:
    text = resources.files("myoivig.protocol").joinpath("regimens.yaml").read_text("utf-8")
    return parse_regimens(yaml.safe_load(text))
