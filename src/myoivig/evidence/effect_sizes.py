"""Effect sizes with metafor's names and conventions (the `escalc` step).

Each measure reproduces `metafor::escalc` (version 3.8-1, the Debian bookworm package used for
the reference fixtures): the same formulas, the same continuity-correction policy (`add=1/2`,
`to="only0"`, not applied to PAS/PFT) and the same exact Hedges correction for SMD/SMCR.
Sources: Viechtbauer W (2010) J Stat Softw 36(3); metafor `escalc` help page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from myoivig.evidence.errors import EffectSizeInputError

FloatArray = NDArray[np.float64]
ArrayLike = Sequence[float] | NDArray[np.float64] | NDArray[np.int64]
CorrectionTarget = Literal["only0", "all", "if0all", "none"]

PROPORTION_MEASURES = ("PR", "PLO", "PAS", "PFT")
TWO_GROUP_BINARY_MEASURES = ("OR", "RR", "RD", "PETO")
MEAN_MEASURES = ("MD", "SMD", "ROM")
PRE_POST_MEASURES = ("SMCR",)
GENERIC_MEASURES = ("GEN",)
MEASURES = (
    PROPORTION_MEASURES
    + TWO_GROUP_BINARY_MEASURES
    + MEAN_MEASURES
    + PRE_POST_MEASURES
    + GENERIC_MEASURES
)

# metafor sets `add` to 0 internally for these measures (escalc help, "add" argument).
_NO_CORRECTION_MEASURES = frozenset({"PAS", "PFT"})

# Two-sided 95 % normal quantile used to turn a reported 95 % CI into a variance.
Z_975 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class EffectSizes:
    """Study-level effects `yi` with sampling variances `vi`, plus what later steps need.

    `ni` is each study's total sample size (the Freeman-Tukey back-transform and some Egger
    variants use it); `omitted` marks studies dropped by `drop00` (metafor sets them to NA).
    """

    measure: str
    yi: FloatArray
    vi: FloatArray
    ni: FloatArray | None = None
    labels: tuple[str, ...] | None = None
    omitted: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        if self.omitted.shape[0] != self.yi.shape[0]:
            object.__setattr__(self, "omitted", np.zeros(self.yi.shape[0], dtype=bool))

    @property
    def k(self) -> int:
        """Number of studies that enter a model."""
        return int((~self.omitted).sum())

    @property
    def sei(self) -> FloatArray:
        """Standard errors."""
        return np.sqrt(self.vi)

    def label(self, i: int) -> str:
        """Label of study `i` (0-based), or its 1-based row number."""
        return self.labels[i] if self.labels is not None else f"{i + 1}"

    def subset(self, mask: NDArray[np.bool_]) -> EffectSizes:
        """The studies where `mask` is True, in order."""
        mask = np.asarray(mask, dtype=bool)
        return EffectSizes(
            measure=self.measure,
            yi=self.yi[mask],
            vi=self.vi[mask],
            ni=None if self.ni is None else self.ni[mask],
            labels=None
            if self.labels is None
            else tuple(lb for lb, m in zip(self.labels, mask, strict=True) if m),
            omitted=self.omitted[mask],
        )

    def used(self) -> EffectSizes:
        """The studies that enter a model (drops the omitted ones)."""
        return self.subset(~self.omitted)


def _row(labels: Sequence[str] | None, i: int) -> str:
    return f"row {i + 1}" + (f" ({labels[i]})" if labels is not None else "")


def _array(
    name: str, values: ArrayLike | None, k: int | None, labels: Sequence[str] | None
) -> FloatArray:
    if values is None:
        raise EffectSizeInputError(f"missing column '{name}'")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise EffectSizeInputError(f"column '{name}' must be one-dimensional")
    if k is not None and arr.shape[0] != k:
        raise EffectSizeInputError(f"column '{name}' has {arr.shape[0]} values, expected {k}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise EffectSizeInputError(
            f"{_row(labels, i)}: field '{name}' = {float(arr[i])!r} is not a number"
        )
    return arr


def _check(
    cond: NDArray[np.bool_], labels: Sequence[str] | None, message: str, values: FloatArray
) -> None:
    bad = np.flatnonzero(~cond)
    if bad.size:
        i = int(bad[0])
        raise EffectSizeInputError(f"{_row(labels, i)}: {message} (value {values[i]:g})")


def _nonneg(name: str, arr: FloatArray, labels: Sequence[str] | None) -> None:
    _check(arr >= 0, labels, f"field '{name}' must not be negative", arr)


def _positive(name: str, arr: FloatArray, labels: Sequence[str] | None) -> None:
    _check(arr > 0, labels, f"field '{name}' must be positive", arr)


def _correction_mask(
    cells: Sequence[FloatArray], to: CorrectionTarget, add: float
) -> NDArray[np.bool_]:
    """Which studies get `add` on every cell (metafor's `to=` argument)."""
    has_zero = np.zeros(cells[0].shape[0], dtype=bool)
    for cell in cells:
        has_zero |= cell == 0
    if add == 0 or to == "none":
        return np.zeros_like(has_zero)
    if to == "all":
        return np.ones_like(has_zero)
    if to == "only0":
        return has_zero
    if to == "if0all":
        return np.full_like(has_zero, bool(has_zero.any()))
    raise EffectSizeInputError(f"unknown continuity-correction target to={to!r}")


def _check_variances(
    measure: str, yi: FloatArray, vi: FloatArray, labels: Sequence[str] | None, hint: str
) -> None:
    bad = np.flatnonzero(~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)))
    if bad.size:
        i = int(bad[0])
        raise EffectSizeInputError(
            f"{_row(labels, i)}: measure {measure} gives yi = {float(yi[i])!r}, "
            f"vi = {float(vi[i])!r}; {hint}"
        )


