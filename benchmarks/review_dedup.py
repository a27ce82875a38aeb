"""Deduplication benchmark: sensitivity and precision on a corrupted-duplicate set.

Builds a labelled set from the Cohen 2006 titles/authors/years in ../shared/data/screening plus
synthetic Chinese (CNKI-style) records, duplicates a share of them with realistic corruption
(title typos and punctuation/case changes, DOI dropped, author names re-formatted or
transliterated to pinyin, MEDLINE twins of Chinese papers with translated English titles), runs
`find_duplicates`, and prints pairwise sensitivity/precision of the auto-merge clusters, the
review-queue size and the wall time. Target (issue 6): sensitivity >= 0.98 at precision >= 0.995.

Run: .venv/bin/python benchmarks/review_dedup.py [--seed 7] [--dup-share 0.3]
"""

from __future__ import annotations

import argparse
import csv
import random
import string
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

from myoivig.review.dedup import DedupSettings, find_duplicates
from myoivig.review.dedup.normalise import is_cjk
from myoivig.review.records import BibRecord

SCREENING = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "screening"

# MEDLINE spelling of each surname, written out by hand (not computed with pypinyin, so the
# benchmark does not test the transliteration against itself). Includes polyphonic surnames whose
# ordinary reading differs (曾 Zeng, 单 Shan, 区 Ou, 吕 Lu, 仇 Qiu, 解 Xie, 查 Zha, 朴 Piao, 乐 Yue,
# 覃 Qin, 翟 Zhai, 缪 Miao, 盖 Ge) and two compound surnames.
_SURNAME_TABLE = """
王=Wang 李=Li 张=Zhang 刘=Liu 陈=Chen 杨=Yang 黄=Huang 赵=Zhao 吴=Wu 周=Zhou
徐=Xu 孙=Sun 马=Ma 朱=Zhu 胡=Hu 郭=Guo 何=He 高=Gao 林=Lin 罗=Luo
郑=Zheng 梁=Liang 谢=Xie 宋=Song 唐=Tang 许=Xu 韩=Han 冯=Feng 邓=Deng 曹=Cao
彭=Peng 曾=Zeng 肖=Xiao 田=Tian 董=Dong 袁=Yuan 潘=Pan 于=Yu 蒋=Jiang 蔡=Cai
余=Yu 杜=Du 叶=Ye 程=Cheng 苏=Su 魏=Wei 吕=Lu 丁=Ding 任=Ren 沈=Shen
姚=Yao 卢=Lu 姜=Jiang 崔=Cui 钟=Zhong 谭=Tan 陆=Lu 汪=Wang 范=Fan 金=Jin
石=Shi 廖=Liao 贾=Jia 夏=Xia 韦=Wei 付=Fu 方=Fang 白=Bai 邹=Zou 孟=Meng
熊=Xiong 秦=Qin 邱=Qiu 江=Jiang 尹=Yin 薛=Xue 闫=Yan 段=Duan 雷=Lei 侯=Hou
龙=Long 史=Shi 陶=Tao 黎=Li 贺=He 顾=Gu 毛=Mao 郝=Hao 龚=Gong 邵=Shao
万=Wan 钱=Qian 严=Yan 覃=Qin 武=Wu 戴=Dai 莫=Mo 孔=Kong 向=Xiang 汤=Tang
单=Shan 区=Ou 仇=Qiu 解=Xie 查=Zha 朴=Piao 乐=Yue 翟=Zhai 缪=Miao 盖=Ge
欧阳=Ouyang 司马=Sima
"""
MEDLINE_SURNAME = {k: v for k, v in (item.split("=") for item in _SURNAME_TABLE.split())}
CN_SURNAMES = tuple(MEDLINE_SURNAME)
POLYPHONIC = frozenset(
    "曾单区吕仇解查朴乐翟缪盖覃"
)  # first author's surname read unlike the character
# given-name characters and their MEDLINE initial (hand-written, as above)
MEDLINE_INITIAL = dict(
    zip(
        "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲菊凤建国晓东海波宁欣雪梅琳琴云莲",
        "WFNXMJLQLJYYYJJTMCLXPGGYHYPHELJFJGXDHBNXXMLQYL",
        strict=True,
    )
)
CN_GIVEN = "".join(MEDLINE_INITIAL)
CN_A = [
    "静脉注射免疫球蛋白",
    "糖皮质激素",
    "甲氨蝶呤",
    "环磷酰胺",
    "他克莫司",
    "吗替麦考酚酯",
    "利妥昔单抗",
    "环孢素",
    "羟氯喹",
    "硫唑嘌呤",
    "血浆置换",
    "中药复方",
    "雷公藤多苷",
    "白芍总苷",
]
CN_B = ["联合", "单用", "序贯", "大剂量", "小剂量", "早期", "长期", "冲击"]
CN_C = [
    "治疗多发性肌炎",
    "治疗皮肌炎",
    "治疗间质性肺病",
    "治疗难治性肌炎",
    "治疗老年皮肌炎",
    "治疗抗合成酶综合征",
    "治疗重症肌无力",
    "治疗系统性红斑狼疮",
    "治疗类风湿关节炎",
    "治疗系统性硬化症",
    "治疗干燥综合征",
    "治疗血管炎",
]
CN_D = [
    "的疗效观察",
    "的临床研究",
    "的安全性分析",
    "的随机对照试验",
    "的回顾性分析",
    "的前瞻性研究",
    "的疗效及安全性",
    "的长期随访",
    "的病例分析",
    "的多中心研究",
]
CN_JOURNALS = [
    ("中华风湿病学杂志", "1007-7480"),
    ("中华内科杂志", "0578-1426"),
    ("中华老年医学杂志", "0254-9026"),
    ("中国实用内科杂志", "1005-2194"),
    ("中华医学杂志", "0376-2491"),
    ("临床荟萃", "1004-583X"),
]
EN_OF = {
    **dict(
        zip(
            CN_A,
            [
                "intravenous immunoglobulin",
                "glucocorticoids",
                "methotrexate",
                "cyclophosphamide",
                "tacrolimus",
                "mycophenolate mofetil",
                "rituximab",
                "cyclosporine",
                "hydroxychloroquine",
                "azathioprine",
                "plasma exchange",
                "a Chinese herbal compound",
                "tripterygium glycosides",
                "total glucosides of paeony",
            ],
            strict=True,
        )
    ),
    **dict(
        zip(
            CN_B,
            [
                "combined with",
                "alone versus",
                "followed by",
                "high-dose",
                "low-dose",
                "early",
                "long-term",
                "pulse",
            ],
            strict=True,
        )
    ),
    **dict(
        zip(
            CN_C,
            [
                "for polymyositis",
                "for dermatomyositis",
                "for interstitial lung disease",
                "for refractory myositis",
                "for elderly patients with dermatomyositis",
                "for antisynthetase syndrome",
                "for myasthenia gravis",
                "for systemic lupus erythematosus",
                "for rheumatoid arthritis",
                "for systemic sclerosis",
                "for Sjogren syndrome",
                "for vasculitis",
            ],
            strict=True,
        )
    ),
    **dict(
        zip(
            CN_D,
            [
                "efficacy",
                "a clinical study",
                "safety analysis",
                "a randomized controlled trial",
                "a retrospective analysis",
                "a prospective study",
                "efficacy and safety",
                "long-term follow-up",
                "a case analysis",
                "a multicentre study",
            ],
            strict=True,
        )
    ),
}
EN_JOURNAL_OF = {
    "中华风湿病学杂志": "Chinese Journal of Rheumatology",
    "中华内科杂志": "Zhonghua Nei Ke Za Zhi",
    "中华老年医学杂志": "Chinese Journal of Geriatrics",
    "中国实用内科杂志": "Chinese Journal of Practical Internal Medicine",
    "中华医学杂志": "Zhonghua Yi Xue Za Zhi",
    "临床荟萃": "Clinical Focus",
}


