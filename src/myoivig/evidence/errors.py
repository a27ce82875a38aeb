"""Errors raised by the evidence engine.

Bad input and failed fits raise instead of returning NaN, so a number that reaches a report is
always a number the engine stands behind.
"""

from __future__ import annotations


class EvidenceError(ValueError):
    """Base class for every error of the evidence engine."""


class EffectSizeInputError(EvidenceError):
    """Study data that cannot give an effect size (names the row, field and value)."""


class ModelInputError(EvidenceError):
    """Input that a model cannot be fitted to (k too small, bad variances, bad moderators)."""


class ConvergenceError(EvidenceError):
    """An iterative estimator did not reach its solution (names the method)."""


class UsageError(EvidenceError):
    """A wrong option, option combination or missing file (exit code 2, not a data problem)."""
