"""Adapters between myoivig records and outside formats (tabular CSV/Excel; REDCap, FHIR later)."""
