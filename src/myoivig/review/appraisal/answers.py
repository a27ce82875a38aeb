"""Signalling-question answers shared by RoB 2 and ROBINS-I."""

from __future__ import annotations

from enum import StrEnum

from myoivig.review.appraisal import AppraisalError


class Answer(StrEnum):
    Y = "Y"  # yes
    PY = "PY"  # probably yes
    PN = "PN"  # probably no
    N = "N"  # no
    NI = "NI"  # no information
    NA = "NA"  # not applicable


YES = frozenset({Answer.Y, Answer.PY})
NO = frozenset({Answer.N, Answer.PN})


def ask(answers: dict[str, Answer], question: str, where: str) -> Answer:
    """The answer to a question the algorithm reached; missing or NA there is an error."""
    value = answers.get(question)
    if value is None or value == Answer.NA:
        raise AppraisalError(f"{where}: question {question} must be answered on this path")
    return value
