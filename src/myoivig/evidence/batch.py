"""Many random-effects meta-analyses at once: vectorised REML/DL/EE across groups.

All groups are solved together on flat, group-sorted arrays (segment sums with `np.add.reduceat`),
so there is no Python loop over groups. REML is the global maximum of each group's restricted
likelihood on τ² ≥ 0: the score is scanned on a per-group log grid, every + to − sign change is
solved by a safeguarded Newton iteration (exact derivative; a step leaving the bracket becomes a
bisection step), and the best candidate, the boundary τ² = 0 included, wins. This converges on
every group, including the ~1 in 100 where metafor's Fisher scoring cycles, and it also finds
the interior maximum where the likelihood has a second, lower local maximum at τ² = 0 (where
Fisher scoring started from the HE estimate can stop at the wrong one).
Formulas for the intercept-only model (Viechtbauer 2005, Stat Med 24:1057 / metafor `rma.uni`):
  w = 1/(v+τ²), μ̂ = Σwy/Σw, r = y − μ̂,
  score(τ²) = ½(Σw²r² − Σw + Σw²/Σw),
  −score'(τ²) = Σw³r² − (Σw²r)²/Σw − ½Σw² + Σw³/Σw − ½(Σw²)²/(Σw)²,
  SE(τ²) = √(2 / tr(PP)) with tr(PP) = Σw² − 2Σw³/Σw + (Σw²)²/(Σw)².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special

from myoivig.evidence.errors import ConvergenceError, ModelInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

BATCH_METHODS = ("EE", "DL", "REML")
# Convergence: |Δτ²| ≤ XTOL·(1 + τ²); far below the 1e-6 agreement target with metafor.
XTOL = 1e-13
MAX_ITER = 500
# Points of the log grid (per group, from 1e-7 to 10 times var(y) + mean(v)) on which the score
# is scanned for sign changes before each bracket is solved exactly.
GRID_POINTS = 40
SCAN_BLOCK = 8


@dataclass(frozen=True)
class BatchResult:
    """One row per group; arrays aligned with `groups`."""

    groups: NDArray[np.object_]
    k: IntArray
    estimate: FloatArray
    se: FloatArray
    zval: FloatArray
    pval: FloatArray
    ci_lower: FloatArray
    ci_upper: FloatArray
    tau2: FloatArray
    se_tau2: FloatArray
    q: FloatArray
    q_p: FloatArray
    i2: FloatArray
    h2: FloatArray
    pi_lower: FloatArray
    pi_upper: FloatArray
    iterations: IntArray
    # Why a group was not fitted (with on_error="skip"; its estimates are NaN), "" if fitted.
    note: NDArray[np.object_]

    COLUMNS = (
        "group", "k", "estimate", "se", "zval", "pval", "ci_lower", "ci_upper", "tau2",
        "se_tau2", "q", "q_p", "i2", "h2", "pi_lower", "pi_upper", "iterations", "note",
    )  # fmt: skip

    def columns(self) -> dict[str, NDArray[np.generic]]:
        """Column name -> array, in output order."""
        out: dict[str, NDArray[np.generic]] = {"group": self.groups}
        for name in self.COLUMNS[1:]:
            out[name] = getattr(self, name)
        return out


class _Segments:
    """Group-sorted flat arrays with segment sums."""

    def __init__(self, starts: IntArray, sizes: IntArray) -> None:
        self.starts = starts
        self.sizes = sizes
        self.index = np.repeat(np.arange(starts.shape[0]), sizes)

    def sum(self, values: FloatArray) -> FloatArray:
        return np.add.reduceat(values, self.starts)

    def spread(self, per_group: FloatArray) -> FloatArray:
        return per_group[self.index]


def _reml_parts(
    seg: _Segments, y: FloatArray, v: FloatArray, tau2: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Score, observed information and restricted log-likelihood (up to a constant) per group."""
    w = 1.0 / (v + seg.spread(tau2))
    sw = seg.sum(w)
    sw2 = seg.sum(w * w)
    mu = seg.sum(w * y) / sw
    r = y - seg.spread(mu)
    swr2 = seg.sum(w * r * r)
    sw2r2 = seg.sum(w * w * r * r)
    sw3 = seg.sum(w * w * w)
    sw3r2 = seg.sum(w * w * w * r * r)
    sw2r = seg.sum(w * w * r)
    score = 0.5 * (sw2r2 - sw + sw2 / sw)
    # −d score / dτ² (observed information): quadratic Newton steps near the root.
    info = sw3r2 - sw2r**2 / sw - 0.5 * sw2 + sw3 / sw - 0.5 * sw2**2 / sw**2
    ll = -0.5 * seg.sum(np.log(v + seg.spread(tau2))) - 0.5 * np.log(sw) - 0.5 * swr2
    return score, info, ll


