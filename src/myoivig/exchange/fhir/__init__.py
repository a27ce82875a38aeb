"""FHIR R4 exchange: one Bundle per export, validated with the fhir.resources R4B models."""