def load_cohen() -> list[dict[str, object]]:
    seen: dict[str, dict[str, object]] = {}
    for path in sorted(SCREENING.glob("*.csv")):
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                pmid = (row.get("pubmedID") or "").strip()
                title = (row.get("title") or "").strip()
                if not pmid or not title or pmid in seen:
                    continue
                authors = [a.strip() for a in (row.get("authors") or "").split(";") if a.strip()]
                year = int(float(row["year"])) if row.get("year") else None
                seen[pmid] = {"pmid": pmid, "title": title, "authors": authors, "year": year}
    return list(seen.values())


def typo(text: str, rng: random.Random) -> str:
    if len(text) < 10:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.33:
        return text[:i] + text[i + 1 :]
    if kind < 0.66:
        return text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]
    return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]


def reformat_author(name: str, rng: random.Random) -> str:
    """'M Bomhof' -> 'Bomhof M' or 'Bomhof, M.' (as other exporters print it)."""
    parts = name.split()
    if len(parts) < 2:
        return name
    given, surname = parts[:-1], parts[-1]
    initials = "".join(g[0] for g in given)
    return rng.choice([f"{surname} {initials}", f"{surname}, {'. '.join(initials)}."])


def corrupt_english(rec: dict[str, object], rng: random.Random) -> dict[str, object]:
    dup = dict(rec)
    title = str(rec["title"])
    r = rng.random()
    if r < 0.35:
        title = typo(title, rng)
    elif r < 0.55:
        title = title.upper() if rng.random() < 0.5 else title.rstrip(".")
    elif r < 0.7:
        title = typo(typo(title, rng), rng)
    elif r < 0.8:
        title = title.replace(":", " -").replace(",", "")
    dup["title"] = title
    dup["authors"] = [reformat_author(a, rng) for a in rec["authors"]]  # type: ignore[attr-defined]
    if rng.random() < 0.1 and dup["authors"]:
        dup["authors"] = dup["authors"][:1]  # type: ignore[index]
    dup["pmid"] = None
    if rng.random() < 0.6:
        dup["doi"] = None  # missing DOI
    if rng.random() < 0.05 and rec["year"]:
        dup["year"] = int(rec["year"]) + 1  # type: ignore[call-overload]  # epub vs print year
    return dup


