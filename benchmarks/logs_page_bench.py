"""Logs page benchmark: what one rerun of the Logs page asks the store for, at 100k logs.

    python benchmarks/logs_page_bench.py --db /tmp/logs100k.db --logs 100000

Builds the database at --db from the synthetic corpus if it does not exist (not timed), then prints one
JSON line: per random filter, the facets + count + first page (`page_data_ms`), a bulk id listing,
next-pending lookups, and whole AppTest runs of `pages/logs.py` with a log open: the first run, reruns
with nothing changed, and runs right after a review under the "pending" filter (the annotator's loop).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path

from timing import p50_p95, timed

from orchestai_core.export import write_jsonl
from orchestai_core.ingest import import_file
from orchestai_core.store import LogFilter, Store
from orchestai_core.synth import generate_logs
from workbench.services.curation import facets, neighbour

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "logs.py")


def build(db_path: Path, n: int, seed: int) -> None:
    corpus = Path(tempfile.mkdtemp(prefix="orchestai-bench-")) / "corpus.jsonl"
    write_jsonl(generate_logs(n, seed), corpus)
    import_file(Store.open(db_path), corpus)
    corpus.unlink()


def random_filter(rng: random.Random, templates: list, workers: list) -> LogFilter:
    return LogFilter(
        review_status=rng.choice(["pending", None]), template=rng.choice(templates + [None, None]),
        worker=rng.choice(workers + [None, None]), min_cost=rng.choice([None, 0.001]),
        search=rng.choice([None, None, "report", "translate french"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="database to use (built first if missing)")
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.db.exists():
        build(args.db, args.logs, args.seed)
    store = Store.open(args.db)
    rng = random.Random(args.seed)
    templates = [t for t, _ in store.logs.facet("template", limit=200)]
    workers = [w for w, _ in store.logs.facet("worker", limit=50) if w]
    page_ms, ids_ms, pending_ms = [], [], []
    for _ in range(args.queries):
        flt = random_filter(rng, templates, workers)
        page_ms.append(timed(lambda flt=flt: (facets(store, flt), store.logs.count(flt),
                                              store.logs.query(flt, "total_cost_usd", True, limit=50))))
        ids_ms.append(timed(lambda flt=flt: store.logs.ids(flt)))
        first = store.logs.query(flt, limit=1).rows
        if first:
            pending_ms.append(timed(lambda flt=flt, first=first: neighbour(store, first[0]["id"], flt, "created_at",
                                                                            pending_only=True)))

    from streamlit.testing.v1 import AppTest

    os.environ["ORCHESTAI_DB"] = str(args.db)
    open_id = store.logs.query(limit=1).rows[0]["id"]

    def page_run(review_filter: str | None) -> float:
        at = AppTest.from_file(PAGE, default_timeout=120)
        at.query_params["log"] = open_id
        if review_filter:
            at.session_state["flt_review_status"] = review_filter
        ms = timed(at.run)
        assert not at.exception, at.exception
        return ms

    first_ms = page_run(None)  # reads the worker table once per content change
    same_ms = [page_run(None) for _ in range(args.runs)]  # facets cached: nothing changed
    review_ms = []  # the annotator's loop: a review, then the page again (facets recounted)
    for i in range(args.runs):
        store.logs.set_review([open_id], "accepted" if i % 2 == 0 else "pending", "bench")
        review_ms.append(page_run("pending"))
    print(json.dumps({"logs": store.logs.count(), **p50_p95("page_data_ms", page_ms),
                      **p50_p95("bulk_ids_ms", ids_ms), **p50_p95("next_pending_ms", pending_ms),
                      "page_first_run_ms": round(first_ms, 1), **p50_p95("page_rerun_ms", same_ms),
                      **p50_p95("page_after_review_ms", review_ms)}))


if __name__ == "__main__":
    main()
