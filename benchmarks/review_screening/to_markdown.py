"""Turn a results JSON written by benchmarks/review_screening.py into the Markdown tables of
docs/review_screening.md, so the documented figures are copied from a run, never typed in.

    .venv/bin/python benchmarks/review_screening/to_markdown.py RESULTS.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _f(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main(path: Path) -> None:
    results = json.loads(path.read_text(encoding="utf-8"))
    seeds = results.get("seeds")
    if "datasets" in results:
        print(f"Seeds {seeds}; figures are means over seeds (recall at stop: lowest).\n")
        print(
            "| dataset | N | R | WSS@95 ours | WSS@95 ASReview | diff | WSS@100 ours | "
            "WSS@100 ASReview | last relevant ours | last relevant ASReview | "
            "stopped at (share) | recall at stop (min) |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for s in results["datasets"]:
            ours, theirs = s["ours_wss_95"], s.get("asreview_wss_95")
            diff = None if ours is None or theirs is None else ours - theirs
            print(
                f"| {s['dataset']} | {s['n']} | {s['n_relevant']} | {_f(ours)} | {_f(theirs)} | "
                f"{_f(diff)} | {_f(s['ours_wss_100'])} | {_f(s.get('asreview_wss_100'))} | "
                f"{_f(s['ours_share_to_last'])} | {_f(s.get('asreview_share_to_last'))} | "
                f"{_f(s['ours_stop_share'])} | {_f(s['ours_min_recall_at_stop'])} |"
            )
        overall = results["overall"]
        print(
            f"\nMean WSS@95: ours {_f(overall['mean_ours_wss_95'])}, "
            f"ASReview {_f(overall.get('mean_asreview_wss_95'))}; worst per-dataset difference "
            f"{_f(overall.get('worst_diff'))}; lowest recall at stop "
            f"{_f(overall['min_recall_at_stop'])}."
        )
    if "timing" in results:
        timing = results["timing"]
        print(
            f"\nRetrain-and-rank on {timing['n_records']} records "
            f"(feature matrix built once in {timing['build_seconds']:.1f} s):\n"
        )
        print("| classifier | labelled | median s | max s |")
        print("|---|---|---|---|")
        for step in timing["steps"]:
            print(
                f"| {step['classifier']} | {step['n_labelled']} | {step['median_s']:.3f} | "
                f"{step['max_s']:.3f} |"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