def chinese_original(i: int, rng: random.Random) -> dict[str, object]:
    parts = [
        rng.choice(CN_A),
        rng.choice(CN_B),
        rng.choice(CN_A),
        rng.choice(CN_C),
        rng.choice(CN_D),
    ]
    title = "".join(parts)
    cases = rng.randint(20, 300) if rng.random() < 0.5 else None
    if cases:
        title += f"({cases}例)"
    english = (
        f"[{EN_OF[parts[4]].capitalize()} of {EN_OF[parts[1]]} {EN_OF[parts[0]]} "
        f"and {EN_OF[parts[2]]} {EN_OF[parts[3]]}" + (f": {cases} cases]" if cases else "]")
    )
    journal, issn = rng.choice(CN_JOURNALS)
    authors = [
        rng.choice(CN_SURNAMES) + "".join(rng.choice(CN_GIVEN) for _ in range(rng.randint(1, 2)))
        for _ in range(rng.randint(1, 6))
    ]
    return {
        "title": title,
        "authors": authors,
        "year": rng.randint(1990, 2011),
        "journal": journal,
        "issn": issn,
        "volume": str(rng.randint(10, 50)),
        "issue": f"{rng.randint(1, 12):02d}",
        "pages": f"{(p := rng.randint(1, 900))}-{p + rng.randint(1, 6)}",
        "cn": True,
        "english": english,
        "key": f"cn{i}",
    }


def medline_name(name: str) -> str:
    """'Zeng WF' for 曾伟芳: the surname as MEDLINE spells it plus given-name initials."""
    surname = name[:2] if name[:2] in MEDLINE_SURNAME else name[0]
    initials = "".join(MEDLINE_INITIAL[c] for c in name[len(surname) :])
    return f"{MEDLINE_SURNAME[surname]} {initials}"


def corrupt_chinese(rec: dict[str, object], rng: random.Random) -> dict[str, object]:
    dup = dict(rec)
    if rng.random() < 0.5:
        # MEDLINE twin: translated English title in brackets, pinyin authors, journal in English.
        dup["title"] = rec["english"]
        dup["authors"] = [medline_name(a) for a in rec["authors"]]  # type: ignore[attr-defined]
        dup["journal"] = EN_JOURNAL_OF[str(rec["journal"])]
        dup["issue"] = str(int(str(rec["issue"])))
        dup["pages"] = str(rec["pages"]).split("-")[0] + "-" + str(rec["pages"]).split("-")[1][-1:]
    else:
        # Another CNKI export of the same paper: full-width punctuation, a typo, fewer authors.
        title = str(rec["title"]).replace("(", "（").replace(")", "）")
        if rng.random() < 0.5:
            i = rng.randrange(len(title))
            title = title[:i] + title[i + 1 :]
        dup["title"] = title
        if rng.random() < 0.3:
            dup["authors"] = list(rec["authors"])[:3]  # type: ignore[call-overload]
    return dup


