"""The SYNTHETIC demo clinic: a seeded generator of 60 longitudinal patients (not real people)."""
