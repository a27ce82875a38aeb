"""Evidence synthesis: effect sizes, meta-analytic models, diagnostics, plots and batch fits.

The style mirrors R's metafor: `escalc` computes effect sizes, `rma` fits a model, and the fitted
object answers further questions (predict, confint, leave-one-out, funnel/forest plots, ...).
The engine is pure: no database, no files; the CLI and reports call it.
"""

from myoivig.evidence.effect_sizes import EffectSizes, escalc, from_confidence_interval
from myoivig.evidence.model import MetaFit, rma

__all__ = ["EffectSizes", "MetaFit", "escalc", "from_confidence_interval", "rma"]
