"""Creatinine between the unit myoivig stores (µmol/L) and LOINC 2160-0's mass concentration
(mg/dL), exact on the way back for every stored value.

The factor: 1 mg/dL of creatinine = 88.4 µmol/L (KDIGO 2012 Clinical Practice Guideline for the
Evaluation and Management of Chronic Kidney Disease, Kidney Int Suppl 2013;3:1–150, "Notice:
conversion factors": creatinine mg/dL × 88.4 = µmol/L). It follows from creatinine's molar
mass, 113.12 g/mol (C4H7N3O): 10 mg/L ÷ 113.12 mg/mmol = 0.08840 mmol/L. The figure 88.42
sometimes quoted is not derivable from the molar mass and is not used.

Exactness: mg/dL are written with 9 decimals, and an import rounds µmol/L to 6 decimals. For a
stored value with at most 6 decimals (laboratories report whole µmol/L), the written mg/dL is
within 5e-10 of the exact quotient, i.e. within 4.5e-8 µmol/L after multiplying back, well
inside the 5e-7 that rounding to 6 decimals forgives: the same value comes back.
"""

from __future__ import annotations

CREATININE_UMOL_PER_L_PER_MG_PER_DL = 88.4  # KDIGO 2012 (see module docstring)
MG_PER_DL_DECIMALS = 9
UMOL_PER_L_DECIMALS = 6


def creatinine_mg_per_dl(umol_per_l: float) -> float:
    """Stored creatinine (µmol/L) as written for LOINC 2160-0 (mg/dL)."""
    return round(umol_per_l / CREATININE_UMOL_PER_L_PER_MG_PER_DL, MG_PER_DL_DECIMALS)


def creatinine_umol_per_l(mg_per_dl: float) -> float:
    """Creatinine read as mg/dL (LOINC 2160-0) in the unit myoivig stores (µmol/L)."""
    return round(mg_per_dl * CREATININE_UMOL_PER_L_PER_MG_PER_DL, UMOL_PER_L_DECIMALS)
