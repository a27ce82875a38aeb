"""False stops of the screening stopping rule: the old procedure against the corrected one.

A false stop: the rule allowed stopping while recall was still below the recall target. The rule
promises that this happens with probability at most 1 - confidence when records come in random
order (the condition its guarantee assumes) and less when they come ranked. This script replays
many orders of the Cohen 2006 sets through both procedures in the same run and prints the false-
stop rate with its exact (Clopper-Pearson) binomial 95 % interval, and the share of records
screened when each rule stopped (the price of the correction):

* random orders: a seeded permutation of the whole set;
* ranked orders ("held-out" ranking): a seeded half of the set trains the screening model
  (TF-IDF + the project's default classifier), the other half is ranked by its scores and
  screened in that order; the held-out half is the review being screened.

Peer: the stated guarantee itself, 1 - confidence (5 % at confidence 0.95).

Usage (repository root):

    .venv/bin/python benchmarks/stopping_rule_false_stops.py                 # 1,100 + 1,100 orders
    .venv/bin/python benchmarks/stopping_rule_false_stops.py --runs 20 --datasets NSAIDS

Data: the Cohen 2006 CSVs (SYNERGY format) from --data (default: the MYOIVIG_SCREENING_DATA
environment variable); they are not part of the repository. At most two worker processes; the
whole run is bounded by --max-seconds (it stops and reports what it has).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import beta

from myoivig.review.screening.dataset import load_labelled_csv
from myoivig.review.screening.features import build_features
from myoivig.review.screening.ranking import ModelSettings, relevance_scores
from myoivig.review.screening.stopping import DEFAULT_CHECKPOINTS
from myoivig.review.screening.stopping_audit import (
    first_stop_checkpoints,
    first_stop_uncorrected,
    recall_below_target,
)


@dataclass(frozen=True)
class Outcome:
    """One order replayed through both procedures."""

    dataset: str
    kind: str  # "random" or "ranked"
    n_total: int
    old_stop: int
    old_false: bool
    new_stop: int
    new_false: bool


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval."""
    tail = (1.0 - level) / 2.0
    low = 0.0 if successes == 0 else float(beta.ppf(tail, successes, trials - successes + 1))
    if successes == trials:
        return low, 1.0
    high = float(beta.ppf(1 - tail, successes + 1, trials - successes))
    return low, high


def _replay(
    dataset: str, kind: str, labels: np.ndarray, tau: float, conf: float, k: int
) -> Outcome:
    old = first_stop_uncorrected(labels, tau, conf)
    new = first_stop_checkpoints(labels, tau, conf, k)
    return Outcome(
        dataset,
        kind,
        int(labels.size),
        old,
        recall_below_target(labels, old, tau),
        new,
        recall_below_target(labels, new, tau),
    )


