"""Bad input and failures raise clear errors (row, field, value or method); never NaN results."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from myoivig.evidence.effect_sizes import escalc, from_confidence_interval, generic
from myoivig.evidence.errors import EffectSizeInputError, ModelInputError
from myoivig.evidence.model import rma


def test_events_above_group_size_name_the_row() -> None:
    with pytest.raises(EffectSizeInputError, match=r"row 2 \(B\): field 'xi' .* larger than 'ni'"):
        escalc("PLO", xi=[3, 12], ni=[10, 10], labels=["A", "B"])
    with pytest.raises(EffectSizeInputError, match=r"row 1: field 'ai' .* larger than 'n1i'"):
        escalc("RR", ai=[30], n1i=[20], ci=[3], n2i=[20])


def test_negative_counts_and_missing_columns() -> None:
    with pytest.raises(
        EffectSizeInputError, match=r"row 1: field 'ai' must not be negative \(value -1\)"
    ):
        escalc("OR", ai=[-1], bi=[5], ci=[2], di=[4])
    with pytest.raises(EffectSizeInputError, match="missing column 'sd2i'"):
        escalc("SMD", m1i=[1], sd1i=[1], n1i=[10], m2i=[0], n2i=[10])
    with pytest.raises(EffectSizeInputError, match="missing columns: give 'bi' and 'di'"):
        escalc("OR", ai=[1], ci=[2])


def test_zero_or_negative_variances_are_rejected() -> None:
    with pytest.raises(
        EffectSizeInputError, match=r"row 2: field 'vi' must be positive \(value 0\)"
    ):
        generic([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(
        EffectSizeInputError, match=r"row 1: field 'vi' must be positive \(value -0.2\)"
    ):
        generic([0.1, 0.2], [-0.2, 0.1])


def test_zero_events_without_correction_is_an_error_not_infinity() -> None:
    with pytest.raises(EffectSizeInputError, match="row 1: measure PLO gives yi = -inf"):
        escalc("PLO", xi=[0, 5], ni=[10, 10], add=0)


def test_ci_input_checks_order() -> None:
    with pytest.raises(EffectSizeInputError, match="ci_upper' must be above 'ci_lower"):
        from_confidence_interval([1.2], [1.5], [1.1], log_scale=True)
    es = from_confidence_interval([1.18], [0.90], [1.54], log_scale=True)
    assert es.yi[0] == pytest.approx(np.log(1.18))
    assert es.vi[0] == pytest.approx(
        ((np.log(1.54) - np.log(0.90)) / (2 * 1.959964)) ** 2, rel=1e-6
    )


def test_k_too_small_for_the_method() -> None:
    es = generic([0.3], [0.05])
    with pytest.raises(ModelInputError, match=r"method REML needs at least 2 studies .*k = 1"):
        rma(es, method="REML")
    fit = rma(es, method="EE")  # a single study can be "pooled" by EE: it is itself
    assert fit.estimate == pytest.approx(0.3)
    with pytest.raises(ModelInputError, match="test=knha needs k > p"):
        rma(es, method="EE", test="knha")


def test_unknown_method_measure_and_collinear_moderators() -> None:
    es = generic([0.1, 0.2, 0.4], [0.1, 0.1, 0.2])
    with pytest.raises(ModelInputError, match="unknown method 'XX'"):
        rma(es, method="XX")
    with pytest.raises(EffectSizeInputError, match="unknown measure 'ABC'"):
        escalc("ABC", yi=[1], vi=[1])
    with pytest.raises(ModelInputError, match="collinear"):
        rma(es, mods=np.column_stack([[1, 2, 3], [2, 4, 6]]))


def test_moderator_nan_names_row() -> None:
    es = generic([0.1, 0.2, 0.4, 0.5], [0.1, 0.1, 0.2, 0.1])
    with pytest.raises(ModelInputError, match="row 3: moderator 'dose' = nan"):
        rma(es, mods=np.array([1.0, 2.0, np.nan, 4.0]), mod_names=["dose"])


def test_boundary_fits_are_numbers_not_nan() -> None:
    # Q < df (homogeneous): τ² is 0 for every estimator, RE equals EE (research notes §3.1)
    es = generic([0.10, 0.12, 0.11, 0.09, 0.13], [0.01, 0.02, 0.015, 0.012, 0.018])
    ee = rma(es, method="EE")
    for method in ("DL", "HE", "ML", "REML", "EB", "PM"):
        fit = rma(es, method=method)
        assert fit.tau2 == 0.0
        assert fit.estimate == pytest.approx(ee.estimate)
        assert all(np.isfinite(v) for v in fit.summary().values() if isinstance(v, float))


@pytest.mark.parametrize("method", ["EE", "DL", "HE", "SJ", "ML", "REML", "EB", "PM"])
def test_identical_effects_fit_without_numpy_errors(method: str) -> None:
    # All effects equal: residual SS 0, so the Knapp-Hartung SE is 0 and SJ starts at τ² = 0.
    # metafor 3.8-1 (reference case equal4): τ² = 0, SE 0, z = Inf, p = 0, CI [0.3, 0.3], QM NA.
    es = generic([0.3, 0.3, 0.3, 0.3], [0.1, 0.2, 0.05, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = rma(es, method=method, test="knha")
        plain = rma(es, method=method)
    assert fit.tau2 == 0.0 and plain.tau2 == 0.0
    assert fit.se[0] == 0.0 and fit.zval[0] == np.inf and fit.pval[0] == 0.0
    assert (fit.ci_lower[0], fit.ci_upper[0]) == pytest.approx((0.3, 0.3))
    assert np.isnan(fit.qm) and np.isnan(fit.qm_p)
    assert plain.se[0] == pytest.approx(0.16151457061745, rel=1e-9)
    if method == "SJ":
        assert fit.se_tau2 == 0.0
