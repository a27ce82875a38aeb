"""Validation against the FHIR R4 structure definitions, as the fhir.resources R4B models hold them.

fhir.resources' default package is FHIR R5; `fhir.resources.R4B` carries R4B models, whose
resources used here (Patient, Condition, Observation, Encounter, Organization,
MedicationAdministration, MedicationStatement, AdverseEvent, Bundle) are unchanged from R4.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

# The resource types myoivig reads and writes, in the order an import must read them (a
# resource is read after the ones it refers to).
READ_ORDER = (
    "Organization",
    "Patient",
    "Condition",
    "MedicationStatement",
    "MedicationAdministration",
    "Encounter",
    "Observation",
    "AdverseEvent",
)
SUPPORTED = frozenset(READ_ORDER)


def structure_errors(resource: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """(field path, value, reason) for every way `resource` breaks its R4 definition."""
    kind = resource.get("resourceType")
    if kind not in SUPPORTED:
        return [
            (
                "resourceType",
                str(kind),
                f"unsupported resource type; expected one of {', '.join(sorted(SUPPORTED))}",
            )
        ]
    try:
        get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as error:
        out = []
        for item in error.errors():
            path = ".".join(str(p) for p in item["loc"]) or "(resource)"
            value = item.get("input")
            shown = None if isinstance(value, dict) else str(value)[:120]
            out.append((path, shown, str(item["msg"]).removeprefix("Value error, ")))
        return out
    return []