def reml_log_likelihood(y: FloatArray, v: FloatArray, tau2: float) -> float:
    """Restricted log-likelihood of one intercept-only model (for checks and tests)."""
    seg = _Segments(np.array([0]), np.array([y.shape[0]]))
    return float(_reml_parts(seg, y, v, np.array([tau2]))[2][0])


def _dl(seg: _Segments, y: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """DerSimonian-Laird τ² and Cochran's Q per group."""
    w = 1.0 / v
    sw = seg.sum(w)
    mu = seg.sum(w * y) / sw
    q = seg.sum(w * (y - seg.spread(mu)) ** 2)
    c = sw - seg.sum(w * w) / sw
    k = seg.sizes.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # c = 0 for k = 1 (EE only): unused
        return np.maximum(0.0, (q - (k - 1)) / c), q


def _newton_bisection(
    seg: _Segments,
    y: FloatArray,
    v: FloatArray,
    owner: IntArray,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[FloatArray, IntArray]:
    """Root of the score in each bracket [lo, hi] (score(lo) > 0 ≥ score(hi)).

    `owner` gives the group of each bracket (a group may own several). Newton steps that leave
    the bracket are replaced by bisection, so every bracket converges.
    """
    n = owner.shape[0]
    t = 0.5 * (lo + hi)
    iterations = np.zeros(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    for it in range(1, MAX_ITER + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        sub = _subset_segments(seg, owner[idx])
        score, info, _ = _reml_parts(sub.seg, y[sub.flat], v[sub.flat], t[idx])
        lo_i = np.where(score > 0, t[idx], lo[idx])
        hi_i = np.where(score <= 0, t[idx], hi[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = t[idx] + score / info
        inside = (info > 0) & (newton > lo_i) & (newton < hi_i) & np.isfinite(newton)
        t_new = np.where(inside, newton, 0.5 * (lo_i + hi_i))
        step = np.abs(t_new - t[idx])
        lo[idx], hi[idx], t[idx] = lo_i, hi_i, t_new
        iterations[idx] = it
        done = (step <= XTOL * (1 + t_new)) | (hi_i - lo_i <= XTOL * (1 + t_new))
        active[idx[done]] = False
    else:
        raise ConvergenceError(f"REML: no convergence after {MAX_ITER} safeguarded steps")
    return t, iterations


def _score_scan(
    seg: _Segments, yc: FloatArray, v: FloatArray, scale: FloatArray, factors: FloatArray
) -> FloatArray:
    """REML score of every group at τ² = scale·f for each factor f (rows = factors).

    Only the sign matters here, so the score is expanded into five segment sums of the
    group-centred outcomes and evaluated for blocks of grid points at once.
    """
    out = np.empty((factors.shape[0], seg.starts.shape[0]))
    scale_rows = seg.spread(scale)
    for b in range(0, factors.shape[0], SCAN_BLOCK):
        f = factors[b : b + SCAN_BLOCK]
        w = 1.0 / (v[None, :] + f[:, None] * scale_rows[None, :])
        w2 = w * w
        sw = np.add.reduceat(w, seg.starts, axis=1)
        sw2 = np.add.reduceat(w2, seg.starts, axis=1)
        swy = np.add.reduceat(w * yc, seg.starts, axis=1)
        sw2y = np.add.reduceat(w2 * yc, seg.starts, axis=1)
        sw2y2 = np.add.reduceat(w2 * yc * yc, seg.starts, axis=1)
        mu = swy / sw
        sw2r2 = sw2y2 - 2 * mu * sw2y + mu * mu * sw2
        out[b : b + SCAN_BLOCK] = 0.5 * (sw2r2 - sw + sw2 / sw)
    return out


def _solve_reml(seg: _Segments, y: FloatArray, v: FloatArray) -> tuple[FloatArray, IntArray]:
    """Global maximiser of each group's restricted likelihood on τ² ≥ 0.

    The score is scanned on τ² = 0 and a log grid scaled to each group (var(y) + mean(v)); every
    sign change from + to − brackets a local maximum, each bracket is solved exactly, and the
    candidate (boundary 0 included) with the largest restricted likelihood wins. The REML
    likelihood can have a local maximum at 0 and a higher one inside (seen in about 1 group in
    1000 of the benchmark data), which a search started only from the boundary would miss.
    """
    g = seg.starts.shape[0]
    k = seg.sizes.astype(np.float64)
    mean_y = seg.sum(y) / k
    scale = seg.sum((y - seg.spread(mean_y)) ** 2) / np.maximum(k - 1, 1) + seg.sum(v) / k
    factors = np.concatenate(([0.0], np.geomspace(1e-7, 10.0, GRID_POINTS)))
    scores = _score_scan(seg, y - seg.spread(mean_y), v, scale, factors)
    top = factors[-1] * scale
    s_top = scores[-1].copy()
    extra_lo = np.zeros(g)
    extra_hi = np.zeros(g)
    growing = s_top > 0
    for _ in range(200):
        if not growing.any():
            break
        extra_lo = np.where(growing, top, extra_lo)
        top = np.where(growing, top * 10, top)
        extra_hi = np.where(growing, top, extra_hi)
        s_top = _reml_parts(seg, y, v, top)[0]
        growing = growing & (s_top > 0)
    else:
        raise ConvergenceError("REML: the likelihood keeps increasing in τ² for some group")
    had_extra = extra_hi > 0
    # brackets: consecutive grid points with a + to − sign change of the score
    change = (scores[:-1] > 0) & (scores[1:] <= 0)
    j_idx, g_idx = np.nonzero(change)
    lo = factors[j_idx] * scale[g_idx]
    hi = factors[j_idx + 1] * scale[g_idx]
    owner = g_idx.astype(np.int64)
    if had_extra.any():
        ge = np.flatnonzero(had_extra)
        owner = np.concatenate([owner, ge])
        lo = np.concatenate([lo, extra_lo[ge]])
        hi = np.concatenate([hi, extra_hi[ge]])
    tau2 = np.zeros(g)
    iterations = np.zeros(g, dtype=np.int64)
    if owner.size == 0:
        return tau2, iterations
    roots, its = _newton_bisection(seg, y, v, owner, lo.copy(), hi.copy())
    sub = _subset_segments(seg, owner)
    _, _, ll_roots = _reml_parts(sub.seg, y[sub.flat], v[sub.flat], roots)
    _, _, ll_zero = _reml_parts(seg, y, v, np.zeros(g))
    # Candidates: every root, plus τ² = 0 where the score there is ≤ 0 (a boundary maximum).
    at_zero = np.flatnonzero(scores[0] <= 0)
    cand_owner = np.concatenate([owner, at_zero])
    cand_t = np.concatenate([roots, np.zeros(at_zero.shape[0])])
    cand_ll = np.concatenate([ll_roots, ll_zero[at_zero]])
    order = np.lexsort((-cand_ll, cand_owner))
    first = np.unique(cand_owner[order], return_index=True)[1]
    best = order[first]
    tau2[cand_owner[best]] = cand_t[best]
    np.maximum.at(iterations, owner, its)
    return tau2, iterations


@dataclass(frozen=True)
class _Subset:
    seg: _Segments
    flat: IntArray


def _subset_segments(seg: _Segments, groups: IntArray) -> _Subset:
    sizes = seg.sizes[groups]
    starts_old = seg.starts[groups]
    new_starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    flat = np.repeat(starts_old - new_starts, sizes) + np.arange(int(sizes.sum()))
    return _Subset(_Segments(new_starts, sizes), flat)


ON_ERROR = ("fail", "skip")


def _row_problems(gr: NDArray[np.generic], y: FloatArray, v: FloatArray) -> list[tuple[int, str]]:
    """(row index, message) for every row whose yi or vi cannot be used, in row order."""
    problems: dict[int, str] = {}
    for name, arr in (("vi", v), ("yi", y)):
        for i in np.flatnonzero(~np.isfinite(arr)):
            problems[int(i)] = (
                f"row {i + 1} (group {gr[i]}): {name} = {float(arr[i])!r} is not a number"
            )
    for i in np.flatnonzero(np.isfinite(v) & (v <= 0)):
        problems.setdefault(
            int(i), f"row {i + 1} (group {gr[i]}): vi = {float(v[i])!r} must be positive"
        )
    return sorted(problems.items())


def batch_fit(
    groups: NDArray[np.generic],
    yi: FloatArray,
    vi: FloatArray,
    *,
    method: str = "REML",
    level: float = 95.0,
    on_error: str = "fail",
) -> BatchResult:
    """Fit one intercept-only model per group (z-test CIs, metafor's PI convention).

    A group that cannot be fitted (too few studies for the method, or a row with a missing or
    non-positive variance) raises ModelInputError naming it; with on_error="skip" it gets NaN
    estimates and a `note` with the reason instead, and every other group is still fitted.
    """
    method = method.upper()
    if method not in BATCH_METHODS:
        raise ModelInputError(
            f"batch: method {method!r} not supported; use {', '.join(BATCH_METHODS)}"
        )
    if on_error not in ON_ERROR:
        raise ModelInputError(f"batch: on_error {on_error!r}; use {' or '.join(ON_ERROR)}")
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    gr = np.asarray(groups)
    if not (y.shape == v.shape == gr.shape):
        raise ModelInputError("batch: group, yi and vi must have the same length")
    inverse, labels = pd.factorize(gr, sort=True)  # hashing: far faster than sorting strings
    if (inverse < 0).any():
        raise ModelInputError(f"row {int(np.argmax(inverse < 0)) + 1}: group is missing")
    labels = np.asarray(labels)
    n_groups = labels.shape[0]
    sizes = np.bincount(inverse, minlength=n_groups).astype(np.int64)
    notes = np.full(n_groups, "", dtype=object)
    problems = _row_problems(gr, y, v)
    if problems and on_error == "fail":
        raise ModelInputError(problems[0][1])
    for i, message in reversed(problems):
        notes[inverse[i]] = message  # reversed: the first bad row of a group is kept
    needed = 1 if method == "EE" else 2
    for j in np.flatnonzero((sizes < needed) & (notes == "")):
        notes[j] = (
            f"batch: group '{labels[j]}' has k = {int(sizes[j])}; "
            f"method {method} needs at least {needed} studies per group"
        )
    bad = np.flatnonzero(notes != "")
    if bad.size and on_error == "fail":
        raise ModelInputError(str(notes[bad[0]]))
    if not bad.size:
        return _fit_groups(inverse, labels, sizes, y, v, method, level, notes)
    ok = notes == ""
    keep_rows = ok[inverse]
    remap = np.cumsum(ok) - 1
    fitted = _fit_groups(
        remap[inverse[keep_rows]], labels[ok], sizes[ok], y[keep_rows], v[keep_rows], method,
        level, notes[ok],
    )  # fmt: skip
    return _merge_skipped(fitted, ok, labels, sizes, notes)


def _merge_skipped(
    fitted: BatchResult,
    ok: NDArray[np.bool_],
    labels: NDArray[np.generic],
    sizes: IntArray,
    notes: NDArray[np.object_],
) -> BatchResult:
    """All groups in label order: fitted values where `ok`, NaN (and the note) elsewhere."""
    columns: dict[str, Any] = {}
    for name in BatchResult.COLUMNS[1:]:
        if name in ("k", "note"):
            continue
        values = getattr(fitted, name)
        full = (
            np.zeros(ok.shape[0], dtype=np.int64)
            if name == "iterations"
            else np.full(ok.shape[0], np.nan)
        )
        full[ok] = values
        columns[name] = full
    return BatchResult(groups=labels.astype(object), k=sizes, note=notes, **columns)


def _fit_groups(
    inverse: IntArray,
    labels: NDArray[np.generic],
    sizes: IntArray,
    y: FloatArray,
    v: FloatArray,
    method: str,
    level: float,
    notes: NDArray[np.object_],
) -> BatchResult:
    """The vectorised fit of valid groups (`inverse` maps rows to groups 0..n−1)."""
    order = np.argsort(inverse, kind="stable")
    y, v = y[order], v[order]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    seg = _Segments(starts, sizes)
    dl, q = _dl(seg, y, v)
    iterations = np.zeros(labels.shape[0], dtype=np.int64)
    if method == "EE":
        tau2 = np.zeros(labels.shape[0])
    elif method == "DL":
        tau2 = dl
    else:
        tau2, iterations = _solve_reml(seg, y, v)
    w = 1.0 / (v + seg.spread(tau2))
    sw = seg.sum(w)
    est = seg.sum(w * y) / sw
    se = np.sqrt(1 / sw)
    crit = float(special.ndtri(1 - (1 - level / 100) / 2))
    k = sizes
    wf = 1.0 / v
    swf = seg.sum(wf)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 for k = 1 (EE only): unused
        vt = (k - 1) / (swf - seg.sum(wf * wf) / swf)
    if method == "EE":
        i2 = np.where(q > 0, np.maximum(0.0, 100 * (q - (k - 1)) / np.where(q > 0, q, 1)), 0.0)
        h2 = q / np.maximum(k - 1, 1)
        se_tau2 = np.full(k.shape[0], np.nan)
    else:
        i2 = 100 * tau2 / (vt + tau2)
        h2 = tau2 / vt + 1
        if method == "REML":
            sw2 = seg.sum(w * w)
            trpp = sw2 - 2 * seg.sum(w**3) / sw + sw2**2 / sw**2
            se_tau2 = np.sqrt(2 / trpp)
        else:
            c = swf - seg.sum(wf * wf) / swf
            pp = seg.sum(wf * wf) - 2 * seg.sum(wf**3) / swf + seg.sum(wf * wf) ** 2 / swf**2
            se_tau2 = np.sqrt(1 / c**2 * (2 * (k - 1) + 4 * tau2 * c + 2 * tau2**2 * pp))
    half_pi = crit * np.sqrt(tau2 + se**2)
    zval = est / se
    return BatchResult(
        groups=labels.astype(object),
        k=k,
        estimate=est,
        se=se,
        zval=zval,
        pval=2 * special.ndtr(-np.abs(zval)),
        ci_lower=est - crit * se,
        ci_upper=est + crit * se,
        tau2=tau2,
        se_tau2=se_tau2,
        q=q,
        q_p=special.chdtrc(k - 1, q),
        i2=i2,
        h2=h2,
        pi_lower=est - half_pi,
        pi_upper=est + half_pi,
        iterations=iterations,
        note=notes,
    )
