"""Active-learning ranking: refit a linear model on the labelled rows, rank the unlabelled ones.

The feature matrix is computed once per corpus (features.py); each step only refits the linear
model and scores the pool with one sparse matrix-vector product, which keeps a step on 50,000
records well under a second (see benchmarks/review_screening.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from myoivig.review.screening.events import ScreeningError

if TYPE_CHECKING:  # NumPy/SciPy are imported when a model is fitted, not when a command starts
    import numpy as np
    import scipy.sparse as sp


class Classifier(StrEnum):
    """Linear models on offer (compared in docs/review_screening.md)."""

    SVM = "svm"
    LOGISTIC = "logistic"
    NAIVE_BAYES = "nb"
    SGD = "sgd"


@dataclass(frozen=True)
class ModelSettings:
    """Classifier and class balancing.

    Defaults: linear SVM with C = 0.11 and balance ratio 9.8, the values of ASReview's default
    ELAS u4 model ("optimised on SYNERGY"; asreview models/models.py).
    ``balance_ratio`` r gives each relevant record weight 1 and each irrelevant record weight
    n_relevant / (r * n_irrelevant), rescaled to sum to the number of rows (ASReview balancers.py),
    so the irrelevant class carries 1/r of the relevant class's total weight.
    """

    classifier: Classifier = Classifier.SVM
    c: float = 0.11
    balance_ratio: float = 9.8
    nb_alpha: float = 3.822  # ASReview ELAS u3 (models.py)
    seed: int = 0


def balanced_weights(labels: np.ndarray, ratio: float) -> np.ndarray:
    """Per-row sample weights that up-weight the (rare) relevant class; see ModelSettings."""
    import numpy as np

    n_rel = int(labels.sum())
    n_irr = int(labels.size - n_rel)
    weights = np.ones(labels.size, dtype=np.float64)
    if n_rel and n_irr:
        weights[labels == 0] = n_rel / (ratio * n_irr)
    return weights * (labels.size / weights.sum())


def relevance_scores(
    features: sp.csr_matrix,
    labelled: np.ndarray,
    labels: np.ndarray,
    settings: ModelSettings | None = None,
) -> np.ndarray:
    """Fit on the labelled rows and return a relevance score for every row (higher = first).

    With fewer than two classes labelled (or no text features at all) no model can be fitted;
    every score is then 0, so the caller's tie-break (record order) decides, as ASReview's
    top-down start does.
    """
    import numpy as np

    settings = settings or ModelSettings()
    labelled = np.asarray(labelled, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if labelled.shape != labels.shape:
        raise ScreeningError("labelled rows and labels differ in length")
    n_rows = features.shape[0]
    if len(np.unique(labels)) < 2 or features.shape[1] == 0:
        return np.zeros(n_rows)
    from sklearn.linear_model import LogisticRegression, SGDClassifier  # heavy: only when fitting
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.svm import LinearSVC

    x = features[labelled]
    weights = balanced_weights(labels, settings.balance_ratio)
    match settings.classifier:
        case Classifier.SVM:
            svm = LinearSVC(C=settings.c, loss="squared_hinge", random_state=settings.seed)
            svm.fit(x, labels, sample_weight=weights)
            return np.asarray(features @ svm.coef_.ravel() + svm.intercept_[0])
        case Classifier.LOGISTIC:
            lr = LogisticRegression(C=settings.c * 10, solver="liblinear")
            lr.fit(x, labels, sample_weight=weights)
            return np.asarray(features @ lr.coef_.ravel() + lr.intercept_[0])
        case Classifier.SGD:
            sgd = SGDClassifier(loss="hinge", alpha=1e-4, random_state=settings.seed)
            sgd.fit(x, labels, sample_weight=weights)
            return np.asarray(features @ sgd.coef_.ravel() + sgd.intercept_[0])
        case Classifier.NAIVE_BAYES:
            nb = MultinomialNB(alpha=settings.nb_alpha)
            nb.fit(x, labels, sample_weight=weights)
            log_prob = nb.feature_log_prob_[1] - nb.feature_log_prob_[0]
            prior = nb.class_log_prior_[1] - nb.class_log_prior_[0]
            return np.asarray(features @ log_prob + prior)
    raise ScreeningError(f"classifier: unknown {settings.classifier!r}")  # pragma: no cover


def rank_pool(
    features: sp.csr_matrix,
    labelled: np.ndarray,
    labels: np.ndarray,
    settings: ModelSettings | None = None,
) -> np.ndarray:
    """Row indices of the unlabelled records, most likely relevant first (ties: row order)."""
    import numpy as np

    scores = relevance_scores(features, labelled, labels, settings)
    pool = np.ones(features.shape[0], dtype=bool)
    pool[np.asarray(labelled, dtype=np.int64)] = False
    candidates = np.flatnonzero(pool)
    order = np.argsort(-scores[candidates], kind="stable")
    return candidates[order]
