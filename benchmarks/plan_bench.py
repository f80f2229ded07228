"""Planning latency and throughput of a checkpoint on this machine.

    python benchmarks/plan_bench.py --checkpoint checkpoints/phase1_best_model.pth [--int8] [--beam N]
    python benchmarks/plan_bench.py --checkpoint CKPT --data ../shared/data/ultratool/train.jsonl.gz \
        --format taskbench [--no-consensus] [--torch-rows]

Prints one JSON line: single-instruction p50/p99/mean in ms, the encoder's own forward pass over the same
instruction (p50; timed right after each plan, so both see the machine alike) and the ratios of the two (the
plan's p50, p99 and mean over the encoder's p50, p50 and mean: the p99 is a plan the beam searched);
batched instructions per second, the encoder's own batched throughput over the same batches and the ratio
(the median of `--repeats` alternating passes of each, with their range: a pass that meets one of Python's
full garbage collections is slower), and `decoded`: how many of the single plans decoding settled greedily (provably
the beam's plan) and how many it searched (`TaskDecomposer.decode`). Instructions come from a fresh synthetic corpus
(a seed the model was not trained on), or the first `--n` of `--data`.
"""

from __future__ import annotations

import argparse
import json
import statistics
from functools import partial

import torch
from timing import percentile, timed

from orchestai_core.ingest import read_records
from orchestai_core.planner_api import Planner
from orchestai_core.synth import generate_logs


def instructions(data: str | None, fmt: str, n: int) -> list[str]:
    if data is None:
        return [log["instruction"] for log in generate_logs(n, seed=424242)]
    return [r.log["instruction"] for r in read_records(data, fmt=fmt) if not r.error][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="checkpoints/phase1_best_model.pth")
    parser.add_argument("--n", type=int, default=300, help="instructions")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--int8", action="store_true", help="run the frozen encoder in int8 (CPU)")
    parser.add_argument("--beam", type=int, help="plans kept while decoding (default: the checkpoint's)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--data", help="plan the instructions of this log file instead of synthetic ones")
    parser.add_argument("--format", default="log", choices=("log", "taskbench"), help="what --data holds")
    parser.add_argument("--no-consensus", action="store_true", help="the model's plans as decoded")
    parser.add_argument("--repeats", type=int, default=3, help="batched passes of the planner and of the encoder")
    parser.add_argument("--torch-rows", action="store_true",
                        help="decode single plans by the torch step too (no NumPy row decoding: the code before it)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    planner = Planner.load(args.checkpoint, args.device, int8=args.int8, beam=args.beam,
                           consensus=not args.no_consensus)
    planner.model.decomposer.row_decoding = not args.torch_rows
    texts = instructions(args.data, args.format, args.n)
    def encode(part: list[str]):  # the encoder's share of planning: tokenizing and the frozen pass
        return planner.encoder.frozen_states(**planner.encoder.tokenize(part, planner.device))

    def encode_batches():  # the same batches as plan_batch: instructions of similar length together
        ordered = sorted(texts, key=len)
        for start in range(0, len(ordered), args.batch_size):
            encode(ordered[start:start + args.batch_size])

    def encode_one(text: str):
        with torch.inference_mode():
            return encode([text])

    planner.plan(texts[0])  # warm-up
    encode_one(texts[0])
    single, encoder = [], []
    planner.decoded.clear()
    for text in texts:  # each instruction planned, then encoded: both see the machine in the same state
        single.append(timed(partial(planner.plan, text)))
        encoder.append(timed(partial(encode_one, text)))
    decoded = dict(planner.decoded)  # how the single plans were decoded
    encoder_batched_s, batched_s = [], []
    for _ in range(args.repeats):
        with torch.inference_mode():
            encoder_batched_s.append(timed(encode_batches) / 1000)
        batched_s.append(timed(lambda: planner.plan_batch(texts, batch_size=args.batch_size)) / 1000)
    ratios = [e / b for e, b in zip(encoder_batched_s, batched_s)]
    print(json.dumps({
        "n": len(texts), "device": args.device, "int8": planner.int8, "beam": planner.beam,
        "decoded": decoded,
        "threads": torch.get_num_threads(),
        "single_ms_p50": round(statistics.median(single), 2),
        "single_ms_p99": round(percentile(single, 0.99), 2),
        "single_ms_mean": round(statistics.mean(single), 2),
        "encoder_ms_p50": round(statistics.median(encoder), 2),
        "plan_over_encoder_p50": round(statistics.median(single) / statistics.median(encoder), 2),
        "plan_p99_over_encoder_p50": round(percentile(single, 0.99) / statistics.median(encoder), 2),
        "plan_mean_over_encoder_mean": round(statistics.mean(single) / statistics.mean(encoder), 2),
        "batched_per_s": round(len(texts) / statistics.median(batched_s), 1), "batch_size": args.batch_size,
        "encoder_batched_per_s": round(len(texts) / statistics.median(encoder_batched_s), 1),
        "batched_over_encoder": round(statistics.median(ratios), 2),
        "batched_over_encoder_range": [round(min(ratios), 2), round(max(ratios), 2)], "repeats": args.repeats,
        "consensus": planner.consensus.on, "row_decoding": not args.torch_rows,
        "data": args.data or "synthetic (seed 424242)",
    }))


if __name__ == "__main__":
    main()