def hedges_correction(m: FloatArray) -> FloatArray:
    """Exact small-sample bias correction J(m) = Γ(m/2) / (√(m/2) Γ((m−1)/2)).

    Hedges (1981), J Educ Stat 6:107-128; metafor uses the exact gamma form, not 1 − 3/(4m−1).
    """
    return np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))


def pft(xi: FloatArray, ni: FloatArray) -> FloatArray:
    """Freeman-Tukey double-arcsine transform as metafor defines it (half of Miller's)."""
    return 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1))))


def proportions(
    measure: str,
    xi: ArrayLike | None,
    ni: ArrayLike | None,
    *,
    add: float = 0.5,
    to: CorrectionTarget = "only0",
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """Single-group proportions: PR (raw), PLO (logit), PAS (arcsine), PFT (Freeman-Tukey)."""
    x = _array("xi", xi, None, labels)
    n = _array("ni", ni, x.shape[0], labels)
    _nonneg("xi", x, labels)
    _positive("ni", n, labels)
    _check(x <= n, labels, "field 'xi' (events) is larger than 'ni' (group size)", x)
    n_orig = n.copy()
    if measure in _NO_CORRECTION_MEASURES:
        add = 0.0
    m = n - x
    corr = _correction_mask([x, m], to, add)
    x = np.where(corr, x + add, x)
    m = np.where(corr, m + add, m)
    n = x + m
    p = x / n
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "PR":
            yi = p
            vi = p * (1 - p) / n
        elif measure == "PLO":
            yi = np.log(x / m)
            vi = 1 / x + 1 / m
        elif measure == "PAS":
            yi = np.arcsin(np.sqrt(p))
            vi = 1 / (4 * n)
        elif measure == "PFT":
            yi = pft(x, n)
            vi = 1 / (4 * n + 2)
        else:
            raise EffectSizeInputError(f"unknown proportion measure {measure!r}")
    _check_variances(
        measure, yi, vi, labels, "0 or all events need a continuity correction (add > 0)"
    )
    return EffectSizes(measure, yi, vi, ni=n_orig, labels=None if labels is None else tuple(labels))


def two_group_binary(
    measure: str,
    *,
    ai: ArrayLike | None,
    ci: ArrayLike | None,
    bi: ArrayLike | None = None,
    di: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    add: float = 0.5,
    to: CorrectionTarget = "only0",
    drop00: bool = False,
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """2x2 tables: OR, RR, RD (log scale for ratios) and the Peto odds ratio.

    Give either `ai bi ci di` or `ai n1i ci n2i`. The correction `add` goes on all four cells of
    a study only when one of its cells is 0 (metafor's default `to="only0"`).
    """
    a = _array("ai", ai, None, labels)
    k = a.shape[0]
    c = _array("ci", ci, k, labels)
    if bi is not None and di is not None:
        b = _array("bi", bi, k, labels)
        d = _array("di", di, k, labels)
        _nonneg("bi", b, labels)
        _nonneg("di", d, labels)
    elif n1i is not None and n2i is not None:
        n1 = _array("n1i", n1i, k, labels)
        n2 = _array("n2i", n2i, k, labels)
        _check(a <= n1, labels, "field 'ai' (events) is larger than 'n1i' (group size)", a)
        _check(c <= n2, labels, "field 'ci' (events) is larger than 'n2i' (group size)", c)
        b = n1 - a
        d = n2 - c
    else:
        raise EffectSizeInputError("missing columns: give 'bi' and 'di', or 'n1i' and 'n2i'")
    _nonneg("ai", a, labels)
    _nonneg("ci", c, labels)
    _positive("n1i", a + b, labels)
    _positive("n2i", c + d, labels)
    n_total = a + b + c + d
    omitted = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0)) if drop00 else np.zeros(k, bool)
    corr = _correction_mask([a, b, c, d], to, add) & ~omitted
    a, b, c, d = (np.where(corr, cell + add, cell) for cell in (a, b, c, d))
    n1 = a + b
    n2 = c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a * d / (b * c))
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log((a / n1) / (c / n2))
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "RD":
            p1 = a / n1
            p2 = c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        elif measure == "PETO":
            n = n1 + n2
            events = a + c
            nonevents = b + d
            expected = events * n1 / n
            hyper_var = events * nonevents * (n1 / n) * (n2 / n) / (n - 1)
            yi = (a - expected) / hyper_var
            vi = 1 / hyper_var
        else:
            raise EffectSizeInputError(f"unknown two-group measure {measure!r}")
    keep = ~omitted
    _check_variances(
        measure,
        np.where(keep, yi, 0.0),
        np.where(keep, vi, 1.0),
        labels,
        "a zero cell needs a continuity correction (add > 0) or drop00",
    )
    yi = np.where(keep, yi, np.nan)
    vi = np.where(keep, vi, np.nan)
    return EffectSizes(
        measure,
        yi,
        vi,
        ni=n_total,
        labels=None if labels is None else tuple(labels),
        omitted=omitted,
    )


