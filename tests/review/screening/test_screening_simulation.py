"""Metrics definitions, features for Chinese text, ranking and simulation on labelled data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from myoivig.review.screening import metrics
from myoivig.review.screening.dataset import load_labelled_csv
from myoivig.review.screening.events import ScreeningError
from myoivig.review.screening.features import build_features, cjk_view, words_view
from myoivig.review.screening.ranking import (
    Classifier,
    ModelSettings,
    balanced_weights,
    rank_pool,
)
from myoivig.review.screening.simulation import SimulationSettings, choose_priors, simulate


def test_wss_and_last_relevant_hand_worked() -> None:
    # N = 10, R = 2, relevant found at positions 1 and 3.
    order = [1, 0, 1, 0, 0, 0, 0, 0, 0, 0]
    # WSS@95: ceil(0.95*2) = 2 relevant needed -> 3 screened: 7/10 - 0.05 = 0.65
    assert metrics.wss(order, 10, 2, 0.95) == pytest.approx(0.65)
    assert metrics.wss(order, 10, 2, 1.0) == pytest.approx(0.70)
    assert metrics.share_to_last_relevant(order, 10, 2) == pytest.approx(0.3)
    assert metrics.average_time_to_discovery(order, 10, 2) == pytest.approx(0.2)
    assert metrics.recall_at(order, 2, 2) == pytest.approx(0.5)
    # ceil(0.95 * 20) = 19 exactly, not 20 (0.95 is not a binary float)
    assert metrics.records_to_find(20, 0.95) == 19
    assert metrics.wss([0, 0, 1], 3, 2) is None
    assert metrics.recall_curve(order, 2, points=5) == [
        (2, 0.5),
        (4, 1.0),
        (6, 1.0),
        (8, 1.0),
        (10, 1.0),
    ]


def test_word_and_cjk_views_split_mixed_text() -> None:
    text = "IVIg 静脉注射免疫球蛋白治疗 Dermatomyositis"
    assert words_view(text).split() == ["ivig", "dermatomyositis"]
    assert cjk_view(text) == "静脉注射免疫球蛋白治疗"


def test_chinese_records_get_character_features_and_rank() -> None:
    relevant = [
        "静脉注射免疫球蛋白治疗皮肌炎的疗效观察",
        "免疫球蛋白冲击治疗多发性肌炎",
        "大剂量免疫球蛋白治疗难治性皮肌炎",
        "皮肌炎患者静脉注射免疫球蛋白的临床研究",
    ]
    irrelevant = [
        "高血压患者的饮食调查",
        "糖尿病足的护理体会",
        "儿童哮喘的流行病学调查",
        "骨折术后康复训练的效果",
        "老年高血压的药物治疗依从性",
        "社区糖尿病管理模式探讨",
    ]
    texts = relevant[:2] + irrelevant[:3] + relevant[2:] + irrelevant[3:]
    labels = np.array([1, 1, 0, 0, 0, 1, 1, 0, 0, 0])
    features = build_features(texts)
    assert features.shape[0] == 10 and features.shape[1] > 50  # one token per clause would be ~10
    ranked = rank_pool(features, np.array([0, 2]), labels[[0, 2]])
    assert set(ranked[:3].tolist()) == {1, 5, 6}


def test_balanced_weights_follow_the_ratio() -> None:
    labels = np.array([1, 0, 0, 0, 0])
    weights = balanced_weights(labels, ratio=2.0)
    assert weights.sum() == pytest.approx(5)
    # the irrelevant class carries 1/ratio of the relevant class's total weight
    assert weights[labels == 0].sum() / weights[labels == 1].sum() == pytest.approx(0.5)


def _toy_corpus(n_irrelevant: int = 120) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    topics = ["hypertension diet", "asthma children", "fracture rehabilitation", "diabetes foot"]
    texts, labels = [], []
    for i in range(n_irrelevant):
        topic = topics[i % len(topics)]
        texts.append(f"{topic} survey {rng.integers(1000)} cohort outcomes in adults")
        labels.append(0)
    for i in range(12):
        texts.append(
            f"intravenous immunoglobulin for dermatomyositis and polymyositis trial {i} "
            "muscle strength creatine kinase"
        )
        labels.append(1)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], np.array(labels)[order]


def test_simulation_on_a_small_labelled_corpus() -> None:
    texts, labels = _toy_corpus()
    features = build_features(texts)
    priors = choose_priors(labels, 1, 1, seed=4)
    result = simulate(features, labels, priors)
    # every relevant record is found within the first relevant count + priors positions
    assert result.share_to_last_relevant is not None
    assert result.share_to_last_relevant <= (12 + 1) / len(labels)
    assert result.wss(0.95) is not None and result.wss(0.95) > 0.8
    assert result.stopped_at is not None and result.recall_at_stop == 1.0
    assert result.order[:2] == tuple(int(p) for p in priors)
    assert len(set(result.order)) == len(result.order)
    summary = result.summary()
    assert summary["n_relevant"] == 12 and summary["recall_curve"]


@pytest.mark.parametrize("classifier", list(Classifier))
def test_every_classifier_ranks_the_toy_corpus(classifier: Classifier) -> None:
    texts, labels = _toy_corpus(60)
    features = build_features(texts)
    priors = choose_priors(labels, 1, 1, seed=1)
    settings = SimulationSettings(model=ModelSettings(classifier=classifier))
    result = simulate(features, labels, priors, settings)
    assert result.wss(1.0) is not None and result.wss(1.0) > 0.6


def test_simulation_refuses_bad_priors() -> None:
    texts, labels = _toy_corpus(20)
    features = build_features(texts)
    with pytest.raises(ScreeningError, match="priors"):
        simulate(features, labels, [0, 0])
    with pytest.raises(ScreeningError, match="asked for 20 relevant"):
        choose_priors(labels, 20, 1)


def test_short_run_on_a_shared_cohen_dataset(outside_data: Callable[[str], Path]) -> None:
    dataset = load_labelled_csv(outside_data("data/screening/cohen2006_NSAIDS.csv"))
    assert (len(dataset), dataset.n_relevant) == (393, 41)
    features = build_features(dataset.texts)
    result = simulate(features, dataset.labels, choose_priors(dataset.labels, seed=1))
    wss95 = result.wss(0.95)
    assert wss95 is not None and wss95 > 0.5  # random screening saves nothing (WSS 0)
    assert result.recall_at_stop is not None and result.recall_at_stop >= 0.95


def test_labelled_csv_errors_name_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("title,abstract,label_included\na,b,1\nc,d,yes\n", encoding="utf-8")
    with pytest.raises(ScreeningError, match=r"bad.csv line 3: label_included='yes'"):
        load_labelled_csv(path)
    with pytest.raises(ScreeningError, match="no column"):
        load_labelled_csv(path, "label_x")
