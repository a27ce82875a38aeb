"""Muscle enzymes: percent change and normalisation.

Normalisation = the value is at or below the laboratory's upper limit of normal (common trial
usage; IMACS gives no single definition). ULNs always come from the lab report (reference
intervals differ between laboratories), never from a constant here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnzymeChange:
    before: float
    after: float
    uln: float | None

    def __post_init__(self) -> None:
        for name, value in (("before", self.before), ("after", self.after)):
            if not value >= 0:
                raise ValueError(f"enzyme {name} must be >= 0, got {value!r}")
        if self.uln is not None and not self.uln > 0:
            raise ValueError(f"enzyme uln must be > 0, got {self.uln!r}")

    @property
    def percent_change(self) -> float | None:
        """(after - before) / before x 100; None for a baseline of 0."""
        if self.before == 0:
            return None
        return (self.after - self.before) / self.before * 100

    @property
    def abnormal_before(self) -> bool | None:
        return None if self.uln is None else self.before > self.uln

    @property
    def normal_after(self) -> bool | None:
        return None if self.uln is None else self.after <= self.uln

    @property
    def normalised(self) -> bool | None:
        """Abnormal before and at or below the ULN after."""
        if self.uln is None:
            return None
        return self.before > self.uln and self.after <= self.uln
