"""The IVIg product catalogue (products.yaml), validated on load.

Each number carries its status and source so a plan can say how firm every figure is; unknown
figures stay null and the engine refuses to plan what depends on them rather than guess.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from myoivig.protocol.errors import CatalogueError, PlanningError

T = TypeVar("T")


class Status(StrEnum):
    CONFIRMED = "confirmed"
    UNCERTAIN = "uncertain"
    UNKNOWN = "unknown"


class Stabiliser(StrEnum):
    SUCROSE = "sucrose"
    MALTOSE = "maltose"
    GLYCINE = "glycine"
    PROLINE = "proline"
    SORBITOL = "sorbitol"


class Sourced(BaseModel, Generic[T]):
    """A catalogue figure with how firm it is and where it comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: T | None
    status: Status
    source: str = Field(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _value_matches_status(self) -> Sourced[T]:
        if self.status is Status.UNKNOWN and self.value is not None:
            raise ValueError("status 'unknown' must have value null")
        if self.status is not Status.UNKNOWN and self.value is None:
            raise ValueError(f"status {self.status.value!r} needs a value (use 'unknown')")
        return self


class IgaContent(Sourced[float]):
    unit: str = Field(pattern=r"^(ug_per_ml|mg_per_g_protein)$")
    kind: str = Field(pattern=r"^(max|average|typical)$")


class RateProfile(BaseModel):
    """One label's rate rules for one indication, in mL/kg/min."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    indication: str
    start_ml_per_kg_min: Sourced[float]
    start_duration_min: Sourced[int]
    step_interval_min: Sourced[int]
    steps_ml_per_kg_min: Sourced[list[float]]
    max_ml_per_kg_min: Sourced[float]
    at_risk_max_ml_per_kg_min: Sourced[float]

    @model_validator(mode="after")
    def _consistent(self) -> RateProfile:
        start, top = self.start_ml_per_kg_min.value, self.max_ml_per_kg_min.value
        if start is None or top is None:
            raise ValueError("a rate profile needs a start and a maximum rate")
        if not 0 < start <= top <= 0.5:
            raise ValueError(f"rates must satisfy 0 < start ({start}) <= max ({top}) <= 0.5")
        steps = self.steps_ml_per_kg_min.value
        if steps is not None:
            if steps != sorted(steps) or len(set(steps)) != len(steps):
                raise ValueError(f"steps must be strictly increasing: {steps}")
            if steps[0] != start or steps[-1] > top:
                raise ValueError(f"steps {steps} must start at {start} and not exceed {top}")
        at_risk = self.at_risk_max_ml_per_kg_min.value
        if at_risk is not None and not start <= at_risk <= top:
            raise ValueError(f"at-risk maximum {at_risk} must lie between {start} and {top}")
        return self


class Product(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str
    maker: str
    form: str = Field(pattern=r"^(liquid|lyophilised)$")
    historical: bool
    concentration_g_per_ml: Sourced[float]
    vial_sizes_g: Sourced[list[float]]
    stabiliser: Sourced[Stabiliser]
    iga: IgaContent
    max_daily_dose_g_per_kg: Sourced[float]
    myositis_profile: str | None
    rate_profiles: dict[str, RateProfile]
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Product:
        conc = self.concentration_g_per_ml.value
        if conc is not None and not 0.01 <= conc <= 0.2:
            raise ValueError(f"concentration {conc} g/mL is outside 1-20 %")
        sizes = self.vial_sizes_g.value
        if sizes is not None and (not sizes or any(s <= 0 for s in sizes)):
            raise ValueError(f"vial sizes must be positive: {sizes}")
        if self.myositis_profile is not None and self.myositis_profile not in self.rate_profiles:
            raise ValueError(f"myositis_profile {self.myositis_profile!r} is not a rate profile")
        return self

    @property
    def contains_sucrose(self) -> bool:
        return self.stabiliser.value is Stabiliser.SUCROSE

    def sourced_values(self) -> list[tuple[str, Sourced[Any]]]:
        """Every figure with its dotted name, for source checks and reports."""
        out: list[tuple[str, Sourced[Any]]] = [
            ("concentration_g_per_ml", self.concentration_g_per_ml),
            ("vial_sizes_g", self.vial_sizes_g),
            ("stabiliser", self.stabiliser),
            ("iga", self.iga),
            ("max_daily_dose_g_per_kg", self.max_daily_dose_g_per_kg),
        ]
        for name, profile in self.rate_profiles.items():
            for field in (
                "start_ml_per_kg_min",
                "start_duration_min",
                "step_interval_min",
                "steps_ml_per_kg_min",
                "max_ml_per_kg_min",
                "at_risk_max_ml_per_kg_min",
            ):
                out.append((f"rate_profiles.{name}.{field}", getattr(profile, field)))
        return out


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = Field(ge=1, le=1)
    sources: dict[str, str]
    products: dict[str, Product]

    def product(self, key: str) -> Product:
        try:
            return self.products[key]
        except KeyError:
            known = ", ".join(sorted(self.products))
            raise PlanningError("product", key, f"unknown product; known: {known}") from None

    def find(self, name: str | None) -> Product | None:
        """The product a recorded name means (`Octagam 10` -> octagam-10), or None when the
        catalogue has no such product (records may name products it does not hold)."""
        if not name:
            return None
        return self.products.get(name.strip().lower().replace(" ", "-"))

    def non_sucrose(self) -> list[Product]:
        """Current (non-historical) products whose stabiliser is known not to be sucrose."""
        return [
            p
            for p in self.products.values()
            if not p.historical and p.stabiliser.value is not None and not p.contains_sucrose
        ]

    def cite(self, source_id: str) -> str:
        return self.sources[source_id]


def parse_catalogue(data: object, origin: str = "products.yaml") -> Catalogue:
    """Validate raw YAML data; every source id must be defined and every product keyed."""
    if not isinstance(data, dict) or not isinstance(data.get("products"), dict):
        raise CatalogueError(f"{origin}: top level must be a mapping with 'products'")
    raw_products = {
        key: {"key": key, **value} if isinstance(value, dict) else value
        for key, value in data["products"].items()
    }
    try:
        catalogue = Catalogue.model_validate({**data, "products": raw_products})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogueError(f"{origin}: {where}: {first['msg']}") from exc
    for product in catalogue.products.values():
        for name, value in product.sourced_values():
            if value.source not in catalogue.sources:
                raise CatalogueError(
                    f"{origin}: products.{product.key}.{name}: source {value.source!r} undefined"
                )
    return catalogue


@cache
def load_catalogue() -> Catalogue:
    """The bundled catalogue (validated once per process)."""
    text = resources.files("myoivig.protocol").joinpath("products.yaml").read_text("utf-8")
    return parse_catalogue(yaml.safe_load(text))
