"""Data exchange with other systems: REDCap projects, FHIR R4 bundles, analysis-ready tables."""
