"""Store benchmark: import speed, a filtered sorted page of 50 logs, and a full-text query.

    python benchmarks/store_bench.py --db /tmp/bench.db --logs 100000

Builds the database at --db from a synthetic corpus (generation is not timed), then prints one JSON
line: import_logs_per_s, page_query_ms_p50/p95, fts_query_ms_p50/p95.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from timing import p50_p95, timed

from orchestai_core.export import write_jsonl
from orchestai_core.ingest import import_file
from orchestai_core.store import SORT_COLUMNS, LogFilter, Store
from orchestai_core.synth import generate_logs

FTS_WORDS = ["report", "translate", "summary", "customer", "python", "invoice", "vendors", "french",
             "dataset", "campaign", "meeting", "contract", "bug", "sales", "podcast", "résumé"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="database to build (must not exist); default: a temp file")
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="orchestai-bench-"))
    db_path = args.db or workdir / "bench.db"
    if db_path.exists():
        sys.exit(f"{db_path}: exists; give a new path so the import is measured on an empty database")
    corpus = workdir / "corpus.jsonl"
    write_jsonl(generate_logs(args.logs, args.seed), corpus)

    store = Store.open(db_path)
    start = time.perf_counter()
    report = import_file(store, corpus, parallel=None)
    import_s = time.perf_counter() - start

    rng = random.Random(args.seed)
    templates = [t for t, _ in store.logs.facet("template", limit=200)]
    workers = [w for w, _ in store.logs.facet("worker", limit=50) if w]
    page_ms = []
    for _ in range(args.queries):
        flt = LogFilter(
            review_status="pending",
            template=rng.choice(templates + [None]),
            worker=rng.choice(workers + [None, None]),
            min_cost=rng.choice([None, 0.001, 0.01]),
        )
        sort = rng.choice([c for c in SORT_COLUMNS if c != "instruction"])
        page_ms.append(timed(lambda flt=flt, sort=sort: store.logs.query(flt, sort=sort,
                                                                         descending=rng.random() < 0.5, limit=50)))
    fts_ms = []
    for _ in range(args.queries):
        words = " ".join(rng.sample(FTS_WORDS, rng.choice([1, 1, 2])))
        fts_ms.append(timed(lambda words=words: store.logs.query(LogFilter(search=words), sort="created_at",
                                                                 limit=50)))

    print(json.dumps({
        "logs": report.imported,
        "subtasks": int(sum(store.logs.column_values("n_subtasks"))),
        "import_s": round(import_s, 2),
        "import_logs_per_s": round(report.imported / import_s, 1),
        **p50_p95("page_query_ms", page_ms, 2),
        **p50_p95("fts_query_ms", fts_ms, 2),
        "db_mb": round(db_path.stat().st_size / 1e6, 1),
    }))


if __name__ == "__main__":
    main()
