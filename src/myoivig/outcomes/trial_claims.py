"""The trial paper's own statements (quoted, with location) loaded from package data."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml

CLAIMS_FILE = "mastaglia1998_claims.yaml"


@dataclass(frozen=True)
class Claim:
    id: str
    location: str
    quote: str
    metric: str
    numerator: int | None = None
    denominator: int | None = None
    value: int | None = None

    def claimed(self) -> str:
        if self.value is not None:
            return str(self.value)
        return f"{self.numerator} of {self.denominator}"


def load_claims(name: str = CLAIMS_FILE) -> tuple[str, list[Claim]]:
    """(source citation, claims) from the YAML shipped with this package."""
    text = resources.files("myoivig.outcomes").joinpath(name).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    claims = []
    for i, raw in enumerate(data["claims"]):
        try:
            claims.append(Claim(**raw))
        except TypeError as exc:
            raise ValueError(f"{name}: claim #{i + 1} ({raw.get('id')!r}): {exc}") from exc
        has_fraction = raw.get("numerator") is not None and raw.get("denominator") is not None
        if has_fraction == (raw.get("value") is not None):
            raise ValueError(
                f"{name}: claim {raw.get('id')!r} needs numerator+denominator or value"
            )
    return str(data["source"]), claims
