"""Back-transformations of pooled values to the natural scale (metafor's `transf.*`).

Sources: metafor `transf` help page; Miller JJ (1978) The inverse of the Freeman-Tukey double
arcsine transformation, Am Stat 32:138 (used at the harmonic mean of the study sizes, as
`transf.ipft.hm` and meta's `metaprop` do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from myoivig.evidence.effect_sizes import pft

FloatArray = NDArray[np.float64]


def ilogit(x: FloatArray) -> FloatArray:
    """Inverse logit (`transf.ilogit`)."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64))))


def iarcsin(x: FloatArray) -> FloatArray:
    """Inverse arcsine square-root, clipped to [0, 1] outside [0, π/2] (`transf.iarcsin`)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x < 0, 0.0, np.where(x > np.arcsin(1.0), 1.0, np.sin(x) ** 2))


def harmonic_mean(ni: FloatArray) -> float:
    """Harmonic mean 1 / mean(1 / n_i) of the study sizes."""
    ni = np.asarray(ni, dtype=np.float64)
    return float(1.0 / np.mean(1.0 / ni))


def ipft(x: FloatArray, n: float) -> FloatArray:
    """Miller's inverse of the (metafor, halved) Freeman-Tukey transform at sample size `n`.

    Values below the transform of 0 events give 0 and above that of n events give 1, as in
    metafor's `transf.ipft.hm`.
    """
    x = np.asarray(x, dtype=np.float64)
    s = np.sin(2 * x)
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = 1 - (s + (s - 1 / s) / n) ** 2
        z = 0.5 * (1 - np.sign(np.cos(2 * x)) * np.sqrt(np.clip(inner, 0.0, None)))
    low = float(pft(np.array([0.0]), np.array([n]))[0])
    high = float(pft(np.array([n]), np.array([n]))[0])
    return np.where(x < low, 0.0, np.where(x > high, 1.0, z))


@dataclass(frozen=True)
class BackTransform:
    """A named back-transformation; `name` follows metafor (`transf.ilogit`, `exp`, ...)."""

    name: str
    scale: str
    func: Callable[[FloatArray], FloatArray]

    def __call__(self, x: FloatArray | float) -> FloatArray:
        return self.func(np.asarray(x, dtype=np.float64))


def back_transform_for(measure: str, ni: FloatArray | None = None) -> BackTransform | None:
    """The natural-scale transformation for a measure, or None when it is already natural."""
    measure = measure.upper()
    if measure == "PLO":
        return BackTransform("transf.ilogit", "proportion", ilogit)
    if measure == "PAS":
        return BackTransform("transf.iarcsin", "proportion", iarcsin)
    if measure == "PFT":
        if ni is None:
            raise ValueError("PFT back-transform needs the study sizes ni")
        n_h = harmonic_mean(ni)
        return BackTransform(
            f"transf.ipft.hm (harmonic mean n = {n_h:.6g})",
            "proportion",
            lambda x: ipft(x, n_h),
        )
    if measure in ("OR", "PETO"):
        return BackTransform("exp", "odds ratio", np.exp)
    if measure == "RR":
        return BackTransform("exp", "risk ratio", np.exp)
    if measure == "ROM":
        return BackTransform("exp", "ratio of means", np.exp)
    return None