def two_group_means(
    measure: str,
    *,
    m1i: ArrayLike | None,
    sd1i: ArrayLike | None,
    n1i: ArrayLike | None,
    m2i: ArrayLike | None,
    sd2i: ArrayLike | None,
    n2i: ArrayLike | None,
    vtype: Literal["LS", "UB"] = "LS",
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """MD (raw mean difference), SMD (Hedges' g, exact J) and ROM (log ratio of means)."""
    m1 = _array("m1i", m1i, None, labels)
    k = m1.shape[0]
    s1 = _array("sd1i", sd1i, k, labels)
    n1 = _array("n1i", n1i, k, labels)
    m2 = _array("m2i", m2i, k, labels)
    s2 = _array("sd2i", sd2i, k, labels)
    n2 = _array("n2i", n2i, k, labels)
    _nonneg("sd1i", s1, labels)
    _nonneg("sd2i", s2, labels)
    _positive("n1i", n1, labels)
    _positive("n2i", n2, labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MD":
            yi = m1 - m2
            vi = s1**2 / n1 + s2**2 / n2
        elif measure == "SMD":
            _check(n1 + n2 > 3, labels, "SMD needs n1i + n2i > 3", n1 + n2)
            df = n1 + n2 - 2
            j = hedges_correction(df)
            sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / df)
            _positive("pooled SD", sdp, labels)
            yi = j * (m1 - m2) / sdp
            if vtype == "LS":
                vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
            elif vtype == "UB":
                vi = 1 / n1 + 1 / n2 + (1 - (df - 2) / (df * j**2)) * yi**2
            else:
                raise EffectSizeInputError(f"unknown vtype {vtype!r} for SMD")
        elif measure == "ROM":
            _positive("m1i", m1, labels)
            _positive("m2i", m2, labels)
            yi = np.log(m1 / m2)
            vi = s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
        else:
            raise EffectSizeInputError(f"unknown mean measure {measure!r}")
    _check_variances(measure, yi, vi, labels, "check the SDs and group sizes")
    return EffectSizes(
        measure, yi, vi, ni=n1 + n2, labels=None if labels is None else tuple(labels)
    )


def pre_post(
    measure: str,
    *,
    m1i: ArrayLike | None,
    m2i: ArrayLike | None,
    sd1i: ArrayLike | None,
    ni: ArrayLike | None,
    ri: ArrayLike | None,
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """SMCR: standardised mean change using the raw-score (pre-test) SD `sd1i`.

    `m1i` is the mean at follow-up, `m2i` at baseline, `ri` the pre-post correlation
    (Becker 1988; metafor `escalc(measure="SMCR")`).
    """
    if measure != "SMCR":
        raise EffectSizeInputError(f"unknown pre-post measure {measure!r}")
    m1 = _array("m1i", m1i, None, labels)
    k = m1.shape[0]
    m2 = _array("m2i", m2i, k, labels)
    s1 = _array("sd1i", sd1i, k, labels)
    n = _array("ni", ni, k, labels)
    r = _array("ri", ri, k, labels)
    _positive("sd1i", s1, labels)
    _check(n > 2, labels, "field 'ni' must be larger than 2 for SMCR", n)
    _check((r >= -1) & (r <= 1), labels, "field 'ri' must lie in [-1, 1]", r)
    j = hedges_correction(n - 1)
    yi = j * (m1 - m2) / s1
    vi = 2 * (1 - r) / n + yi**2 / (2 * n)
    _check_variances(measure, yi, vi, labels, "a correlation of 1 gives no variance")
    return EffectSizes(measure, yi, vi, ni=n, labels=None if labels is None else tuple(labels))


def generic(
    yi: ArrayLike | None,
    vi: ArrayLike | None = None,
    *,
    sei: ArrayLike | None = None,
    measure: str = "GEN",
    ni: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """Effects already computed: `yi` with `vi` (or `sei`)."""
    y = _array("yi", yi, None, labels)
    k = y.shape[0]
    if vi is not None:
        v = _array("vi", vi, k, labels)
        _positive("vi", v, labels)
    elif sei is not None:
        s = _array("sei", sei, k, labels)
        _positive("sei", s, labels)
        v = s**2
    else:
        raise EffectSizeInputError("missing column 'vi' (or 'sei')")
    n = None if ni is None else _array("ni", ni, k, labels)
    return EffectSizes(measure, y, v, ni=n, labels=None if labels is None else tuple(labels))


def from_confidence_interval(
    estimate: ArrayLike | None,
    ci_lower: ArrayLike | None,
    ci_upper: ArrayLike | None,
    *,
    log_scale: bool = False,
    measure: str = "GEN",
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """Effects reported as an estimate with its 95 % CI (e.g. an odds ratio 1.18 [0.90, 1.54]).

    The variance is ((upper − lower) / (2 · 1.959964))²; with `log_scale` the estimate and bounds
    are ratios and are logged first, as for `dat.hackshaw1998` in metafor.
    """
    est = _array("estimate", estimate, None, labels)
    k = est.shape[0]
    lo = _array("ci_lower", ci_lower, k, labels)
    hi = _array("ci_upper", ci_upper, k, labels)
    if log_scale:
        _positive("estimate", est, labels)
        _positive("ci_lower", lo, labels)
        _positive("ci_upper", hi, labels)
        est, lo, hi = np.log(est), np.log(lo), np.log(hi)
    _check(hi > lo, labels, "field 'ci_upper' must be above 'ci_lower'", hi)
    _check((est >= lo) & (est <= hi), labels, "field 'estimate' lies outside its CI", est)
    vi = ((hi - lo) / (2 * Z_975)) ** 2
    return EffectSizes(measure, est, vi, labels=None if labels is None else tuple(labels))


def escalc(
    measure: str,
    *,
    ai: ArrayLike | None = None,
    bi: ArrayLike | None = None,
    ci: ArrayLike | None = None,
    di: ArrayLike | None = None,
    n1i: ArrayLike | None = None,
    n2i: ArrayLike | None = None,
    xi: ArrayLike | None = None,
    ni: ArrayLike | None = None,
    m1i: ArrayLike | None = None,
    sd1i: ArrayLike | None = None,
    m2i: ArrayLike | None = None,
    sd2i: ArrayLike | None = None,
    ri: ArrayLike | None = None,
    yi: ArrayLike | None = None,
    vi: ArrayLike | None = None,
    sei: ArrayLike | None = None,
    add: float = 0.5,
    to: CorrectionTarget = "only0",
    drop00: bool = False,
    vtype: Literal["LS", "UB"] = "LS",
    labels: Sequence[str] | None = None,
) -> EffectSizes:
    """Compute effect sizes by metafor measure name (one entry point for every measure)."""
    measure = measure.upper()
    if add < 0:
        raise EffectSizeInputError(f"continuity correction add={add} must not be negative")
    if measure in PROPORTION_MEASURES:
        return proportions(measure, xi, ni, add=add, to=to, labels=labels)
    if measure in TWO_GROUP_BINARY_MEASURES:
        return two_group_binary(
            measure,
            ai=ai,
            bi=bi,
            ci=ci,
            di=di,
            n1i=n1i,
            n2i=n2i,
            add=add,
            to=to,
            drop00=drop00,
            labels=labels,
        )
    if measure in MEAN_MEASURES:
        return two_group_means(
            measure,
            m1i=m1i,
            sd1i=sd1i,
            n1i=n1i,
            m2i=m2i,
            sd2i=sd2i,
            n2i=n2i,
            vtype=vtype,
            labels=labels,
        )
    if measure in PRE_POST_MEASURES:
        return pre_post(measure, m1i=m1i, m2i=m2i, sd1i=sd1i, ni=ni, ri=ri, labels=labels)
    if measure in GENERIC_MEASURES:
        return generic(yi, vi, sei=sei, ni=ni, labels=labels)
    raise EffectSizeInputError(f"unknown measure {measure!r}; known: {', '.join(MEASURES)}")