def run_dataset(args: tuple[Path, int, int, float, float, int]) -> list[Outcome]:
    """All random and ranked orders of one set (one worker process)."""
    path, runs, seed, tau, conf, k = args
    data = load_labelled_csv(path)
    name = path.stem.removeprefix("cohen2006_")
    rng = np.random.default_rng([seed, len(name), sum(map(ord, name))])
    outcomes = [
        _replay(name, "random", data.labels[rng.permutation(len(data))], tau, conf, k)
        for _ in range(runs)
    ]
    features = build_features(data.texts)
    relevant = np.flatnonzero(data.labels == 1)
    irrelevant = np.flatnonzero(data.labels == 0)
    for run in range(runs):
        # stratified halves so both hold relevant records
        train = np.concatenate(
            [
                rng.choice(relevant, relevant.size // 2, replace=False),
                rng.choice(irrelevant, irrelevant.size // 2, replace=False),
            ]
        )
        held_out = np.setdiff1d(np.arange(len(data)), train)
        # the model sees only the training half's labels; the held-out half is the review
        scores = relevance_scores(features, train, data.labels[train], ModelSettings(seed=run))
        scores = scores[held_out]
        ties = rng.random(held_out.size)
        order = held_out[np.lexsort((ties, -scores))]
        outcomes.append(_replay(name, "ranked", data.labels[order], tau, conf, k))
    return outcomes


def summarise(outcomes: list[Outcome], tau: float, conf: float, k: int) -> None:
    """Print the false-stop table and the verdict."""
    alpha = 1.0 - conf
    print(f"recall target {tau:.0%}, confidence {conf:.0%} (allowed false-stop rate {alpha:.0%})")
    print(f"corrected rule: {k} checkpoints, Bonferroni over {k * (k + 1) // 2} tests\n")
    header = (
        f"{'orders':<8} {'n':>5} | {'old: false stops':>17} {'95 % CI':>15} {'screened':>9} | "
        f"{'new: false stops':>17} {'95 % CI':>15} {'screened':>9}"
    )
    print(header)
    print("-" * len(header))
    verdict = True
    for kind in ("random", "ranked"):
        rows = [o for o in outcomes if o.kind == kind]
        if not rows:
            continue
        n = len(rows)
        line = f"{kind:<8} {n:>5} |"
        for attr, stop in (("old_false", "old_stop"), ("new_false", "new_stop")):
            false = sum(getattr(o, attr) for o in rows)
            low, high = clopper_pearson(false, n)
            share = float(np.mean([getattr(o, stop) / o.n_total for o in rows]))
            line += f" {false:>5} ({false / n:6.1%}) {low:6.1%}-{high:6.1%} {share:>9.1%} |"
            if attr == "new_false" and low > alpha:
                verdict = False
        print(line.rstrip("|"))
    print()
    print("per set (random orders): false stops old / new, mean share screened old / new")
    for name in sorted({o.dataset for o in outcomes}):
        rows = [o for o in outcomes if o.dataset == name and o.kind == "random"]
        ranked = [o for o in outcomes if o.dataset == name and o.kind == "ranked"]
        print(
            f"  {name:<24} R/N={rows[0].n_total:>5}  random {sum(o.old_false for o in rows):>3} / "
            f"{sum(o.new_false for o in rows):>3} of {len(rows)}, screened "
            f"{np.mean([o.old_stop / o.n_total for o in rows]):.0%} / "
            f"{np.mean([o.new_stop / o.n_total for o in rows]):.0%};  ranked "
            f"{sum(o.old_false for o in ranked)} / {sum(o.new_false for o in ranked)}, screened "
            f"{np.mean([o.old_stop / o.n_total for o in ranked]):.0%} / "
            f"{np.mean([o.new_stop / o.n_total for o in ranked]):.0%}"
        )
    print()
    print(
        "corrected rule keeps its promise (false-stop rate not above 1 - confidence beyond "
        f"binomial error): {'PASS' if verdict else 'FAIL'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("MYOIVIG_SCREENING_DATA"))
    parser.add_argument("--datasets", default="", help="comma-separated; default: every set")
    parser.add_argument("--runs", type=int, default=100, help="random and ranked orders per set")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--recall-target", type=float, default=0.95)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--checkpoints", type=int, default=DEFAULT_CHECKPOINTS)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    if args.data is None or not Path(args.data).is_dir():
        print("--data: give the folder holding cohen2006_*.csv", file=sys.stderr)
        return 2
    names = (
        args.datasets.split(",")
        if args.datasets
        else sorted(
            p.stem.removeprefix("cohen2006_") for p in Path(args.data).glob("cohen2006_*.csv")
        )
    )
    jobs = [
        (
            Path(args.data) / f"cohen2006_{name}.csv",
            args.runs,
            args.seed,
            args.recall_target,
            args.confidence,
            args.checkpoints,
        )
        for name in names
    ]
    started = time.perf_counter()
    outcomes: list[Outcome] = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [pool.submit(run_dataset, job) for job in jobs]
        for future in futures:
            remaining = args.max_seconds - (time.perf_counter() - started)
            try:
                outcomes.extend(future.result(timeout=max(remaining, 0.1)))
            except TimeoutError:
                print("time bound reached: reporting the sets finished so far", file=sys.stderr)
                for other in futures:
                    other.cancel()
                break
    print(f"{len(outcomes)} orders in {time.perf_counter() - started:.0f} s\n")
    summarise(outcomes, args.recall_target, args.confidence, args.checkpoints)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
