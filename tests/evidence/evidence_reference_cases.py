"""Load the committed metafor reference suite and rebuild each case's effect sizes."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from myoivig.evidence.effect_sizes import EffectSizes, escalc, from_confidence_interval

FIXTURE = Path(__file__).parent / "fixtures" / "metafor_reference.json"
REL_TOL = 1e-6
ABS_TOL = 1e-9


@cache
def suite() -> dict[str, Any]:
    """The JSON written by reference/make_metafor_reference.R."""
    with FIXTURE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def cases(kind: str) -> list[dict[str, Any]]:
    """All cases of one kind."""
    return [c for c in suite()["cases"] if c["kind"] == kind]


def case_id(case: dict[str, Any]) -> str:
    """Readable pytest id."""
    parts = [case["kind"], case["dataset"], case.get("measure", "")]
    for key in ("method", "test", "model", "predictor", "estimator", "by"):
        if case.get(key):
            parts.append(str(case[key]))
    if case.get("mods"):
        mods = case["mods"]
        parts.append("mods=" + ("+".join(mods) if isinstance(mods, list) else str(mods)))
    if case.get("options"):
        parts.append(",".join(f"{k}={v}" for k, v in case["options"].items()))
    return "-".join(parts)


def dataset(name: str) -> dict[str, Any]:
    """Raw columns of a dataset."""
    data: dict[str, Any] = suite()["datasets"][name]
    return data


def effect_sizes(dsname: str, measure: str, options: dict[str, Any] | None = None) -> EffectSizes:
    """Our escalc on the dataset's raw columns, with the case's options."""
    d = dataset(dsname)
    opts = dict(options or {})
    if measure == "GEN":
        if "estimate" in d:
            return from_confidence_interval(
                d["estimate"], d["ci_lower"], d["ci_upper"], log_scale=True
            )
        return escalc("GEN", yi=d["yi"], vi=d["vi"])
    cols = {
        k: d[k]
        for k in (
            "ai",
            "bi",
            "ci",
            "di",
            "n1i",
            "n2i",
            "xi",
            "ni",
            "m1i",
            "sd1i",
            "m2i",
            "sd2i",
            "ri",
        )
        if k in d
    }
    return escalc(measure, **cols, **opts)


def moderators(dsname: str, mods: list[str] | str | None) -> tuple[np.ndarray | None, list[str]]:
    """Moderator matrix and names for a case."""
    if not mods:
        return None, []
    names = [mods] if isinstance(mods, str) else list(mods)
    d = dataset(dsname)
    return np.column_stack([np.asarray(d[n], dtype=float) for n in names]), names


def close(ours: float | None, theirs: float | None) -> bool:
    """1e-6 relative, or 1e-9 absolute near zero; metafor's NA must be missing on our side too.

    jsonlite writes R's NA, NaN and ±Inf all as null, so null from metafor matches None, NaN or
    ±Inf here, and nothing else.
    """
    if theirs is None:
        return ours is None or not math.isfinite(ours)
    if ours is None or not math.isfinite(ours):
        return False
    return abs(ours - theirs) <= max(REL_TOL * abs(theirs), ABS_TOL)


def as_list(value: Any) -> list[Any]:
    """R scalars arrive unboxed; make everything a list."""
    return value if isinstance(value, list) else [value]


def mismatches(pairs: dict[str, tuple[Any, Any]]) -> list[str]:
    """Every (ours, theirs) pair that differs beyond the tolerance."""
    bad = []
    for name, (ours, theirs) in pairs.items():
        o_list, t_list = as_list(ours), as_list(theirs)
        if len(o_list) != len(t_list):
            bad.append(f"{name}: length {len(o_list)} != {len(t_list)}")
            continue
        for i, (o, t) in enumerate(zip(o_list, t_list, strict=True)):
            if not close(None if o is None else float(o), t):
                bad.append(f"{name}[{i}]: ours {o!r} metafor {t!r}")
    return bad
