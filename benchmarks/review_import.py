"""Review import benchmark: a 25,000-record RIS file into a review, on SQLite and PostgreSQL.

Generates a realistic, seeded RIS export (PubMed-style English records with structured
abstracts, ~10 % CNKI-style Chinese records, ~8 % re-exported duplicates with the usual
corruption: title case and punctuation, re-formatted authors, DOI dropped, short page ranges),
about 2 kB per record like the 50 MB / 24,508-record file of issue 11. Then, in a fresh process
per run (so peak memory belongs to that run alone), imports it into an empty database:

- **bulk** — `myoivig.review.service.import_records_file`, the path `review import` uses: one
  audited bulk insert (one audit entry listing every record id) plus the import batch row;
- **per-row** (the named peer) — the path it replaced, kept as `repository.add_records_per_row`:
  one ORM object and one audit entry per record, in one unit of work.

Prints parse time, store time (writes and commit), total (read + hash + parse + store),
records/s and peak resident memory, and for the bulk run the dedup time on the imported records
(load + `find_duplicates`, what `review dedup --dry-run` does) with pairwise sensitivity and
precision of the auto-merge clusters against the generated duplicate pairs. Target (issue 11):
a 25,000-record import in under 10 s on both backends; exits 1 when it is missed.

Run: .venv/bin/python benchmarks/review_import.py [--records 25000] [--seed 11] [--no-peer]
     [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--keep FILE.ris]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from itertools import combinations
from pathlib import Path
from typing import Any

TARGET_SECONDS = 10.0
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# -- a realistic RIS export -------------------------------------------------------------------

_SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Mueller Schmidt "
    "Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Dalakas Mastaglia Cherin "
    "Lundberg Aggarwal Oddis Danieli Marie Hachulla Benveniste Tanimoto Yamamoto Suzuki Sato "
    "Takahashi Kobayashi Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Dubois Moreau "
    "Laurent Simon Michel Lefebvre Leroy Roux Jansen Visser Bakker Nielsen Hansen Pedersen"
)
SURNAMES = _SURNAMES.split()
INITIALS = "ABCDEFGHIJKLMNOPRSTVW"
_WORDS = (
    "intravenous immunoglobulin dermatomyositis polymyositis myositis inflammatory myopathy "
    "inclusion body overlap juvenile refractory treatment therapy efficacy safety randomized "
    "controlled trial open-label cohort retrospective prospective study patients adults children "
    "muscle strength creatine kinase corticosteroid methotrexate azathioprine rituximab "
    "tacrolimus mycophenolate interstitial lung disease dysphagia skin rash remission relapse "
    "response outcome long-term follow-up multicentre systematic review meta-analysis dose "
    "maintenance infusion adverse events thrombosis renal function quality of life "
    "autoantibodies anti-Jo-1 anti-MDA5 anti-TIF1 anti-SRP anti-HMGCR necrotizing biopsy MRI"
)
WORDS = _WORDS.split()
JOURNALS = (
    ("Arthritis and Rheumatism", "0004-3591"),
    ("Neurology", "0028-3878"),
    ("Muscle and Nerve", "0148-639X"),
    ("Journal of Rheumatology", "0315-162X"),
    ("Annals of the Rheumatic Diseases", "0003-4967"),
    ("Rheumatology (Oxford)", "1462-0324"),
    ("New England Journal of Medicine", "0028-4793"),
    ("Clinical and Experimental Rheumatology", "0392-856X"),
    ("Journal of Neurology", "0340-5354"),
    ("Autoimmunity Reviews", "1568-9972"),
    ("Neuromuscular Disorders", "0960-8966"),
    ("Lancet Neurology", "1474-4422"),
)
CN_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
CN_GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红玲建国晓东海波宁欣雪梅琳"
CN_TITLE = (
    "静脉注射免疫球蛋白", "糖皮质激素", "甲氨蝶呤", "环磷酰胺", "他克莫司", "利妥昔单抗",
    "联合", "治疗", "多发性肌炎", "皮肌炎", "难治性", "临床观察", "疗效分析", "间质性肺病",
)  # fmt: skip
CN_JOURNALS = ("中华风湿病学杂志", "中华神经科杂志", "中国实用内科杂志", "临床内科杂志")
CN_SENTENCES = (
    "目的 观察静脉注射免疫球蛋白治疗难治性多发性肌炎和皮肌炎的临床疗效及安全性。",
    "方法 回顾性分析本院收治的患者资料，比较治疗前后肌力、肌酸激酶及日常生活能力评分。",
    "结果 治疗后患者肌力明显改善，肌酸激酶水平显著下降，差异有统计学意义。",
    "不良反应主要为头痛、发热及一过性皮疹，均可耐受，未见血栓及肾功能损害。",
    "结论 静脉注射免疫球蛋白联合糖皮质激素治疗难治性炎性肌病安全有效，值得临床推广。",
)


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _abstract(rng: random.Random) -> str:
    parts = []
    for label in ("BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"):
        sentences = " ".join(_sentence(rng, rng.randint(10, 22)) for _ in range(rng.randint(2, 3)))
        if label == "RESULTS":
            sentences += (
                f" Of {rng.randint(8, 400)} patients, {rng.randint(40, 90)}% improved "
                f"(95% CI {rng.randint(20, 50)}-{rng.randint(60, 95)}%; p = "
                f"{rng.choice(['0.001', '0.01', '0.03', '0.2'])})."
            )
        parts.append(f"{label}: {sentences}")
    return " ".join(parts)


def _english(rng: random.Random, n: int) -> dict[str, Any]:
    journal, issn = rng.choice(JOURNALS)
    year = rng.randint(1985, 2025)
    first = rng.randint(1, 2400)
    authors = [
        f"{rng.choice(SURNAMES)}, {rng.choice(INITIALS)}."
        + (f" {rng.choice(INITIALS)}." if rng.random() < 0.4 else "")
        for _ in range(rng.randint(2, 9))
    ]
    return {
        "TY": "JOUR",
        "AU": authors,
        "TI": _sentence(rng, rng.randint(8, 18))[:-1],
        "T2": journal,
        "PY": str(year),
        "VL": str(rng.randint(1, 90)),
        "IS": str(rng.randint(1, 12)),
        "SP": str(first),
        "EP": str(first + rng.randint(3, 14)),
        "SN": issn,
        "DO": f"10.{rng.randint(1000, 9999)}/j.{year}.{n:06d}",
        "AN": str(10_000_000 + n),
        "DB": "PubMed",
        "LA": "eng",
        "KW": [rng.choice(WORDS) for _ in range(rng.randint(4, 8))],
        "AB": _abstract(rng),
        "UR": f"https://pubmed.ncbi.nlm.nih.gov/{10_000_000 + n}/",
    }


def _chinese(rng: random.Random, n: int) -> dict[str, Any]:
    year = rng.randint(1995, 2025)
    first = rng.randint(1, 900)
    return {
        "TY": "JOUR",
        "AU": [
            rng.choice(CN_SURNAMES)
            + "".join(rng.choice(CN_GIVEN) for _ in range(rng.randint(1, 2)))
            for _ in range(rng.randint(2, 6))
        ],
        "TI": "".join(rng.sample(CN_TITLE, rng.randint(4, 7))),
        "T2": rng.choice(CN_JOURNALS),
        "PY": str(year),
        "VL": str(rng.randint(1, 50)),
        "IS": str(rng.randint(1, 12)),
        "SP": str(first),
        "EP": str(first + rng.randint(2, 6)),
        "DB": "CNKI",
        "LA": "chi",
        "KW": [rng.choice(CN_TITLE) for _ in range(rng.randint(3, 5))],
        "AB": "".join(rng.choice(CN_SENTENCES) for _ in range(rng.randint(4, 8))),
        "N1": f"CNKI:SUN:{n:08d}",
    }


def _duplicate(rng: random.Random, record: dict[str, Any]) -> dict[str, Any]:
    """The same paper as exported again by another database, with typical differences."""
    dup = {k: (list(v) if isinstance(v, list) else v) for k, v in record.items()}
    dup["DB"] = "Embase" if record["DB"] == "PubMed" else "Wanfang"
    dup.pop("AN", None)
    dup.pop("UR", None)
    if record["LA"] == "eng":
        title = str(record["TI"])
        dup["TI"] = rng.choice([title.upper(), title.lower(), title.replace(" ", " - ", 1)]) + "."
        dup["AU"] = [a.replace(",", "").replace(".", "") for a in record["AU"]]
        if rng.random() < 0.3:
            dup.pop("DO", None)
    if rng.random() < 0.5:
        dup["EP"] = str(record["EP"])[-2:]
    return dup


def generate_ris(records: int, seed: int) -> tuple[bytes, list[tuple[int, int]]]:
    """A RIS export of `records` records and the (position, position) duplicate pairs in it."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    pairs: list[tuple[int, int]] = []
    originals: list[int] = []  # duplicated at most once, so the true pairs are all the pairs
    while len(out) < records:
        if len(out) > 100 and rng.random() < 0.08:
            original = originals.pop(rng.randrange(len(originals)))
            out.append(_duplicate(rng, out[original]))
            pairs.append((original + 1, len(out)))
        else:
            originals.append(len(out))
            maker = _chinese if rng.random() < 0.1 else _english
            out.append(maker(rng, len(out)))
    lines: list[str] = []
    for record in out:
        for tag, value in record.items():
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"{tag}  - {item}")
        lines.append("ER  - ")
        lines.append("")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8"), pairs


