"""Fixed-point decimals so that band edges are decided exactly.

Clinical inputs arrive as binary floats (CSV, Parquet): `(5.0 - 3.5) / 10 * 100` is
15.000000000000002 in floats, which would put an exact 15 % change in the wrong TIS band. Every
rule therefore converts its inputs once to integers at a fixed resolution and compares with
integer arithmetic only. The conversion is `round(x * scale)` (round half to even on the IEEE
product), which `numpy.rint(x * scale)` reproduces bit for bit, so the one-patient functions and
the vectorised batch path agree exactly.

Resolution (a documented setting of the whole engine, see docs/outcomes.md):
- global VAS, HAQ and MMT values: 1e-6 of their unit (inputs have at most 6 decimals);
- enzyme values and upper limits of normal: 1e-4 U/L (or µkat/L). The coarser enzyme resolution
  keeps the cross-multiplied comparisons used to pick the most abnormal enzyme inside int64
  (value <= 1e6 and ULN <= 1e4 give products <= 1e18 < 9.2e18).
Digits finer than the resolution are rounded away; no clinical instrument reports them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy loads with the batch scorer, not with every outcomes command
    import numpy as np
    import numpy.typing as npt

CLINICAL_SCALE = 1_000_000
ENZYME_SCALE = 10_000


def to_fixed(value: float, scale: int) -> int:
    """One value as an integer count of 1/scale units (the exact form every rule compares)."""
    if not math.isfinite(value):
        raise ValueError(f"cannot convert non-finite value {value!r} to fixed point")
    return round(float(value) * scale)


def to_fixed_array(values: npt.NDArray[np.float64], scale: int) -> npt.NDArray[np.int64]:
    """Vectorised `to_fixed`; NaN (missing) and infinities (invalid rows) become 0 and must be
    masked by the caller."""
    import numpy as np

    scaled = np.rint(values * float(scale))
    scaled = np.where(np.isfinite(scaled), scaled, 0.0)
    return scaled.astype(np.int64)