def build(
    seed: int, dup_share: float, chinese: int = 1500
) -> tuple[list[BibRecord], dict[str, str]]:
    rng = random.Random(seed)
    originals: list[dict[str, object]] = []
    for rec in load_cohen():
        rec = dict(rec)
        rec["key"] = f"pm{rec['pmid']}"
        rec["doi"] = f"10.9999/trial.{rec['pmid']}" if rng.random() < 0.5 else None
        rec["volume"] = str(rng.randint(1, 400)) if rng.random() < 0.7 else None
        rec["pages"] = str(rng.randint(1, 2000)) if rec["volume"] else None
        originals.append(rec)
    originals.extend(chinese_original(i, rng) for i in range(chinese))
    rows: list[tuple[dict[str, object], str]] = [(r, str(r["key"])) for r in originals]
    for rec in originals:
        if rng.random() < dup_share:
            for _ in range(1 if rng.random() < 0.8 else 2):
                if rec.get("cn"):
                    rows.append((corrupt_chinese(rec, rng), str(rec["key"])))
                else:
                    rows.append((corrupt_english(rec, rng), str(rec["key"])))
    rng.shuffle(rows)
    records = []
    truth: dict[str, str] = {}
    for n, (row, key) in enumerate(rows, start=1):
        rid = f"r{n}"
        truth[rid] = key
        records.append(
            BibRecord(
                record_id=rid,
                source="bench",
                source_format="synthetic",
                position=n,
                title=str(row["title"]),
                authors=list(row.get("authors") or []),  # type: ignore[call-overload]
                year=row.get("year"),  # type: ignore[arg-type]
                journal=row.get("journal"),  # type: ignore[arg-type]
                issn=row.get("issn"),  # type: ignore[arg-type]
                volume=row.get("volume"),  # type: ignore[arg-type]
                issue=row.get("issue"),  # type: ignore[arg-type]
                pages=row.get("pages"),  # type: ignore[arg-type]
                doi=row.get("doi"),  # type: ignore[arg-type]
                pmid=row.get("pmid"),  # type: ignore[arg-type]
            )
        )
    return records, truth


def pairs_of(groups: list[list[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for group in groups:
        for a, b in combinations(sorted(group), 2):
            out.add((a, b))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dup-share", type=float, default=0.3)
    parser.add_argument("--chinese", type=int, default=1500, help="synthetic CNKI originals")
    parser.add_argument("--show-errors", type=int, default=0)
    args = parser.parse_args()
    if not SCREENING.is_dir():
        print(f"missing {SCREENING}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    records, truth = build(args.seed, args.dup_share, args.chinese)
    t1 = time.perf_counter()
    result = find_duplicates(records, DedupSettings())
    t2 = time.perf_counter()
    by_key: dict[str, list[str]] = defaultdict(list)
    for rid, key in truth.items():
        by_key[key].append(rid)
    true_pairs = pairs_of([g for g in by_key.values() if len(g) > 1])
    found_pairs = pairs_of([c.record_ids for c in result.clusters])
    tp = len(true_pairs & found_pairs)
    sensitivity = tp / len(true_pairs) if true_pairs else 1.0
    precision = tp / len(found_pairs) if found_pairs else 1.0
    queued = {(min(p.a, p.b), max(p.a, p.b)) for p in result.queue}
    with_queue = len(true_pairs & (found_pairs | queued)) / len(true_pairs)
    cn_records = sum(1 for k in truth.values() if k.startswith("cn"))
    print(
        f"records: {len(records)} ({cn_records} Chinese-origin), "
        f"true duplicate pairs: {len(true_pairs)}"
    )
    print(f"candidate pairs compared: {result.pairs_compared}")
    print(
        f"blocks skipped as larger than {result.settings.max_block}: {len(result.skipped_blocks)}"
    )
    print(
        f"auto-merge clusters: {len(result.clusters)}, queued pairs for review: {len(result.queue)}"
    )
    print(f"sensitivity (auto-merge): {sensitivity:.4f}  target >= 0.98")
    print(f"precision   (auto-merge): {precision:.4f}  target >= 0.995")
    print(f"sensitivity if the queue is confirmed: {with_queue:.4f}")
    by_rid = {r.record_id: r for r in records}
    twins = {(a, b) for a, b in true_pairs if is_cjk(by_rid[a].title) != is_cjk(by_rid[b].title)}
    polyphonic = {
        (a, b)
        for a, b in twins
        if any(r.authors and r.authors[0][0] in POLYPHONIC for r in (by_rid[a], by_rid[b]))
    }
    for label, subset in (
        ("CNKI/MEDLINE twin", twins),
        ("twin, first author polyphonic surname", polyphonic),
    ):
        found = len(subset & found_pairs) / len(subset) if subset else 1.0
        print(f"sensitivity on {label} pairs ({len(subset)}): {found:.4f}")
    print(f"time: build {t1 - t0:.2f} s, dedup {t2 - t1:.2f} s")
    if args.show_errors:
        by_id = {r.record_id: r for r in records}
        for a, b in sorted(true_pairs - found_pairs)[: args.show_errors]:
            print(
                "MISSED",
                by_id[a].title,
                by_id[a].authors[:2],
                "|",
                by_id[b].title,
                by_id[b].authors[:2],
            )
        for a, b in sorted(found_pairs - true_pairs)[: args.show_errors]:
            print(
                "FALSE",
                by_id[a].title,
                by_id[a].authors[:2],
                "|",
                by_id[b].title,
                by_id[b].authors[:2],
            )
    ok = sensitivity >= 0.98 and precision >= 0.995
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