# -- one measured run (in its own process) ----------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run_bulk(store: Any, path: Path) -> dict[str, Any]:
    from myoivig.review.service import import_records_file

    started, cpu = time.perf_counter(), time.process_time()
    done = import_records_file(store, path, "RIS", actor="benchmark")
    total = time.perf_counter() - started
    return {
        "records": len(done.result.records),
        "parse_s": done.parse_seconds,
        "store_s": done.store_seconds,
        "total_s": total,
        "cpu_s": time.process_time() - cpu,
        "peak_mb": _peak_mb(),
    }


def _run_per_row(store: Any, path: Path) -> dict[str, Any]:
    from myoivig.review import repository as repo
    from myoivig.review.importers import import_bytes
    from myoivig.review.prisma.events import RecordsImported

    started, cpu = time.perf_counter(), time.process_time()
    data = path.read_bytes()
    with store.unit_of_work(actor="benchmark") as session:
        batch = repo.next_batch(session)
        parse_start = time.perf_counter()
        result = import_bytes(data, "RIS", id_prefix=f"RIS-{batch}:")
        parsed = time.perf_counter()
        repo.add_records_per_row(session, result.records)
        repo.append_event(
            session,
            RecordsImported(
                source="RIS",
                record_ids=[r.record_id for r in result.records],
                malformed=len(result.issues),
            ),
        )
    finished = time.perf_counter()
    return {
        "records": len(result.records),
        "parse_s": parsed - parse_start,
        "store_s": finished - parsed,
        "total_s": finished - started,
        "cpu_s": time.process_time() - cpu,
        "peak_mb": _peak_mb(),
    }


