"""Screening benchmark: our simulation vs ASReview (default ELAS u4) on the Cohen 2006 datasets,
the stopping rule's recall, and the retrain-and-rank time on 50,000 records.

Usage (from the repository root, after `make test` has built .venv):

    .venv/bin/python benchmarks/review_screening.py --setup-asreview   # once: own venv, ~1 min
    .venv/bin/python benchmarks/review_screening.py                     # all 11 sets, seeds 1-3
    .venv/bin/python benchmarks/review_screening.py --seeds 1 --datasets NSAIDS,Estrogens
    .venv/bin/python benchmarks/review_screening.py --skip-asreview --skip-simulation  # timing only

ASReview is a benchmark-only dependency: it lives in benchmarks/review_screening/.venv-asreview
(pinned version below, no torch in its dependency tree) and is run through its own CLI with the
same prior rows (--prior-idx) and seed as our run. Both screening orders are scored by the same
metric code (myoivig.review.screening.metrics). Data are read from ../shared/data/screening/.
Runs are sequential (the machine has 2 shared cores).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from myoivig.review.screening import metrics
from myoivig.review.screening.dataset import LabelledDataset, load_labelled_csv
from myoivig.review.screening.features import build_features
from myoivig.review.screening.ranking import Classifier, ModelSettings, rank_pool
from myoivig.review.screening.simulation import SimulationSettings, choose_priors, simulate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "screening"
HERE = ROOT / "benchmarks" / "review_screening"
ASREVIEW_VENV = HERE / ".venv-asreview"
ASREVIEW_VERSION = "3.0.8"
RESULTS = HERE / "results"
DATASETS = (
    "ADHD",
    "Antihistamines",
    "AtypicalAntipsychotics",
    "CalciumChannelBlockers",
    "Estrogens",
    "NSAIDS",
    "OralHypoglycemics",
    "ProtonPumpInhibitors",
    "SkeletalMuscleRelaxants",
    "Triptans",
    "UrinaryIncontinence",
)


def setup_asreview() -> None:
    """Create the ASReview venv (benchmark-only; never a runtime dependency of myoivig)."""
    if not (ASREVIEW_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(ASREVIEW_VENV)], check=True)
    pip = str(ASREVIEW_VENV / "bin" / "pip")
    subprocess.run([pip, "install", "--quiet", f"asreview=={ASREVIEW_VERSION}"], check=True)
    print(f"ASReview {ASREVIEW_VERSION} installed in {ASREVIEW_VENV}")


def asreview_order(csv: Path, priors: np.ndarray, seed: int) -> list[int]:
    """Run `asreview simulate` (default model) and return the screened rows in order."""
    exe = ASREVIEW_VENV / "bin" / "asreview"
    if not exe.exists():
        raise SystemExit("ASReview venv missing: run with --setup-asreview first")
    with tempfile.TemporaryDirectory(prefix="myoivig-asr-") as tmp:
        out = Path(tmp) / "run.asreview"
        cmd = [str(exe), "simulate", str(csv), "--prior-idx", *map(str, priors)]
        cmd += ["--seed", str(seed), "-o", str(out)]
        # cwd=tmp: ASReview drops a synergy cache file in its working directory
        subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tmp)
        with zipfile.ZipFile(out) as archive:
            archive.extractall(Path(tmp) / "x")
        db = next((Path(tmp) / "x").rglob("results.db"))
        con = sqlite3.connect(db)
        try:
            rows = con.execute(
                "SELECT rec.dataset_row FROM results res "
                "JOIN record rec ON rec.record_id = res.record_id ORDER BY res.rowid"
            ).fetchall()
        finally:
            con.close()
    order = [int(r[0]) for r in rows]
    if order[: len(priors)] != [int(p) for p in priors]:
        raise RuntimeError(f"ASReview did not start from the given priors: {order[:4]}")
    return order


def score(order: list[int], ds: LabelledDataset) -> dict[str, float | None]:
    """Common metrics for any screening order (ours or ASReview's)."""
    labels = ds.labels[np.asarray(order, dtype=np.int64)]
    n, r = len(ds), ds.n_relevant
    return {
        "wss_95": metrics.wss(labels, n, r, 0.95),
        "wss_100": metrics.wss(labels, n, r, 1.0),
        "share_to_last": metrics.share_to_last_relevant(labels, n, r),
        "atd": metrics.average_time_to_discovery(labels, n, r),
    }


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if len(present) == len(values) and present else None


def run_dataset(
    name: str, seeds: list[int], classifier: Classifier, with_asreview: bool
) -> dict[str, object]:
    """All seeds of one dataset; returns per-seed and mean figures."""
    ds = load_labelled_csv(DATA / f"cohen2006_{name}.csv")
    t0 = time.perf_counter()
    features = build_features(ds.texts)
    feature_s = time.perf_counter() - t0
    runs: list[dict[str, object]] = []
    for seed in seeds:
        priors = choose_priors(ds.labels, 1, 1, seed)
        settings = SimulationSettings(model=ModelSettings(classifier=classifier, seed=seed))
        t0 = time.perf_counter()
        result = simulate(features, ds.labels, priors, settings)
        ours_s = time.perf_counter() - t0
        run: dict[str, object] = {
            "seed": seed,
            "prior_record_ids": [ds.record_ids[i] for i in priors],
            "ours": score(list(result.order), ds)
            | {
                "stopped_at": result.stopped_at,
                "stop_share": None if result.stopped_at is None else result.stopped_at / len(ds),
                "recall_at_stop": result.recall_at_stop,
                "seconds": ours_s,
            },
        }
        if with_asreview:
            t0 = time.perf_counter()
            order = asreview_order(DATA / f"cohen2006_{name}.csv", priors, seed)
            run["asreview"] = score(order, ds) | {"seconds": time.perf_counter() - t0}
        runs.append(run)
        print(f"  {name} seed {seed}: {json.dumps(run, default=str)}", flush=True)

    def mean_of(tool: str, key: str) -> float | None:
        return _mean([r[tool][key] for r in runs if tool in r])  # type: ignore[index]

    summary: dict[str, object] = {
        "dataset": name,
        "n": len(ds),
        "n_relevant": ds.n_relevant,
        "feature_seconds": feature_s,
        "runs": runs,
    }
    for key in ("wss_95", "wss_100", "share_to_last", "atd", "stop_share"):
        summary[f"ours_{key}"] = mean_of("ours", key)
    recalls = [r["ours"]["recall_at_stop"] for r in runs]  # type: ignore[index]
    summary["ours_min_recall_at_stop"] = (
        None if any(v is None for v in recalls) else min(recalls)  # type: ignore[type-var]
    )
    if with_asreview:
        for key in ("wss_95", "wss_100", "share_to_last", "atd"):
            summary[f"asreview_{key}"] = mean_of("asreview", key)
    return summary


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def report(summaries: list[dict[str, object]], with_asreview: bool) -> dict[str, object]:
    """Print the per-dataset table, the means and the target checks."""
    head = ["dataset", "N", "R", "WSS95 ours"]
    if with_asreview:
        head += ["WSS95 ASR", "diff"]
    head += ["WSS100 ours", "last ours", "stop at", "recall@stop(min)"]
    if with_asreview:
        head += ["WSS100 ASR", "last ASR"]
    print("\n" + " | ".join(head))
    for s in summaries:
        row = [s["dataset"], s["n"], s["n_relevant"], _fmt(s["ours_wss_95"])]
        if with_asreview:
            diff = None
            if s["ours_wss_95"] is not None and s["asreview_wss_95"] is not None:
                diff = s["ours_wss_95"] - s["asreview_wss_95"]  # type: ignore[operator]
            row += [_fmt(s["asreview_wss_95"]), _fmt(diff)]
        row += [
            _fmt(s["ours_wss_100"]),
            _fmt(s["ours_share_to_last"]),
            _fmt(s["ours_stop_share"]),
            _fmt(s["ours_min_recall_at_stop"]),
        ]
        if with_asreview:
            row += [_fmt(s["asreview_wss_100"]), _fmt(s["asreview_share_to_last"])]
        print(" | ".join(str(c) for c in row))
    out: dict[str, object] = {}
    ours = [s["ours_wss_95"] for s in summaries]
    out["mean_ours_wss_95"] = _mean(ours)  # type: ignore[arg-type]
    out["min_recall_at_stop"] = min(
        (s["ours_min_recall_at_stop"] or 0.0 for s in summaries),  # type: ignore[misc]
        default=None,
    )
    print(f"\nmean WSS@95 ours: {_fmt(out['mean_ours_wss_95'])}")
    print(f"lowest recall at stop (any dataset, any seed): {_fmt(out['min_recall_at_stop'])}")
    recall_ok = out["min_recall_at_stop"] is not None and out["min_recall_at_stop"] >= 0.95  # type: ignore[operator]
    print(f"target stopping recall >= 0.95 everywhere: {'PASS' if recall_ok else 'FAIL'}")
    if with_asreview:
        theirs = [s["asreview_wss_95"] for s in summaries]
        out["mean_asreview_wss_95"] = _mean(theirs)  # type: ignore[arg-type]
        diffs = [o - t for o, t in zip(ours, theirs, strict=True)]  # type: ignore[operator]
        out["worst_diff"] = min(diffs)
        print(f"mean WSS@95 ASReview: {_fmt(out['mean_asreview_wss_95'])}")
        mean_ok = out["mean_ours_wss_95"] >= out["mean_asreview_wss_95"]  # type: ignore[operator]
        worst_ok = out["worst_diff"] >= -0.05  # type: ignore[operator]
        print(f"target mean WSS@95 >= ASReview's: {'PASS' if mean_ok else 'FAIL'}")
        print(
            f"target never more than 0.05 below (worst {_fmt(out['worst_diff'])}): "
            f"{'PASS' if worst_ok else 'FAIL'}"
        )
    return out


def timing(n_records: int, n_labelled: list[int], repeats: int) -> dict[str, object]:
    """Time one retrain-and-rank step on n_records (Cohen texts, reshuffled copies to fill)."""
    rng = np.random.default_rng(0)
    texts: list[str] = []
    labels: list[int] = []
    for name in DATASETS:
        ds = load_labelled_csv(DATA / f"cohen2006_{name}.csv")
        texts.extend(ds.texts)
        labels.extend(int(v) for v in ds.labels)
    base = len(texts)
    while len(texts) < n_records:
        i = int(rng.integers(base))
        words = texts[i].split()
        rng.shuffle(words)  # same vocabulary, new word order: a new but realistic record
        texts.append(" ".join(words))
        labels.append(labels[i])
    y = np.asarray(labels[:n_records])
    t0 = time.perf_counter()
    features = build_features(texts[:n_records])
    build_s = time.perf_counter() - t0
    print(
        f"\nfeature matrix: {features.shape[0]} x {features.shape[1]}, nnz {features.nnz}, "
        f"{(features.data.nbytes + features.indices.nbytes) / 1e6:.0f} MB, built in {build_s:.1f} s"
    )
    out: dict[str, object] = {"n_records": n_records, "build_seconds": build_s, "steps": []}
    for n_lab in n_labelled:
        labelled = rng.choice(n_records, size=n_lab, replace=False)
        for classifier in (Classifier.SVM, Classifier.NAIVE_BAYES):
            settings = ModelSettings(classifier=classifier)
            rank_pool(features, labelled, y[labelled], settings)  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                rank_pool(features, labelled, y[labelled], settings)
                times.append(time.perf_counter() - t0)
            step = {
                "classifier": classifier.value,
                "n_labelled": n_lab,
                "median_s": statistics.median(times),
                "max_s": max(times),
            }
            out["steps"].append(step)  # type: ignore[attr-defined]
            verdict = "PASS" if step["max_s"] < 1.0 else "FAIL"
            print(
                f"retrain+rank {classifier.value} on {n_records} records, {n_lab} labelled: "
                f"median {step['median_s']:.3f} s, max {step['max_s']:.3f} s "
                f"over {repeats} ({verdict} < 1 s)"
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-asreview", action="store_true")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--classifier", type=Classifier, default=Classifier.SVM)
    parser.add_argument("--skip-asreview", action="store_true")
    parser.add_argument("--skip-simulation", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-records", type=int, default=50_000)
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    if args.setup_asreview:
        setup_asreview()
        return
    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, object] = {"seeds": seeds, "classifier": args.classifier.value}
    if not args.skip_simulation:
        with_asreview = not args.skip_asreview
        summaries = [
            run_dataset(name, seeds, args.classifier, with_asreview)
            for name in args.datasets.split(",")
        ]
        results["datasets"] = summaries
        results["overall"] = report(summaries, with_asreview)
    if not args.skip_timing:
        results["timing"] = timing(args.timing_records, [1_000, 5_000], repeats=5)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nresults written to {args.output}")


if __name__ == "__main__":
    main()
