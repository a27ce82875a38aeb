"""Evidence synthesis: effect sizes, meta-analytic models, diagnostics, plots and batch fits.

The style mirrors R's metafor: `escalc` computes effect sizes, `rma` fits a model, and the fitted
object answers further questions (predict, confint, leave-one-out, funnel/forest plots, ...).
The engine is pure: no database, no files; the CLI and reports call it. Names are imported
lazily so that the command line starts without loading SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "EffectSizes": "myoivig.evidence.effect_sizes",
    "escalc": "myoivig.evidence.effect_sizes",
    "from_confidence_interval": "myoivig.evidence.effect_sizes",
    "MetaFit": "myoivig.evidence.model",
    "rma": "myoivig.evidence.model",
    "rma_mh": "myoivig.evidence.mantel_haenszel",
    "rma_peto": "myoivig.evidence.mantel_haenszel",
    "batch_fit": "myoivig.evidence.batch",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'myoivig.evidence' has no attribute {name!r}")
