"""The importer's plausibility gate: impossible values are refused, implausible ones need a yes.

Runs the pure checks of `myoivig.domain.plausibility` on every dossier of an import. Impossible
findings (a record dated before the patient was born) always reject the import; implausible ones
(a weight jump, a weight that equals the last weight in pounds, a BMI outside 13-60) reject it
unless the user confirms them with `myoivig import --accept-warnings`. Kept apart from the
importer's own checks so that both can change without touching each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from myoivig.domain.plausibility import (
    DEFAULT_PLAUSIBILITY,
    Level,
    PlausibilitySettings,
    check_dossier_plausibility,
)
from myoivig.domain.records import PatientDossier
from myoivig.io.problems import Problem

CONFIRM = "implausible: import again with --accept-warnings to confirm"


def plausibility_problems(
    dossiers: Iterable[PatientDossier],
    accept_warnings: bool = False,
    settings: PlausibilitySettings = DEFAULT_PLAUSIBILITY,
) -> list[Problem]:
    """Problems that stop the import: every impossible finding, and the implausible ones
    unless `accept_warnings`."""
    problems: list[Problem] = []
    for dossier in dossiers:
        for found in check_dossier_plausibility(dossier, settings):
            check = found.check
            if check.level is Level.IMPLAUSIBLE and accept_warnings:
                continue
            prefix = "impossible" if check.level is Level.IMPOSSIBLE else CONFIRM
            problems.append(
                Problem(
                    found.table,
                    None,
                    check.column,
                    check.value,
                    f"{found.record}: {prefix}: {check.reason}",
                )
            )
    return problems