def _audit_entries(store: Any) -> int:
    from sqlalchemy import func, select

    from myoivig.store.tables import AuditRow

    with store.session() as session:
        count = session.scalar(
            select(func.count())
            .select_from(AuditRow)
            .where(AuditRow.table_name == "review_records")
        )
    return int(count or 0)


def _dedup(store: Any, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    from myoivig.review import repository as repo
    from myoivig.review.dedup import find_duplicates

    started = time.perf_counter()
    with store.session() as session:
        records = repo.merged_view(session).records
    loaded = time.perf_counter()
    result = find_duplicates(records)
    finished = time.perf_counter()
    position = {r.record_id: r.position for r in records}
    found = {
        tuple(sorted((position[a], position[b])))
        for cluster in result.clusters
        for a, b in combinations(cluster.record_ids, 2)
    }
    truth = {tuple(sorted(p)) for p in pairs}
    hits = len(found & truth)
    return {
        "load_s": loaded - started,
        "find_s": finished - loaded,
        "dedup_s": finished - started,
        "clusters": len(result.clusters),
        "queued": len(result.queue),
        "sensitivity": hits / len(truth) if truth else 1.0,
        "precision": hits / len(found) if found else 1.0,
        "peak_mb_after_dedup": _peak_mb(),
    }


def worker(backend_url: str, path: Path, way: str, pairs_file: Path | None) -> None:
    """Import `path` into the empty database at `backend_url` one way; print JSON figures."""
    from myoivig.store import Store

    store = Store.from_url(backend_url)
    store.upgrade()
    figures: dict[str, Any] = {"baseline_mb": _peak_mb()}
    figures.update(_run_bulk(store, path) if way == "bulk" else _run_per_row(store, path))
    figures["audit_entries"] = _audit_entries(store)
    if pairs_file is not None:
        pairs = [(int(a), int(b)) for a, b in json.loads(pairs_file.read_text())]
        figures.update(_dedup(store, pairs))
    store.dispose()
    sys.stdout.write(json.dumps(figures) + "\n")


# -- orchestration ----------------------------------------------------------------------------


def _postgres_database(admin_url: str) -> tuple[str, str] | None:
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"myoivig_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        print(f"PostgreSQL not reachable at {admin_url}: {error}".strip(), file=sys.stderr)
        return None
    return f"{admin_url.rsplit('/', 1)[0]}/{name}", name


def _drop_postgres(admin_url: str, name: str) -> None:
    import psycopg

    dsn = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _measure(url: str, path: Path, way: str, pairs_file: Path | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", url, str(path), way]
    if pairs_file is not None:
        command.append(str(pairs_file))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{way} run on {url} failed:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-peer", action="store_true", help="Skip the slow per-row peer runs.")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("MYOIVIG_TEST_POSTGRES_URL") or ADMIN_URL,
        help="An existing database to create the scratch one from.",
    )
    parser.add_argument("--keep", type=Path, help="Also write the generated RIS file here.")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        url, path, way, *rest = args.worker
        worker(url, Path(path), way, Path(rest[0]) if rest else None)
        return 0

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    data, pairs = generate_ris(args.records, args.seed)
    took = time.perf_counter() - started
    print(
        f"generated {args.records:,} RIS records ({len(data) / 1e6:.1f} MB, "
        f"{len(pairs):,} duplicate pairs, seed {args.seed}) in {took:.1f} s"
    )
    rows: list[tuple[str, str, dict[str, Any]]] = []
    missed = False
    with tempfile.TemporaryDirectory(prefix="myoivig-import-bench-") as tmp:
        path = Path(tmp) / "export.ris"
        path.write_bytes(data)
        if args.keep:
            args.keep.write_bytes(data)
        pairs_file = Path(tmp) / "pairs.json"
        pairs_file.write_text(json.dumps(pairs))
        backends = ["sqlite"] + ([] if args.no_postgres else ["postgresql"])
        for backend in backends:
            for way in ["bulk"] + ([] if args.no_peer else ["per-row"]):
                dedup_pairs = pairs_file if way == "bulk" else None
                if backend == "sqlite":
                    db = Path(tmp) / f"{way}.db"
                    figures = _measure(f"sqlite:///{db}", path, way, dedup_pairs)
                else:
                    made = _postgres_database(args.postgres_url)
                    if made is None:
                        missed = True
                        break
                    url, name = made
                    try:
                        figures = _measure(url, path, way, dedup_pairs)
                    finally:
                        _drop_postgres(args.postgres_url, name)
                rows.append((backend, way, figures))
                print(f"  {backend:10s} {way:8s} done: {figures['total_s']:.1f} s", file=sys.stderr)
    print()
    print(f"{'backend':10s} {'path':8s} {'records':>8s} {'parse s':>8s} {'store s':>8s} "
          f"{'total s':>8s} {'CPU s':>6s} {'records/s':>10s} {'peak MB':>8s} "
          f"{'audit rows':>10s}")  # fmt: skip
    for backend, way, f in rows:
        print(
            f"{backend:10s} {way:8s} {f['records']:>8,d} {f['parse_s']:>8.2f} "
            f"{f['store_s']:>8.2f} {f['total_s']:>8.2f} {f['cpu_s']:>6.2f} "
            f"{f['records'] / f['total_s']:>10,.0f} {f['peak_mb']:>8.0f} {f['audit_entries']:>10,d}"
        )
    print(
        "(total = read + SHA-256 + parse + store incl. commit; CPU = this process only, the "
        f"PostgreSQL server's work is not in it; load average {os.getloadavg()[0]:.1f} at "
        f"the end, {load_before:.1f} at the start, on {os.cpu_count()} cores)"
    )
    print()
    for backend, way, f in rows:
        if way != "bulk":
            continue
        peer = next((p for b, w, p in rows if b == backend and w == "per-row"), None)
        speedup = f" ({peer['total_s'] / f['total_s']:.1f}x faster than per-row)" if peer else ""
        verdict = "met" if f["total_s"] < TARGET_SECONDS else "MISSED"
        missed = missed or f["total_s"] >= TARGET_SECONDS
        print(f"{backend}: bulk import {f['total_s']:.1f} s{speedup}; target < "
              f"{TARGET_SECONDS:.0f} s {verdict}")  # fmt: skip
        print(
            f"  dedup of the {f['records']:,} imported records: {f['dedup_s']:.1f} s (load "
            f"{f['load_s']:.1f} s + find_duplicates {f['find_s']:.1f} s), {f['clusters']:,} "
            f"clusters, {f['queued']:,} queued; pairwise sensitivity {f['sensitivity']:.3f}, "
            f"precision {f['precision']:.3f}; peak {f['peak_mb_after_dedup']:.0f} MB"
        )
        print(f"  import + dedup: {f['total_s'] + f['dedup_s']:.1f} s (issue 13 target < 60 s)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
